"""Accuracy and rate of tables measured on real files.

Every image is encoded to a baseline JPEG (4:4:4, optimized Huffman tables) with Pillow, its
whole-file and scan-data sizes are read from the bytes, and the file is decoded by Pillow
(libjpeg-turbo) before the model sees it: no number here comes from the differentiable proxy.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from j4d.codec.quantize import Softness
from j4d.jpegio import decode, encode_probabilistic, encode_uniform, file_rate
from j4d.models import models_device
from j4d.tables import QuantTables

#: Settings every real-file number is measured with.
SETTINGS = {
    "subsampling": "4:4:4",
    "huffman": "optimized",
    "encoder": "Pillow (libjpeg-turbo), plain rounding",
    "decoder": "Pillow (libjpeg-turbo)",
}


@dataclass(frozen=True)
class CodedImages:
    """Images after a real encode/decode, with their file sizes in bpp."""

    decoded: torch.Tensor  # (N, 3, H, W) uint8
    scan_bpp: np.ndarray  # (N,)
    file_bpp: np.ndarray  # (N,)


@dataclass(frozen=True)
class RealFilePoint:
    """One codec point: mean rates over the images and top-1 / top-5 accuracy (fractions)."""

    images: int
    scan_bpp: float
    file_bpp: float
    top1: float
    top5: float

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def load_split(dataset: Dataset, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """All (image, label) pairs of ``dataset`` (first ``limit``) as a uint8 batch and labels."""
    count = len(dataset) if limit is None else min(limit, len(dataset))  # type: ignore[arg-type]
    pairs = [dataset[index] for index in range(count)]
    images = torch.stack([torch.as_tensor(image, dtype=torch.uint8) for image, _ in pairs])
    return images, torch.tensor([int(label) for _, label in pairs])


def code_images(
    images: torch.Tensor,
    tables: QuantTables,
    probabilistic_seed: int | None = None,
    softness: Softness | None = None,
) -> CodedImages:
    """Encode and decode a (N, 3, H, W) uint8 batch with ``tables``: uniform (plain rounding,
    Pillow) by default, or probabilistic (indices sampled with ``softness``, written by jpeglib)
    when given a seed (image i uses seed + i)."""
    height, width = images.shape[-2:]
    arrays = images.permute(0, 2, 3, 1).contiguous().numpy()
    decoded, scan, whole = [], [], []
    for index, array in enumerate(arrays):
        if probabilistic_seed is None:
            data = encode_uniform(array, tables)
        else:
            data = encode_probabilistic(array, tables, softness, seed=probabilistic_seed + index)
        rate = file_rate(data, height, width)
        scan.append(rate.scan_bpp)
        whole.append(rate.file_bpp)
        decoded.append(torch.tensor(decode(data)).permute(2, 0, 1))
    return CodedImages(torch.stack(decoded), np.asarray(scan), np.asarray(whole))


@torch.no_grad()
def classify(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, batch_size: int = 500
) -> tuple[float, float]:
    """Top-1 and top-5 accuracy of ``model`` on a uint8 batch (the model takes [0, 255])."""
    top1 = top5 = 0
    device = models_device([model])
    for start in range(0, len(images), batch_size):
        batch = images[start : start + batch_size].to(device, torch.float32)
        target = labels[start : start + batch_size].to(device)
        logits = model(batch)
        best = logits.topk(min(5, logits.shape[1]), dim=1).indices
        top1 += int((best[:, 0] == target).sum())
        top5 += int((best == target[:, None]).any(dim=1).sum())
    return top1 / len(images), top5 / len(images)


def evaluate_tables(
    models: nn.Module | Sequence[nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    tables: QuantTables,
    probabilistic_seed: int | None = None,
    softness: Softness | None = None,
) -> list[RealFilePoint]:
    """Mean scan / whole-file bpp and accuracy on real files coded with ``tables``, one point
    per model; the images are encoded and decoded once for all models."""
    models = [models] if isinstance(models, nn.Module) else list(models)
    coded = code_images(images, tables, probabilistic_seed, softness)
    scan, whole = float(coded.scan_bpp.mean()), float(coded.file_bpp.mean())
    return [
        RealFilePoint(len(images), scan, whole, *classify(model, coded.decoded, labels))
        for model in models
    ]


def evaluate_quality_sweep(
    models: nn.Module | Sequence[nn.Module],
    images: torch.Tensor,
    labels: torch.Tensor,
    qualities: Sequence[int],
    progress: bool = False,
) -> list[tuple[int, list[RealFilePoint]]]:
    """Default JPEG (Annex K tables scaled by IJG quality) at each quality factor."""
    from tqdm.auto import tqdm

    return [
        (quality, evaluate_tables(models, images, labels, QuantTables.from_quality(quality)))
        for quality in tqdm(qualities, desc="default JPEG", unit="QF", disable=not progress)
    ]
