"""The comparison files of measured codec points, shared by ``j4d eval`` and ``j4d sweep``:
points and frontier CSV / JSON, Markdown summary (settings, read-offs, BD-rates, per-model
sections), R-A and R-D plots, heatmaps of learned vs default tables."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from j4d._version import __version__
from j4d.data.root import data_set_name
from j4d.data.testset import TestImages
from j4d.encoders import QUALITY_CODECS
from j4d.evaluation.codecs import CodecPoint
from j4d.evaluation.columns import per_model_columns
from j4d.evaluation.curves import gain_curve, or_none, pareto_frontier
from j4d.evaluation.realfile import DECODER
from j4d.evaluation.summary import (
    DEFAULT_RATES,
    method_curve,
    methods,
    summarize,
    summary_markdown,
)
from j4d.tasks import Classification, Task, describe_metric, task_of
from j4d.tasks.base import UNLABELED
from j4d.utils.files import atomic_write_csv, atomic_write_text, prune_folder


def reading_task(model: nn.Module, test: TestImages) -> Task:
    """The task reports read ``model``'s points by: its own, or, where no test image carries a
    label (a folder of photos without ImageNet names or class folders), the same task by
    agreement with the model on the originals, since every top-1 there would be a miss."""
    task = task_of(model)
    per_image = test.labels.reshape(len(test.labels), -1)
    if len(per_image) and bool((per_image == UNLABELED).all()) and "agreement" in task.metrics:
        return task.read_by("agreement")
    return task


def measurement_meta(models: str, test: TestImages, task: Task | None = None) -> dict[str, Any]:
    """What every report's points were measured on and how (its ``meta`` / CSV header)."""
    read_by = {}
    if task is not None and task.primary != task.metrics[0]:
        read_by = {"metric": f"{task.primary} (no test image carries a label)"}
    return {
        **read_by,
        "models": models,
        "images": test.title(),
        "skipped_unreadable": len(test.skipped),
        "rates": "scan_bpp = entropy-coded scan data only, file_bpp = whole file; mean per image",
        "decoder": DECODER,
        "distortion": "PSNR over RGB (capped at 100 dB), SSIM (pytorch-msssim, RGB); means",
        "j4d": __version__,
    }


def write_eval_report(
    out: Path,
    rows: Sequence[dict[str, Any]],
    points: Sequence[CodecPoint],
    meta: dict[str, Any],
    anchor: str = "jpeg",
    rates: Sequence[float | str] = DEFAULT_RATES,
    accuracies: Sequence[float | str] | None = None,
    task: Task | None = None,
) -> dict[str, Any]:
    """All ``j4d eval`` outputs for measured ``rows`` (one per point of ``points``):
    ``points.csv`` / ``.json`` (with ``meta``), ``frontier.csv`` (each method's Pareto front),
    ``summary.md`` / ``.json`` (vs ``anchor``), ``rate_accuracy`` and ``rate_distortion``
    plots (PNG, :func:`draw_curves`) and ``heatmaps/`` of learned vs anchor tables at about
    the same rate.
    Curves and read-offs use the ``task``'s primary metric (default: classification, top-1),
    and again its agreement. Returns the summary."""

    task = task or Classification()
    primary = task.primary

    comments = [f"{key}: {value}" for key, value in meta.items()]
    atomic_write_csv(out / "points.csv", rows, comments)
    atomic_write_text(
        out / "points.json", json.dumps({"meta": meta, "points": list(rows)}, indent=1) + "\n"
    )
    names = methods(rows)
    fronts = {}
    for name in names:
        own = [r for r in rows if r["method"] == name]
        fronts[name] = [own[i] for i in pareto_frontier([(r["scan_bpp"], r[primary]) for r in own])]
    atomic_write_csv(out / "frontier.csv", [r for name in names for r in fronts[name]], comments)
    summary = summarize(rows, anchor, rates, accuracies, metric=primary)
    summary["meta"] = meta
    summary["frontier"] = {name: [r["name"] for r in fronts[name]] for name in names}
    summary["per_model"] = {
        model: summarize(rows, anchor, rates, accuracies, metric=column)
        for model, column in per_model_columns(rows[0], primary).items()
    }
    # rows measured before agreement was a column (committed reports) have none
    has_agreement = all(np.isfinite(r.get("agreement", np.nan)) for r in rows)
    if has_agreement:
        summary["by_agreement"] = summarize(rows, anchor, rates, accuracies, metric="agreement")
        for model, column in per_model_columns(rows[0], "agreement").items():
            if model in summary["per_model"] and all(column in r for r in rows):  # older rows
                summary["per_model"][model]["by_agreement"] = summarize(  # have none
                    rows, anchor, rates, accuracies, metric=column
                )
    title = draw_curves(out, rows, meta, task, anchor)
    swept = [n for n in names if n not in QUALITY_CODECS]
    summary["heatmaps"] = _table_heatmaps(
        out / "heatmaps", rows, points, fronts, swept, anchor, task
    )
    text = f"# Rate-accuracy evaluation\n\n{title}\n\n"
    text += _settings_markdown(rows, meta) + "\n" + summary_markdown(summary)
    if has_agreement:
        text += f"\n## By agreement ({task.agreement_means})\n\n" + summary_markdown(
            summary["by_agreement"]
        )
    for name, own in summary["per_model"].items():
        text += f"\n## {name} alone\n\n" + summary_markdown(own)
        if "by_agreement" in own:
            text += f"\n### {name} alone, by agreement\n\n" + summary_markdown(own["by_agreement"])
    atomic_write_text(out / "summary.md", text)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary


