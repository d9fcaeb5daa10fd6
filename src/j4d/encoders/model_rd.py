r"""Model-aware trellis: j4d's own rate-distortion encoder (:mod:`j4d.encoders.rd`) with the
distortion a model sees, block by block, so each block gets the bits this model, on this
image, needs. The file is an ordinary JPEG with the image's tables.

The model's divergence from its output on the original, :math:`D = \mathrm{KL}(p(x) \|
p(\hat x))`, is 0 with zero gradient at :math:`\hat x = x`, so to second order an error
:math:`e` on the DCT coefficients costs :math:`D \approx \tfrac12 e^\top H e`, with :math:`H`
the model's Fisher information pulled back to the coefficients, :math:`H = J^\top F J`
(:math:`J` the Jacobian of the logits, :math:`F = \mathrm{diag}(p) - pp^\top`). Its diagonal
:math:`h_{c,b,k}` is estimated without bias by one backward pass per image and guide
(:func:`j4d.tasks.fisher_probe_loss`: Rademacher signs over the classes), at the original, so
it does not depend on the tables and is measured once per image (:class:`BlockCurvature`).

Per block, the expected divergence of the tables' own rounding noise (variance
:math:`q^2/12`) is :math:`s_b \propto \sum_{c,k} h_{c,b,k}\,q_{c,k}^2`. The trellis's weights
become

.. math::  w_{c,b,k} = w_{c,k}\,m_b, \qquad m_b \propto \big(s_b / \bar s\big)^{\gamma},
           \quad \textstyle\frac1B \sum_b m_b = 1,

with :math:`w_{c,k}` the model-free weights (the tables' own, default :math:`1/q^2`) and
:math:`\gamma` the strength: 0 is the model-free file byte for byte, 1 prices each block by the
model's divergence, between the two blends them (geometrically). Several guides average their
normalized :math:`s_b / \bar s`, so no model outweighs another by its confidence.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from j4d.codec.codec import analyze, synthesize
from j4d.encoders.rd import block_weights, encode_rd, rd_settings
from j4d.errors import InvalidInputError
from j4d.models import model_name, model_view, models_device
from j4d.tables import QuantTables
from j4d.tasks import class_balanced_weights, fisher_probe_loss


def image_key(image: np.ndarray) -> bytes:
    """A digest of an image's pixels and shape: what measurements of it are kept under."""
    return hashlib.sha1(image.tobytes() + repr(image.shape).encode()).digest()


def _image_seed(image: np.ndarray, seed: int) -> int:
    """A seed of the image's own content: its file does not depend on its batch-mates."""
    return (int.from_bytes(image_key(image)[:7], "little") + seed) % 2**63


def fisher_diagonal(
    model: nn.Module,
    images: Sequence[np.ndarray],
    temperature: float = 1.0,
    seed: int = 0,
    probes: int = 1,
    balanced: bool = False,
) -> np.ndarray:
    """(N, 3, B, 64) zig-zag estimate of the Fisher diagonal :math:`h` of ``model``'s output
    on each (H, W, 3) uint8 image (one size), with respect to its DCT coefficients, at the
    original, the model seeing the image as its pipeline hands it over
    (:func:`~j4d.models.model_view`); the mean of ``probes`` Rademacher probes per image (one
    backward pass over the batch repeated), their signs drawn from the image and ``seed``.
    ``balanced``: a dense output's positions weigh so that each predicted class counts alike
    (:func:`~j4d.tasks.class_balanced_weights`, mIoU's view) instead of each pixel alike."""
    device = models_device([model])
    batch = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).to(device, torch.float32)
    height, width = batch.shape[-2:]
    with torch.no_grad():
        coefficients = analyze(batch, integer_samples=False).repeat(probes, 1, 1, 1)
    coefficients.requires_grad_(True)
    logits = model(
        model_view(model, synthesize(coefficients, height, width, integer_samples=False))
    )
    generators = [torch.Generator().manual_seed(_image_seed(i, seed)) for i in images]
    # probe k of image n is row k * N + n, as repeat() laid the batch out
    signs = torch.stack(
        [
            torch.randint(0, 2, logits.shape[1:], generator=g)
            for _ in range(probes)
            for g in generators
        ]
    )
    signs = (signs * 2 - 1).to(logits.device, logits.dtype)
    weights = class_balanced_weights(logits) if balanced else None
    loss = fisher_probe_loss(logits, signs, temperature, weights)
    (gradient,) = torch.autograd.grad(loss, coefficients)
    squares = gradient.detach().square().reshape(probes, len(images), *gradient.shape[1:])
    return squares.mean(dim=0).cpu().numpy()


