"""The task loss tables are learned for, averaged over the models (one model: its own loss;
several: universal tables).

``cross_entropy`` (METHOD.md section 5) scores the decoded image against the label.
``distillation`` scores it against the model's own output on the uncompressed image:
``T^2 KL(softmax(z/T) || softmax(z_hat/T))`` with ``z`` the logits of the original and ``z_hat``
those of the reconstruction. On images the model has memorized (its own training set) the label
loss is near zero until compression flips a prediction, so it says little about unseen images;
the softened logits still show how far compression moves the model's output.

Images without a label (:data:`~j4d.datasets.UNLABELED`) take the model's top class on the
uncompressed image as their label, for each model: distillation needs no labels, and the
cross-entropy (history, sensitivity) stays defined.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from j4d.datasets import UNLABELED

#: Names of the task losses (``TrainConfig.task_loss``).
TASK_LOSSES = ("cross_entropy", "distillation")


def distillation_loss(
    logits: torch.Tensor, reference_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``T^2 KL(softmax(reference/T) || softmax(logits/T))``, mean over the batch; the ``T^2``
    keeps gradients of the same size as cross-entropy's when T changes (Hinton et al. 2015)."""
    log_p = F.log_softmax(logits / temperature, dim=1)
    log_reference = F.log_softmax(reference_logits / temperature, dim=1)
    kl = F.kl_div(log_p, log_reference, reduction="batchmean", log_target=True)
    return kl * temperature**2


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
    each model's top class on ``originals``."""
    if kind not in TASK_LOSSES:
        raise ValueError(f"task loss must be one of {', '.join(TASK_LOSSES)}, got {kind!r}")
    unlabeled = labels == UNLABELED
    needs_reference = kind == "distillation" or bool(unlabeled.any())
    losses, entropies = [], []
    for model in models:
        reference, own_labels = None, labels
        if needs_reference:
            with torch.no_grad():
                reference = model(originals)
            own_labels = torch.where(unlabeled, reference.argmax(dim=1), labels)
        logits = model(reconstruction)
        entropies.append(F.cross_entropy(logits, own_labels))
        if kind == "distillation":
            losses.append(distillation_loss(logits, reference, temperature))
    ce = sum(entropies) / len(models)
    return (sum(losses) / len(models) if losses else ce), ce
