"""How a training method codes a batch: its differentiable reconstruction and rate estimate.

``j4d``: the soft (or straight-through) quantizer of :class:`~j4d.codec.JPEGCodec` and the
entropy of the CPMF marginals (METHOD.md). The peers swap both for their own, on the same
tables, colour transform and DCT: ``autojpeg`` (:mod:`j4d.baselines.autojpeg`) rounds with
tanh and counts run-length-coded bits. All learn the same 128 table entries with the same
trainer, so their tables are measured alike.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from j4d.baselines.autojpeg import RunLengthRate, tanh_round
from j4d.codec import JPEGCodec, analyze, channel_steps, synthesize
from j4d.rate.entropy import estimate_bpp
from j4d.train.config import TRAINING_METHODS


class TrainingMethod(nn.Module):
    """``forward(codec, images) -> (reconstruction, mean estimated bpp)``."""

    name: ClassVar[str]


class J4D(TrainingMethod):
    name = "j4d"

    def forward(self, codec: JPEGCodec, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output = codec(images)
        return output.reconstruction, estimate_bpp(output.cpmf, output.pixels_per_image)


class AutoJPEG(TrainingMethod):
    """Tanh soft rounding of y / q and the run-length size model (STE where not smooth)."""

    name = "autojpeg"

    def __init__(self, sharpness: float = 4.0, rate: RunLengthRate | None = None) -> None:
        super().__init__()
        self.sharpness = sharpness
        self.rate = rate or RunLengthRate()

    def forward(self, codec: JPEGCodec, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        height, width = images.shape[-2:]
        coefficients = analyze(images, codec.integer_samples)
        q = channel_steps(codec.steps()).unsqueeze(1)
        indices = tanh_round(coefficients / q, self.sharpness)
        reconstruction = synthesize(indices * q, height, width, codec.integer_samples)
        return reconstruction, self.rate.bpp(indices, height * width).mean()


_METHODS: dict[str, type[TrainingMethod]] = {method.name: method for method in (J4D, AutoJPEG)}
assert tuple(_METHODS) == TRAINING_METHODS


def create_method(name: str) -> TrainingMethod:
    """The training method called ``name`` (one of :data:`TRAINING_METHODS`)."""
    return _METHODS[name]()
