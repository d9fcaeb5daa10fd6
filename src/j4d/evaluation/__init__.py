"""Rate-accuracy from real files: codecs to compare, encode / decode / score with a cache,
curves and summaries (Pareto frontier, BD-rate, read-offs at a rate or an accuracy)."""

from j4d.evaluation.codecs import CodecPoint, quality_points, tables_point
from j4d.evaluation.curves import (
    Curve,
    accuracy_at_rate,
    bd_rate,
    gain_curve,
    lowest_gain,
    pareto_frontier,
    rate_at_accuracy,
)
from j4d.evaluation.points import measure_points, point_row
from j4d.evaluation.realfile import (
    CodedImages,
    RealFilePoint,
    code_images,
    evaluate_coded,
    evaluate_tables,
    load_split,
    score,
    worker_pool,
)
from j4d.evaluation.summary import summarize, summary_markdown

__all__ = [
    "CodecPoint",
    "CodedImages",
    "Curve",
    "RealFilePoint",
    "accuracy_at_rate",
    "bd_rate",
    "code_images",
    "evaluate_coded",
    "evaluate_tables",
    "gain_curve",
    "load_split",
    "lowest_gain",
    "measure_points",
    "pareto_frontier",
    "point_row",
    "quality_points",
    "rate_at_accuracy",
    "score",
    "summarize",
    "summary_markdown",
    "tables_point",
    "worker_pool",
]
