"""Analytic entropy rate estimate of JPEG coefficients (METHOD.md section 4).

For each AC frequency k the marginal PMF over the blocks of the batch is the mean of their
CPMFs, ``Pbar_k(i) = mean_b P(i | y_b)``; luma has its own, Cb and Cr share one. DC is DPCM
coded: for adjacent blocks (scan order) the index difference ``d = i_b - i_{b-1}`` has the CPMF

.. math::
    P(d) = \\sum_i P(i \\mid y_b) P(i - d \\mid y_{b-1}),

with a point mass at 0 as predictor of each image's first block. The rate is

.. math::
    R = \\frac{\\sum_k N_Y H(\\bar P_{Y,k}) + \\sum_k 2 N_C H(\\bar P_{C,k})}{\\text{pixels}}

in bits per pixel, with ``H`` the Shannon entropy in bits. The marginals are built by
scattering the CPMF values of every coefficient into a histogram that spans only the indices
in use (or, when that range is wide and sparsely filled, only the occupied bins), so memory
grows with 5x the number of coefficients plus the histogram, never with N x (2L + 1).
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from j4d.codec import kernels
from j4d.codec.codec import CHANNEL_TABLE, CodecOutput
from j4d.codec.quantize import CPMF, MASK_OFFSETS, MASK_WIDTH

_GROUPS = 2  # luma, chroma


class MarginalPool(Protocol):
    """Pools the marginals over the shards of one batch held by several processes: every
    histogram is summed over them before its entropy (so the estimate is that of the whole
    batch), on bins all of them agree on."""

    def sum(self, histogram: torch.Tensor) -> torch.Tensor:
        """The sum over the shards, differentiable (its backward sums the gradients too)."""
        ...

    def span(self, low: int, high: int) -> tuple[int, int]:
        """The lowest ``low`` and highest ``high`` over the shards."""
        ...


_FREQUENCIES = 64
_DIFF_WIDTH = 2 * MASK_WIDTH - 1  # support of the difference of two 5-point CPMFs


def _difference_map(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """(25, 9) 0/1 matrix summing the outer product P_b(a) P_prev(c) over a - c = const."""
    a = torch.arange(MASK_WIDTH).repeat_interleave(MASK_WIDTH)
    c = torch.arange(MASK_WIDTH).repeat(MASK_WIDTH)
    matrix = torch.zeros(MASK_WIDTH * MASK_WIDTH, _DIFF_WIDTH, dtype=dtype, device=device)
    matrix[torch.arange(MASK_WIDTH * MASK_WIDTH), a - c + MASK_WIDTH - 1] = 1.0
    return matrix


def dpcm_differences(dc: torch.Tensor) -> torch.Tensor:
    """DC indices (..., B), blocks in scan order -> ``i_b - i_{b-1}`` with ``i_{-1} = 0`` (the
    predictor of baseline JPEG, reset at the start of each image); differentiable."""
    return torch.diff(dc, dim=-1, prepend=torch.zeros_like(dc[..., :1]))


def dpcm_cpmf(dc: CPMF) -> tuple[torch.Tensor, torch.Tensor]:
    """CPMF of DC index differences in scan order.

    ``dc.probs`` is (5, ..., B) over the B blocks of each image in scan order. Returns
    ``(probs, indices)``, both (9, ..., B): ``probs[m, ..., b]`` is the probability that
    ``i_b - i_{b-1}`` equals ``indices[m, ..., b]`` (with ``i_{-1} = 0``).
    """
    probs = dc.probs.movedim(0, -1)  # (..., B, 5)
    center = dc.center.to(torch.int64)
    point_mass = torch.zeros_like(probs[..., :1, :])
    point_mass[..., MASK_WIDTH // 2] = 1.0
    previous = torch.cat([point_mass, probs[..., :-1, :]], dim=-2)
    previous_center = torch.cat([torch.zeros_like(center[..., :1]), center[..., :-1]], dim=-1)
    outer = probs.unsqueeze(-1) * previous.unsqueeze(-2)  # (..., B, a, c)
    diff_probs = outer.flatten(-2) @ _difference_map(probs.device, probs.dtype)
    offsets = torch.arange(_DIFF_WIDTH, device=center.device) - (_DIFF_WIDTH // 2)
    diff_indices = (center - previous_center).unsqueeze(-1) + offsets
    return diff_probs.movedim(-1, 0), diff_indices.movedim(-1, 0)


def _entropy_from_bins(mass: torch.Tensor, row_of_bin: torch.Tensor, num_rows: int) -> torch.Tensor:
    """Entropy in bits of each row's normalized histogram (0 log 0 = 0, finite gradient)."""
    total = mass.new_zeros(num_rows).index_add(0, row_of_bin, mass)
    p = mass / total.clamp_min(torch.finfo(mass.dtype).tiny)[row_of_bin]
    plogp = p * torch.log2(torch.where(p > 0, p, torch.ones_like(p)))
    return -mass.new_zeros(num_rows).index_add(0, row_of_bin, plogp)


