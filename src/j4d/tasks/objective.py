"""The task loss tables are learned for, pooled over the models (one model: its own loss;
several: universal tables). Each model's task (:mod:`j4d.tasks`) scores its output.

``mean`` pooling averages the models' losses; ``worst`` takes the largest of them in each batch,
``max_m L_m``, so a step moves the tables for whichever model the batch hurts most (a minimax
objective: tables meant for models not in the list should not favour one of those in it).

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

from collections.abc import Callable, Sequence

import torch
from torch import nn

from j4d.tasks import TASK_LOSSES, distillation_loss, task_of
from j4d.tasks.base import UNLABELED
from j4d.tasks.names import MODEL_POOLINGS

__all__ = ["MODEL_POOLINGS", "TASK_LOSSES", "distillation_loss", "task_loss"]


def task_loss(
    models: Sequence[nn.Module],
    reconstruction: torch.Tensor,
    originals: torch.Tensor,
    labels: torch.Tensor,
    kind: str = "cross_entropy",
    temperature: float = 4.0,
    pooling: str = "mean",
    view: Callable[[nn.Module, torch.Tensor], torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(task loss pooled over ``models`` by ``pooling``, cross-entropy averaged over them); the
    cross-entropy is returned whatever ``kind`` is, for the training history. Labels
    :data:`UNLABELED` are replaced by each model's prediction on ``originals``. With ``view``
    (e.g. :func:`~j4d.models.model_view`) each model reads ``view(model, images)`` of the
    reconstruction and of the originals: photos as stored, seen as its pipeline shows them."""
    if kind not in TASK_LOSSES:
        raise ValueError(f"task loss must be one of {', '.join(TASK_LOSSES)}, got {kind!r}")
    if pooling not in MODEL_POOLINGS:
        raise ValueError(
            f"model pooling must be one of {', '.join(MODEL_POOLINGS)}, got {pooling!r}"
        )
    needs_reference = kind == "distillation" or bool((labels == UNLABELED).any())
    losses, entropies = [], []
    for model in models:
        seen, seen_originals = reconstruction, originals
        if view is not None:
            seen, seen_originals = view(model, reconstruction), view(model, originals)
        reference = None
        if needs_reference:
            with torch.no_grad():
                reference = model(seen_originals)
        loss, ce = task_of(model).loss(model(seen), labels, reference, kind, temperature)
        losses.append(loss)
        entropies.append(ce)
    pooled = torch.stack(losses).max() if pooling == "worst" else sum(losses) / len(models)
    return pooled, sum(entropies) / len(models)