class BlockCurvature:
    """Each image's Fisher diagonal by each guide model (:func:`fisher_diagonal`), measured
    once per image and kept (``keep=False``: afresh each call, for a stream of images), so
    that every tables file and strength of an evaluation shares one backward pass."""

    def __init__(
        self,
        models: nn.Module | Sequence[nn.Module],
        temperature: float = 1.0,
        seed: int = 0,
        keep: bool = True,
        probes: int = 1,
        balanced: bool = False,
    ):
        self.models = [models] if isinstance(models, nn.Module) else list(models)
        if not self.models:
            raise InvalidInputError("model-aware encoding needs at least one guide model")
        if not temperature > 0:
            raise InvalidInputError(f"guide temperature must be > 0, got {temperature}")
        if probes < 1:
            raise InvalidInputError(f"Fisher probes per image must be >= 1, got {probes}")
        self.temperature = temperature
        self.seed = seed
        self.probes = probes
        self.balanced = balanced
        self.keep = keep
        self._measured: dict[bytes, list[np.ndarray]] = {}

    def describe(self, strength: float) -> str:
        """The guides at ``strength`` as an evaluation records them (and caches their files
        under)."""
        names = " + ".join(map(model_name, self.models))
        return f"{names}, strength {strength:g}" + (", classes balanced" if self.balanced else "")

    def measure(self, images: Sequence[np.ndarray]) -> list[list[np.ndarray]]:
        """Per image, one (3, B, 64) float32 Fisher diagonal per guide."""
        if not self.keep:
            self._measured.clear()
        keys = [image_key(image) for image in images]
        todo = [n for n, key in enumerate(keys) if key not in self._measured]
        if todo:
            todo_images = [images[n] for n in todo]
            per_model = [
                fisher_diagonal(
                    model, todo_images, self.temperature, self.seed, self.probes, self.balanced
                ).astype(np.float32)
                for model in self.models
            ]
            for slot, n in enumerate(todo):
                self._measured[keys[n]] = [h[slot] for h in per_model]
        return [self._measured[key] for key in keys]


def block_scores(curvatures: Sequence[np.ndarray], tables: QuantTables) -> np.ndarray:
    """(B,) each block's expected divergence under the tables' rounding noise,
    :math:`s_b \\propto \\sum_{c,k} h_{c,b,k} q_{c,k}^2`, normalized to mean 1 per guide and
    averaged over the guides (``curvatures``: one (3, B, 64) per guide)."""
    steps = tables.to_array("zigzag").astype(np.float64)[[0, 1, 1]]
    scores = []
    for h in curvatures:
        s = np.einsum("cbk,ck->b", h.astype(np.float64), np.square(steps))
        scores.append(s / max(float(s.mean()), 1e-300))
    return np.mean(scores, axis=0)


def model_block_scores(
    model: nn.Module,
    images: Sequence[np.ndarray],
    tables: QuantTables,
    probes: int = 1,
    batch: int = 16,
) -> np.ndarray:
    """(N, B) ``model``'s normalized :func:`block_scores` of each of ``images`` (same size),
    measured ``batch`` images at a time with ``probes`` probes each."""
    curvature = BlockCurvature(model, probes=probes, keep=False)
    return np.array(
        [
            block_scores(h, tables)
            for start in range(0, len(images), batch)
            for h in curvature.measure(images[start : start + batch])
        ]
    )


def encode_model_rd(
    image: np.ndarray,
    tables: QuantTables,
    curvatures: Sequence[np.ndarray],
    strength: float,
    scores: np.ndarray | None = None,
) -> bytes:
    """``image`` by the trellis with per-block weights from ``curvatures`` at ``strength``
    (0: the model-free :func:`~j4d.encoders.rd.encode_rd` file, byte for byte); ``scores``:
    their :func:`block_scores` with ``tables``, if already computed."""
    settings = rd_settings(tables)
    if strength == 0:
        return encode_rd(image, tables, settings)
    if scores is None:
        scores = block_scores(curvatures, tables)
    weights = block_weights(settings, scores, strength)
    return encode_rd(image, tables, dataclasses.replace(settings, weights=weights))
