"""Rate-accuracy from real files: encode, decode with a real decoder, classify; curves and
summaries (Pareto frontier, BD-rate, interpolation at a rate or an accuracy)."""

from j4d.evaluation.curves import (
    Curve,
    accuracy_at_rate,
    bd_rate,
    compare,
    comparison_markdown,
    pareto_frontier,
    rate_at_accuracy,
)
from j4d.evaluation.realfile import (
    CodedImages,
    RealFilePoint,
    classify,
    code_images,
    evaluate_quality_sweep,
    evaluate_tables,
    load_split,
)

__all__ = [
    "CodedImages",
    "Curve",
    "RealFilePoint",
    "accuracy_at_rate",
    "bd_rate",
    "classify",
    "code_images",
    "compare",
    "comparison_markdown",
    "evaluate_quality_sweep",
    "evaluate_tables",
    "load_split",
    "pareto_frontier",
    "rate_at_accuracy",
]
