"""Probe: which tables serve ImageNet classifiers that did not shape them?

Codes the first 500 imagenet-val images (round-robin over classes, 224 centre crop) with each
candidate family and scores four classifiers on the same decoded files: MobileNetV2 and
EfficientNet-Lite0, -Lite1 and -Lite2. A family is judged on the models it was *not* made with
(held out); agreement is with each model's own top class on the uncompressed crop, so no label
enters. Every file is 4:4:4 with optimized Huffman tables, decoded by Pillow. Families:

* ``jpeg`` (Annex K tables by IJG quality, Pillow) is the anchor; ``mozjpeg`` the codec to beat;
* ``zoo-universal-trellis``: the universal tables the zoo shipped before (MobileNetV2 + Lite0,
  losses averaged, three rates), by trellis;
* ``opts-<models>``: no training: OptS tables (``j4d.peers.opts``) at 8 target rates for the
  models' gradient sensitivities (``j4d sensitivity --kind gradient``, 1000 unlabeled crops
  each), pooled (``Sensitivity.pool``: each model's normalized to a total of 1, averaged);
  coefficient statistics of 1000 unlabeled crops; written by mozjpeg's trellis.
  ``opts-flat``: every weight 1 (tables rate-distortion optimal for squared error: no model at
  all); ``opts-<models>^<p>``: the pooled weights to the power p (0.5: halfway, geometrically,
  between the models' weights and none).
* ``trained-<models>``: tables learned by ``j4d train`` for those models together (their
  distillation losses averaged), on unlabeled crops, one run per lambda in
  ``runs/universal3/<models>/<run>/`` (``j4d train -m MODEL ... -o`` there), by trellis;
  ``trained-<models>@worst``: the same with ``--model-pooling worst`` (each batch's largest
  loss), runs in ``runs/universal3/<models>@worst/``.

Rows go to ``universal_heldout.jsonl`` as measured (a rerun skips them); the report,
``universal_heldout.md``, gives each family's BD-rate against default JPEG by agreement (whole
file and scan) on every model, marking the held-out ones, and its least gain over default JPEG.

Run from the repository root after the sensitivities of step 34 of ``results/run_all.sh``
(``runs/universal2/sens/``): ``.venv/bin/python results/probes/universal_heldout.py [FAMILY ...]``
"""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path

import numpy as np
from probe_rows import imagenet_set, measure_rows, read_rows

from j4d.analysis.sensitivity import Sensitivity
from j4d.data import IMAGENET, require_data_root
from j4d.data.folders import UnlabeledCrops
from j4d.evaluation.codecs import quality_points
from j4d.evaluation.curves import Curve, accuracy_at_rate, bd_rate, lowest_gain
from j4d.evaluation.realfile import tables_encoder
from j4d.peers import RateDistortion, coefficient_statistics, opts_tables
from j4d.tables import QuantTables

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
ZOO = ROOT / "src" / "j4d" / "zoo"
SENSITIVITIES = ROOT / "runs" / "universal2" / "sens"
TRAINED = ROOT / "runs" / "universal3"
IMAGES = 500
MODELS = ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
SHORT = {"mobilenet_v2": "mnv2", "efficientnet_lite0": "l0", "efficientnet_lite1": "l1",
         "efficientnet_lite2": "l2"}  # fmt: skip
QUALITIES = [5, 10, 20, 30, 50, 70, 85, 95]
TARGETS = [0.3, 0.5, 0.75, 1, 1.5, 2, 3, 4]  # OptS: estimated scan bpp
STATISTICS_IMAGES = 1000
READ_OFF = [0.3, 0.5, 0.75, 1, 1.5, 2, 3]  # whole-file bpp


@functools.cache
def rate_distortion() -> RateDistortion:
    """Coefficient statistics of 1000 unlabeled 224 crops (imagenet-samples and kodak24, the
    crops the ImageNet models learn from), each step's distortion and entropy."""
    root = require_data_root()
    crops = UnlabeledCrops([root / d for d in IMAGENET.unlabeled], 224, STATISTICS_IMAGES)
    return RateDistortion.measure(coefficient_statistics(crops, STATISTICS_IMAGES, progress=False))


def named_targets(tables: list[QuantTables]) -> list[tuple[str, QuantTables]]:
    return [(f"bpp{t.meta['target_bpp']:g}", t) for t in tables]


def family(name: str) -> tuple[list[str], list[tuple[str, object]]]:
    """The models family ``name`` was made with, and its points: (name, tables or quality)."""
    if name in ("jpeg", "mozjpeg"):
        return [], [(f"q{q}", q) for q in QUALITIES]
    if name == "zoo-universal-trellis":  # as the zoo shipped them before this probe
        folder = ROOT / "results" / "imagenet-universal" / "frontier"
        return MODELS[:2], [(p.stem, QuantTables.load(p)) for p in sorted(folder.glob("*.json"))]
    kind, rest = name.split("-", 1)
    models, _, power = rest.partition("^")  # opts-<models>[^<power>], trained-<models>[@worst]
    made = [m for m in MODELS if SHORT[m] in models.partition("@")[0].split("+")]
    if kind == "trained":  # j4d train -m ... (losses pooled), one run per lambda
        runs = sorted((TRAINED / models).glob("*/tables.json"))
        if not runs:
            raise SystemExit(f"{name}: no runs in {TRAINED / models} (see the docstring)")
        return made, [(path.parent.name, QuantTables.load(path)) for path in runs]
    if models == "flat":
        weights = Sensitivity(np.ones((3, 64)), "gradient")
    else:
        files = [SENSITIVITIES / f"grad_{m}.json" for m in made]
        weights = Sensitivity.pool([Sensitivity.load(path) for path in files])
    if power:  # between the models' weights (1) and none (0), geometrically
        weights = Sensitivity(weights.values ** float(power), weights.kind, weights.meta)
    return made, named_targets(opts_tables(weights, rate_distortion(), TARGETS))


