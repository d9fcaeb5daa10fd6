"""Tasks: what a frozen model's output means. A task gives the training loss on the output
(cross-entropy against labels, or distillation from the output on the uncompressed image) and
the metrics of a test split, so the trainer, sweep, sensitivity and eval serve every task alike.

Registered models carry theirs as ``model.task``: :class:`Classification` (top-1, top-5,
agreement) or :class:`Segmentation` (mIoU, pixel accuracy, agreement).
"""

from j4d.tasks.base import (
    TASK_LOSSES,
    Task,
    class_balanced_weights,
    describe_metric,
    distillation_loss,
    fisher_probe_loss,
    kl_divergence,
    task_of,
)
from j4d.tasks.classification import Classification
from j4d.tasks.segmentation import Segmentation

__all__ = [
    "TASK_LOSSES",
    "Classification",
    "Segmentation",
    "Task",
    "class_balanced_weights",
    "describe_metric",
    "distillation_loss",
    "fisher_probe_loss",
    "kl_divergence",
    "task_of",
]
