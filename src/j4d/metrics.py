"""Image quality metrics for decoded images (human-vision R-D)."""

from __future__ import annotations

import math

import numpy as np


def psnr(reference: np.ndarray, decoded: np.ndarray, peak: float = 255.0) -> float:
    """Peak signal-to-noise ratio in dB over all pixels and channels (inf when identical)."""
    if reference.shape != decoded.shape:
        raise ValueError(f"shapes differ: {reference.shape} vs {decoded.shape}")
    mse = float(np.mean((reference.astype(np.float64) - decoded.astype(np.float64)) ** 2))
    return math.inf if mse == 0 else 10.0 * math.log10(peak * peak / mse)
