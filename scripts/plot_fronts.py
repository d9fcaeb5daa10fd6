"""Overlay the fronts of several evaluations measured on the same images with the same decoder
(e.g. universal tables against each model's own front), as one rate-accuracy plot and one
Markdown table (and its JSON): accuracy at fixed scan bpp, gain over the first curve, BD-rate
against it, and the lowest gain over it across the rates both cover (positive: above it
everywhere); and each
curve's gain over the first in points against bpp (``<out>_gain``: a lead of a point or two is
invisible at full scale).

Each curve is ``LABEL=EVAL_DIR:METHOD:METRIC``: the Pareto front of METHOD's points in
``EVAL_DIR/points.json``, by METRIC (a column such as ``top1``, ``agreement`` or, in a
several-model evaluation, ``top1[mobilenet_v2]``). The first curve is the reference.

Usage:
    python scripts/plot_fronts.py --rates 1,2,3 -o results/x/own_vs_universal \\
        "default JPEG=results/imagenet-mobilenetv2-all:jpeg:top1" \\
        "own=results/imagenet-mobilenetv2-all:j4d:top1" \\
        "universal=results/imagenet-universal:j4d:top1[mobilenet_v2]"
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from j4d.errors import InvalidInputError
from j4d.evaluation.curves import (
    Curve,
    accuracy_at_rate,
    bd_rate,
    gain_curve,
    lowest_gain,
    or_none,
    shared_range,
)
from j4d.evaluation.summary import method_curve
from j4d.utils.files import atomic_write_json, atomic_write_text
from j4d.utils.plots import rate_accuracy, rate_gain


def load_curve(spec: str, rate: str = "scan_bpp") -> Curve:
    """``LABEL=EVAL_DIR:METHOD:METRIC`` -> that method's front by that metric against ``rate``
    (``scan_bpp`` or ``file_bpp``)."""
    label, sep, rest = spec.partition("=")
    parts = rest.rsplit(":", 2)
    if not sep or len(parts) != 3:
        raise InvalidInputError(f"curve {spec!r}: expected LABEL=EVAL_DIR:METHOD:METRIC")
    folder, method, metric = parts
    path = Path(folder) / "points.json"
    if not path.is_file():
        raise InvalidInputError(f"{path}: no such file (not an evaluation folder)")
    rows = json.loads(path.read_text())["points"]
    own = [r for r in rows if r["method"] == method]
    if not own:
        raise InvalidInputError(f"{path}: no points of method {method!r}")
    if metric not in own[0]:
        raise InvalidInputError(f"{path}: no column {metric!r}")
    curve = method_curve(own, method, metric, rate).frontier()
    return Curve(label, curve.rates, curve.accuracies)


def comparison(curves: list[Curve], rate_name: str) -> dict:
    """Each curve against the first, as the table shows it and pages generated from it read it
    (``scripts/results_tables.py``): BD-rate (percent), the accuracy range it averages over and
    the lowest gain (fraction, at bpp)."""
    reference = curves[0]
    against = {}
    for curve in curves[1:]:
        bd = or_none(bd_rate, reference, curve)
        lowest = or_none(lowest_gain, reference, curve)
        against[curve.label] = {
            "bd_rate": bd,
            # BD-rate averages over the shared accuracy range only: curves over different
            # ranges are not comparable by it
            "over": None if bd is None else list(shared_range(reference, curve)),
            "lowest_gain": None if lowest is None else list(lowest),
        }
    return {"reference": reference.label, "rate": rate_name, "curves": against}


def table(curves: list[Curve], rates: list[float], metric_name: str, against: dict) -> str:
    """Accuracy at ``rates`` with the gain over the first curve, then ``against``'s columns."""
    reference = curves[0]
    head = "| curve | " + " | ".join(f"{r:g} bpp" for r in rates)
    head += " | BD-rate | over (%) | lowest gain (points, at bpp) |"
    title = (
        f"{metric_name} (%) at a fixed {against['rate']} (gain over {reference.label} in points)"
    )
    lines = [title, ""]
    lines += [head, "|---|" + "---:|" * (len(rates) + 3)]
    for curve in curves:
        cells = []
        for rate in rates:
            value = accuracy_at_rate(curve, rate)
            base = accuracy_at_rate(reference, rate)
            if value is None:
                cells.append("n/a")
            elif curve is reference or base is None:
                cells.append(f"{100 * value:.2f}")
            else:
                cells.append(f"{100 * value:.2f} ({100 * (value - base):+.2f})")
        row = against["curves"].get(curve.label, {}) if curve is not reference else {}
        bd, over, lowest = row.get("bd_rate"), row.get("over"), row.get("lowest_gain")
        cells.append("" if bd is None else f"{bd:+.1f} %")  # bd_rate is in percent
        cells.append("" if over is None else f"{100 * over[0]:.2f}-{100 * over[1]:.2f}")
        cells.append("" if lowest is None else f"{100 * lowest[0]:+.2f} at {lowest[1]:.3g}")
        lines.append(f"| {curve.label} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("curves", nargs="+", help="LABEL=EVAL_DIR:METHOD:METRIC")
    parser.add_argument("--rates", default="0.5,1,2,3", help="bpp read-offs")
    parser.add_argument(
        "--rate",
        choices=("scan_bpp", "file_bpp"),
        default="scan_bpp",
        help="entropy-coded scan data only, or the whole file",
    )
    parser.add_argument("--ylabel", default="top-1 accuracy")
    parser.add_argument("--title", default="")
    parser.add_argument("-o", "--out", type=Path, required=True, help="stem of .png/.md")
    args = parser.parse_args(argv)
    try:
        curves = [load_curve(spec, args.rate) for spec in args.curves]
        rate_name = "scan bpp" if args.rate == "scan_bpp" else "whole-file bpp"
        rates = [float(r) for r in args.rates.split(",")]
    except (InvalidInputError, ValueError) as error:
        print(f"plot_fronts: error: {error}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    rate_accuracy(
        [(c.label, c.rates, c.accuracies) for c in curves],
        [args.out.with_suffix(".png")],
        title=args.title,
        ylabel=f"{args.ylabel} (%)",
        xlabel=rate_name,
    )
    gains = []
    for curve in curves[1:]:
        gain = or_none(gain_curve, curves[0], curve)
        if gain is not None and gain[0]:
            gains.append((curve.label, *gain))
    gain_stem = args.out.with_name(args.out.name + "_gain")
    rate_gain(
        gains,
        [gain_stem.with_suffix(".png")],
        curves[0].label,
        title=args.title,
        xlabel=rate_name,
        ylabel=args.ylabel,
    )
    against = comparison(curves, rate_name)
    text = table(curves, rates, args.ylabel, against)
    atomic_write_text(args.out.with_suffix(".md"), text)
    atomic_write_json(args.out.with_suffix(".json"), against)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
