"""What the probes share: the committed ResNet-20 frontier they compare against."""

from __future__ import annotations

import json
from pathlib import Path

from j4d.evaluation.curves import Curve

FRONTIER = Path(__file__).parent.parent / "cifar10-resnet20"


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
