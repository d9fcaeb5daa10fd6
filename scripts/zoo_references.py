"""What each zoo model's tables are compared with when a user picks a rate: the model's metric on
the uncompressed test images, and default JPEG's measured points on the same images (from the
evaluation the zoo's tables come from). Writes ``src/j4d/zoo/references.json``, which
``j4d tables --zoo MODEL`` reads.

Run from the repository root (needs the data folder): ``.venv/bin/python scripts/zoo_references.py
[ZOO_MODEL ...]`` (only those entries, the others kept as they are; default: all).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

from j4d.cli.options import load_test_split
from j4d.data import require_data_root
from j4d.evaluation.realfile import score
from j4d.models import create_model
from j4d.utils.files import atomic_write_json
from j4d.zoo import ZOO_DIR, zoo_entries

ROOT = Path(__file__).resolve().parent.parent
#: zoo model -> (the evaluation its tables come from, the models that read them)
SOURCES = {
    "resnet20": ("cifar10-resnet20", ["resnet20"]),
    "mobilenet_v2": ("imagenet-mobilenetv2-joint", ["mobilenet_v2"]),
    "efficientnet_lite0": ("imagenet-efficientnetlite0-all", ["efficientnet_lite0"]),
    "imagenet-universal": (
        "imagenet-universal-opts",
        ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"],
    ),
    "cub50_mobilenet_v2": ("cub50-mobilenetv2-joint", ["cub50_mobilenet_v2"]),
    "camvid_deeplabv3_mobilenet_v2": ("camvid-deeplabv3-joint", ["camvid_deeplabv3_mobilenet_v2"]),
    # tables for photos stored at scale 1.5, measured on whole photos through the view
    "mobilenet_v2@1.5": ("imagenet-mobilenetv2-scale1.5-zoo", ["mobilenet_v2"]),
}


def references(only: list[str]) -> dict:
    """``references.json`` with the entries of ``only`` (all if empty) measured afresh."""
    root = require_data_root()
    path = ZOO_DIR / "references.json"
    out = json.loads(path.read_text()) if only and path.exists() else {}
    for zoo_model, (folder, models) in SOURCES.items():
        if only and zoo_model not in only:
            continue
        entry = zoo_entries(zoo_model)[0]
        values = []
        for name in models:
            model = create_model(name, data_root=root)
            own_size = entry.scale != 1  # tables for photos as stored: measured on whole photos
            source = Path(entry.source)  # a data set's name (its path in the data folder)
            folder_path = source if source.is_absolute() else root / source
            test = load_test_split(root, folder_path, model, entry.images, own_size=own_size)
            with torch.no_grad():
                values.append(score(model, test.images, test.labels)[entry.metric])
        points = json.loads((ROOT / "results" / folder / "points.json").read_text())["points"]
        jpeg = sorted(
            (r["scan_bpp"], r[entry.metric], r["quality"]) for r in points if r["method"] == "jpeg"
        )
        out[zoo_model] = {
            "metric": entry.metric,
            "uncompressed": sum(values) / len(values),
            "images": entry.images,
            "jpeg": [{"scan_bpp": b, entry.metric: v, "quality": q} for b, v, q in jpeg],
            "source": f"results/{folder}",
        }
        print(zoo_model, entry.metric, f"uncompressed {100 * out[zoo_model]['uncompressed']:.2f}")
    return {name: out[name] for name in SOURCES if name in out}


if __name__ == "__main__":
    unknown = set(sys.argv[1:]) - set(SOURCES)
    if unknown:
        sys.exit(f"not a zoo model: {', '.join(sorted(unknown))} (known: {', '.join(SOURCES)})")
    atomic_write_json(ZOO_DIR / "references.json", references(sys.argv[1:]))
    print(f"wrote {ZOO_DIR / 'references.json'}")