#: measuring order: the anchors, then the families most informative per minute
ORDER = [
    "jpeg", "mozjpeg", "opts-l0+l1+l2", "zoo-universal-trellis", "opts-flat", "opts-mnv2+l0+l1",
    "opts-mnv2+l0+l2", "opts-mnv2+l1+l2", "opts-l0+l1+l2^0.5", "opts-mnv2+l0+l1^0.5",
    "opts-mnv2+l0+l2^0.5", "opts-mnv2+l1+l2^0.5",
]  # fmt: skip


def encoder_for(family: str, what: object):
    """The (image, index) -> bytes encoder of one point: a codec at a quality, or tables by
    mozjpeg's trellis."""
    if family in ("jpeg", "mozjpeg"):
        return quality_points(family, [what])[0].encode
    return tables_encoder(what, encoder="trellis")


@functools.cache
def _load():
    return imagenet_set(IMAGES, MODELS)


def measure(out: Path, only: list[str]) -> list[dict]:
    done = read_rows(out)
    for name in only:
        made, points = family(name)
        encoders = ((point, encoder_for(name, what)) for point, what in points)
        measure_rows(out, name, encoders, _load, MODELS, done, made_with=made)
    return done


def curve(rows: list[dict], family: str, model: str, rate: str) -> Curve:
    points = [(r[rate], r[model]["agreement"]) for r in rows if r["family"] == family]
    return Curve.from_points(family, points).frontier()


def cell(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:+.1f} %"


def least(rows: list[dict], anchor: str, family: str, held: list[str]) -> str:
    """The family's smallest agreement lead over ``anchor``'s front on the held-out models."""
    found = []
    for model in held:
        gain = lowest_gain(
            curve(rows, anchor, model, "file_bpp"), curve(rows, family, model, "file_bpp")
        )
        if gain is not None:
            found.append((gain[0], gain[1], model))
    if not found:
        return ""
    gain, rate, model = min(found)
    return f"{100 * gain:+.2f} pt at {rate:.2f} bpp ({SHORT[model]})"


def report(rows: list[dict]) -> None:
    measured = {r["family"] for r in rows}
    # ORDER's first, then those only named on a command line (trained-...), as measured
    names = [f for f in dict.fromkeys(ORDER + [r["family"] for r in rows]) if f in measured]
    names.remove("jpeg")
    made_with = {f: next(r["made_with"] for r in rows if r["family"] == f) for f in names}
    header = " | ".join(f"{SHORT[m]}" for m in MODELS)
    lines = [
        "# Tables for classifiers that did not shape them",
        "",
        f"First {IMAGES} imagenet-val images (224 centre crops), 4:4:4, optimized Huffman, "
        "decoded by Pillow; agreement with each model's top class on the uncompressed crop "
        f"(1 point = {IMAGES // 100} images). Made by `universal_heldout.py`.",
        "",
        "BD-rate (bjontegaard PCHIP) against default JPEG (Pillow, IJG qualities "
        f"{', '.join(map(str, QUALITIES))}) by agreement, whole-file bpp (scan data in "
        "brackets). **Bold**: a model the family was not made with (held out). Least gain: the "
        "family's smallest agreement lead over default JPEG's (mozjpeg's) front across the rates "
        "both cover, on held-out models, in points (whole-file bpp).",
        "",
        f"| family | {header} | least gain over default JPEG | over mozjpeg |",
        "|---|" + "---:|" * (len(MODELS) + 2),
    ]
    for family in names:
        made = made_with[family]
        held = [m for m in MODELS if m not in made]
        cells = []
        for model in MODELS:
            whole, scan = (
                bd_rate(curve(rows, "jpeg", model, rate), curve(rows, family, model, rate))
                for rate in ("file_bpp", "scan_bpp")
            )
            text = f"{cell(whole)} ({cell(scan)})"
            cells.append(f"**{text}**" if model in held else text)
        over_moz = "" if family == "mozjpeg" else least(rows, "mozjpeg", family, held)
        gains = [least(rows, "jpeg", family, held), over_moz]
        lines.append(f"| {family} | " + " | ".join(cells + gains) + " |")
    lines += [
        "",
        "Agreement gain over default JPEG's front (points) on each held-out model, read off "
        "both fronts at whole-file bpp:",
        "",
        "| family | held-out model | " + " | ".join(f"{r:g} bpp" for r in READ_OFF) + " |",
        "|---|---|" + "---:|" * len(READ_OFF),
    ]
    for family in names:
        for model in [m for m in MODELS if m not in made_with[family]]:
            anchor = curve(rows, "jpeg", model, "file_bpp")
            test = curve(rows, family, model, "file_bpp")
            cells = []
            for rate in READ_OFF:
                a, t = accuracy_at_rate(anchor, rate), accuracy_at_rate(test, rate)
                cells.append("n/a" if a is None or t is None else f"{100 * (t - a):+.1f}")
            lines.append(f"| {family} | {SHORT[model]} | " + " | ".join(cells) + " |")
    (HERE / "universal_heldout.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    chosen = sys.argv[1:] or ORDER  # the families to measure (a rerun skips measured points)
    report(measure(HERE / "universal_heldout.jsonl", chosen))
