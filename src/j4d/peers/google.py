r""" "Google" (Luo, Talebi, Yang, Elad, Milanfar 2020, *The Rate-Distortion-Accuracy Tradeoff:
JPEG Case Study*) as the J4D paper ran it: tables learned through a differentiable JPEG whose
rounding is the cubic approximation and whose rate comes from a learned density model, trained
jointly with the tables.

* Rounding: :math:`\tilde r(x) = \operatorname{round}(x) + (x - \operatorname{round}(x))^3`
  (exact at integers; gradient :math:`3 (x - \operatorname{round}(x))^2`).
* Rate: a factorized density per channel and frequency (3 x 64 = 192 densities), CompressAI's
  :class:`~compressai.entropy_models.EntropyBottleneck`, over the cubic-rounded indices
  :math:`\hat v`: :math:`R = -\sum \log_2 p(\hat v)` with
  :math:`p(\hat v) = c(\hat v + \tfrac12) - c(\hat v - \tfrac12)` (its cumulative :math:`c`).
  At integer indices this is the probability of the symbol, so the same model measures real
  indices (``j4d rate-check -e google``). Its parameters minimize :math:`R` with the tables;
  its quantiles (used by CompressAI's coder only) follow its auxiliary loss, with their own
  optimizer, as CompressAI trains them.

Assumptions of this reading: the density sees the cubic-rounded indices, not indices plus
uniform noise (deterministic, and at integers the discrete probability); DC is modelled like
any other frequency (no DPCM); the density is fitted to the initial tables' indices before the
tables move (:meth:`FactorizedRate.fit`), since a density at its initial scale would say every
table costs about the same.
"""

from __future__ import annotations

import torch

from j4d.rate.factorized import AUXILIARY_LR, DENSITY_LR, FactorizedRate

__all__ = ["AUXILIARY_LR", "DENSITY_LR", "FactorizedRate", "cubic_round"]


def cubic_round(x: torch.Tensor) -> torch.Tensor:
    """Luo et al.'s differentiable rounding (see the module)."""
    rounded = torch.round(x).detach()
    return rounded + (x - rounded) ** 3
