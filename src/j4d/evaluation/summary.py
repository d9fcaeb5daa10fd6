"""Comparison of several methods' measured rows against an anchor (default JPEG), like the
paper's Tables 1-3: accuracy at fixed rates, rate at fixed accuracies, and BD-rate.

Each method's curve is the Pareto front of its points (top-1 against scan bpp); read-offs
interpolate linearly in log-rate between measured points and never extrapolate (``n/a``).
BD-rate uses the ``bjontegaard`` package (PCHIP) with top-1, and separately PSNR, as the metric.
The lowest gain of each method over each other one, across the rates both cover, says whether a
curve is above another everywhere (a BD-rate is an average and cannot).
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Sequence
from typing import Any

from j4d.errors import InvalidInputError
from j4d.evaluation.curves import (
    Curve,
    accuracy_at_rate,
    bd_rate,
    lowest_gain,
    or_none,
    overlap,
    rate_at_accuracy,
)
from j4d.evaluation.defaults import DEFAULT_RATES
from j4d.tasks import Classification, Segmentation

#: Default target accuracies, as fractions of the anchor's best measured top-1.
RELATIVE_TARGETS = (0.9, 0.95, 0.98, 0.99)
#: Names of the accuracy columns, for tables and plots.
METRIC_LABELS = {**Classification.labels, **Segmentation.labels}
_AT_QUALITY = re.compile(r"^qf:(\d+)$")


def metric_label(metric: str) -> str:
    """``top1`` -> ``top-1 accuracy``; a per-model column ``top1[resnet20]`` -> ``top-1
    accuracy (resnet20)``."""
    base, _, model = metric.partition("[")
    label = METRIC_LABELS.get(base, base)
    return f"{label} ({model.rstrip(']')})" if model else label


def parse_target(text: str) -> float | str:
    """A read-off position: a number (an accuracy fraction ``0.9``, or a rate ``2``), or
    ``qf:Q``, the anchor's own value at quality Q (e.g. accuracy ``qf:95``: the rate a method
    needs for default JPEG's QF-95 accuracy; rate ``qf:1``: default JPEG's lowest rate)."""
    text = text.strip()
    if _AT_QUALITY.match(text):
        return text
    try:
        return float(text)
    except ValueError:
        raise InvalidInputError(f"read-off targets are numbers or qf:Q, got {text!r}") from None


def _resolve_target(
    rows: Sequence[dict[str, Any]], anchor: str, column: str, target: float | str
) -> tuple[float, str]:
    """(value, label) of a target of :func:`parse_target` in ``column`` (an accuracy, shown
    in percent, or ``scan_bpp``)."""

    def show(value: float) -> str:
        return f"{value:.3g}" if column == "scan_bpp" else f"{100 * value:.2f}"

    if isinstance(target, float | int):
        return float(target), show(float(target))
    quality = int(_AT_QUALITY.match(target).group(1))  # type: ignore[union-attr]
    found = [r for r in rows if r["method"] == anchor and r.get("quality") == quality]
    if not found:
        raise InvalidInputError(f"no {anchor} point at quality {quality} to read {target} off")
    value = float(found[0][column])
    return value, f"{show(value)} ({anchor} QF {quality})"


def methods(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Method names in order of first appearance."""
    return list(dict.fromkeys(row["method"] for row in rows))


def method_curve(
    rows: Sequence[dict[str, Any]], method: str, metric: str = "top1", rate: str = "scan_bpp"
) -> Curve:
    """All points of ``method`` as (``rate``: scan or whole-file bpp, ``metric``)."""
    return Curve.from_points(method, [(r[rate], r[metric]) for r in rows if r["method"] == method])


