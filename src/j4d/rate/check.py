"""The rate estimate against real files: default JPEG at a list of quality factors.

For each QF the estimate (alpha as given, masked CPMF) is computed from one analysis of the
images, and every image is encoded with Pillow (4:4:4, optimized Huffman) to measure its real
whole-file and scan-data bpp.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from j4d.codec import analyze, channel_steps, masked_cpmf
from j4d.jpegio import encode_uniform, file_rate, to_batch
from j4d.rate.entropy import estimate_bpp
from j4d.tables import QuantTables


@dataclass(frozen=True)
class RatePoint:
    """One quality factor: the batch estimate, the mean real rates, and per-image values
    (``estimated_per_image`` is empty unless asked for: it costs more than the rest)."""

    quality: int
    estimated_bpp: float
    real_scan_bpp: float
    real_file_bpp: float
    estimated_per_image: tuple[float, ...]
    scan_per_image: tuple[float, ...]


def estimate_vs_real(
    images: Sequence[np.ndarray],
    qualities: Iterable[int],
    alpha: float = 100.0,
    per_image: bool = False,
) -> list[RatePoint]:
    """Estimated vs real bpp of default JPEG for (H, W, 3) uint8 images of one size; with
    ``per_image`` also each image's own estimate (its marginals alone)."""
    height, width = images[0].shape[:2]
    with torch.no_grad():
        coefficients = analyze(to_batch(list(images)))
    points = []
    for quality in qualities:
        tables = QuantTables.from_quality(quality)
        q = channel_steps(tables.to_tensor()).unsqueeze(1)
        with torch.no_grad():
            cpmf = masked_cpmf(coefficients, q, alpha)
            estimated = estimate_bpp(cpmf, height * width).item()
            each = estimate_bpp(cpmf, height * width, per_image=True).tolist() if per_image else []
        rates = [file_rate(encode_uniform(image, tables), height, width) for image in images]
        points.append(
            RatePoint(
                quality,
                estimated,
                float(np.mean([r.scan_bpp for r in rates])),
                float(np.mean([r.file_bpp for r in rates])),
                tuple(each),
                tuple(r.scan_bpp for r in rates),
            )
        )
    return points


def agreement(estimated: Sequence[float], real: Sequence[float]) -> dict[str, float]:
    """Pearson correlation and mean squared error of estimated vs real bpp."""
    estimated_array, real_array = np.asarray(estimated), np.asarray(real)
    return {
        "pearson": float(np.corrcoef(estimated_array, real_array)[0, 1]),
        "mse": float(np.mean((estimated_array - real_array) ** 2)),
        "points": int(estimated_array.size),
    }
