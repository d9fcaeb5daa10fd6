"""How a measured point's row names its columns (no torch: the zoo reads them)."""

from __future__ import annotations

from typing import Any


def per_model_columns(row: dict[str, Any], metric: str) -> dict[str, str]:
    """The row's per-model columns of ``metric`` by model name (``top1[resnet20]`` ->
    ``resnet20``; see :func:`j4d.evaluation.points.metric_columns`), empty with one model."""
    prefix = f"{metric}["
    return {key[len(prefix) : -1]: key for key in row if key.startswith(prefix)}
