"""Uniform, probabilistic and soft quantizers of DCT coefficients.

For a coefficient ``y``, step ``q`` and scale ``alpha > 0``, the conditional PMF (CPMF) of the
index ``i`` over ``A_L = {-L, ..., L}`` is

.. math::
    P(i \\mid y, q, \\alpha) =
    \\frac{\\exp(-\\alpha (y - i q)^2)}{\\sum_{j \\in A_L} \\exp(-\\alpha (y - j q)^2)}.

The *masked* CPMF keeps only the five indices ``r - 2 .. r + 2`` around ``r = round(y / q)``
(a constant for autograd), clipped to ``A_L``. The probabilistic quantizer draws ``i ~ P``;
the soft quantizer returns ``Q_s(y) = sum_i i q P(i | y)``; both tend to uniform rounding as
``alpha`` grows.

``alpha`` is given by a :class:`Softness`: either a fixed value per table entry (the paper's
``alpha = 100``), or *hardness-matched*, ``alpha = h / q^2`` with ``q`` detached, so that the
soft transition has the same width ``~ 1/h`` in units of quantization steps at every step size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from j4d.codec import kernels
from j4d.codec.kernels import round_half_away
from j4d.errors import InvalidInputError

#: Index half-range L: covers every 8-bit DCT coefficient (|y| <= 1024) at q = 1.
DEFAULT_LEVELS = 1024
#: Offsets of the five indices kept by the masked CPMF, relative to round(y / q).
MASK_OFFSETS = (-2, -1, 0, 1, 2)
MASK_WIDTH = len(MASK_OFFSETS)


@dataclass(frozen=True)
class Softness:
    """How ``alpha`` is chosen: ``fixed`` (alpha = value) or ``hardness`` (alpha = value / q^2).

    ``value`` is a positive number, or a tensor broadcastable to the steps it is used with
    (in :class:`~j4d.codec.JPEGCodec`: (2, 64) per table entry, zig-zag order). Alpha is a
    constant for autograd in both modes.
    """

    mode: Literal["fixed", "hardness"] = "fixed"
    value: float | torch.Tensor = 100.0

    def __post_init__(self) -> None:
        if self.mode not in ("fixed", "hardness"):
            raise InvalidInputError(
                f"softness mode must be 'fixed' or 'hardness', got {self.mode!r}"
            )
        values = torch.as_tensor(self.value, dtype=torch.float64)
        if values.numel() == 0 or not bool(torch.all(torch.isfinite(values) & (values > 0))):
            name = "alpha" if self.mode == "fixed" else "hardness"
            raise InvalidInputError(f"{name} must be > 0, got {self.value}")

    @classmethod
    def fixed(cls, alpha: float | torch.Tensor = 100.0) -> Softness:
        return cls("fixed", alpha)

    @classmethod
    def hardness(cls, h: float | torch.Tensor = 10.0) -> Softness:
        return cls("hardness", h)

    def alpha(self, q: torch.Tensor) -> torch.Tensor:
        """The scale alpha for steps ``q`` (same dtype and device; ``q`` is detached here)."""
        value = torch.as_tensor(self.value, dtype=q.dtype, device=q.device)
        if self.mode == "fixed":
            return torch.broadcast_to(value, q.shape)
        return value / q.detach() ** 2

    def describe(self) -> str:
        value = self.value if isinstance(self.value, float | int) else "per-entry"
        return f"alpha={value}" if self.mode == "fixed" else f"alpha=h/q^2, h={value}"


@dataclass
class CPMF:
    """Masked CPMFs of many coefficients, offset-major.

    ``probs[j, ...]`` is P(index = center + j - 2) for j = 0..4, ``center`` the rounded
    index ``round(y / q)``. ``mean_offset`` caches ``sum_j (j - 2) probs[j]`` when known, and
    ``first_probs`` the slice ``probs[..., 0]`` (see :meth:`probs_at_first`). ``inputs`` holds
    ``(y, q, alpha)`` when the CPMF was computed from them: the rate estimate then
    differentiates through them directly instead of through ``probs``.
    """

    probs: torch.Tensor  # (5, ...)
    center: torch.Tensor  # (...), integer values (kept in the coefficients' float dtype)
    mean_offset: torch.Tensor | None = None
    first_probs: torch.Tensor | None = None  # probs[..., 0] as its own autograd output
    inputs: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None  # (y, q, alpha)

    def probs_at_first(self) -> torch.Tensor:
        """``probs[..., 0]``: the DC CPMFs when the last axis is frequency."""
        return self.probs[..., 0] if self.first_probs is None else self.first_probs

    def indices(self) -> torch.Tensor:
        """(5, ...) int64: the index each probability belongs to."""
        offsets = torch.tensor(MASK_OFFSETS, device=self.center.device)
        center = self.center.to(torch.int64)
        return center.unsqueeze(0) + offsets.view(-1, *([1] * center.dim()))

    def expected_index(self) -> torch.Tensor:
        offset = self.mean_offset
        if offset is None:
            p = self.probs
            offset = p[3] - p[1] + 2 * (p[4] - p[0])
        return self.center.to(self.probs.dtype) + offset

    def expectation(self, q: torch.Tensor) -> torch.Tensor:
        """Soft quantizer output ``sum_i i q P(i)`` (coefficient units)."""
        return self.expected_index() * q

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw one index per coefficient (int64) by inverse-CDF sampling."""
        with torch.no_grad():
            uniform = torch.rand(
                self.center.shape,
                generator=generator,
                dtype=self.probs.dtype,
                device=self.probs.device,
            )
            p = self.probs
            position = kernels.cdf_position(uniform, p[0], p[1], p[2], p[3])
        return self.center.to(torch.int64) + position.to(torch.int64) - (MASK_WIDTH // 2)


def _within_limits(center: torch.Tensor, levels: int) -> bool:
    """Whether all five indices around every centre lie in A_L (no masking needed)."""
    return bool((center.abs() <= levels - MASK_WIDTH // 2).all())


def _check_positive_steps(q: torch.Tensor) -> None:
    if not bool(torch.all(q.detach() > 0)):
        raise InvalidInputError("quantization steps must be > 0")


class _MaskedSoftmax(torch.autograd.Function):
    """The five CPMF values, their mean offset and the values at last-axis index 0 (the DC
    coefficient when the last axis is frequency), with a hand-derived backward.

    Autograd over five separate (N, 3, B, 64) tensors costs several times the time and memory
    of this closed form (see :mod:`j4d.codec.kernels`). The DC slice is an output of its own
    because indexing ``probs[..., 0]`` would make autograd allocate and fill a full-size zero
    gradient; here its gradient is added inside the fused backward kernel.
    """

    @staticmethod
    def forward(ctx, y, q, alpha, center, levels):  # type: ignore[override]
        if _within_limits(center, levels):
            shape = torch.broadcast_shapes(y.shape, q.shape, alpha.shape)
            probs = torch.empty((MASK_WIDTH, *shape), dtype=y.dtype, device=y.device)
            mean_offset = kernels.cpmf_forward(y, q, alpha, center, probs)
        else:
            probs, mean_offset = _masked_softmax_near_limits(y, q, alpha, center, levels)
        ctx.save_for_backward(y, q, alpha, center, probs)
        ctx.set_materialize_grads(False)  # unused outputs: None, not zero-filled tensors
        return probs, mean_offset, probs[..., :1].clone()

    @staticmethod
    def backward(ctx, grad_probs, grad_mean, grad_first):  # type: ignore[override]
        y, q, alpha, center, probs = ctx.saved_tensors
        zero = torch.zeros((), dtype=y.dtype, device=y.device)
        if grad_probs is None:
            grad_probs = zero.expand_as(probs)
        if grad_mean is None:
            grad_mean = zero.expand_as(y)
        if grad_first is None:
            grad_first = zero.expand(*probs.shape[:-1], 1)
        is_first = torch.arange(y.shape[-1], device=y.device) == 0
        grad_y, grad_q = kernels.cpmf_backward(
            y, q, alpha, center, probs, grad_probs, grad_mean, grad_first, is_first
        )
        grad_y = grad_y if ctx.needs_input_grad[0] else None
        grad_q = grad_q if ctx.needs_input_grad[1] else None
        return grad_y, grad_q, None, None, None


def _masked_softmax_near_limits(
    y: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor, center: torch.Tensor, levels: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """General form for centres within two of +-L: indices outside A_L get probability 0."""
    u = 2 * (y - center * q)
    logits = torch.stack(
        [
            torch.where((center + j).abs() > levels, -math.inf, alpha * j * q * (u - j * q))
            for j in MASK_OFFSETS
        ]
    )
    probs = torch.softmax(logits, dim=0)
    offsets = torch.tensor(MASK_OFFSETS, dtype=y.dtype, device=y.device)
    mean_offset = (probs * offsets.view(-1, *([1] * y.dim()))).sum(0)
    return probs, mean_offset


def masked_cpmf(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor | float,
    levels: int = DEFAULT_LEVELS,
) -> CPMF:
    """Masked 5-index CPMF of coefficients ``y`` with steps ``q`` (broadcast) and scale alpha.

    Differentiable in ``y`` and ``q`` (``alpha`` is treated as a constant)."""
    _check_positive_steps(q)
    q = torch.as_tensor(q, dtype=y.dtype, device=y.device)
    alpha = torch.as_tensor(alpha, dtype=y.dtype, device=y.device).detach()
    with torch.no_grad():
        center = round_half_away(y / q).clamp(-levels, levels)
    probs, mean_offset, first = _MaskedSoftmax.apply(y, q, alpha, center, levels)
    return CPMF(probs, center, mean_offset, first[..., 0], inputs=(y, q, alpha))


#: Neighbour indices with probability below exp(-40) ~ 4e-18 are never drawn: no uniform
#: variate, float32 or float64, resolves such a probability.
SAMPLING_CUTOFF = 40.0


def sample_cpmf(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor | float,
    generator: torch.Generator | None = None,
    levels: int = DEFAULT_LEVELS,
) -> torch.Tensor:
    """Indices (int64) drawn from the masked CPMF, without materializing its five values.

    Coefficients whose neighbour indices all have probability below ``exp(-40)`` keep their
    centre index; only the others (near a decision threshold, or all of them when alpha is
    small) draw a uniform variate and sample by inverse CDF. At the paper's alpha = 100 that is
    a small fraction, which makes probabilistic encoding cheap.
    """
    _check_positive_steps(q)
    with torch.no_grad():
        q = torch.as_tensor(q, dtype=y.dtype, device=y.device)
        alpha = torch.as_tensor(alpha, dtype=y.dtype, device=y.device)
        # Eager: sampling is one-shot work (encoding), where compiling would cost more than
        # it saves.
        center, margin = kernels.centre_and_margin.eager(y, q, alpha)
        if not _within_limits(center, levels):
            return masked_cpmf(y, q, alpha, levels).sample(generator)
        candidates = torch.nonzero(margin.reshape(-1) < SAMPLING_CUTOFF).squeeze(1)
        index = center.reshape(-1).clone()
        if candidates.numel():
            picked = [_gather_broadcast(t, y.shape, candidates) for t in (y, q, alpha)]
            uniform = torch.rand(
                candidates.numel(), generator=generator, dtype=y.dtype, device=y.device
            )
            index[candidates] = kernels.cpmf_sample.eager(*picked, index[candidates], uniform)
        return index.view(y.shape).to(torch.int64)


def _gather_broadcast(t: torch.Tensor, shape: torch.Size, flat_index: torch.Tensor) -> torch.Tensor:
    """``broadcast_to(t, shape).reshape(-1)[flat_index]`` without materializing the broadcast."""
    if t.dim() == 0:
        return t
    return torch.broadcast_to(t, shape)[torch.unravel_index(flat_index, shape)]


def full_cpmf(
    y: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor | float, levels: int = DEFAULT_LEVELS
) -> torch.Tensor:
    """Full-space CPMF over all ``2L + 1`` indices, (2L + 1, ...). A reference: O(L) memory."""
    _check_positive_steps(q)
    alpha = torch.as_tensor(alpha, dtype=y.dtype, device=y.device)
    index = torch.arange(-levels, levels + 1, dtype=y.dtype, device=y.device)
    shape = (-1, *([1] * y.dim()))
    logits = -alpha * (y - index.view(shape) * torch.as_tensor(q, dtype=y.dtype)) ** 2
    return torch.softmax(logits, dim=0)


#: libjpeg's integer DCT delivers coefficients in units of 1/8 before quantization.
_LIBJPEG_DCT_SCALE = 8.0


def uniform_indices(
    y: torch.Tensor, q: torch.Tensor, deadzone: torch.Tensor | float = 0.0
) -> torch.Tensor:
    """Uniform quantization indices ``round(y / q)`` as libjpeg computes them (int64), or with
    a ``deadzone`` theta in [0, 1/2]: ``sign(y) floor(|y| / q + 1/2 - theta)`` (at least 0 in
    magnitude), which rounds toward zero unless ``|y| / q`` clears the midpoint by theta.

    libjpeg's DCT output is an integer in units of 1/8 (``t = floor(8 y + 1/2)``), divided by
    ``8 q`` with ties away from zero. Rounding ``y`` to 1/8 first matches libjpeg at the many
    exact ties (the DC of integer samples is a multiple of 1/8) and near-ties; elsewhere it
    equals ``round(y / q)``.
    """
    _check_positive_steps(q)
    with torch.no_grad():
        scaled = torch.floor(y * _LIBJPEG_DCT_SCALE + 0.5)
        divisor = q * _LIBJPEG_DCT_SCALE
        offset = divisor * (0.5 - torch.as_tensor(deadzone, dtype=divisor.dtype))
        magnitude = torch.floor((scaled.abs() + offset) / divisor).clamp(min=0)
        index = torch.sign(scaled) * magnitude
    return index.to(torch.int64)


def uniform_quantize(y: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Default JPEG: ``round(y / q) * q`` (see :func:`uniform_indices`); zero gradient in y."""
    return uniform_indices(y, q).to(y.dtype) * q


def soft_quantize(
    y: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor | float, levels: int = DEFAULT_LEVELS
) -> torch.Tensor:
    """Soft quantizer ``Q_s(y) = sum_i i q P(i | y, q, alpha)`` (masked CPMF); differentiable."""
    return masked_cpmf(y, q, alpha, levels).expectation(q)


def probabilistic_quantize(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor | float,
    generator: torch.Generator | None = None,
    levels: int = DEFAULT_LEVELS,
) -> torch.Tensor:
    """Probabilistic quantizer: ``i q``, ``i`` drawn from the masked CPMF (not differentiable)."""
    return sample_cpmf(y, q, alpha, generator, levels).to(y.dtype) * q


class UniformQuantizer(nn.Module):
    def forward(self, y: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return uniform_quantize(y, q)


class SoftQuantizer(nn.Module):
    def __init__(self, softness: Softness | None = None, levels: int = DEFAULT_LEVELS) -> None:
        super().__init__()
        self.softness = softness or Softness()
        self.levels = levels

    def forward(self, y: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        return soft_quantize(y, q, self.softness.alpha(q), self.levels)


class ProbabilisticQuantizer(nn.Module):
    """Samples with its own generator, seeded once: the same seed gives the same indices."""

    def __init__(
        self, softness: Softness | None = None, seed: int = 0, levels: int = DEFAULT_LEVELS
    ) -> None:
        super().__init__()
        self.softness = softness or Softness()
        self.levels = levels
        self.seed = seed
        self._generators: dict[torch.device, torch.Generator] = {}

    def generator(self, device: torch.device) -> torch.Generator:
        if device not in self._generators:
            self._generators[device] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[device]

    def forward(self, y: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        generator = self.generator(y.device)
        return probabilistic_quantize(y, q, self.softness.alpha(q), generator, self.levels)
