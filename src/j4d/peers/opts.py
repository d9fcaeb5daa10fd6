r"""OptS (Zheng et al., ICIP 2023; Salamah et al. 2024): tables that minimize a sensitivity-
weighted distortion at a target rate.

The model's loss changes, to first order, by :math:`\sum_{c,k} g_{c,k}\,\Delta y_{c,k}` when the
coefficients move by :math:`\Delta y`; with the gradient independent of the quantization error,
its expected square is :math:`\sum_{c,k} s_{c,k}\,\mathrm{E}[\Delta y_{c,k}^2]`, with the
sensitivity :math:`s_{c,k} = \mathrm{E}[(\partial L / \partial y_{c,k})^2]` (``j4d sensitivity
--kind gradient``). OptS replaces JPEG's squared error by this weighted one and designs the
tables by rate-distortion optimization: for a Lagrange multiplier :math:`\mu`, every table
entry independently takes the step :math:`q \in \{1..255\}` minimizing

.. math::

    \sum_{c \in t} s_{c,k}\, D_{c,k}(q) + \mu\, \beta \sum_{c \in t} H_{c,k}(q)

where the channels :math:`c` share table :math:`t` (Y; or Cb and Cr), :math:`D_{c,k}(q)` is the
mean squared quantization error of the frequency over the images' blocks, :math:`H_{c,k}(q)`
the empirical entropy (bits) of its indices (of the DPCM differences for DC) and :math:`\beta`
blocks per pixel. The rate :math:`\beta \sum_{c,k} H_{c,k}` falls as :math:`\mu` grows; a
bisection on :math:`\log \mu` meets each target rate. The first-order model holds for small
errors, hence OptS's known weakness at low rates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from j4d.analysis.sensitivity import Sensitivity
from j4d.codec.kernels import round_half_away
from j4d.errors import InvalidInputError
from j4d.peers.statistics import CoefficientStatistics
from j4d.rate.entropy import dpcm_differences
from j4d.tables import MAX_STEP, MIN_STEP, QuantTables, natural_to_zigzag, zigzag_to_natural

_STEPS = torch.arange(MIN_STEP, MAX_STEP + 1, dtype=torch.float64)
_TABLE_CHANNELS = ((0,), (1, 2))


def _entropy_bits(indices: torch.Tensor) -> torch.Tensor:
    """(M, R) integer indices -> (R,) empirical entropy of each column, in bits."""
    samples, rows = indices.shape
    shifted = indices - indices.min()
    width = int(shifted.max()) + 1
    flat = (shifted + torch.arange(rows) * width).flatten()
    counts = torch.bincount(flat, minlength=rows * width).view(rows, width).double()
    p = counts / samples
    return -(p * torch.log2(torch.where(p > 0, p, 1.0))).sum(dim=1)


@dataclass(frozen=True)
class RateDistortion:
    """Per channel, zig-zag frequency and step 1..255: mean squared quantization error and
    entropy (bits per coefficient); (3, 64, 255) each."""

    distortion: torch.Tensor
    bits: torch.Tensor
    blocks_per_pixel: float

    @classmethod
    def measure(cls, statistics: CoefficientStatistics) -> RateDistortion:
        dc = statistics.dc.double()  # (N, 3, B)
        ac = statistics.ac.double().flatten(1)  # (M, 3 * 63)
        distortion = torch.empty(3, 64, len(_STEPS), dtype=torch.float64)
        bits = torch.empty_like(distortion)
        for j, q in enumerate(_STEPS):
            dc_index = round_half_away(dc / q)
            distortion[:, 0, j] = (dc - q * dc_index).square().mean(dim=(0, 2))
            differences = dpcm_differences(dc_index)
            bits[:, 0, j] = _entropy_bits(differences.transpose(1, 2).reshape(-1, 3).long())
            ac_index = round_half_away(ac / q)
            distortion[:, 1:, j] = (ac - q * ac_index).square().mean(dim=0).view(3, 63)
            bits[:, 1:, j] = _entropy_bits(ac_index.long()).view(3, 63)
        return cls(distortion, bits, statistics.blocks_per_pixel)

    def steps_for(self, weights: torch.Tensor, mu: float) -> torch.Tensor:
        """(2, 64) step indices (0 = step 1) of the luma and chroma tables minimizing
        weighted distortion + mu * bits per pixel; ``weights`` (3, 64) zig-zag. Among equal
        costs the largest step wins: a frequency quantized to all zeros on the sampled blocks
        keeps that (free) choice with the most margin on other images."""
        cost = weights[..., None] * self.distortion + mu * self.blocks_per_pixel * self.bits
        per_table = torch.stack([cost[list(channels)].sum(dim=0) for channels in _TABLE_CHANNELS])
        return len(_STEPS) - 1 - per_table.flip(-1).argmin(dim=-1)

    def bpp(self, choice: torch.Tensor) -> float:
        """Estimated bits per pixel of the (2, 64) step indices ``choice``."""
        per_channel = choice[[0, 1, 1]]
        bits = self.bits.gather(2, per_channel[..., None])[..., 0]
        return float(self.blocks_per_pixel * bits.sum())


def opts_tables(
    sensitivity: Sensitivity,
    statistics: CoefficientStatistics | RateDistortion,
    targets: Sequence[float],
) -> list[QuantTables]:
    """OptS tables, one per target rate (estimated scan bpp); see the module."""
    if sensitivity.kind != "gradient":
        raise InvalidInputError(
            "OptS weighs the squared error by E[(dL/dy)^2]: give a sensitivity of kind "
            f"'gradient' (j4d sensitivity --kind gradient), not {sensitivity.kind!r}"
        )
    if not targets or min(targets) <= 0:
        raise InvalidInputError("OptS needs target rates > 0 (bpp)")
    measured = (
        statistics if isinstance(statistics, RateDistortion) else RateDistortion.measure(statistics)
    )
    weights = natural_to_zigzag(torch.as_tensor(sensitivity.values, dtype=torch.float64))
    # mu in units of the largest weighted distortion per bit: the bisection's bracket
    scale = float((weights[..., None] * measured.distortion).max()) / max(
        float(measured.blocks_per_pixel * measured.bits.max()), 1e-12
    )
    tables = []
    for target in targets:
        low, high = math.log(scale * 1e-12), math.log(scale * 1e6)
        for _ in range(80):  # bpp falls as mu grows
            middle = 0.5 * (low + high)
            if measured.bpp(measured.steps_for(weights, math.exp(middle))) > target:
                low = middle
            else:
                high = middle
        choice = measured.steps_for(weights, math.exp(high))
        steps = zigzag_to_natural(choice + MIN_STEP).numpy()
        meta = {
            "method": "opts",
            "target_bpp": float(target),
            "estimated_bpp": measured.bpp(choice),
            "sensitivity": sensitivity.kind,
        }
        tables.append(QuantTables(*(tuple(int(v) for v in row) for row in steps), meta))
    return tables
