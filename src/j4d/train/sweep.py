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
from dataclasses import replace
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from j4d.evaluation.realfile import SETTINGS, evaluate_tables
from j4d.evaluation.report import (
    DEFAULT_QUALITIES,
    TestImages,
    default_jpeg_rows,
    point_row,
    write_comparison,
)
from j4d.fileutil import atomic_write_csv, atomic_write_text
from j4d.tables import QuantTables
from j4d.train.config import TrainConfig
from j4d.train.sensitivity import Sensitivity, compute_sensitivity
from j4d.train.trainer import TABLES, train_tables


def run_name(init: str, lam: float) -> str:
    return f"{init.replace(':', '')}_lam{lam:g}"


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
    jpeg_rows = default_jpeg_rows(models, test, qualities, out, progress)
    return _write_frontier(out, rows, jpeg_rows, test, description)


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
        if saved.get("test") == test.describe():
            return saved["row"]
    tables = QuantTables.load(run_dir / TABLES)
    points = evaluate_tables(models, test.images, test.labels, tables)
    row = point_row(name, points, models, init=init, lam=lam, alpha=config.describe_softness())
    row["tables"] = str(Path("runs") / name / TABLES)
    record = {"test": test.describe(), "row": row}
    atomic_write_text(cache, json.dumps(record, indent=1) + "\n")
    return row


def _write_frontier(out: Path, rows, jpeg_rows, test: TestImages, description) -> dict:
    models = ", ".join((description or {}).get("models", []))
    title = f"{models}; {test.describe()}; 4:4:4, optimized Huffman"
    frontier, summary = write_comparison(out, rows, jpeg_rows, title)
    for row in frontier:
        tables = QuantTables.load(out / row["tables"])
        measured = {k: row[k] for k in ("scan_bpp", "file_bpp", "top1", "top5")}
        measured.update({"images": len(test.labels), "source": test.source, **SETTINGS})
        tables.with_meta(test=measured).save(out / "frontier" / f"{row['name']}.json")
    return summary
