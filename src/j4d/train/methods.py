"""How a training method codes a batch: its differentiable reconstruction and rate estimate.

``j4d``: the soft (or straight-through) quantizer of :class:`~j4d.codec.JPEGCodec` and the
entropy of the CPMF marginals (METHOD.md). The peers swap both for their own, on the same
tables, colour transform and DCT: ``autojpeg`` (:mod:`j4d.peers.autojpeg`) rounds with
tanh and counts run-length-coded bits; ``google`` (:mod:`j4d.peers.google`) rounds with a
cubic and takes the bits from a density model learned alongside the tables. All learn the same
128 table entries with the same trainer, so their tables are measured alike.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from j4d.codec import JPEGCodec, analyze, channel_steps, synthesize
from j4d.errors import InvalidInputError
from j4d.peers.autojpeg import tanh_round
from j4d.rate.entropy import MarginalPool, estimate_bpp
from j4d.rate.runlength import RunLengthRate
from j4d.train.config import TRAINING_METHODS


class TrainingMethod(nn.Module):
    """``forward(codec, images) -> (reconstruction, mean estimated bpp)``.

    A method with a rate model of its own trains it with the tables: ``param_groups`` go into
    the trainer's optimizer (at their own fixed learning rate), ``auxiliary_loss`` is minimized
    by a second optimizer over ``auxiliary_groups``, and ``begin`` may load the first batch
    before the first step. Its ``state_dict`` goes into the checkpoint.

    Under torchrun (:mod:`j4d.train.distributed`) ``pool`` is set: a method whose rate is not
    a mean over images (``pools_marginals``) pools its statistics with it.
    """

    name: ClassVar[str]
    pools_marginals: ClassVar[bool] = False
    pool: MarginalPool | None = None

    def begin(self, codec: JPEGCodec, first_batch: Callable[[], torch.Tensor]) -> None:
        """Called once before the tables take their first step; ``first_batch()`` loads the
        whole first (global) batch of images."""

    def param_groups(self) -> list[dict]:
        """Adam parameter groups trained on the objective, each with a fixed ``lr``."""
        return []

    def auxiliary_groups(self) -> list[dict]:
        """Adam parameter groups (each with its ``lr``) of ``auxiliary_loss``."""
        return []

    def auxiliary_loss(self) -> torch.Tensor | None:
        return None


def _round_trip(
    codec: JPEGCodec, images: torch.Tensor, rounding: Callable[[torch.Tensor], torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """(reconstruction, (N, 3, B, 64) indices) of the images through ``codec``'s tables, with
    ``rounding`` in place of the quantizer's."""
    height, width = images.shape[-2:]
    coefficients = analyze(images, codec.integer_samples)
    q = channel_steps(codec.steps()).unsqueeze(1)
    indices = rounding(coefficients / q)
    return synthesize(indices * q, height, width, codec.integer_samples), indices


class J4D(TrainingMethod):
    name = "j4d"
    pools_marginals = True

    def forward(self, codec: JPEGCodec, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        output = codec(images)
        rate = estimate_bpp(output.cpmf, output.pixels_per_image, pool=self.pool)
        return output.reconstruction, rate


class AutoJPEG(TrainingMethod):
    """Tanh soft rounding of y / q and the run-length size model (STE where not smooth)."""

    name = "autojpeg"

    def __init__(self, sharpness: float = 4.0, rate: RunLengthRate | None = None) -> None:
        super().__init__()
        self.sharpness = sharpness
        self.rate = rate or RunLengthRate()

    def forward(self, codec: JPEGCodec, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reconstruction, indices = _round_trip(
            codec, images, lambda x: tanh_round(x, self.sharpness)
        )
        return reconstruction, self.rate.bpp(indices, images[0, 0].numel()).mean()


class Google(TrainingMethod):
    """Cubic rounding of y / q; bits from CompressAI's factorized density over the indices,
    fitted to the initial tables' indices on the first batch, then trained with the tables."""

    name = "google"

    def __init__(self) -> None:
        super().__init__()
        try:
            from j4d.peers import google
        except ImportError as error:
            raise InvalidInputError(
                f"--method google needs CompressAI ({error}): pip install 'j4d[peers]'"
            ) from None
        self.google = google  # imported here: CompressAI is an optional dependency
        self.rate = google.FactorizedRate()

    def begin(self, codec: JPEGCodec, first_batch: Callable[[], torch.Tensor]) -> None:
        with torch.no_grad():
            _, indices = _round_trip(codec, first_batch(), torch.round)
        self.rate.fit(indices)

    def forward(self, codec: JPEGCodec, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        reconstruction, indices = _round_trip(codec, images, self.google.cubic_round)
        return reconstruction, self.rate.bpp(indices, images[0, 0].numel()).mean()

    def param_groups(self) -> list[dict]:
        return [{"params": self.rate.density_parameters(), "lr": self.google.DENSITY_LR}]

    def auxiliary_groups(self) -> list[dict]:
        return [{"params": self.rate.auxiliary_parameters(), "lr": self.google.AUXILIARY_LR}]

    def auxiliary_loss(self) -> torch.Tensor:
        return self.rate.auxiliary_loss()


_METHODS: dict[str, type[TrainingMethod]] = {
    method.name: method for method in (J4D, AutoJPEG, Google)
}
assert tuple(_METHODS) == TRAINING_METHODS


def create_method(name: str) -> TrainingMethod:
    """The training method called ``name`` (one of :data:`TRAINING_METHODS`)."""
    return _METHODS[name]()
