"""The task loss tables are learned for, averaged over the models (one model: its own loss;
several: universal tables). Each model's task (:mod:`j4d.tasks`) scores its output.

``cross_entropy`` (METHOD.md section 5) scores the decoded image against the label.
``distillation`` scores it against the model's own output on the uncompressed image:
``T^2 KL(softmax(z/T) || softmax(z_hat/T))`` with ``z`` the logits of the original and ``z_hat``
those of the reconstruction (per image, or per pixel for segmentation). On images the model has
memorized (its own training set) the label loss is near zero until compression flips a
prediction, so it says little about unseen images; the softened logits still show how far
compression moves the model's output.

Images without a label (:data:`~j4d.tasks.base.UNLABELED`) take the model's prediction on the
uncompressed image as their label, for each model: distillation needs no labels, and the
cross-entropy (history, sensitivity) stays defined.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from j4d.tasks import TASK_LOSSES, distillation_loss, task_of
from j4d.tasks.base import UNLABELED

__all__ = ["TASK_LOSSES", "distillation_loss", "task_loss"]


def task_loss(
    models: Sequence[nn.Module],
    reconstruction: torch.Tensor,
    originals: torch.Tensor,
    labels: torch.Tensor,
    kind: str = "cross_entropy",
    temperature: float = 4.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(task loss, cross-entropy), each averaged over ``models``; the cross-entropy is returned
    whatever ``kind`` is, for the training history. Labels :data:`UNLABELED` are replaced by
    each model's prediction on ``originals``."""
    if kind not in TASK_LOSSES:
        raise ValueError(f"task loss must be one of {', '.join(TASK_LOSSES)}, got {kind!r}")
    needs_reference = kind == "distillation" or bool((labels == UNLABELED).any())
    losses, entropies = [], []
    for model in models:
        reference = None
        if needs_reference:
            with torch.no_grad():
                reference = model(originals)
        loss, ce = task_of(model).loss(model(reconstruction), labels, reference, kind, temperature)
        losses.append(loss)
        entropies.append(ce)
    return sum(losses) / len(models), sum(entropies) / len(models)
