"""Measured rows of codec points, default JPEG on the same images, and the comparison files
(frontier CSV / JSON, R-A plot, BD-rate summary) shared by ``j4d sweep`` and ``j4d eval``."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from j4d.data import class_spread_files
from j4d.datasets import ImageFolderDataset
from j4d.evaluation.curves import (
    Curve,
    accuracy_at_rate,
    compare,
    comparison_markdown,
    or_none,
    pareto_frontier,
)
from j4d.evaluation.realfile import RealFilePoint, evaluate_quality_sweep, load_split
from j4d.fileutil import atomic_write_csv, atomic_write_text
from j4d.models import model_name

DEFAULT_QUALITIES = (1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 85, 90, 95, 98, 100)


@dataclass(frozen=True)
class TestImages:
    """The measurement split: uint8 images, labels, and where they came from."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str

    def describe(self) -> str:
        return f"{self.source}, {len(self.labels)} images"


def load_test_images(
    folder: str | os.PathLike[str], size: int, count: int | None = None
) -> TestImages:
    """The first ``count`` images of an ImageFolder split taken round-robin over the classes
    (all of them if None), preprocessed to ``size``."""
    dataset = ImageFolderDataset(folder, size)
    wanted = {str(path) for path in class_spread_files(folder, count)}
    order = [i for i, (path, _) in enumerate(dataset.samples) if path in wanted]
    images, labels = load_split(dataset.select(order))
    return TestImages(images, labels, str(folder))


def point_row(
    name: str, points: Sequence[RealFilePoint], models: Sequence[nn.Module], **extra: Any
) -> dict[str, Any]:
    """One CSV row: rates, top-1 / top-5 averaged over models, and each model's top-1."""
    row: dict[str, Any] = {"name": name, **extra}
    row["scan_bpp"] = points[0].scan_bpp
    row["file_bpp"] = points[0].file_bpp
    row["top1"] = float(np.mean([p.top1 for p in points]))
    row["top5"] = float(np.mean([p.top5 for p in points]))
    if len(points) > 1:
        pairs = zip(models, points, strict=True)
        row.update({f"top1[{model_name(m)}]": p.top1 for m, p in pairs})
    return row


def default_jpeg_rows(
    models: Sequence[nn.Module],
    test: TestImages,
    qualities: Sequence[int],
    out: Path,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Default JPEG at ``qualities`` on ``test`` (``out/jpeg.csv``; reused when present for the
    same images, models and qualities)."""
    key = [test.describe(), [model_name(m) for m in models], list(qualities)]
    cache = out / "jpeg.json"
    if cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return saved["rows"]
    sweep = evaluate_quality_sweep(models, test.images, test.labels, qualities, progress)
    rows = [point_row(f"jpeg_qf{q}", points, models, quality=q) for q, points in sweep]
    atomic_write_csv(out / "jpeg.csv", rows)
    atomic_write_text(cache, json.dumps({"key": key, "rows": rows}, indent=1) + "\n")
    return rows


def write_comparison(
    out: Path,
    rows: Sequence[dict[str, Any]],
    jpeg_rows: Sequence[dict[str, Any]],
    title: str,
    label: str = "j4d",
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Frontier of ``rows`` (``frontier.csv`` / ``.json``), R-A plot (``rate_accuracy.png`` /
    ``.svg``) and BD-rate summary vs default JPEG (``summary.md`` / ``.json``), all in scan
    bpp. Returns (frontier rows, summary)."""
    from j4d.plots import rate_accuracy

    frontier = [rows[i] for i in pareto_frontier([(r["scan_bpp"], r["top1"]) for r in rows])]
    atomic_write_csv(out / "frontier.csv", frontier)
    atomic_write_text(out / "frontier.json", json.dumps(frontier, indent=1) + "\n")
    learned = Curve.from_points(label, [(r["scan_bpp"], r["top1"]) for r in frontier])
    jpeg = Curve.from_points("default JPEG", [(r["scan_bpp"], r["top1"]) for r in jpeg_rows])
    rate_accuracy(
        [(c.label, c.rates, c.accuracies) for c in (jpeg, learned)],
        [out / "rate_accuracy.png", out / "rate_accuracy.svg"],
        title=title,
        extra_points=[
            (f"all {label} points", [r["scan_bpp"] for r in rows], [r["top1"] for r in rows])
        ],
    )
    summary = compare(jpeg, learned)
    text = f"# Rate-accuracy summary\n\n{title}\n\nRates are scan-data bpp of real files.\n\n"
    text += comparison_markdown(summary, jpeg.label, learned.label)
    for name, model_summary, section in _per_model(rows, jpeg_rows, label):
        summary.setdefault("per_model", {})[name] = model_summary
        text += section
    atomic_write_text(out / "summary.md", text)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return frontier, summary


def _per_model(rows, jpeg_rows, label: str):
    """For universal tables: each model's own comparison, and default JPEG's accuracy at the
    rate of every point."""
    for key in [k for k in (rows[0] if rows else {}) if k.startswith("top1[")]:
        name = key[len("top1[") : -1]
        mine = Curve.from_points(label, [(r["scan_bpp"], r[key]) for r in rows])
        jpeg = Curve.from_points("default JPEG", [(r["scan_bpp"], r[key]) for r in jpeg_rows])
        points = [
            {
                "name": r["name"],
                "scan_bpp": r["scan_bpp"],
                label: r[key],
                jpeg.label: or_none(accuracy_at_rate, jpeg, r["scan_bpp"]),
            }
            for r in rows
        ]
        summary = {**compare(jpeg, mine), "points": points}
        lines = [
            f"\n## {name} alone\n",
            comparison_markdown(summary, jpeg.label, label),
            f"| point | scan bpp | {label} top-1 (%) | {jpeg.label} at that rate (%) |",
            "|---|---:|---:|---:|",
        ]
        for p in points:
            ref = "n/a" if p[jpeg.label] is None else f"{100 * p[jpeg.label]:.2f}"
            lines.append(f"| {p['name']} | {p['scan_bpp']:.3f} | {100 * p[label]:.2f} | {ref} |")
        yield name, summary, "\n".join(lines) + "\n"
