"""Image quality metrics for decoded images (human-vision R-D)."""

from __future__ import annotations

import math

import numpy as np
import torch


def psnr(reference: np.ndarray, decoded: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels (inf when identical)."""
    if reference.shape != decoded.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {decoded.shape}")
    mse = float(np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)


def ssim(reference: torch.Tensor, decoded: torch.Tensor) -> np.ndarray:
    """SSIM of each image of two (N, 3, H, W) uint8 batches (``pytorch_msssim`` in float32: Gaussian
    window 11, sigma 1.5, data range 255, mean over the RGB channels); images need H, W >= 11."""
    from pytorch_msssim import ssim as batch_ssim

    if reference.shape != decoded.shape:
        raise ValueError(f"shapes differ: {tuple(reference.shape)} vs {tuple(decoded.shape)}")
    values = [
        batch_ssim(
            reference[start : start + 500].float(),
            decoded[start : start + 500].float(),
            data_range=255,
            size_average=False,
        )
        for start in range(0, len(reference), 500)
    ]
    return torch.cat(values).numpy() if values else np.zeros(0)