def draw_curves(
    out: Path,
    rows: Sequence[dict[str, Any]],
    meta: dict[str, Any],
    task: Task,
    anchor: str = "jpeg",
) -> str:
    """A report's curves from its measured ``rows`` alone (so ``make plots`` redraws them from
    ``points.json``): ``rate_accuracy``, ``rate_distortion``, ``rate_agreement`` (each method's
    front and every swept point) and ``gain_accuracy`` / ``gain_agreement`` over ``anchor``,
    as PNG. Returns the plots' title."""
    from j4d.utils.plots import rate_accuracy, rate_gain

    primary = task.primary
    names = methods(rows)
    has_agreement = all(np.isfinite(r.get("agreement", np.nan)) for r in rows)
    title = f"{meta.get('models', '')}; {meta.get('images', '')}"
    swept = [n for n in names if n not in QUALITY_CODECS]
    plots = [
        (primary, "rate_accuracy", f"{task.labels[primary]} (%)", 100.0, "lower right"),
        ("psnr", "rate_distortion", "PSNR (dB)", 1.0, "lower right"),
    ]
    if has_agreement:
        plots.append(
            ("agreement", "rate_agreement", "agreement with uncompressed (%)", 100.0, "lower right")
        )
    for metric, stem, ylabel, scale, legend in plots:
        curves = [method_curve(rows, n, metric).frontier() for n in names]
        extra = []
        for n in swept:
            curve = method_curve(rows, n, metric)
            extra.append((f"all {n} points", curve.rates, curve.accuracies))
        rate_accuracy(
            [(c.label, c.rates, c.accuracies) for c in curves],
            [out / f"{stem}.png"],
            title=title,
            extra_points=extra,
            ylabel=ylabel,
            yscale=scale,
            legend=legend,
        )
    gains = [(primary, "gain_accuracy", task.labels[primary])]
    if has_agreement:
        gains.append(("agreement", "gain_agreement", "agreement"))
    for metric, stem, ylabel in gains:
        reference = method_curve(rows, anchor, metric).frontier()
        curves = []
        for name in names:
            gain = or_none(gain_curve, reference, method_curve(rows, name, metric))
            if name != anchor and gain is not None and gain[0]:
                curves.append((name, *gain))
        rate_gain(curves, [out / f"{stem}.png"], anchor, title=title, ylabel=ylabel)
    return title


_SETTING_KEYS = ("encoder", "subsampling", "huffman", "frame")


