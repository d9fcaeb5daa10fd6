r"""Which 8x8 blocks of an image matter, from the image alone: block-importance maps that need
no model (numpy and Pillow only), for the trellis's per-block weights
(:func:`j4d.encoders.rd.block_weights`, in place of a guide model's Fisher scores).

Each map gives one score per block of the 4:4:4 block grid (raster order, the image padded to
whole blocks), normalized to mean 1 over the image:

* ``centre``: a centred Gaussian, :math:`\exp(-\tfrac12 (d_x^2 + d_y^2) / \sigma^2)` with
  :math:`d` the block centre's offset from the image centre in units of the image's width and
  height and :math:`\sigma = 0.3`: photos are framed on their subject, and a classifier's centre
  crop reads the middle.
* ``edges``: the mean Sobel gradient magnitude of luma over the block's pixels: object
  boundaries and texture a model reads.
* ``energy``: the block's mean squared AC coefficient of luma (orthonormal DCT), plus one
  step of the Annex K luma table at quality 50 squared (16^2) so that flat blocks keep a little;
  ``flat``: its inverse, mozjpeg's masking (busy blocks hide error).
* ``spectral``: the spectral residual saliency of Hou and Zhang (CVPR 2007): luma resized to 64
  pixels on its long side, the log amplitude spectrum less its 3x3 local mean, back to the image
  plane with the original phase, squared, blurred by a Gaussian (sigma 3 pixels at that size),
  and resampled to the block grid. As in the paper the FFT wraps around, so a photo whose
  opposite borders differ gets some saliency along them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from PIL import Image

from j4d.errors import InvalidInputError
from j4d.jpegio.images import check_rgb

CENTRE_SIGMA = 0.3
_ENERGY_FLOOR = 16.0**2
_SPECTRAL_SIDE = 64
_SPECTRAL_BLUR = 3.0


def _luma(image: np.ndarray) -> np.ndarray:
    """(H, W) float64 luma (ITU-R BT.601, as JPEG's YCbCr) of an (H, W, 3) uint8 image."""
    rgb = image.astype(np.float64)
    return 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]


def _padded(plane: np.ndarray) -> np.ndarray:
    """``plane`` padded to whole 8x8 blocks by repeating its last row and column (as the
    encoder pads)."""
    height, width = plane.shape
    return np.pad(plane, ((0, -height % 8), (0, -width % 8)), mode="edge")


def _block_means(plane: np.ndarray) -> np.ndarray:
    """(B,) mean of each 8x8 block of ``plane`` (padded), raster order."""
    padded = _padded(plane)
    rows, cols = padded.shape[0] // 8, padded.shape[1] // 8
    return padded.reshape(rows, 8, cols, 8).mean(axis=(1, 3)).ravel()


def _normalized(scores: np.ndarray) -> np.ndarray:
    scores = np.asarray(scores, dtype=np.float64)
    mean = float(scores.mean())
    return scores / mean if mean > 0 else np.ones_like(scores)


def log_centre(squared_offset: np.ndarray) -> np.ndarray:
    """The centre map's log (up to a constant) at blocks whose centres lie ``squared_offset``
    (:math:`d_x^2 + d_y^2`, see the module) from the image centre."""
    return -0.5 * squared_offset / CENTRE_SIGMA**2


