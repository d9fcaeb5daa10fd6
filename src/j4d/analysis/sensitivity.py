r"""How much a frozen model's loss depends on each DCT frequency of each colour channel.

For coefficients :math:`y_{c,k,b}` (channel c, frequency k, block b) of an image with loss L,

* ``saliency`` (default):
  :math:`s_{c,k} = \mathrm{E}\big[(y_{c,k,b}\,\partial L/\partial y_{c,k,b})^2\big]`,
  the squared first-order change of the loss when the coefficient is quantized to zero;
* ``gradient``: :math:`s_{c,k} = \mathrm{E}\big[(\partial L/\partial y_{c,k,b})^2\big]`, the mean
  squared gradient of METHOD.md section 5 (sensitivity to a perturbation of the coefficient);
* ``curvature``: :math:`h_{c,k}`, the mean diagonal of the Hessian of the distillation loss
  :math:`T^2\,\mathrm{KL}(p_T \| \hat p_T)` at the uncompressed image, so that an error
  :math:`e` on the coefficients costs :math:`\Delta L \approx \tfrac12 \sum h\,e^2`. At
  :math:`\hat p = p` that Hessian is :math:`T^2` times the Fisher information of :math:`p_T`,
  estimated without bias by one class :math:`y \sim p_T` per image (per output pixel for dense
  outputs): :math:`h = \mathrm{E}\big[(T\,\partial \log p_T(y)/\partial y_{c,k,b})^2\big]`.
  It prices distortion for j4d's own trellis in the units of the training objective
  (:meth:`Sensitivity.rd_meta`).

The expectation runs over images and blocks. ``saliency`` is the default because it also counts
what the images hold: a frequency the images lack costs no bits whatever its step, so its
sensitivity is 0 and its initial step is the largest, whereas the plain gradient can be large
there. Gradients are taken through the exact (float) JPEG synthesis into the model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from j4d.codec import analyze, synthesize
from j4d.codec.kernels import compiles
from j4d.data.folders import images_per_batch
from j4d.errors import InvalidInputError
from j4d.models import model_name, models_device
from j4d.tables import MAX_STEP, MIN_STEP, QuantTables, natural_to_zigzag, zigzag_to_natural
from j4d.tasks.objective import task_loss
from j4d.utils.files import atomic_write_text

Kind = Literal["saliency", "gradient", "curvature"]
_BATCH_PIXELS = 50 * 224 * 224  # per backward pass (memory): 100 CIFAR images, 50 at 224
KINDS = ("saliency", "gradient", "curvature")
CHANNELS = ("Y", "Cb", "Cr")


@dataclass(frozen=True)
class Sensitivity:
    """(3, 64) sensitivities, channels Y, Cb, Cr, frequencies in natural (row-major) order."""

    values: np.ndarray
    kind: str = "saliency"
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.shape != (3, 64) or not np.all(np.isfinite(values)) or np.any(values < 0):
            raise InvalidInputError("sensitivity must be (3, 64) finite values >= 0")
        object.__setattr__(self, "values", values)

    def to_json(self) -> str:
        payload = {"kind": self.kind, "order": "natural", "meta": self.meta}
        payload.update({name: self.values[c].tolist() for c, name in enumerate(CHANNELS)})
        return json.dumps(payload, indent=1)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Sensitivity:
        path = Path(path)
        try:
            payload = json.loads(path.read_text())
            values = np.array([payload[name] for name in CHANNELS], dtype=np.float64)
            return cls(values, payload.get("kind", "saliency"), payload.get("meta", {}))
        except FileNotFoundError:
            raise InvalidInputError("no such file", path) from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise InvalidInputError(f"not a sensitivity JSON file ({error})", path) from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        return atomic_write_text(path, self.to_json())

    @classmethod
    def pool(cls, sensitivities: Sequence[Sensitivity]) -> Sensitivity:
        r"""Several models' sensitivities as one, for tables meant for all of them and for
        models like them: each normalized to a total of 1, then averaged,
        :math:`\bar s = \frac1M \sum_m s^{(m)} / \sum_{c,k} s^{(m)}_{c,k}`. Normalizing
        first keeps a model whose loss happens to be steeper (sharper logits) from outweighing
        the others; only the shape across frequencies counts, as it does for the tables."""
        if not sensitivities:
            raise InvalidInputError("no sensitivities to pool")
        kinds = {s.kind for s in sensitivities}
        if len(kinds) > 1:
            raise InvalidInputError(
                f"cannot pool sensitivities of kinds {', '.join(sorted(kinds))}"
            )
        if any(s.values.sum() <= 0 for s in sensitivities):
            raise InvalidInputError("cannot pool a sensitivity that is 0 everywhere")
        values = np.mean([s.values / s.values.sum() for s in sensitivities], axis=0)
        models = [m for s in sensitivities for m in s.meta.get("models", [])]
        meta = {"pooled": len(sensitivities), "models": models}
        return cls(values, kinds.pop(), meta)

    def plot(self, paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
        from j4d.utils.plots import heatmaps

        return heatmaps(
            list(self.values),
            [f"{name}" for name in CHANNELS],
            paths,
            suptitle=f"sensitivity ({self.kind})",
            log_scale=True,
            annotate=False,
        )

    def rd_meta(self, train_lambda: float) -> dict:
        r"""``meta["rd"]`` for tables trained at ``train_lambda`` (objective
        :math:`L + \lambda\,\mathrm{bpp}`), from a ``curvature`` sensitivity: per image of
        :math:`P` pixels, :math:`\Delta L + \lambda\,\mathrm{bits}/P` is, up to the factor
        :math:`\lambda / P`, :math:`\mathrm{bits} + \frac{P}{2\lambda} \sum h\,e^2`, so the
        trellis's weights are :math:`h` (zig-zag) and its lambda :math:`P / (2\lambda)`."""
        if self.kind != "curvature":
            raise InvalidInputError(f"rd weights need a curvature sensitivity, got {self.kind!r}")
        if not train_lambda > 0:
            raise InvalidInputError(f"training lambda must be > 0, got {train_lambda}")
        pixels = self.meta.get("pixels")
        if not isinstance(pixels, int) or pixels <= 0:
            raise InvalidInputError("curvature sensitivity lacks its image size (meta 'pixels')")
        weights = natural_to_zigzag(self.values)
        return {
            "lambda": pixels / (2.0 * train_lambda),
            "weights": weights.tolist(),
            "source": f"curvature of {', '.join(self.meta.get('models', []))} at lambda "
            f"{train_lambda:g}",
        }

    def initial_tables(self, factor: float) -> QuantTables:
        """Steps inversely proportional to the square root of the sensitivity, normalized per
        table to a geometric mean of 1 and scaled by ``factor`` (METHOD.md: 5..50).

        The square root is the first-order optimum: with distortion ~ sum s_k q_k^2 / 12 and
        rate ~ -sum log q_k, the Lagrangian is minimal where s_k q_k^2 is the same for all k.
        The chroma table uses the mean of the Cb and Cr sensitivities."""
        if not factor > 0:
            raise InvalidInputError(f"sensitivity scale factor must be > 0, got {factor}")
        per_table = np.stack([self.values[0], self.values[1:].mean(axis=0)])
        steps = []
        for s in per_table:
            floor = max(float(s.max()), 1e-300) * 1e-12
            s = np.maximum(s, floor)
            relative = (s / np.exp(np.log(s).mean())) ** -0.5
            steps.append(np.clip(np.rint(factor * relative), MIN_STEP, MAX_STEP))
        meta = {"init": f"sensitivity:{factor:g}", "sensitivity": self.kind}
        return QuantTables(*(tuple(int(v) for v in table) for table in steps), meta)


