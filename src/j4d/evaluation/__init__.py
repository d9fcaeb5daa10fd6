"""Rate-accuracy from real files: codecs to compare, encode / decode / score with a cache,
curves and summaries (Pareto frontier, BD-rate, read-offs at a rate or an accuracy)."""

from j4d._lazy import by_module, lazy_exports

_EXPORTS = by_module(
    {
        "j4d.evaluation.codecs": (
            "CodecPoint",
            "quality_points",
            "tables_point",
        ),
        "j4d.evaluation.curves": (
            "Curve",
            "accuracy_at_rate",
            "bd_rate",
            "gain_curve",
            "lowest_gain",
            "pareto_frontier",
            "rate_at_accuracy",
        ),
        "j4d.evaluation.matched": (
            "PerImage",
            "matched_difference",
            "paired_difference",
            "per_image",
        ),
        "j4d.evaluation.points": (
            "measure_points",
            "point_row",
        ),
        "j4d.evaluation.realfile": (
            "CodedImages",
            "RealFilePoint",
            "code_images",
            "evaluate_coded",
            "evaluate_tables",
            "load_split",
            "outputs",
            "score",
        ),
        "j4d.utils.processes": ("worker_pool",),
        "j4d.evaluation.summary": (
            "summarize",
            "summary_markdown",
        ),
    }
)
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
