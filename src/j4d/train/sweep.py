"""A grid of training runs over (initialization, lambda), each measured on real test files,
with the Pareto frontier and default JPEG on the same images (METHOD.md section 5: the R-A
curve is the frontier over all pairs).

Layout of the output folder::

    runs/<init>_lam<lambda>/   one train_tables run directory each
    cache/                     one measured row per point (reused while nothing changed)
    points.csv / points.json   every run (method j4d) and default JPEG at each quality (jpeg)
    frontier.csv               the Pareto-optimal points of each method
    frontier/<run>.json        the frontier runs' tables, with lambda, init, alpha, accuracy
                               and bpp in meta
    rate_accuracy / rate_distortion .png, heatmaps/, summary.md / .json
                               as ``j4d eval`` writes them (BD-rate and read-offs)

Finished runs and their test measurements are reused when the sweep is run again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from torch import nn
from torch.utils.data import Dataset

from j4d.analysis.sensitivity import Sensitivity, compute_sensitivity
from j4d.data.testset import TestImages
from j4d.errors import InvalidInputError
from j4d.evaluation.codecs import quality_points, tables_point
from j4d.evaluation.defaults import DEFAULT_QUALITIES, DEFAULT_RATES
from j4d.evaluation.points import measure_points
from j4d.evaluation.report import (
    measurement_meta,
    reading_task,
    save_frontiers,
    write_eval_report,
)
from j4d.tables import QuantTables
from j4d.train.config import TrainConfig, parse_init
from j4d.train.trainer import TABLES, data_fingerprint, saved_run, train_tables

#: The folder of a sweep's runs: ``<out>/runs/<run>/tables.json``.
RUNS = "runs"


def run_name(init: str, lam: float) -> str:
    """``qf50_lam1``; a ``tables:PATH`` init is named by the file: ``tables-qf10_lam3_lam1``."""
    _, value = parse_init(init)
    start = f"tables-{value.stem}" if isinstance(value, Path) else init.replace(":", "")
    return f"{start}_lam{lam:g}"


def _finished(
    run_dir: Path, config: TrainConfig, description: dict[str, Any] | None = None
) -> bool:
    """Whether ``run_dir`` holds this run, finished; a run with other settings, or other data
    than ``description`` says, is an error (reusing it would mix them in one sweep). Runs
    written before ``config.json`` kept the settings are matched on the number of epochs
    only."""
    tables = run_dir / TABLES
    if not tables.exists():
        return False
    saved = saved_run(run_dir)
    if saved is not None:
        settings, data = saved
        other_data = description is not None and data != data_fingerprint(description)
        if not settings.same_run(config) or other_data:
            raise InvalidInputError(
                "holds a run made with other settings or data (use another --out, or remove it)",
                run_dir,
            )
    return QuantTables.load(tables).meta.get("epochs") == config.epochs


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
    rates: Sequence[float | str] = DEFAULT_RATES,
    accuracies: Sequence[float | str] | None = None,
    progress: bool = True,
    workers: int = 0,
    description: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train every (init, lambda) pair (skipping finished runs), measure all on ``test``, and
    write the frontier, default JPEG, plot and summary (read off at ``rates`` and
    ``accuracies``, as in :func:`~j4d.evaluation.summary.summarize`) into ``out_dir``. Returns
    the summary."""
    _check_inits(inits)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    sensitivity = _sensitivity(models, train_set, base, inits, out, progress)
    points = []
    for init in inits:
        for lam in lams:
            name = run_name(init, lam)
            run_dir = out / RUNS / name
            config = replace(base, init=init, lam=lam)
            if not _finished(run_dir, config, description):
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
            points.append(
                tables_point(
                    run_dir / TABLES,
                    base.method,
                    name=name,
                    init=init,
                    lam=lam,
                    alpha=config.describe_softness(),
                    tables=(run_dir / TABLES).relative_to(out).as_posix(),
                )
            )
    points += quality_points("jpeg", qualities)
    rows = measure_points(
        points,
        models,
        test,
        out / "cache",
        workers=max(1, workers),  # the loader workers code the test files too
        progress=progress,
        description="test split",
    )
    task = reading_task(models[0], test)
    meta = measurement_meta(", ".join((description or {}).get("models", [])), test, task)
    summary = write_eval_report(
        out, rows, points, meta, rates=rates, accuracies=accuracies, task=task
    )
    save_frontiers(out / "frontier", rows, points, summary, test, task)
    return summary


def _check_inits(inits: Sequence[str]) -> None:
    """Fail before the first run: unreadable init tables, or two inits of one run name."""
    names: dict[str, str] = {}
    for init in inits:
        kind, value = parse_init(init)
        if kind == "tables":
            QuantTables.load(value)
        name = run_name(init, 1.0)
        if name in names:
            raise InvalidInputError(
                f"initializations {names[name]!r} and {init!r} give the same run names"
            )
        names[name] = init


def _sensitivity(models, train_set, base, inits, out: Path, progress: bool) -> Sensitivity | None:
    if not any(parse_init(init)[0] == "sensitivity" for init in inits):
        return None
    path = out / "sensitivity.json"
    if path.exists():
        return Sensitivity.load(path)
    result = compute_sensitivity(models, train_set, base.sensitivity_images, progress=progress)
    result.save(path)
    result.plot([out / "sensitivity.png"])
    return result