@compiles
def compute_sensitivity(
    models: nn.Module | Sequence[nn.Module],
    dataset: Dataset,
    images: int = 1000,
    batch_size: int | None = None,
    kind: Kind = "saliency",
    progress: bool = True,
    temperature: float = 10.0,
    seed: int = 0,
) -> Sensitivity:
    """Sensitivity of ``models`` (mean loss if several) over the first ``images`` pairs of
    ``dataset`` (RGB in [0, 255], (3, H, W) tensors, labels: class indices or label maps),
    ``batch_size`` images at a time (default: 100 small images, 50 at 224x224, 14 at 360x480).
    ``curvature`` is that of the distillation loss at ``temperature``, its classes drawn with
    ``seed``."""
    if kind not in KINDS:
        raise InvalidInputError(f"sensitivity kind must be one of {', '.join(KINDS)}; got {kind!r}")
    models = [models] if isinstance(models, nn.Module) else list(models)
    count = min(images, len(dataset))  # type: ignore[arg-type]
    if count == 0:
        raise InvalidInputError("no images to measure the sensitivity on")
    subset = torch.utils.data.Subset(dataset, range(count))
    if batch_size is None:
        height, width = subset[0][0].shape[-2:]
        batch_size = images_per_batch(height, width, _BATCH_PIXELS, most=100)
    device = models_device(models)
    generator = torch.Generator().manual_seed(seed)
    total = torch.zeros(3, 64, dtype=torch.float64)
    for batch, labels in tqdm(
        DataLoader(subset, batch_size=batch_size),
        desc="sensitivity",
        disable=not progress,
        unit="batch",
    ):
        batch, labels = batch.to(device, torch.float32), labels.to(device)
        height, width = batch.shape[-2:]
        with torch.no_grad():
            coefficients = analyze(batch, integer_samples=False)
        coefficients.requires_grad_(True)
        reconstruction = synthesize(coefficients, height, width, integer_samples=False)
        # per-image losses summed, so each image's gradient is its own (not divided by N)
        # cross-entropy: distillation's loss and gradient are 0 at the uncompressed image
        if kind == "curvature":
            loss = _sampled_fisher_loss(models, reconstruction, temperature, generator)
        else:
            loss = task_loss(models, reconstruction, batch, labels, "cross_entropy")[0]
            loss = loss * len(batch)
        (gradient,) = torch.autograd.grad(loss, coefficients)
        if kind == "saliency":
            gradient = gradient * coefficients.detach()
        total += gradient.double().square().sum(dim=(0, 2)).cpu()
    blocks = coefficients.shape[2]
    values = zigzag_to_natural(total / (count * blocks)).numpy()
    names = [model_name(m) for m in models]
    meta = {"images": count, "models": names, "pixels": int(height * width)}
    if kind == "curvature":
        meta.update(temperature=temperature, seed=seed)
    return Sensitivity(values, kind, meta)


