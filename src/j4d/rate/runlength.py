r"""A closed-form file size built on JPEG's run-length coding (AutoJPEG's, as j4d reads it;
:mod:`j4d.peers.autojpeg`), made trainable by straight-through estimators.

* Bits of a block, as baseline JPEG spends them on indices :math:`v` (zig-zag):
  DC: a symbol of ``dc_symbol_bits`` plus the magnitude category :math:`S(d)` of the DPCM
  difference :math:`d`; every nonzero AC: a (run, size) symbol of ``ac_symbol_bits`` plus
  :math:`S(v)`; each run of 16 zeros before a nonzero AC: a ZRL symbol (``zrl_bits``); a block
  whose last AC is zero: an EOB symbol (``eob_bits``). :math:`S(v) = \lfloor \log_2 |v| \rfloor
  + 1` for :math:`|v| \ge 1` (JPEG's SSSS), else 0. Symbol lengths are constants (JPEG's
  Huffman codes are 2 to 16 bits; the Annex K codes of the common symbols are 2 to 4).
* Gradients: :math:`S` passes that of :math:`\log_2(1 + |v|)`, the nonzero count that of
  :math:`\min(|v|, 1)` (straight-through); runs, ZRL and EOB counts pass none.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from j4d.codec import straight_through
from j4d.codec.kernels import round_half_away
from j4d.rate.entropy import dpcm_differences


def magnitude_category(v: torch.Tensor) -> torch.Tensor:
    """JPEG's magnitude category (bits of round(|v|)), gradient of log2(1 + |v|)."""
    magnitude = round_half_away(v.detach()).abs()
    hard = torch.where(magnitude >= 1, torch.floor(torch.log2(magnitude.clamp_min(1))) + 1, 0.0)
    return straight_through(hard, torch.log2(1 + v.abs()))


def nonzero(v: torch.Tensor) -> torch.Tensor:
    """1 where round(v) != 0, gradient of min(|v|, 1)."""
    hard = (round_half_away(v.detach()) != 0).to(v.dtype)
    return straight_through(hard, v.abs().clamp(max=1))


@dataclass(frozen=True)
class RunLengthRate:
    """The closed-form size of the module, per image."""

    dc_symbol_bits: float = 3.0
    ac_symbol_bits: float = 4.0
    zrl_bits: float = 11.0
    eob_bits: float = 4.0

    def bits(self, indices: torch.Tensor) -> torch.Tensor:
        """(N, 3, B, 64) zig-zag indices (soft or integer) -> (N,) bits."""
        dc_bits = self.dc_symbol_bits + magnitude_category(dpcm_differences(indices[..., 0]))
        ac = indices[..., 1:]
        ac_bits = self.ac_symbol_bits * nonzero(ac) + magnitude_category(ac)
        hard = round_half_away(ac.detach()) != 0
        position = torch.arange(1, 64, device=ac.device).expand_as(hard)
        last_nonzero = torch.where(hard, position, 0).cummax(dim=-1).values
        previous = torch.cat([torch.zeros_like(last_nonzero[..., :1]), last_nonzero[..., :-1]], -1)
        zero_run = torch.where(hard, position - previous - 1, 0)
        zrl = torch.div(zero_run, 16, rounding_mode="floor").sum(dim=-1)
        eob = ~hard[..., -1]
        overhead = self.zrl_bits * zrl + self.eob_bits * eob
        per_block = dc_bits + ac_bits.sum(dim=-1) + overhead.to(dc_bits.dtype)
        return per_block.sum(dim=(1, 2))

    def bpp(self, indices: torch.Tensor, pixels_per_image: int) -> torch.Tensor:
        """(N,) bits per pixel."""
        return self.bits(indices) / pixels_per_image
