"""Model-aware encoding within an image: with the model at hand, the model decides, block by
block, where the bits go (per-image rate control is :mod:`j4d.encoders.ladder`). The file is
an ordinary JPEG that any decoder reads, and the model's prediction on the original stands in
for a label; no label is ever read.

With j4d's own trellis (encoder ``rd``) the model's distortion enters the trellis itself: per
block weights from the model's Fisher information at the original (:mod:`j4d.encoders.model_rd`).
With any other encoder, :class:`GuidedEncoder` drops coefficients before it, for each image:

1. Encode it as usual and decode the file: ``x_hat``.
2. One backward pass of the divergence the model sees,
   ``D = KL(p(x) || p(x_hat))`` (per image; mean over pixels for a segmenter), to the DCT
   coefficients of ``x_hat``: ``g``. The prediction on the original stands in for a label.
3. Block sensitivity ``s_b = sqrt(sum_{c,k} (g_{c,b,k} q_{c,k})^2)`` (how much one step in the
   block's coefficients moves ``D``), divided by its mean over the image's blocks.
4. A dead zone per block, ``theta_b = strength / s_b``: an AC coefficient whose index would
   round to 0 under ``sign(y) floor(|y| / q + 1/2 - theta_b)`` is set to 0 (the DC stays).
   Blocks the model leans on (large ``s_b``) keep their coefficients; blocks it ignores lose
   their small ones.
5. The image with those coefficients dropped goes through the tables' own encoder (plain
   rounding, trellis, ...), so the file is an ordinary JPEG with the same tables.

At strength 0 nothing is dropped and the file is the plain one, byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from j4d.codec.codec import analyze, channel_steps, synthesize
from j4d.encoders.model_rd import BlockCurvature, block_scores, encode_model_rd
from j4d.encoders.registry import TablesEncoder
from j4d.errors import InvalidInputError
from j4d.jpegio import decode
from j4d.models import model_view, models_device
from j4d.tables import QuantTables
from j4d.tasks import distillation_loss


def block_sensitivity(
    model: nn.Module, originals: torch.Tensor, decoded: torch.Tensor, steps: torch.Tensor
) -> torch.Tensor:
    """(N, B) sensitivity of each 8x8 block, mean 1 per image (see the module's step 3), of
    ``model``'s output on ``decoded`` (N, 3, H, W) in [0, 255] to its coefficients, the
    reference being its output on ``originals``; ``steps`` (3, 64) zig-zag."""
    device = models_device([model])
    height, width = originals.shape[-2:]
    with torch.no_grad():
        reference = model(model_view(model, originals.to(device, torch.float32)))
        coefficients = analyze(decoded.to(device, torch.float32), integer_samples=False)
    coefficients.requires_grad_(True)
    output = model(
        model_view(model, synthesize(coefficients, height, width, integer_samples=False))
    )
    # distillation_loss means over images: scale back so each image's gradient is its own
    divergence = distillation_loss(output, reference, 1.0) * len(originals)
    (gradient,) = torch.autograd.grad(divergence, coefficients)
    weighted = gradient.detach().cpu() * steps.view(1, 3, 1, 64)
    sensitivity = weighted.square().sum(dim=(1, 3)).sqrt()
    return sensitivity / sensitivity.mean(dim=1, keepdim=True).clamp_min(1e-30)


def drop_coefficients(
    coefficients: torch.Tensor, steps: torch.Tensor, sensitivity: torch.Tensor, strength: float
) -> torch.Tensor:
    """``coefficients`` (N, 3, B, 64, zig-zag) with the AC ones set to 0 that a per-block dead
    zone ``strength / sensitivity`` (N, B) rounds to 0 (see the module's step 4)."""
    theta = (strength / sensitivity.clamp_min(1e-6)).view(-1, 1, sensitivity.shape[1], 1)
    scaled = coefficients.abs() / steps.view(1, 3, 1, 64)
    dropped = scaled + 0.5 - theta < 1.0
    dropped[..., 0] = False
    return torch.where(dropped, torch.zeros_like(coefficients), coefficients)


@dataclass(frozen=True)
class GuidedEncoder:
    """Files of ``encoder`` with ``tables`` where ``model`` decides, block by block, how many
    bits each block is worth (``strength`` >= 0; 0: the encoder's own files). With the ``rd``
    encoder the trellis weighs each block by the guides' Fisher information (``curvature``:
    shared measurements, e.g. several guides or several tables; default: ``model``'s, measured
    per call); with any other, coefficients are dropped where ``model`` does not look."""

    model: nn.Module
    tables: QuantTables
    encoder: TablesEncoder
    strength: float
    curvature: BlockCurvature | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (np.isfinite(self.strength) and self.strength >= 0):
            raise InvalidInputError(f"guide strength must be >= 0, got {self.strength}")
        if self.encoder.name == "rd" and self.curvature is None:
            object.__setattr__(self, "curvature", BlockCurvature(self.model, keep=False))
        if self.encoder.name != "rd" and self.curvature and len(self.curvature.models) > 1:
            raise InvalidInputError("several guide models need the rd encoder")

    def encode_batch(self, images: Sequence[np.ndarray]) -> list[bytes]:
        """(H, W, 3) uint8 images of one size -> their JPEG files."""
        return [data for data, _ in self.choose(images)]

    def choose(self, images: Sequence[np.ndarray]) -> list[tuple[bytes, float]]:
        """Each image's file and what the model chose for it: the share of its blocks whose
        score is above the image's mean (the blocks the model leans on; NaN at strength 0)."""
        if not images:
            return []
        if self.encoder.name == "rd" and self.strength > 0:
            assert self.curvature is not None
            chosen = []
            for image, curvatures in zip(images, self.curvature.measure(images), strict=True):
                scores = block_scores(curvatures, self.tables)
                data = encode_model_rd(image, self.tables, curvatures, self.strength, scores)
                chosen.append((data, float((scores > 1).mean())))
            return chosen
        plain = [self.encoder.encode(image, self.tables) for image in images]
        if self.strength == 0:
            return [(data, float("nan")) for data in plain]
        kept, sensitivity = self.guide(images, plain)
        shares = (sensitivity > 1).float().mean(dim=1).tolist()
        return [
            (self.encoder.encode(image, self.tables), share)
            for image, share in zip(kept, shares, strict=True)
        ]

    def guide(
        self, images: Sequence[np.ndarray], plain: Sequence[bytes]
    ) -> tuple[list[np.ndarray], torch.Tensor]:
        """The images with the dropped coefficients removed, given their plain files, and the
        (N, B) block sensitivity that decided it."""
        originals = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        decoded = torch.from_numpy(np.stack([decode(data) for data in plain])).permute(0, 3, 1, 2)
        steps = channel_steps(torch.as_tensor(self.tables.to_array("zigzag"), dtype=torch.float32))
        sensitivity = block_sensitivity(self.model, originals, decoded, steps)
        height, width = originals.shape[-2:]
        with torch.no_grad():
            coefficients = analyze(originals.float())
            kept = drop_coefficients(coefficients, steps, sensitivity, self.strength)
            pixels = synthesize(kept, height, width).round().clamp(0, 255).to(torch.uint8)
        return list(pixels.permute(0, 2, 3, 1).contiguous().numpy()), sensitivity