def _sampled_fisher_loss(
    models: Sequence[nn.Module],
    reconstruction: torch.Tensor,
    temperature: float,
    generator: torch.Generator,
) -> torch.Tensor:
    """Summed over images, the mean over models of ``T * -log p_T(y)`` with ``y ~ p_T`` drawn
    per output position: its squared gradient's expectation is the diagonal of the Hessian of
    ``T^2 KL`` at the original. A dense output's loss is a mean over its P positions whose
    draws are independent, so its squared gradient is scaled back by P."""
    loss = reconstruction.new_zeros(())
    for model in models:
        logits = model(reconstruction)
        log_p = torch.log_softmax(logits / temperature, dim=1)
        probabilities = log_p.detach().exp().movedim(1, -1)
        flat = probabilities.reshape(-1, probabilities.shape[-1]).cpu()
        drawn = torch.multinomial(flat, 1, generator=generator).to(logits.device)
        picked = log_p.movedim(1, -1).reshape(-1, probabilities.shape[-1]).gather(1, drawn)
        positions = flat.shape[0] // len(logits)
        per_image = picked.reshape(len(logits), positions).mean(dim=1)
        loss = loss - temperature * per_image.sum() * positions**0.5
    # independent draws per model: the mean of M gradients has 1/M of the mean Hessian
    return loss / len(models) ** 0.5
