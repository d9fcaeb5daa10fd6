r"""Which blocks a model leans on, predicted from the image alone: a small network distilled from
several models' Fisher block scores (:mod:`j4d.encoders.model_rd`), run in numpy at encoder
speed, so that model-aware files need neither the model nor torch where the photo is encoded.

Per 8x8 block :math:`b` the features :math:`f_b` (:func:`block_features`, 17 numbers) are
read off the DCT coefficients the encoder computes anyway and two image-only maps
(:mod:`j4d.encoders.importance`):

* luma AC energy in six zig-zag bands (1-2, 3-5, 6-9, 10-14, 15-27, 28-63), as
  :math:`\log(1 + \overline{y^2}/16)`;
* chroma AC energy (Cb and Cr), the chroma DC's magnitude, the luma level;
* the luma AC energy of the block's 3x3 and 9x9 neighbourhoods, and its own less the image's
  mean (what stands out);
* the block centre's offset from the image centre (in units of the image's width and height)
  and its squared distance;
* the logs of the ``edges`` and ``spectral`` maps.

A network :math:`g` of convolutions over the block grid (ReLU between them; the shipped one
is 1x1 throughout, a per-block perceptron with two hidden layers of 32) maps the standardized
features to a log score, and a fixed centre prior is added:

.. math:: \log s_b = g(f)_b - \pi \, \frac{d_{x,b}^2 + d_{y,b}^2}{2 \sigma^2}

with :math:`\pi` the predictor's ``centre_prior`` and :math:`\sigma` the ``centre`` map's
(:data:`~j4d.encoders.importance.CENTRE_SIGMA`): the network learns from crops of photos,
birds and road scenes where the subject is less centred than in the photos a classifier is
usually shown, and the prior puts back what the held-out model leans on there.
The scores :math:`s_b = \exp(\cdot)`, normalized to mean 1 per image, are the trellis's block
scores as a guide's would be (:func:`~j4d.encoders.rd.block_weights`). The weights (a few
thousand numbers) ship in the package as ``.npz`` (:data:`DEFAULT_WEIGHTS`);
``scripts/train_importance.py`` makes them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from j4d.encoders.importance import edges_map, log_centre, spectral_map
from j4d.encoders.rd import analyze_rd, block_weights, rd_indices, rd_settings, write_indices_rd
from j4d.errors import InvalidInputError
from j4d.tables import QuantTables
from j4d.utils.files import atomic_write_bytes

#: The predictor j4d ships (absent until one is trained: then :func:`load_predictor` says so).
DEFAULT_WEIGHTS = Path(__file__).parent / "data" / "importance_predictor.npz"
BANDS = ((1, 3), (3, 6), (6, 10), (10, 15), (15, 28), (28, 64))  # zig-zag [start, end)
#: The ``rd-aware`` encoder's strength: the exponent of the predicted block scores.
AWARE_STRENGTH = 1.0
FEATURES = 17
_SQUARED_OFFSET = 14  # the feature (dx^2 + dy^2)


def _log_energy(coefficients: np.ndarray) -> np.ndarray:
    return np.log1p(np.mean(np.square(coefficients), axis=-1) / 16.0)


def _neighbourhood_mean(grid: np.ndarray, radius: int) -> np.ndarray:
    """Mean of ``grid`` over each cell's (2r+1)^2 neighbourhood, edges replicated."""
    padded = np.pad(grid, radius, mode="edge")
    sums = np.cumsum(np.cumsum(np.pad(padded, ((1, 0), (1, 0))), axis=0), axis=1)
    size = 2 * radius + 1
    rows, cols = grid.shape
    total = (
        sums[size : size + rows, size : size + cols]
        - sums[:rows, size : size + cols]
        - sums[size : size + rows, :cols]
        + sums[:rows, :cols]
    )
    return total / size**2


