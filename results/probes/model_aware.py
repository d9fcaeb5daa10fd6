"""Probe: which model-aware trellis serves the models that did not guide it?

Codes the first 400 imagenet-val images (round-robin over classes, 224 centre crop) with 6 of
the zoo's MobileNetV2 tables by j4d's trellis (``rd``), model-free and with per-block weights
from a guide's Fisher information (:mod:`j4d.encoders.model_rd`, strength 1), and scores three
classifiers on the same decoded files: MobileNetV2, EfficientNet-Lite0 and EfficientNet-Lite2.
Every file is 4:4:4 with optimized Huffman tables, decoded by Pillow. Families:

* ``jpeg`` (Pillow, IJG qualities) is the anchor; ``rd``: the trellis without a model;
* ``mnv2``: MobileNetV2 guides, one Rademacher probe per image at temperature 1 (the default);
* ``mnv2-probes4``: four probes per image; ``mnv2-t4``: the Fisher of the outputs softened at
  temperature 4 (more classes count);
* ``mnv2+l0``: MobileNetV2 and EfficientNet-Lite0 guide together (their normalized block scores
  averaged); ``l0``: EfficientNet-Lite0 alone. Lite2 guides none of them.

Rows go to ``model_aware.jsonl`` as measured (a rerun skips them); the report,
``model_aware.md``, gives each family's BD-rate against default JPEG by top-1 and by agreement
(whole file, scan in brackets) on every reader, marking the guides.

Run from the repository root: ``.venv/bin/python results/probes/model_aware.py [FAMILY ...]``
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path

from probe_rows import bd_text, imagenet_set, measure_families

from j4d.encoders import GuidedEncoder
from j4d.encoders.model_rd import BlockCurvature
from j4d.encoders.registry import get_encoder
from j4d.evaluation.codecs import quality_points
from j4d.evaluation.realfile import tables_encoder
from j4d.tables import QuantTables

HERE = Path(__file__).parent
ZOO = HERE.parent.parent / "src" / "j4d" / "zoo" / "mobilenet_v2"
IMAGES = 400
RATES = ("file_bpp", "scan_bpp")
MODELS = ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite2"]
SHORT = {"mobilenet_v2": "mnv2", "efficientnet_lite0": "l0", "efficientnet_lite2": "l2"}
QUALITIES = [5, 10, 20, 30, 50, 70, 85, 95]
TABLES = ["qf10_lam30", "qf10_lam10", "qf10_lam3", "qf30_lam1.5", "qf50_lam1", "qf50_lam0.3"]
#: family -> (guides, probes per image, temperature)
GUIDED = {
    "mnv2": (["mobilenet_v2"], 1, 1.0),
    "mnv2-probes4": (["mobilenet_v2"], 4, 1.0),
    "mnv2-t4": (["mobilenet_v2"], 1, 4.0),
    "mnv2+l0": (["mobilenet_v2", "efficientnet_lite0"], 1, 1.0),
    "l0": (["efficientnet_lite0"], 1, 1.0),
}
ORDER = ["jpeg", "rd", "mnv2", "mnv2+l0", "l0", "mnv2-t4", "mnv2-probes4"]


@functools.cache
def loaded():
    return imagenet_set(IMAGES, MODELS)


@functools.cache
def curvature(family: str) -> BlockCurvature:
    guides, probes, temperature = GUIDED[family]
    models = dict(zip(MODELS, loaded()[1], strict=True))
    return BlockCurvature([models[g] for g in guides], temperature, probes=probes)


def points(family: str) -> list[tuple[str, object]]:
    if family == "jpeg":
        return [(f"q{q}", quality_points("jpeg", [q])[0].encode) for q in QUALITIES]
    rd = get_encoder("rd")
    found = []
    for name in TABLES:
        tables = QuantTables.load(ZOO / f"{name}_trellis.json")
        if family == "rd":
            found.append((name, tables_encoder(tables, encoder="rd")))
        else:
            guide = curvature(family).models[0]
            found.append((name, GuidedEncoder(guide, tables, rd, 1.0, curvature(family))))
    return found


def cell(rows: list[dict], family: str, model: str, metric: str) -> str:
    whole, scan = (
        bd_text(rows, "jpeg", family, model, metric, r) for r in ("file_bpp", "scan_bpp")
    )
    return f"{whole} ({scan})"


def report(rows: list[dict]) -> None:
    # a family shows once all its tables are measured (a rerun measures the rest)
    counts = {f: sum(r["family"] == f for r in rows) for f in ORDER}
    names = [f for f in ORDER if f != "jpeg" and counts[f] == len(TABLES)]
    missing = [f for f in ORDER if f != "jpeg" and counts[f] < len(TABLES)]
    lines = [
        "# Model-aware trellis: guides and the models they did not guide",
        "",
        f"First {IMAGES} imagenet-val images (224 centre crops), {len(TABLES)} zoo MobileNetV2 "
        "tables by j4d's trellis (`rd`), strength 1, 4:4:4, optimized Huffman, decoded by "
        f"Pillow (1 point = {IMAGES // 100} images). Made by `model_aware.py`.",
        "",
        "BD-rate (bjontegaard PCHIP) against default JPEG (Pillow, IJG qualities "
        f"{', '.join(map(str, QUALITIES))}), whole-file bpp (scan data in brackets). "
        "**Bold**: a reader that guided the family's files."
        + (f" Not measured yet: {', '.join(missing)}." if missing else ""),
        "",
    ]
    for metric, title in (("top1", "top-1"), ("agreement", "agreement")):
        header = " | ".join(f"{SHORT[m]}, {title}" for m in MODELS)
        lines += [f"| family | {header} |", "|---|" + "---:|" * len(MODELS)]
        for family in names:
            guides = GUIDED.get(family, ([],))[0]
            cells = []
            for model in MODELS:
                text = cell(rows, family, model, metric)
                cells.append(f"**{text}**" if model in guides else text)
            lines.append(f"| {family} | " + " | ".join(cells) + " |")
        lines.append("")
    (HERE / "model_aware.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    chosen = sys.argv[1:] or ORDER  # the families to measure (a rerun skips measured points)
    report(measure_families(HERE / "model_aware.jsonl", chosen, points, loaded, MODELS))
