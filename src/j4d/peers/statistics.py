"""DCT coefficient statistics of a set of images, as the encoder sees them (libjpeg's 8-bit
YCbCr, level shift, 8x8 DCT): what the closed-form table designs (DeepN-JPEG, OptS) read."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from tqdm.auto import tqdm

from j4d.codec import analyze
from j4d.data.folders import images_per_batch
from j4d.errors import InvalidInputError
from j4d.tables import zigzag_to_natural

_BATCH_PIXELS = 50 * 224 * 224  # as the sensitivity's passes: 100 CIFAR images, 50 at 224


@dataclass(frozen=True)
class CoefficientStatistics:
    """Per channel (Y, Cb, Cr) and frequency: the coefficients' standard deviation over every
    block of the images, the DC coefficients of every block (for DPCM) and a sample of AC
    blocks (for per-frequency rate and distortion).

    * ``std``: (3, 64) standard deviations, natural (row-major) order;
    * ``dc``: (N, 3, B) DC coefficients, blocks in scan order;
    * ``ac``: (M, 3, 63) AC coefficients of M sampled blocks, zig-zag order 1..63;
    * ``blocks_per_pixel``: B / (H W), to turn bits per coefficient into bits per pixel."""

    std: np.ndarray
    dc: torch.Tensor
    ac: torch.Tensor
    blocks_per_pixel: float
    images: int


def coefficient_statistics(
    dataset: Dataset,
    images: int = 1000,
    blocks_per_image: int = 64,
    seed: int = 0,
    progress: bool = True,
) -> CoefficientStatistics:
    """Statistics of the first ``images`` images of ``dataset`` ((3, H, W) RGB in [0, 255]
    first in each item; all of one size), keeping ``blocks_per_image`` random AC blocks of each
    (all of them if it has fewer)."""
    count = min(images, len(dataset))  # type: ignore[arg-type]
    if count < 2:
        raise InvalidInputError(f"need at least 2 images for coefficient statistics, got {count}")
    subset = Subset(dataset, range(count))
    height, width = subset[0][0].shape[-2:]
    batch_size = images_per_batch(height, width, _BATCH_PIXELS, most=100)
    generator = torch.Generator().manual_seed(seed)
    total = torch.zeros(3, 64, dtype=torch.float64)
    total_square = torch.zeros(3, 64, dtype=torch.float64)
    blocks_seen = 0
    dc_parts, ac_parts = [], []
    for item in tqdm(
        DataLoader(subset, batch_size=batch_size),
        desc="DCT statistics",
        disable=not progress,
        unit="batch",
    ):
        batch = item[0].to(torch.float32)
        if batch.shape[-2:] != (height, width):
            raise InvalidInputError("coefficient statistics need images of one size")
        with torch.no_grad():
            coefficients = analyze(batch).double()  # (n, 3, B, 64), zig-zag
        total += coefficients.sum(dim=(0, 2))
        total_square += coefficients.square().sum(dim=(0, 2))
        blocks_seen += coefficients.shape[0] * coefficients.shape[2]
        dc_parts.append(coefficients[..., 0].float())
        blocks = coefficients.shape[2]
        for image in coefficients:
            keep = torch.randperm(blocks, generator=generator)[: min(blocks, blocks_per_image)]
            ac_parts.append(image[:, keep, 1:].transpose(0, 1).float())
    mean = total / blocks_seen
    variance = (total_square - blocks_seen * mean.square()) / (blocks_seen - 1)
    std = zigzag_to_natural(variance.clamp_min(0).sqrt()).numpy()
    dc = torch.cat(dc_parts)
    return CoefficientStatistics(
        std=std,
        dc=dc,
        ac=torch.cat(ac_parts),
        blocks_per_pixel=dc.shape[2] / (height * width),
        images=count,
    )
