"""What the probes share: the committed ResNet-20 frontier they compare against, the first
imagenet-val crops and every other zoo table they measure on."""

from __future__ import annotations

import json
from pathlib import Path

from j4d.data import IMAGENET, read_class_list, require_data_root
from j4d.data.testset import TestImages, load_test_images
from j4d.evaluation.curves import Curve
from j4d.tables import QuantTables

FRONTIER = Path(__file__).parent.parent / "cifar10-resnet20"
ZOO = Path(__file__).parents[2] / "src" / "j4d" / "zoo"


def plain_curves() -> dict[str, Curve]:
    """The frontier folder's measured points as Pareto curves, per method (``j4d``, ``jpeg``):
    plain rounding with Pillow on the 5,000 test images."""
    points = json.loads((FRONTIER / "points.json").read_text())["points"]
    return {
        method: Curve.from_points(
            method, [(p["scan_bpp"], p["top1"]) for p in points if p["method"] == method]
        ).frontier()
        for method in ("j4d", "jpeg")
    }


def imagenet_crops(count: int) -> TestImages:
    """The first ``count`` imagenet-val images (round-robin over classes) as 224 centre crops."""
    root = require_data_root()
    return load_test_images(
        root / IMAGENET.test, 224, count, IMAGENET.resize, read_class_list(root / IMAGENET.classes)
    )


def zoo_tables(model: str = "mobilenet_v2") -> list[Path]:
    """Every other of the zoo's tables of ``model`` by their recorded whole-file rate."""
    paths = sorted(
        (ZOO / model).glob("*.json"), key=lambda p: QuantTables.load(p).meta["test"]["file_bpp"]
    )
    return paths[::2]
