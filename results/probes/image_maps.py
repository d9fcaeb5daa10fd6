"""Probe (issue 46): how much of a guide model's per-block gain do image-only maps give?

Codes the first 400 imagenet-val images (round-robin over classes, 224 centre crop) with 6 of
the zoo's MobileNetV2 tables by j4d's trellis (``rd``, the tables' own settings: mozjpeg's
per-block lambda), model-free and with per-block weights, and scores three classifiers on the
same decoded files: MobileNetV2, EfficientNet-Lite0 and EfficientNet-Lite2. Every file is 4:4:4
with optimized Huffman tables, decoded by Pillow. Families:

* ``jpeg`` (Pillow, IJG qualities) is the anchor; ``rd``: the trellis without a map;
* ``MAP@S``: an image-only map of :mod:`j4d.encoders.importance` (``centre``, ``edges``,
  ``energy``, ``flat``, ``spectral``) as the block scores of
  :func:`j4d.encoders.rd.block_weights` at strength S (the factor ``score ** S``, mean 1);
* ``mnv2``, ``l0``: a guide model's Fisher block scores (:mod:`j4d.encoders.model_rd`, one
  probe, strength 1), the reference of what a model adds. Lite2 guides nothing;
* ``predictor@S``: the block-importance predictor (:mod:`j4d.encoders.predictor`) distilled
  from MobileNetV2's and EfficientNet-Lite0/1's Fisher scores on other photos, at strength S.

Rows go to ``image_maps.jsonl`` as measured (a rerun skips them); the report,
``image_maps.md``, gives each family's BD-rate against default JPEG and against model-free rd,
by top-1 and by agreement, whole file, on every reader.

Run from the repository root: ``.venv/bin/python results/probes/image_maps.py [FAMILY ...]``
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from pathlib import Path

import numpy as np
from probe_rows import bd_text, imagenet_set, measure_families

from j4d.encoders import GuidedEncoder
from j4d.encoders.importance import importance_map
from j4d.encoders.model_rd import BlockCurvature
from j4d.encoders.predictor import load_predictor
from j4d.encoders.rd import block_weights, encode_rd, rd_settings
from j4d.encoders.registry import get_encoder
from j4d.evaluation.codecs import quality_points
from j4d.evaluation.realfile import tables_encoder
from j4d.tables import QuantTables

HERE = Path(__file__).parent
ZOO = HERE.parent.parent / "src" / "j4d" / "zoo" / "mobilenet_v2"
IMAGES = 400
MODELS = ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite2"]
SHORT = {"mobilenet_v2": "mnv2", "efficientnet_lite0": "l0", "efficientnet_lite2": "l2"}
QUALITIES = [5, 10, 20, 30, 50, 70, 85, 95]
TABLES = ["qf10_lam30", "qf10_lam10", "qf10_lam3", "qf30_lam1.5", "qf50_lam1", "qf50_lam0.3"]
GUIDES = {"mnv2": "mobilenet_v2", "l0": "efficientnet_lite0"}
MAP_FAMILIES = [
    "centre@1",
    "centre@0.5",
    "edges@0.5",
    "edges@1",
    "energy@0.5",
    "flat@0.5",
    "spectral@0.5",
    "spectral@1",
]
ORDER = ["jpeg", "rd", *MAP_FAMILIES, "mnv2", "l0", "predictor@1", "predictor@1.5"]


@functools.cache
def loaded():
    return imagenet_set(IMAGES, MODELS)


def _scores(name: str, image: np.ndarray) -> np.ndarray:
    if name == "predictor":  # the distilled predictor j4d ships (scripts/train_importance.py)
        return load_predictor().scores(image)
    return importance_map(name, image)


def _map_encode(image: np.ndarray, index: int, tables: QuantTables, name: str, strength: float):
    settings = rd_settings(tables)
    weights = block_weights(settings, _scores(name, image), strength)
    return encode_rd(image, tables, dataclasses.replace(settings, weights=weights))


def points(family: str) -> list[tuple[str, object]]:
    if family == "jpeg":
        return [(f"q{q}", quality_points("jpeg", [q])[0].encode) for q in QUALITIES]
    found = []
    for name in TABLES:
        tables = QuantTables.load(ZOO / f"{name}_rd.json")
        if family == "rd":
            found.append((name, tables_encoder(tables, encoder="rd")))
        elif family in GUIDES:
            guide = dict(zip(MODELS, loaded()[1], strict=True))[GUIDES[family]]
            curvature = BlockCurvature(guide)
            found.append((name, GuidedEncoder(guide, tables, get_encoder("rd"), 1.0, curvature)))
        else:
            map_name, strength = family.split("@")
            encode = functools.partial(
                _map_encode, tables=tables, name=map_name, strength=float(strength)
            )
            found.append((name, encode))
    return found


def report(rows: list[dict]) -> None:
    counts = {f: sum(r["family"] == f for r in rows) for f in ORDER}
    names = [f for f in ORDER if f != "jpeg" and counts[f] == len(TABLES)]
    missing = [f for f in ORDER if f != "jpeg" and counts[f] < len(TABLES)]
    lines = [
        "# Block importance from the image alone (issue 46)",
        "",
        f"First {IMAGES} imagenet-val images (224 centre crops), {len(TABLES)} zoo MobileNetV2 "
        "tables by j4d's trellis (`rd`, the tables' settings: mozjpeg's per-block lambda), "
        "4:4:4, optimized Huffman, decoded by Pillow; whole-file bpp (1 point = "
        f"{IMAGES // 100} images). Made by `image_maps.py`. `MAP@S`: an image-only map of "
        "`j4d.encoders.importance` as block weights at strength S; `mnv2`, `l0`: a guide "
        "model's Fisher block weights at strength 1. **Bold**: a reader that guided the files."
        + (f" Not measured yet: {', '.join(missing)}." if missing else ""),
        "",
    ]
    for anchor, title in (("jpeg", "default JPEG"), ("rd", "model-free rd")):
        lines += [f"## BD-rate against {title}", ""]
        header = " | ".join(f"{SHORT[m]} {t}" for t in ("top-1", "agr.") for m in MODELS)
        lines += [f"| family | {header} |", "|---|" + "---:|" * 2 * len(MODELS)]
        for family in names:
            if family == anchor:
                continue
            cells = []
            for metric in ("top1", "agreement"):
                for model in MODELS:
                    text = bd_text(rows, anchor, family, model, metric, "file_bpp")
                    cells.append(f"**{text}**" if GUIDES.get(family) == model else text)
            lines.append(f"| {family} | " + " | ".join(cells) + " |")
        lines.append("")
    (HERE / "image_maps.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    chosen = sys.argv[1:] or ORDER  # the families to measure (a rerun skips measured points)
    report(measure_families(HERE / "image_maps.jsonl", chosen, points, loaded, MODELS))