def _bd(anchor: Curve, test: Curve) -> tuple[float | None, float | None, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            delta = bd_rate(anchor, test)
        except InvalidInputError as error:
            return None, or_none(overlap, anchor, test), [f"{test.label}: no BD-rate: {error}"]
    return delta, or_none(overlap, anchor, test), [str(w.message) for w in caught]


def summarize(
    rows: Sequence[dict[str, Any]],
    anchor: str = "jpeg",
    rates: Sequence[float | str] = DEFAULT_RATES,
    accuracies: Sequence[float | str] | None = None,
    metric: str = "top1",
) -> dict[str, Any]:
    """Per method: top-1 at each rate, scan bpp at each target top-1 (default: fractions
    :data:`RELATIVE_TARGETS` of the anchor's best top-1), BD-rate vs ``anchor`` by top-1 and by
    PSNR, with the accuracy-range overlap and any warnings. ``metric`` names the accuracy
    column (e.g. ``top1[resnet20]`` for one model of several)."""
    names = methods(rows)
    if anchor not in names:
        raise InvalidInputError(f"no {anchor!r} points to compare against")
    names = [anchor] + [name for name in names if name != anchor]
    curves = {name: method_curve(rows, name, metric) for name in names}
    if accuracies is None:
        best = max(curves[anchor].accuracies)
        accuracies = [round(fraction * best, 4) for fraction in RELATIVE_TARGETS]
    resolved = [_resolve_target(rows, anchor, metric, target) for target in accuracies]
    accuracies = [value for value, _ in resolved]
    rate_targets = [_resolve_target(rows, anchor, "scan_bpp", target) for target in rates]
    rates = [value for value, _ in rate_targets]
    summary: dict[str, Any] = {
        "anchor": anchor,
        "metric": metric,
        "rates": rates,
        "rate_labels": [label for _, label in rate_targets],
        "accuracies": accuracies,
        "accuracy_labels": [label for _, label in resolved],
        "methods": {},
        "warnings": [],
    }
    for name in names:
        curve = curves[name]
        entry: dict[str, Any] = {
            "points": len(curve.rates),
            "accuracy_at_rate": [or_none(accuracy_at_rate, curve, r) for r in rates],
            "rate_at_accuracy": [or_none(rate_at_accuracy, curve, a) for a in accuracies],
            "lowest_gain": {
                other: or_none(lowest_gain, curves[other], curve)
                for other in names
                if other != name
            },
        }
        if name != anchor:
            delta, shared, notes = _bd(curves[anchor], curve)
            psnr_delta, _, psnr_notes = _bd(
                method_curve(rows, anchor, "psnr"), method_curve(rows, name, "psnr")
            )
            file_delta, file_notes = None, []
            if all("file_bpp" in r for r in rows):  # rows made by hand (tests) may have none
                file_delta, _, file_notes = _bd(
                    method_curve(rows, anchor, metric, "file_bpp"),
                    method_curve(rows, name, metric, "file_bpp"),
                )
            entry.update(
                bd_rate=delta, overlap=shared, bd_rate_psnr=psnr_delta, bd_rate_file=file_delta
            )
            summary["warnings"] += notes + [f"PSNR: {n}" for n in psnr_notes]
            summary["warnings"] += [f"whole-file bpp: {n}" for n in file_notes]
        summary["methods"][name] = entry
    return summary


def _read_off_rows(
    summary: dict[str, Any],
    key: str,
    labels: Sequence[str],
    show: Callable[[float], str],
    change: Callable[[float, float], str],
) -> list[str]:
    """Markdown rows of one read-off (``key``) for every method, with ``change`` vs the anchor."""
    anchor = summary["anchor"]
    lines = []
    for i, label in enumerate(labels):
        reference = summary["methods"][anchor][key][i]
        cells = []
        for name, entry in summary["methods"].items():
            value = entry[key][i]
            cell = "n/a" if value is None else show(value)
            if name != anchor and value is not None and reference is not None:
                cell += f" ({change(value, reference)})"
            cells.append(cell)
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


def summary_markdown(summary: dict[str, Any]) -> str:
    """The summary as Markdown tables: top-1 at fixed rates (gain over the anchor in points),
    scan bpp at fixed top-1 (change vs the anchor), BD-rates."""
    anchor = summary["anchor"]
    names = list(summary["methods"])
    header = "| " + " | ".join(names) + " |"
    rule = "|---:|" + "---:|" * len(names)
    metric = metric_label(summary.get("metric", "top1"))
    labels = summary.get("accuracy_labels") or [
        f"{100 * accuracy:.2f}" for accuracy in summary["accuracies"]
    ]
    lines = [
        f"### {metric[0].upper() + metric[1:]} (%) at a fixed scan bpp "
        f"(gain over {anchor} in points)\n",
        "| scan bpp " + header,
        rule,
        *_read_off_rows(
            summary,
            "accuracy_at_rate",
            summary.get("rate_labels") or [f"{rate:g}" for rate in summary["rates"]],
            lambda value: f"{100 * value:.2f}",
            lambda value, ref: f"{100 * (value - ref):+.2f}",
        ),
        "",
        f"### Scan bpp to reach a given {metric} (change vs {anchor})\n",
        f"| {metric} (%) " + header,
        rule,
        *_read_off_rows(
            summary,
            "rate_at_accuracy",
            labels,
            lambda value: f"{value:.3f}",
            lambda value, ref: f"{100 * (value / ref - 1):+.1f} %",
        ),
    ]
    lines += [
        "",
        f"### BD-rate vs {anchor} (bjontegaard, PCHIP, scan bpp unless said; negative = fewer "
        "bits)\n",
        f"| method | BD-rate, {metric} metric | {metric} ranges overlap | BD-rate, PSNR metric | "
        f"BD-rate, {metric} metric, whole-file bpp |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in names[1:]:
        entry = summary["methods"][name]

        def fmt(value: float | None, unit: str = " %") -> str:
            return "n/a" if value is None else f"{value:.1f}{unit}"

        shared = entry["overlap"]
        lines.append(
            f"| {name} | {fmt(entry['bd_rate'])} | "
            f"{'n/a' if shared is None else f'{100 * shared:.0f} %'} | "
            f"{fmt(entry['bd_rate_psnr'])} | {fmt(entry.get('bd_rate_file'))} |"
        )
    lines += _lowest_gain_rows(summary, metric)
    lines += ["", *(f"warning: {w}" for w in summary["warnings"])]
    return "\n".join(lines).rstrip() + "\n"


def _lowest_gain_rows(summary: dict[str, Any], metric: str) -> list[str]:
    """Markdown table: each method's lowest gain over each other method across the scan bpp
    both cover (points, and the rate where it lies); a positive cell means above everywhere."""
    names = list(summary["methods"])
    lines = [
        "",
        f"### Lowest {metric} gain over each method across the scan bpp both cover (points, "
        "at scan bpp; positive = above it everywhere)\n",
        "| method | " + " | ".join(f"vs {name}" for name in names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    for name in names:
        gains = summary["methods"][name]["lowest_gain"]
        cells = []
        for other in names:
            found = gains.get(other)
            cells.append("n/a" if found is None else f"{100 * found[0]:+.2f} at {found[1]:.3g}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines
