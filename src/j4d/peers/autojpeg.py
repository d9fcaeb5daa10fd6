r"""AutoJPEG (Xie et al., ECCV 2022) as the J4D paper ran it: tables only (no colour transform,
no fine-tuning of the model), a tanh soft rounding and a closed-form file size built on JPEG's
run-length coding, made trainable by straight-through estimators.

Neither the code nor the size model's constants were published; this is j4d's reading of the
two papers, with every assumption here:

* Soft rounding, with :math:`f = \lfloor x \rfloor` and sharpness :math:`a`:
  :math:`r(x) = f + \tfrac12 + \tfrac12 \tanh(a (x - f - \tfrac12)) / \tanh(a / 2)`
  (continuous, equal to round at integers and half-integers, rounding as :math:`a \to \infty`).
* Bits: the run-length size model of :class:`~j4d.rate.runlength.RunLengthRate`.
"""

from __future__ import annotations

import math

import torch

from j4d.rate.runlength import RunLengthRate

__all__ = ["RunLengthRate", "tanh_round"]


def tanh_round(x: torch.Tensor, sharpness: float = 4.0) -> torch.Tensor:
    """AutoJPEG's differentiable rounding (see the module); ``sharpness`` > 0."""
    floor = torch.floor(x).detach()
    return floor + 0.5 + 0.5 * torch.tanh(sharpness * (x - floor - 0.5)) / math.tanh(sharpness / 2)