class _ScatterRows(torch.autograd.Function):
    """``zeros(W, size).index_add(1, keys, values)`` for (W, M) values; the backward gathers
    each row with a 1-D ``take``, faster on CPU than autograd's ``index_select`` along dim 1."""

    @staticmethod
    def forward(ctx, values, keys, size):  # type: ignore[override]
        ctx.save_for_backward(keys)
        return values.new_zeros(values.shape[0], size).index_add(1, keys, values)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (keys,) = ctx.saved_tensors
        grad = grad.contiguous()
        gathered = grad.new_empty(grad.shape[0], keys.numel())
        for row, out in zip(grad.unbind(0), gathered.unbind(0), strict=True):
            torch.take(row, keys, out=out)
        return gathered, None, None


class _CPMFHistogram(torch.autograd.Function):
    """Like :class:`_ScatterRows` for the five CPMF values of coefficients ``y``, but
    differentiable in the CPMF's inputs ``(y, q)``: the backward gathers the histogram gradient
    and applies the CPMF's chain rule in one fused kernel (:func:`kernels.histogram_backward`)."""

    @staticmethod
    def forward(ctx, y, q, alpha, center, probs, keys, size):  # type: ignore[override]
        ctx.save_for_backward(y, q, alpha, center, probs, keys)
        flat = probs.reshape(probs.shape[0], -1)
        return flat.new_zeros(flat.shape[0], size).index_add(1, keys.reshape(-1), flat)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        y, q, alpha, center, probs, keys = ctx.saved_tensors
        grad_y, grad_q = kernels.histogram_backward(
            y, q, alpha, center, probs, keys, grad.contiguous()
        )
        grad_y = grad_y if ctx.needs_input_grad[0] else None
        grad_q = grad_q if ctx.needs_input_grad[1] else None
        return grad_y, grad_q, None, None, None, None, None


def _dense_entropies(
    partial: torch.Tensor, bins: int, num_rows: int, pool: MarginalPool | None = None
) -> torch.Tensor:
    """Entropies of ``num_rows`` marginals from a (W, rows * bins) histogram whose slice j
    belongs ``j`` bins further along (summed over ``pool``'s shards)."""
    width, size = partial.shape
    histogram = sum(F.pad(partial[j, : size - j], (j, 0)) for j in range(width))
    if pool is not None:
        histogram = pool.sum(histogram)
    row_of_bin = torch.arange(num_rows, device=partial.device).repeat_interleave(bins)
    return _entropy_from_bins(histogram, row_of_bin, num_rows)


def _dense_fits(num_rows: int, bins: int, entries: int) -> bool:
    """A dense grid is used when it is small against the number of scattered entries."""
    return num_rows * bins <= 4 * entries


