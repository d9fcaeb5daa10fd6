"""Rate estimates against real files: default JPEG at a list of quality factors.

For each QF the estimate (alpha as given, masked CPMF) is computed from one analysis of the
images, and every image is encoded with Pillow (4:4:4, optimized Huffman) to measure its real
whole-file and scan-data bpp. :func:`rate_pairs` does this per (image, QF) for any registered
estimator (the paper's Fig. 8 protocol); :func:`register_estimator` adds one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from j4d.codec import analyze, channel_steps, masked_cpmf, round_half_away
from j4d.encoders import encode_uniform
from j4d.errors import InvalidInputError
from j4d.jpegio import FileRate, file_rate, to_batch
from j4d.rate.entropy import estimate_bpp
from j4d.rate.runlength import RunLengthRate
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


def _block_steps(tables: QuantTables) -> torch.Tensor:
    """(3, 1, 64) zig-zag steps of Y, Cb, Cr, against (N, 3, B, 64) coefficients."""
    return channel_steps(tables.to_tensor()).unsqueeze(1)


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
        q = _block_steps(tables)
        with torch.no_grad():
            cpmf = masked_cpmf(coefficients, q, alpha)
            estimated = estimate_bpp(cpmf, height * width).item()
            each = estimate_bpp(cpmf, height * width, per_image=True).tolist() if per_image else []
        rates = real_rates(images, tables)
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


def real_rates(images: Sequence[np.ndarray], tables: QuantTables) -> list[FileRate]:
    """Sizes of the Pillow files (4:4:4, optimized Huffman) of each image with ``tables``."""
    return [file_rate(encode_uniform(image, tables), *image.shape[:2]) for image in images]


#: ``(coefficients (N, 3, B, 64) zig-zag, tables, pixels per image, alpha, fitting) -> (N,)
#: bpp``; ``fitting``: coefficients of other images, for estimators with a model to fit.
RateEstimator = Callable[[torch.Tensor, QuantTables, int, float, torch.Tensor | None], torch.Tensor]
#: Estimators that fit a model to other images first (``rate_pairs``' ``fit_images``).
ESTIMATORS: dict[str, RateEstimator] = {}


def register_estimator(name: str) -> Callable[[RateEstimator], RateEstimator]:
    """Decorator adding a per-image rate estimator to :data:`ESTIMATORS` under ``name``."""

    def add(function: RateEstimator) -> RateEstimator:
        ESTIMATORS[name] = function
        return function

    return add


@register_estimator("j4d")
def entropy_estimate(
    coefficients: torch.Tensor,
    tables: QuantTables,
    pixels: int,
    alpha: float,
    fitting: torch.Tensor | None = None,
) -> torch.Tensor:
    """Our estimate (METHOD.md section 4) from each image's own marginals."""
    q = _block_steps(tables)
    return estimate_bpp(masked_cpmf(coefficients, q, alpha), pixels, per_image=True)


@register_estimator("autojpeg")
def run_length_estimate(
    coefficients: torch.Tensor,
    tables: QuantTables,
    pixels: int,
    alpha: float,
    fitting: torch.Tensor | None = None,
) -> torch.Tensor:
    """AutoJPEG's closed-form size of the rounded indices (:mod:`j4d.rate.runlength`)."""
    q = _block_steps(tables)
    return RunLengthRate().bpp(round_half_away(coefficients / q), pixels)


@register_estimator("google")
def factorized_density_estimate(
    coefficients: torch.Tensor,
    tables: QuantTables,
    pixels: int,
    alpha: float,
    fitting: torch.Tensor | None = None,
) -> torch.Tensor:
    """Luo et al.'s learned density (:mod:`j4d.rate.factorized`): fitted to the rounded
    indices of other images (``fitting``) at these tables, then the bits of these images'."""
    if fitting is None:
        raise InvalidInputError("the google estimator needs other images to fit its density on")
    try:
        from j4d.rate.factorized import FactorizedRate
    except ImportError as error:
        raise InvalidInputError(
            f"the google estimator needs CompressAI ({error}): pip install 'j4d[peers]'"
        ) from None
    q = _block_steps(tables)
    rate = FactorizedRate()
    with torch.enable_grad():
        rate.fit(round_half_away(fitting / q))
    with torch.no_grad():
        return rate.bpp(round_half_away(coefficients / q), pixels)


def rate_pairs(
    images: Sequence[np.ndarray],
    qualities: Iterable[int],
    estimators: Sequence[str] = ("j4d",),
    alpha: float = 100.0,
    names: Sequence[str] | None = None,
    fit_images: Sequence[np.ndarray] = (),
) -> list[dict[str, float | int | str]]:
    """One row per (image, QF, estimator): estimated bpp and the real scan / whole-file bpp of
    that image's default-JPEG file. Images are (H, W, 3) uint8 of one size; the estimators of
    :data:`FITTED_ESTIMATORS` fit their model to ``fit_images`` (other images, same size)."""
    unknown = [e for e in estimators if e not in ESTIMATORS]
    if unknown:
        raise InvalidInputError(
            f"unknown estimator {unknown[0]!r} (known: {', '.join(ESTIMATORS)})"
        )
    names = list(names) if names is not None else [str(i) for i in range(len(images))]
    height, width = images[0].shape[:2]
    with torch.no_grad():
        coefficients = analyze(to_batch(list(images)))
        fitting = analyze(to_batch(list(fit_images))) if len(fit_images) else None
    rows: list[dict[str, float | int | str]] = []
    for quality in qualities:
        tables = QuantTables.from_quality(quality)
        rates = real_rates(images, tables)
        for estimator in estimators:
            with torch.no_grad():
                estimate = ESTIMATORS[estimator](
                    coefficients, tables, height * width, alpha, fitting
                )
            for name, value, rate in zip(names, estimate.tolist(), rates, strict=True):
                rows.append(
                    {
                        "image": name,
                        "quality": int(quality),
                        "estimator": estimator,
                        "estimated_bpp": float(value),
                        "scan_bpp": rate.scan_bpp,
                        "file_bpp": rate.file_bpp,
                    }
                )
    return rows
