"""The JPEG codec (baseline, 4:4:4) as a differentiable PyTorch module.

``x_hat = J(x; Q_Y, Q_C)``: RGB -> YCbCr -> level shift -> edge padding -> 8x8 DCT ->
quantization (soft / uniform / probabilistic) -> de-quantization -> IDCT -> +128 ->
YCbCr -> RGB -> clamp to [0, 255] -> crop. With ``integer_samples`` (the default) the YCbCr
samples entering the DCT and the decoded samples are rounded to integers as a real 8-bit codec
does, with a straight-through gradient, so the forward pass matches libjpeg while gradients
still flow to the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from j4d.codec.color import rgb_to_ycbcr, rgb_to_ycbcr_libjpeg, ycbcr_to_rgb, ycbcr_to_rgb_8bit
from j4d.codec.kernels import fused
from j4d.codec.quantize import CPMF, DEFAULT_LEVELS, Softness, masked_cpmf, uniform_indices
from j4d.codec.transform import block_dct, block_idct
from j4d.errors import InvalidInputError
from j4d.tables import MAX_DEADZONE, MAX_STEP, MIN_STEP, QuantTables

Mode = Literal["soft", "uniform", "probabilistic", "straight_through"]
MODES: tuple[str, ...] = ("soft", "uniform", "probabilistic", "straight_through")
#: Table slot used by each channel: Y -> luma table, Cb and Cr -> chroma table.
CHANNEL_TABLE = (0, 1, 1)
LEVEL_SHIFT = 128.0


def straight_through_round(x: torch.Tensor) -> torch.Tensor:
    """``round(x)`` in the forward pass, identity gradient in the backward pass.

    Written so that the value is exactly the integer (``x + (round(x) - x)`` can land a hair
    off it, which flips a following clamp at 0 or 255)."""
    return torch.round(x).detach() + (x - x.detach())


def straight_through(value: torch.Tensor, surrogate: torch.Tensor) -> torch.Tensor:
    """``value`` in the forward pass, the gradient of ``surrogate`` in the backward pass."""
    return value.detach() + (surrogate - surrogate.detach())


def clamp_inclusive(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """``x.clamp(low, high)`` whose gradient passes on [low, high] including both ends.

    ``torch.clamp`` passes none at exactly ``low`` or ``high``: a table entry that the optimizer
    projected onto 1 or 255 would never move again, whatever the rate gradient says."""
    inside = (x >= low) & (x <= high)
    return x.clamp(low, high).detach() + (x - x.detach()) * inside


class _ContiguousGradient(torch.autograd.Function):
    """Identity whose backward hands back a contiguous gradient. A channels-last network (e.g.
    MobileNetV2 on the CPU) returns the gradient of its input channels-last, and the codec's
    backward (reshapes into 8x8 blocks) then ran 0.16 s slower per step at batch 32, 224x224."""

    @staticmethod
    def forward(ctx, images: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return images.view_as(images)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        return grad.contiguous()


def channel_steps(tables: torch.Tensor) -> torch.Tensor:
    """(2, 64) luma/chroma steps -> (3, 64) steps for Y, Cb, Cr."""
    return tables[list(CHANNEL_TABLE)]


@fused
def analyze(rgb: torch.Tensor, integer_samples: bool = True, order: str = "zigzag") -> torch.Tensor:
    """(N, 3, H, W) RGB in [0, 255] -> (N, 3, B, 64) unquantized DCT coefficients.

    With ``integer_samples`` the forward value is libjpeg's own 8-bit YCbCr (fixed-point
    arithmetic, clamped to [0, 255]) and the gradient that of the exact JFIF transform.
    Frequencies are in zig-zag order, or natural (row-major) order with ``order="natural"``."""
    if integer_samples and not (torch.is_grad_enabled() and rgb.requires_grad):
        ycbcr = rgb_to_ycbcr_libjpeg(rgb)
    elif integer_samples:
        ycbcr = rgb_to_ycbcr(rgb)
        ycbcr = ycbcr + (rgb_to_ycbcr_libjpeg(rgb) - ycbcr).detach()
    else:
        ycbcr = rgb_to_ycbcr(rgb)
    return block_dct(ycbcr - LEVEL_SHIFT, order)


def synthesize(
    coefficients: torch.Tensor, height: int, width: int, integer_samples: bool = True
) -> torch.Tensor:
    """(N, 3, B, 64) de-quantized coefficients -> (N, 3, height, width) RGB in [0, 255].

    With ``integer_samples`` the YCbCr and RGB samples are rounded as an 8-bit decoder does
    (straight-through gradient)."""
    ycbcr = block_idct(coefficients, height, width) + LEVEL_SHIFT
    if integer_samples:
        return ycbcr_to_rgb_8bit(ycbcr)
    return ycbcr_to_rgb(ycbcr.clamp(0.0, 255.0)).clamp(0.0, 255.0)


@dataclass
class CodecOutput:
    """What one pass through the codec produced.

    ``coefficients`` (N, 3, B, 64) are the unquantized DCT coefficients, ``cpmf`` their masked
    CPMFs (input of the rate estimate), ``indices`` the integer indices written to a file (for
    the uniform and probabilistic modes; ``None`` in soft mode), ``steps`` the (3, 64) steps used.
    """

    reconstruction: torch.Tensor
    coefficients: torch.Tensor
    cpmf: CPMF
    indices: torch.Tensor | None
    steps: torch.Tensor
    height: int
    width: int

    @property
    def pixels_per_image(self) -> int:
        return self.height * self.width


def _initial_tables(tables: QuantTables | torch.Tensor | None) -> torch.Tensor:
    if tables is None:
        tables = QuantTables.from_quality(50)
    if isinstance(tables, QuantTables):
        return tables.to_tensor("zigzag", torch.float32)
    tables = torch.as_tensor(tables, dtype=torch.float32)
    if tables.shape != (2, 64):
        raise InvalidInputError(f"tables tensor must have shape (2, 64), got {tuple(tables.shape)}")
    return tables.detach().clone()


class JPEGCodec(nn.Module):
    """Batched differentiable JPEG codec (4:4:4) with luma and chroma quantization tables.

    Args:
        tables: initial tables (:class:`QuantTables`, or a (2, 64) zig-zag tensor); QF 50 if None.
        softness: how alpha is set for the CPMF (default: the paper's fixed alpha = 100).
        mode: default quantizer: ``soft`` (differentiable), ``uniform``, ``probabilistic``, or
            ``straight_through`` (the uniform quantizer's value with the soft one's gradient).
        learn_tables: make the tables an ``nn.Parameter`` (else a buffer).
        integer_samples: round YCbCr/RGB samples like an 8-bit codec (straight-through).
        levels: index half-range L of the CPMF.
        deadzone: learn a dead zone theta in [0, 1/2] per channel and frequency (from 0, or
            from the given (2, 64) zig-zag values): every mode quantizes
            ``shrink(y) = sign(y) max(|y| - theta q, 0)``, whose rounding is the ``deadzone``
            encoder's ``sign(y) floor(|y| / q + 1/2 - theta)``, so training sees (and the rate
            estimate counts) what that encoder writes.

    The tables are stored as real numbers in zig-zag order and clipped to [1, 255] on every
    forward pass; a dead zone is clipped to [0, 1/2].
    """

    def __init__(
        self,
        tables: QuantTables | torch.Tensor | None = None,
        softness: Softness | None = None,
        mode: Mode = "soft",
        learn_tables: bool = False,
        integer_samples: bool = True,
        levels: int = DEFAULT_LEVELS,
        deadzone: bool | torch.Tensor = False,
    ) -> None:
        super().__init__()
        _check_mode(mode)
        initial = _initial_tables(tables)
        if learn_tables:
            self.tables = nn.Parameter(initial)
        else:
            self.register_buffer("tables", initial)
        self.deadzone: nn.Parameter | None = None
        if deadzone is not False:
            start = torch.zeros(2, 64) if deadzone is True else torch.as_tensor(deadzone)
            self.deadzone = nn.Parameter(start.to(initial.dtype).clone())
        self.softness = softness or Softness()
        self.mode = mode
        self.integer_samples = integer_samples
        self.levels = levels

    def steps(self) -> torch.Tensor:
        """(2, 64) zig-zag steps clipped to [1, 255] (gradient passes at the ends)."""
        return clamp_inclusive(self.tables, MIN_STEP, MAX_STEP)

    def thetas(self) -> torch.Tensor | None:
        """(2, 64) zig-zag dead zones clipped to [0, 1/2], or None without a dead zone."""
        if self.deadzone is None:
            return None
        return clamp_inclusive(self.deadzone, 0.0, MAX_DEADZONE)

    def quant_tables(self, meta: dict | None = None) -> QuantTables:
        """The current tables rounded to integers, as written to a file (with the dead zone
        and the ``deadzone`` encoder in their meta when there is one)."""
        tables = QuantTables.from_tensor(self.steps(), order="zigzag", meta=meta)
        thetas = self.thetas()
        return tables if thetas is None else tables.with_deadzone(thetas, order="zigzag")

    def forward(
        self, x: torch.Tensor, mode: Mode | None = None, generator: torch.Generator | None = None
    ) -> CodecOutput:
        """Code a (N, 3, H, W) RGB batch in [0, 255]; ``generator`` seeds probabilistic mode."""
        mode = mode or self.mode
        _check_mode(mode)
        if x.dim() != 4 or x.shape[1] != 3:
            raise InvalidInputError(f"expected an (N, 3, H, W) RGB batch, got {tuple(x.shape)}")
        if not x.is_floating_point():
            x = x.to(torch.float32)
        height, width = x.shape[-2:]
        y = analyze(x, self.integer_samples)
        tables = self.steps().to(dtype=y.dtype, device=y.device)
        steps = channel_steps(tables)
        q = steps.unsqueeze(1)  # (3, 1, 64) against (N, 3, B, 64)
        alpha = channel_steps(self.softness.alpha(tables)).unsqueeze(1)
        thetas = self.thetas()
        theta = 0.0 if thetas is None else channel_steps(thetas.to(y)).unsqueeze(1)
        shrunk = y if thetas is None else torch.sign(y) * torch.relu(y.abs() - theta * q)
        cpmf = masked_cpmf(shrunk, q, alpha, self.levels)
        if mode == "soft":
            indices = None
            y_hat = cpmf.expectation(q)
        elif mode == "straight_through":
            indices = uniform_indices(y, q, theta)
            soft = cpmf.expectation(q)
            y_hat = straight_through(indices.to(y.dtype) * q, soft)
        else:
            indices = uniform_indices(y, q, theta) if mode == "uniform" else cpmf.sample(generator)
            y_hat = indices.to(y.dtype) * q
        x_hat = synthesize(y_hat, height, width, self.integer_samples)
        if x_hat.requires_grad:
            x_hat = _ContiguousGradient.apply(x_hat)
        return CodecOutput(x_hat, y, cpmf, indices, steps, height, width)

    def extra_repr(self) -> str:
        return f"mode={self.mode}, {self.softness.describe()}, levels={self.levels}"


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise InvalidInputError(f"codec mode must be one of {', '.join(MODES)}; got {mode!r}")
