"""The task loss tables are learned for: cross-entropy averaged over the models."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F


def mean_cross_entropy(
    models: Sequence[nn.Module], images: torch.Tensor, labels: torch.Tensor
) -> torch.Tensor:
    """Cross-entropy of each model on ``images``, averaged (one model: its own; several:
    universal tables)."""
    return sum(F.cross_entropy(model(images), labels) for model in models) / len(models)