def _marginal_entropies(
    base_keys: torch.Tensor,
    probs: torch.Tensor,
    bins: int,
    num_rows: int,
    pool: MarginalPool | None = None,
) -> torch.Tensor:
    """Entropy (bits) of ``num_rows`` marginals.

    Entry ``m`` of CPMF slice ``j`` (``probs`` is (W, ...)) adds ``probs[j].flat[m]`` to bin
    ``base_keys.flat[m] + j``, keys being ``row * bins + bin``. Dense histogram when the grid is
    small against the number of entries (always when pooled: the shards must share the bins),
    else a compact one over the occupied bins only.
    """
    width = probs.shape[0]
    base = base_keys.reshape(-1)
    flat = probs.reshape(width, -1)
    if pool is not None or _dense_fits(num_rows, bins, width * base.numel()):
        # One scatter of all W slices by their shared key, then shift slice j by j bins: a
        # single pass over the coefficients, forward and backward.
        partial = _ScatterRows.apply(flat, base, num_rows * bins)
        return _dense_entropies(partial, bins, num_rows, pool)
    keys = torch.cat([base + j for j in range(width)])
    occupied, inverse = torch.unique(keys, return_inverse=True)
    mass = flat.new_zeros(occupied.numel()).index_add(0, inverse, flat.reshape(-1))
    return _entropy_from_bins(mass, occupied // bins, num_rows)


def _row_ids(n: int, per_image: bool, device: torch.device) -> torch.Tensor:
    """(n, 3) marginal group of each (image, channel): image * 2 + {Y: 0, Cb: 1, Cr: 1}."""
    image = torch.arange(n, device=device) if per_image else torch.zeros(n, device=device).long()
    return image.view(n, 1) * _GROUPS + torch.tensor(CHANNEL_TABLE, device=device).view(1, 3)


def coefficient_bits(
    cpmf: CPMF, per_image: bool = False, pool: MarginalPool | None = None
) -> torch.Tensor:
    """Estimated bits of all coefficients described by ``cpmf`` (probs (5, N, 3, B, 64)).

    Returns a scalar for the batch (one marginal per frequency over all images), or (N,)
    with ``per_image`` (each image its own marginals, as if coded alone). With ``pool`` the
    marginals are those of the whole batch, of which ``cpmf`` is one process's shard: the
    scalar is then the shard's share of the whole batch's bits (its blocks at the pooled
    entropies).
    """
    if pool is not None and per_image:
        raise ValueError("per-image marginals are not pooled")
    probs, center = cpmf.probs, cpmf.center.to(torch.int64)
    if probs.dim() != 5 or probs.shape[0] != MASK_WIDTH or probs.shape[2] != 3:
        raise ValueError(f"expected CPMF probs of shape (5, N, 3, B, 64), got {tuple(probs.shape)}")
    if probs.shape[-1] != _FREQUENCIES:
        raise ValueError(f"expected 64 frequencies, got {probs.shape[-1]}")
    _, n, _, blocks, _ = probs.shape
    device = probs.device
    images = n if per_image else 1
    groups = _row_ids(n, per_image, device)  # (n, 3)

    # AC: all 64 frequencies are scattered (the DC rows are ignored: contiguous slices are
    # cheaper than cutting out k = 0).
    low, high = int(center.min()), int(center.max())
    if pool is not None:
        low, high = pool.span(low, high)
    low += MASK_OFFSETS[0]
    ac_bins = high + MASK_OFFSETS[-1] - low + 1
    rows = groups.view(n, 3, 1, 1) * _FREQUENCIES + torch.arange(_FREQUENCIES, device=device)
    ac_keys = (rows * ac_bins + (MASK_OFFSETS[0] - low)) + center
    ac_rows = images * _GROUPS * _FREQUENCIES
    dense = pool is not None or _dense_fits(ac_rows, ac_bins, probs.numel())
    if cpmf.inputs is not None and dense:
        y, q, alpha = cpmf.inputs
        partial = _CPMFHistogram.apply(
            y, q, alpha, cpmf.center, probs.detach(), ac_keys, ac_rows * ac_bins
        )
        ac_entropy = _dense_entropies(partial, ac_bins, ac_rows, pool)
    else:
        ac_entropy = _marginal_entropies(ac_keys, probs, ac_bins, ac_rows, pool)
    ac_entropy = ac_entropy.view(images, _GROUPS, _FREQUENCIES)[..., 1:].sum(-1)

    dc_cpmf = CPMF(cpmf.probs_at_first(), center[..., 0])
    dc_probs, dc_indices = dpcm_cpmf(dc_cpmf)  # (9, n, 3, B)
    dc_low, dc_high = int(dc_indices[0].min()), int(dc_indices[-1].max())
    if pool is not None:
        dc_low, dc_high = pool.span(dc_low, dc_high)
    dc_bins = dc_high - dc_low + 1
    dc_keys = groups.view(n, 3, 1) * dc_bins + (dc_indices[0] - dc_low)
    dc_entropy = _marginal_entropies(dc_keys, dc_probs, dc_bins, images * _GROUPS, pool)
    dc_entropy = dc_entropy.view(images, _GROUPS)

    # Coefficients per marginal: B per image for luma, 2B (Cb and Cr) for chroma.
    count = torch.tensor([1.0, 2.0], dtype=probs.dtype, device=device) * blocks * (n // images)
    bits = ((ac_entropy + dc_entropy) * count).sum(-1)
    return bits if per_image else bits[0]


def estimate_bpp(
    cpmf: CPMF,
    pixels_per_image: int,
    per_image: bool = False,
    pool: MarginalPool | None = None,
) -> torch.Tensor:
    """Estimated bits per pixel: batch-level scalar, or (N,) with ``per_image``. With
    ``pool`` (see :func:`coefficient_bits`) the whole batch's, the same in every shard."""
    n = cpmf.probs.shape[1]
    bits = coefficient_bits(cpmf, per_image, pool)
    return bits / pixels_per_image if per_image else bits / (n * pixels_per_image)


class EntropyRate(nn.Module):
    """``rate = EntropyRate()(codec_output)``: estimated bits per pixel of a codec pass."""

    def __init__(self, per_image: bool = False) -> None:
        super().__init__()
        self.per_image = per_image

    def forward(self, output: CodecOutput) -> torch.Tensor:
        return estimate_bpp(output.cpmf, output.pixels_per_image, self.per_image)
