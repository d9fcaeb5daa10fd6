"""Measuring codec points on a test split, with a per-point cache so an interrupted run resumes.

Each point's row holds the point's settings, mean scan / whole-file bpp, mean PSNR and SSIM,
and the task's metrics (e.g. top-1 / top-5 / agreement: mean over models, and each model's
primary metric when there are several). A row is written to ``CACHE/<name>.json`` as soon as
it is measured and reused while the images, the models and the point's settings (tables values
included) are unchanged, under its name or, when the same point had another name in an earlier
run, under that one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn
from tqdm.auto import tqdm

from j4d.data.testset import TestImages
from j4d.errors import warn
from j4d.evaluation.codecs import CodecPoint
from j4d.evaluation.realfile import (
    RealFilePoint,
    code_images,
    evaluate_coded,
    reference_predictions,
)
from j4d.models import model_name
from j4d.tasks import task_of
from j4d.utils.faults import fault_point
from j4d.utils.files import atomic_write_text
from j4d.utils.processes import worker_pool


def point_row(
    name: str, points: Sequence[RealFilePoint], models: Sequence[nn.Module], **extra: Any
) -> dict[str, Any]:
    """One output row: ``extra`` settings, rates, distortion, the task's metrics averaged over
    models, and each model's primary metric (e.g. ``top1[resnet20]``) when there are several."""
    row: dict[str, Any] = {"name": name, **extra}
    first = points[0]
    row.update(scan_bpp=first.scan_bpp, file_bpp=first.file_bpp, psnr=first.psnr)
    row["ssim"] = first.ssim
    return row | metric_columns(points, models)


def metric_columns(
    points: Sequence[RealFilePoint], models: Sequence[nn.Module], prefix: str = ""
) -> dict[str, float]:
    """The task's metrics averaged over the models' points, and each model's primary metric and
    agreement (e.g. ``top1[resnet20]``, ``agreement[resnet20]``) when there are several; names
    start with ``prefix``."""
    task = task_of(models[0])
    columns = {
        f"{prefix}{metric}": float(np.mean([p.metrics[metric] for p in points]))
        for metric in task.metrics
    }
    if len(points) > 1:
        for metric in dict.fromkeys((task.primary, "agreement")):
            if metric in task.metrics:
                columns |= {
                    f"{prefix}{metric}[{model_name(m)}]": p.metrics[metric]
                    for m, p in zip(models, points, strict=True)
                }
    return columns


def _cache_key(point: CodecPoint, test: TestImages, models: Sequence[nn.Module]) -> dict:
    key = {
        "point": point.describe(),
        "images": test.describe(),
        "models": [model_name(m) for m in models],
        "metrics": list(task_of(models[0]).metrics),  # rows without one are measured again
    }
    if point.tables is not None:
        key["tables_sha1"] = hashlib.sha1(point.tables.to_array().tobytes()).hexdigest()
        if "deadzone" in point.tables.meta:  # what the deadzone encoder writes depends on it
            deadzone = json.dumps(point.tables.meta["deadzone"], sort_keys=True).encode()
            key["deadzone_sha1"] = hashlib.sha1(deadzone).hexdigest()
    return json.loads(json.dumps(key))  # as read back from JSON


def measure_points(
    points: Sequence[CodecPoint],
    models: Sequence[nn.Module],
    test: TestImages,
    cache_dir: Path | None = None,
    workers: int = 1,
    progress: bool = False,
    description: str = "codec points",
) -> list[dict[str, Any]]:
    """Rows for ``points`` in order: encode and decode every test image once per point (in
    ``workers`` processes), classify with every model; cached rows are reused."""
    rows: list[dict[str, Any]] = []
    todo = []
    cached_rows = _cached_rows(cache_dir)
    for point in points:
        key = _cache_key(point, test, models)
        cached = cached_rows.get(_lookup(key))
        rows.append(None if cached is None else _reused_row(point, *cached))
        if cached is None:
            todo.append((len(rows) - 1, point, key))
    if not todo:
        return rows
    references = reference_predictions(models, test.images)
    with worker_pool(workers) as pool:
        for index, point, key in tqdm(todo, desc=description, unit="point", disable=not progress):
            coded = code_images(test.images, point.encode, pool)
            measured = evaluate_coded(models, coded, test.labels, references)
            settings = _without_name(point.describe())
            row = point_row(point.name, measured, models, **settings)
            fault_point("point")
            if cache_dir is not None:
                text = json.dumps({"key": key, "row": row}, indent=1) + "\n"
                atomic_write_text(cache_dir / _cache_file_name(point.name, key), text)
            rows[index] = row
    return rows


def _without_name(described: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in described.items() if k != "name"}


#: Columns of a point's row that say where its tables came from, not how its files are made:
#: the same tables measured by a sweep (``runs/qf50_lam1/tables.json``, its lambda) and by an
#: evaluation of its frontier (``frontier/qf50_lam1.json``) are one measurement.
PROVENANCE = ("tables", "init", "lam", "alpha")


def _lookup(key: dict[str, Any]) -> str:
    """A cache key without the point's name, which depends on the other points of a run
    (``method.frontier_2``), nor its provenance: the same tables (by content) with the same
    encoder on the same images reuse their row."""
    point = {k: v for k, v in _without_name(key["point"]).items() if k not in PROVENANCE}
    return json.dumps({**key, "point": point}, sort_keys=True)


def _cache_file_name(name: str, key: dict[str, Any]) -> str:
    """``qf50_lam1.3f9a0c2e.json``: the point's name and a digest of what it measures, so the
    caches of several folders merge into one by copying (two folders' ``qf50_lam1`` may be
    other tables); files named by the point alone (older caches) are read too."""
    digest = hashlib.sha1(_lookup(key).encode()).hexdigest()[:8]
    return f"{name}.{digest}.json"


def _reused_row(point: CodecPoint, key: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A cached row under this point's name and provenance: the measured columns are the
    row's, the descriptive ones (those of the key's point) this point's."""
    measured = {k: v for k, v in row.items() if k != "name" and k not in key["point"]}
    return {"name": point.name, **_without_name(point.describe())} | measured


def _cached_rows(cache_dir: Path | None) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    """The cache's (key, row) pairs by :func:`_lookup` of their key, read once per
    measurement."""
    rows: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {}
    if cache_dir is None or not cache_dir.is_dir():
        return rows
    for path in sorted(cache_dir.glob("*.json")):
        try:
            saved = json.loads(path.read_text())
            key = saved["key"]
            if not (isinstance(key["point"], dict) and isinstance(saved["row"], dict)):
                raise ValueError("not a cache row")
        except (OSError, ValueError, KeyError, TypeError) as error:
            warn(f"damaged cache row ({error}); its point is measured again", path)
            continue
        rows.setdefault(_lookup(key), (key, saved["row"]))
    return rows