def centre_map(image: np.ndarray) -> np.ndarray:
    """(B,) the centred Gaussian prior (see the module)."""
    height, width = check_rgb(image).shape[:2]
    rows, cols = -(-height // 8), -(-width // 8)
    y = (np.arange(rows) * 8 + 4) / height - 0.5
    x = (np.arange(cols) * 8 + 4) / width - 0.5
    return _normalized(np.exp(log_centre(y[:, None] ** 2 + x[None, :] ** 2)).ravel())


def edges_map(image: np.ndarray) -> np.ndarray:
    """(B,) mean Sobel gradient magnitude of luma per block."""
    luma = np.pad(_luma(check_rgb(image)), 1, mode="edge")
    # the Sobel kernels are separable: a difference one way, a [1, 2, 1] smoothing the other
    across = luma[:, 2:] - luma[:, :-2]
    gx = across[:-2] + 2 * across[1:-1] + across[2:]
    down = luma[2:] - luma[:-2]
    gy = down[:, :-2] + 2 * down[:, 1:-1] + down[:, 2:]
    return _normalized(_block_means(np.sqrt(gx * gx + gy * gy)) + 1e-6)


def _ac_energy(image: np.ndarray) -> np.ndarray:
    """(B,) mean squared AC coefficient of luma per block (orthonormal 8x8 DCT)."""
    padded = _padded(_luma(check_rgb(image)) - 128.0)
    rows, cols = padded.shape[0] // 8, padded.shape[1] // 8
    blocks = padded.reshape(rows, 8, cols, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    k = np.arange(8)
    basis = np.sqrt(2 / 8) * np.cos((2 * k[None, :] + 1) * k[:, None] * np.pi / 16)
    basis[0] /= np.sqrt(2)
    coefficients = basis @ blocks @ basis.T
    squares = np.square(coefficients).reshape(len(blocks), 64)
    return (squares.sum(axis=1) - squares[:, 0]) / 63


def energy_map(image: np.ndarray) -> np.ndarray:
    """(B,) AC energy of luma per block, floored (see the module)."""
    return _normalized(_ac_energy(image) + _ENERGY_FLOOR)


def flat_map(image: np.ndarray) -> np.ndarray:
    """(B,) the inverse of :func:`energy_map`: flat blocks first (mozjpeg's masking)."""
    return _normalized(1.0 / (_ac_energy(image) + _ENERGY_FLOOR))


@functools.cache
def _blur_operator(size: int, sigma: float) -> np.ndarray:
    """(size, size) matrix of a 1-D Gaussian blur (taps to 3 sigma) with the signal reflected
    at its ends (numpy's ``reflect``): a separable blur is then two matrix products."""
    radius = int(3 * sigma + 0.5)
    taps = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    taps /= taps.sum()
    operator = np.zeros((size, size))
    for i in range(size):
        for offset, tap in zip(range(-radius, radius + 1), taps, strict=True):
            j = i + offset
            while not 0 <= j < size:  # reflect about the end samples
                j = -j if j < 0 else 2 * (size - 1) - j
            operator[i, j] += tap
    return operator


def _gaussian_blur(plane: np.ndarray, sigma: float) -> np.ndarray:
    rows, cols = plane.shape  # einsum: no threaded BLAS for a small product (see predictor)
    blurred = np.einsum("ij,jk->ik", _blur_operator(rows, sigma), plane)
    return np.einsum("ik,jk->ij", blurred, _blur_operator(cols, sigma))


def spectral_map(image: np.ndarray) -> np.ndarray:
    """(B,) spectral residual saliency per block (see the module)."""
    image = check_rgb(image)
    height, width = image.shape[:2]
    scale = _SPECTRAL_SIDE / max(height, width)
    small_size = (max(8, round(width * scale)), max(8, round(height * scale)))
    luma = Image.fromarray(np.clip(_luma(image), 0, 255).astype(np.uint8))
    small = np.asarray(luma.resize(small_size, Image.Resampling.BILINEAR), dtype=np.float64)
    spectrum = np.fft.fft2(small)
    log_amplitude = np.log(np.abs(spectrum) + 1e-9)
    padded = np.pad(log_amplitude, 1, mode="wrap")
    rows, cols = small.shape
    local = sum(
        padded[1 + dy : 1 + dy + rows, 1 + dx : 1 + dx + cols]
        for dy in (-1, 0, 1)
        for dx in (-1, 0, 1)
    )
    residual = np.exp(log_amplitude - local / 9.0 + 1j * np.angle(spectrum))
    saliency = _gaussian_blur(np.abs(np.fft.ifft2(residual)) ** 2, _SPECTRAL_BLUR)
    rows, cols = -(-height // 8), -(-width // 8)
    grid = Image.fromarray(saliency.astype(np.float32), mode="F").resize(
        (cols, rows), Image.Resampling.BILINEAR
    )
    return _normalized(np.asarray(grid, dtype=np.float64).ravel() + 1e-12)


#: The image-only maps by name.
MAPS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "centre": centre_map,
    "edges": edges_map,
    "energy": energy_map,
    "flat": flat_map,
    "spectral": spectral_map,
}


def importance_map(name: str, image: np.ndarray) -> np.ndarray:
    """(B,) the map ``name`` of ``image``, mean 1; a one-line error for an unknown name."""
    if name not in MAPS:
        raise InvalidInputError(f"unknown importance map {name!r} (known: {', '.join(MAPS)})")
    return MAPS[name](image)
