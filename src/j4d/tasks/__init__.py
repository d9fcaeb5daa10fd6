"""Tasks: what a frozen model's output means. A task gives the training loss on the output
(cross-entropy against labels, or distillation from the output on the uncompressed image) and
the metrics of a test split, so the trainer, sweep, sensitivity and eval serve every task alike.

Registered models carry theirs as ``model.task``: :class:`Classification` (top-1, top-5,
agreement) or :class:`Segmentation` (mIoU, pixel accuracy, agreement).
"""

from j4d._lazy import by_module, lazy_exports

_EXPORTS = by_module(
    {
        "j4d.tasks.base": (
            "Task",
            "class_balanced_weights",
            "describe_metric",
            "distillation_loss",
            "fisher_probe_loss",
            "kl_divergence",
            "task_of",
        ),
        "j4d.tasks.names": ("TASK_LOSSES",),
        "j4d.tasks.classification": ("Classification",),
        "j4d.tasks.segmentation": ("Segmentation",),
    }
)
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
