"""A grid of training runs over (initialization, lambda), each measured on real test files,
with the Pareto frontier and default JPEG on the same images (METHOD.md section 5: the R-A
curve is the frontier over all pairs).

Layout of the output folder::

    runs/<init>_lam<lambda>/   one train_tables run directory each (+ test.json)
    points.csv / points.json   every run on the test images
    jpeg.csv                   default JPEG at each quality factor, same images
    frontier.csv / .json       the Pareto-optimal runs
    frontier/<run>.json        their tables, with lambda, init, alpha, accuracy, bpp in meta
    rate_accuracy.png / .svg   frontier and all runs against default JPEG
    summary.md                 BD-rate and read-offs

Finished runs and their test measurements are reused when the sweep is run again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from j4d.evaluation.curves import Curve, compare, comparison_markdown, pareto_frontier
from j4d.evaluation.realfile import SETTINGS, evaluate_quality_sweep, evaluate_tables
from j4d.fileutil import atomic_write_csv, atomic_write_text
from j4d.tables import QuantTables
from j4d.train.config import TrainConfig
from j4d.train.sensitivity import Sensitivity, compute_sensitivity
from j4d.train.trainer import TABLES, model_name, train_tables

DEFAULT_QUALITIES = (1, 2, 3, 5, 7, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 85, 90, 95, 98, 100)


def run_name(init: str, lam: float) -> str:
    return f"{init.replace(':', '')}_lam{lam:g}"


@dataclass(frozen=True)
class TestImages:
    """The measurement split: uint8 images, labels, and where they came from."""

    images: torch.Tensor
    labels: torch.Tensor
    source: str


def _point_row(name: str, points: Sequence, models: Sequence[nn.Module], **extra: Any) -> dict:
    row: dict[str, Any] = {"name": name, **extra}
    row["scan_bpp"] = points[0].scan_bpp
    row["file_bpp"] = points[0].file_bpp
    row["top1"] = float(np.mean([p.top1 for p in points]))
    row["top5"] = float(np.mean([p.top5 for p in points]))
    if len(points) > 1:
        row.update({f"top1[{model_name(m)}]": p.top1 for m, p in zip(models, points, strict=True)})
    return row


def _finished(run_dir: Path, epochs: int) -> bool:
    tables = run_dir / TABLES
    if not tables.exists():
        return False
    return QuantTables.load(tables).meta.get("epochs") == epochs


def run_sweep(
    models: Sequence[nn.Module],
    train_set: Dataset,
    test: TestImages,
    base: TrainConfig,
    inits: Sequence[str],
    lams: Sequence[float],
    out_dir: str | Path,
    val_set: Dataset | None = None,
    qualities: Sequence[int] = DEFAULT_QUALITIES,
    progress: bool = True,
    workers: int = 0,
    description: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train every (init, lambda) pair (skipping finished runs), measure all on ``test``, and
    write the frontier, default JPEG, plot and summary into ``out_dir``. Returns the summary."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sensitivity = _sensitivity(models, train_set, base, inits, out, progress)
    rows = []
    for init in inits:
        for lam in lams:
            name = run_name(init, lam)
            run_dir = out / "runs" / name
            config = replace(base, init=init, lam=lam)
            if not _finished(run_dir, config.epochs):
                train_tables(
                    models,
                    train_set,
                    config,
                    val_set,
                    run_dir,
                    resume=(run_dir / "checkpoint.pt").exists(),
                    sensitivity=sensitivity,
                    progress=progress,
                    workers=workers,
                    description=description,
                )
            rows.append(_measure_run(run_dir, name, init, lam, config, models, test))
    atomic_write_csv(out / "points.csv", rows)
    atomic_write_text(out / "points.json", json.dumps(rows, indent=1) + "\n")
    jpeg_rows = _jpeg(models, test, qualities, out, progress)
    return _write_summary(out, rows, jpeg_rows, test, description)


def _sensitivity(models, train_set, base, inits, out: Path, progress: bool) -> Sensitivity | None:
    if not any(init.startswith("sensitivity:") for init in inits):
        return None
    path = out / "sensitivity.json"
    if path.exists():
        return Sensitivity.load(path)
    result = compute_sensitivity(models, train_set, base.sensitivity_images, progress=progress)
    result.save(path)
    result.plot([out / "sensitivity.png"])
    return result


def _measure_run(run_dir: Path, name, init, lam, config: TrainConfig, models, test) -> dict:
    cache = run_dir / "test.json"
    if cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("source") == test.source and saved.get("images") == len(test.labels):
            return saved["row"]
    tables = QuantTables.load(run_dir / TABLES)
    points = evaluate_tables(models, test.images, test.labels, tables)
    row = _point_row(name, points, models, init=init, lam=lam, alpha=config.describe_softness())
    row["tables"] = str(Path("runs") / name / TABLES)
    record = {"source": test.source, "images": len(test.labels), "row": row}
    atomic_write_text(cache, json.dumps(record, indent=1) + "\n")
    return row


def _jpeg(models, test: TestImages, qualities, out: Path, progress: bool) -> list[dict]:
    cache = out / "jpeg.json"
    if cache.exists():
        saved = json.loads(cache.read_text())
        if saved.get("key") == [test.source, len(test.labels), list(qualities)]:
            return saved["rows"]
    sweep = evaluate_quality_sweep(models, test.images, test.labels, qualities, progress)
    rows = [_point_row(f"jpeg_qf{q}", points, models, quality=q) for q, points in sweep]
    atomic_write_csv(out / "jpeg.csv", rows)
    record = {"key": [test.source, len(test.labels), list(qualities)], "rows": rows}
    atomic_write_text(cache, json.dumps(record, indent=1) + "\n")
    return rows


def _write_summary(out: Path, rows, jpeg_rows, test: TestImages, description) -> dict[str, Any]:
    from j4d.plots import rate_accuracy

    keep = pareto_frontier([(r["scan_bpp"], r["top1"]) for r in rows])
    frontier = [rows[i] for i in keep]
    atomic_write_csv(out / "frontier.csv", frontier)
    atomic_write_text(out / "frontier.json", json.dumps(frontier, indent=1) + "\n")
    for row in frontier:
        tables = QuantTables.load(out / row["tables"])
        meta = {
            **tables.meta,
            "test": {k: row[k] for k in ("scan_bpp", "file_bpp", "top1", "top5")},
        }
        meta["test"].update({"images": len(test.labels), "source": test.source, **SETTINGS})
        tables.with_meta(**meta).save(out / "frontier" / f"{row['name']}.json")
    learned = Curve.from_points("j4d", [(r["scan_bpp"], r["top1"]) for r in frontier])
    jpeg = Curve.from_points("default JPEG", [(r["scan_bpp"], r["top1"]) for r in jpeg_rows])
    models = ", ".join((description or {}).get("models", []))
    title = f"{models} on {len(test.labels)} images ({test.source}); 4:4:4, optimized Huffman"
    rate_accuracy(
        [
            (jpeg.label, jpeg.rates, jpeg.accuracies),
            (learned.label, learned.rates, learned.accuracies),
        ],
        [out / "rate_accuracy.png", out / "rate_accuracy.svg"],
        title=title,
        extra_points=[("all j4d runs", [r["scan_bpp"] for r in rows], [r["top1"] for r in rows])],
    )
    summary = compare(jpeg, learned)
    text = f"# Sweep summary\n\n{title}; rates are scan-data bpp.\n\n"
    text += comparison_markdown(summary, jpeg.label, learned.label)
    atomic_write_text(out / "summary.md", text)
    atomic_write_text(out / "summary.json", json.dumps(summary, indent=1) + "\n")
    return summary