def _settings_markdown(rows: Sequence[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [f"- {key}: {value}" for key, value in meta.items()]
    lines += ["", "| method | points | " + " | ".join(_SETTING_KEYS) + " |"]
    lines.append("|---|---:|" + "---|" * len(_SETTING_KEYS))
    for name in methods(rows):
        own = [r for r in rows if r["method"] == name]
        cells = [str(own[0].get(key, "")) for key in _SETTING_KEYS]
        lines.append(f"| {name} | {len(own)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _table_heatmaps(
    folder: Path,
    rows: Sequence[dict[str, Any]],
    points: Sequence[CodecPoint],
    fronts: dict[str, list[dict[str, Any]]],
    swept: Sequence[str],
    anchor: str,
    task: Task,
) -> list[str]:
    """Learned tables beside the anchor's tables closest in scan bpp (lowest, middle and
    highest rate of each tables method's front), like the paper's Fig. 7."""
    from j4d.utils.plots import heatmaps

    tables = {p.name: p.tables for p in points if p.tables is not None}
    anchors = [r for r in rows if r["method"] == anchor and r["name"] in tables]
    written: list[Path] = []
    for name in swept:
        front = fronts[name]
        picks = {front[0]["name"], front[len(front) // 2]["name"], front[-1]["name"]}
        for row in [r for r in front if r["name"] in picks and r["name"] in tables]:
            if not anchors:
                break
            near = min(anchors, key=lambda r: abs(np.log(r["scan_bpp"] / row["scan_bpp"])))
            mine, theirs = tables[row["name"]], tables[near["name"]]
            path = folder / f"{row['name']}.png"
            heatmaps(
                [mine.luma, theirs.luma, mine.chroma, theirs.chroma],
                [
                    f"{name} luma",
                    f"{near['name']} luma",
                    f"{name} chroma",
                    f"{near['name']} chroma",
                ],
                [path],
                suptitle=(
                    f"{row['name']}: {row['scan_bpp']:.3f} bpp, "
                    f"{describe_metric(task, row[task.primary])}  |  {near['name']}: "
                    f"{near['scan_bpp']:.3f} bpp, {describe_metric(task, near[task.primary])}"
                ),
            )
            written.append(path)
    prune_folder(folder, written, "*.png")
    return [str(path.relative_to(folder.parent)) for path in written]


def save_frontiers(
    folder: Path,
    rows: Sequence[dict[str, Any]],
    points: Sequence[CodecPoint],
    summary: dict[str, Any],
    test: TestImages,
    task: Task,
    anchor: str = "jpeg",
) -> list[Path]:
    """The frontier tables (:func:`save_frontier_tables`) of each curve made of tables files
    (every method with tables but the ``anchor``; e.g. ``j4d``, ``j4d-trellis``) in
    ``folder``, or in ``folder/<method>/`` when there are several; tables files left there by
    an earlier run that are not on a front now are removed, so the folder holds exactly the
    fronts. Model-aware curves (:mod:`j4d.encoders`) have no frontier files: their tables
    alone do not make their files."""
    # model-aware files (settings "guide") are not reproduced by their tables alone
    tabled = [p for p in points if p.tables is not None and "guide" not in p.settings]
    methods = list(dict.fromkeys(p.method for p in tabled))
    methods = [method for method in methods if method != anchor]
    written: list[Path] = []
    for method in methods:
        into = folder / method if len(methods) > 1 else folder
        written += save_frontier_tables(into, rows, points, summary["frontier"][method], test, task)
    prune_folder(folder, written, "*.json")
    return written


def save_frontier_tables(
    out: Path,
    rows: Sequence[dict[str, Any]],
    points: Sequence[CodecPoint],
    frontier: Sequence[str],
    test: TestImages,
    task: Task,
) -> list[Path]:
    """``out/<point>.json``: the tables of each frontier point, with what they measured on the
    test split in ``meta["test"]`` (what the zoo ships); with several models the metrics are
    their mean, and each model's primary metric is there too."""
    by_name = {p.name: p for p in points if p.tables is not None}
    tables = {name: p.tables for name, p in by_name.items()}
    written = []
    for row in [r for r in rows if r["name"] in frontier and r["name"] in tables]:
        measured = {k: row[k] for k in ("scan_bpp", "file_bpp", *task.metrics)}
        # universal tables: each model's own metric beside the mean (e.g. top1[mobilenet_v2])
        measured.update({c: row[c] for c in per_model_columns(row, task.primary).values()})
        measured.update({"images": len(test.labels), "source": data_set_name(test.source)})
        settings = by_name[row["name"]].settings
        measured.update({k: settings[k] for k in _SETTING_KEYS if k in settings})
        measured["decoder"] = DECODER
        path = out / f"{row['name']}.json"
        written.append(tables[row["name"]].with_meta(test=measured).save(path))
    return written
