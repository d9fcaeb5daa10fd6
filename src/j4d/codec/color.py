"""JFIF (full-range BT.601) colour transform between RGB and YCbCr, on [0, 255] samples.

.. math::
    Y  &= 0.299 R + 0.587 G + 0.114 B \\
    Cb &= 128 - 0.168736 R - 0.331264 G + 0.5 B \\
    Cr &= 128 + 0.5 R - 0.418688 G - 0.081312 B
"""

from __future__ import annotations

import torch
from torch import nn

from j4d.codec.kernels import fused

_RGB_TO_YCBCR = (
    (0.299, 0.587, 0.114),
    (-0.168736, -0.331264, 0.5),
    (0.5, -0.418688, -0.081312),
)
# The inverse as JFIF writes it (libjpeg's decoder uses these rounded constants).
_YCBCR_TO_RGB = (
    (1.0, 0.0, 1.402),
    (1.0, -0.344136, -0.714136),
    (1.0, 1.772, 0.0),
)
_CHROMA_OFFSET = (0.0, 128.0, 128.0)


def _check_image(x: torch.Tensor, name: str) -> None:
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"{name} expects a (N, 3, H, W) tensor, got shape {tuple(x.shape)}")


def _mix(x: torch.Tensor, matrix: tuple[tuple[float, ...], ...] | torch.Tensor) -> torch.Tensor:
    """Per-pixel 3x3 matrix product; explicit sums beat einsum's batched matmul with K = 3."""
    weights = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rows = [weights[o, 0] * r + weights[o, 1] * g + weights[o, 2] * b for o in range(3)]
    return torch.stack(rows, dim=1)


def rgb_to_ycbcr(rgb: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 255] -> YCbCr in [0, 255] (JFIF)."""
    _check_image(rgb, "rgb_to_ycbcr")
    offset = torch.tensor(_CHROMA_OFFSET, dtype=rgb.dtype, device=rgb.device).view(1, 3, 1, 1)
    return _mix(rgb, _RGB_TO_YCBCR) + offset


def ycbcr_to_rgb(ycbcr: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) YCbCr in [0, 255] -> RGB (JFIF), not clamped."""
    _check_image(ycbcr, "ycbcr_to_rgb")
    offset = torch.tensor(_CHROMA_OFFSET, dtype=ycbcr.dtype, device=ycbcr.device)
    return _mix(ycbcr - offset.view(1, 3, 1, 1), _YCBCR_TO_RGB)


# libjpeg's fixed-point forward transform (jccolor.c): 16 fraction bits, Y rounds half up,
# Cb and Cr round half down, and Cb/Cr constants have five decimals.
_FIX_BITS = 16
_LIBJPEG_RGB_TO_YCBCR = (
    (0.29900, 0.58700, 0.11400),
    (-0.16874, -0.33126, 0.50000),
    (0.50000, -0.41869, -0.08131),
)
_LIBJPEG_ROUNDING = (0.5, 0.5 - 2.0**-_FIX_BITS, 0.5 - 2.0**-_FIX_BITS)


def rgb_to_ycbcr_libjpeg(rgb: torch.Tensor) -> torch.Tensor:
    """The integer YCbCr samples libjpeg computes for integer RGB in [0, 255] (exact).

    libjpeg's fixed-point sums stay below 2^24 in magnitude, so float32 (and float64) hold them
    exactly."""
    _check_image(rgb, "rgb_to_ycbcr_libjpeg")
    dtype = torch.float64 if rgb.dtype == torch.float64 else torch.float32
    one = float(1 << _FIX_BITS)
    fixed = torch.tensor(_LIBJPEG_RGB_TO_YCBCR, dtype=torch.float64).mul(one).round()
    rounding = torch.tensor(_LIBJPEG_ROUNDING, dtype=torch.float64) * one
    bias = (torch.tensor(_CHROMA_OFFSET, dtype=torch.float64) * one + rounding).view(1, 3, 1, 1)
    acc = _mix(rgb.detach().to(dtype).round(), fixed.to(dtype=dtype, device=rgb.device))
    ycbcr = torch.floor((acc + bias.to(dtype=dtype, device=rgb.device)) / one)
    return ycbcr.clamp(0.0, 255.0).to(rgb.dtype)


def _clamp8(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """round + clamp to [0, 255], and where the gradient passes (rounded value in [0, 255])."""
    rounded = torch.round(x)
    return rounded.clamp(0.0, 255.0), (rounded >= 0.0) & (rounded <= 255.0)


@fused
def _decode_8bit_forward(ycbcr: torch.Tensor) -> torch.Tensor:
    samples, _ = _clamp8(ycbcr)
    rgb, _ = _clamp8(ycbcr_to_rgb(samples))
    return rgb


@fused
def _decode_8bit_backward(ycbcr: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    samples, inside_samples = _clamp8(ycbcr)
    _, inside_rgb = _clamp8(ycbcr_to_rgb(samples))
    grad_rgb = torch.where(inside_rgb, grad, 0.0)
    weights = torch.tensor(_YCBCR_TO_RGB, dtype=grad.dtype, device=grad.device)
    return torch.where(inside_samples, _mix(grad_rgb, weights.T), 0.0)


class _Decode8Bit(torch.autograd.Function):
    @staticmethod
    def forward(ctx, ycbcr):  # type: ignore[override]
        ctx.save_for_backward(ycbcr)
        return _decode_8bit_forward(ycbcr)

    @staticmethod
    def backward(ctx, grad):  # type: ignore[override]
        (ycbcr,) = ctx.saved_tensors
        return _decode_8bit_backward(ycbcr, grad)


def ycbcr_to_rgb_8bit(ycbcr: torch.Tensor) -> torch.Tensor:
    """What an 8-bit decoder outputs for real-valued YCbCr samples: samples rounded and clamped
    to [0, 255], converted to RGB, rounded and clamped again.

    Gradient: rounding is straight-through; clamping passes gradient for rounded values in
    [0, 255] including the ends (``torch.clamp`` would stop it at exactly 0 and 255, i.e. at
    every saturated pixel). One fused kernel each way instead of autograd over a dozen
    full-size steps."""
    _check_image(ycbcr, "ycbcr_to_rgb_8bit")
    return _Decode8Bit.apply(ycbcr)


class RgbToYcbcr(nn.Module):
    def forward(self, rgb: torch.Tensor) -> torch.Tensor:
        return rgb_to_ycbcr(rgb)


class YcbcrToRgb(nn.Module):
    def forward(self, ycbcr: torch.Tensor) -> torch.Tensor:
        return ycbcr_to_rgb(ycbcr)