def block_features(image: np.ndarray, coefficients: np.ndarray | None = None) -> np.ndarray:
    """(B, 17) float64 features of each 8x8 block of an (H, W, 3) uint8 image (see the module);
    ``coefficients``: its :func:`~j4d.encoders.rd.analyze_rd` output, if already computed."""
    y = analyze_rd(image) if coefficients is None else coefficients
    height, width = image.shape[:2]
    rows, cols = -(-height // 8), -(-width // 8)
    luma = y[0]
    bands = [_log_energy(luma[:, start:end]) for start, end in BANDS]
    total = _log_energy(luma[:, 1:])
    chroma = _log_energy(y[1:, :, 1:].transpose(1, 0, 2).reshape(len(luma), -1))
    chroma_dc = np.log1p(np.hypot(y[1, :, 0], y[2, :, 0]) / 8.0)
    level = (luma[:, 0] / 8.0 + 128.0) / 255.0
    grid = total.reshape(rows, cols)
    near = _neighbourhood_mean(grid, 1).ravel()
    around = _neighbourhood_mean(grid, 4).ravel()
    dy = ((np.arange(rows) * 8 + 4) / height - 0.5)[:, None] * np.ones((1, cols))
    dx = ((np.arange(cols) * 8 + 4) / width - 0.5)[None, :] * np.ones((rows, 1))
    features = [
        *bands,
        chroma,
        chroma_dc,
        level,
        near,
        around,
        total - total.mean(),
        dx.ravel(),
        dy.ravel(),
        (dx**2 + dy**2).ravel(),
        np.log(edges_map(image)),
        np.log(spectral_map(image)),
    ]
    return np.stack(features, axis=1)


def _convolve(grid: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    """(R, C, Cout) convolution of an (R, C, Cin) block grid with a (k, k, Cin, Cout) kernel,
    edges replicated (torch's ``Conv2d(padding=k // 2, padding_mode="replicate")``)."""
    size = weight.shape[0]
    reach = size // 2
    rows, cols = grid.shape[:2]
    padded = np.pad(grid, ((reach, reach), (reach, reach), (0, 0)), mode="edge")
    out = np.broadcast_to(bias, (rows, cols, len(bias))).copy()
    # einsum, not @: a small product through a threaded BLAS can cost 100x its work on a
    # busy machine (threads that spin), and an encoder runs beside others
    for dy in range(size):
        for dx in range(size):
            window = padded[dy : dy + rows, dx : dx + cols]
            out += np.einsum("rci,io->rco", window, weight[dy, dx])
    return out


@dataclass(frozen=True)
class ImportancePredictor:
    """The distilled network: feature standardization (``mean``, ``std``: (17,)) and a stack
    of convolutions over the block grid (``weights``: (k, k, Cin, Cout) each, odd k; ReLU
    between them; the last has one output channel), with their ``biases``. Kernels of size 1
    make it a per-block perceptron; larger ones let a block see its neighbours' features."""

    mean: np.ndarray
    std: np.ndarray
    weights: tuple[np.ndarray, ...]
    biases: tuple[np.ndarray, ...]
    centre_prior: float = 0.0

    def log_scores(self, features: np.ndarray, grid: tuple[int, int]) -> np.ndarray:
        """(B,) predicted log block scores (up to a constant per image) of (B, 17) features
        of a ``grid`` (rows, columns) of blocks in raster order."""
        x = ((features - self.mean) / self.std).reshape(*grid, -1)
        for n, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = _convolve(x, weight, bias)
            if n < len(self.weights) - 1:
                x = np.maximum(x, 0.0)
        return x.reshape(-1) + self.centre_prior * log_centre(features[:, _SQUARED_OFFSET])

    def scores(self, image: np.ndarray, coefficients: np.ndarray | None = None) -> np.ndarray:
        """(B,) block scores of ``image``, mean 1 (the trellis's block scores)."""
        grid = (-(-image.shape[0] // 8), -(-image.shape[1] // 8))
        log_scores = self.log_scores(block_features(image, coefficients), grid)
        scores = np.exp(log_scores - log_scores.max())
        return scores / scores.mean()

    def arrays(self) -> dict[str, np.ndarray]:
        """The arrays of the weights file: ``mean``, ``std``, ``centre_prior``, ``w1``, ``b1``,
        ``w2``, ..."""
        arrays = {"mean": self.mean, "std": self.std, "centre_prior": np.float64(self.centre_prior)}
        for n, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True), 1):
            arrays[f"w{n}"], arrays[f"b{n}"] = weight, bias
        return arrays

    def save(self, path: str | os.PathLike[str]) -> Path:
        """The weights as ``.npz`` (:meth:`arrays`), written atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, **self.arrays())
        return atomic_write_bytes(Path(path), buffer.getvalue())


def weights_digest(path: str | os.PathLike[str] | None = None) -> str:
    """The first 12 hex digits of the SHA-1 of the predictor file (default: the one j4d ships),
    ``"missing"`` without one: what ``rd-aware`` files depend on, for caches and reports."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    return hashlib.sha1(path.read_bytes()).hexdigest()[:12] if path.is_file() else "missing"


def load_predictor(path: str | os.PathLike[str] | None = None) -> ImportancePredictor:
    """The predictor in ``path`` (default: the one j4d ships); one-line errors for a missing
    or corrupt file."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    return _load(path.resolve())


def _layers_fit(mean, std, weights, biases) -> bool:
    channels = FEATURES
    for weight, bias in zip(weights, biases, strict=True):
        square_odd = weight.ndim == 4 and weight.shape[0] == weight.shape[1] and weight.shape[0] % 2
        if not square_odd or weight.shape[2] != channels or bias.shape != (weight.shape[3],):
            return False
        channels = weight.shape[3]
    return mean.shape == std.shape == (FEATURES,) and channels == 1 and len(weights) > 0


@functools.cache
def _load(path: Path) -> ImportancePredictor:
    if not path.is_file():
        raise InvalidInputError("no such block-importance predictor file", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key], dtype=np.float64) for key in data.files}
            mean, std = arrays["mean"], arrays["std"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise InvalidInputError(f"not a block-importance predictor ({error})", path) from None
    weights, biases = [], []
    while f"w{len(weights) + 1}" in arrays:
        n = len(weights) + 1
        weight = arrays[f"w{n}"]
        weights.append(weight.reshape(1, 1, *weight.shape) if weight.ndim == 2 else weight)
        biases.append(arrays.get(f"b{n}", np.zeros(0)))
    prior = arrays.get("centre_prior", np.zeros(()))
    if not _layers_fit(mean, std, weights, biases) or prior.shape != ():
        raise InvalidInputError("block-importance predictor layers do not fit together", path)
    if not all(np.all(np.isfinite(a)) for a in arrays.values()) or np.any(std <= 0):
        raise InvalidInputError("block-importance predictor holds non-finite values", path)
    return ImportancePredictor(mean, std, tuple(weights), tuple(biases), float(prior))


def encode_aware(
    image: np.ndarray,
    tables: QuantTables,
    strength: float = AWARE_STRENGTH,
    predictor: ImportancePredictor | None = None,
) -> bytes:
    """``image`` by rd with each block's distortion weighed by its predicted importance at
    ``strength`` (0: the model-free rd file, byte for byte): model-aware files with neither a
    model nor torch. The coefficients are analysed once, for the features and the trellis."""
    settings = rd_settings(tables)
    coefficients = analyze_rd(image)
    if strength:
        scores = (predictor or load_predictor()).scores(image, coefficients)
        weights = block_weights(settings, scores, strength)
        settings = dataclasses.replace(settings, weights=weights)
    indices = rd_indices(coefficients, tables, settings)
    return write_indices_rd(indices, tables, *image.shape[:2], frame="smaller")
