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

A multilayer perceptron (ReLU, two hidden layers) maps the standardized features to
:math:`\log s_b`; the scores :math:`s_b = \exp(\cdot)`, normalized to mean 1 per image, are
the trellis's block scores as a guide's would be (:func:`~j4d.encoders.rd.block_weights`).
The weights (a few thousand numbers) ship in the package as ``.npz``
(:data:`DEFAULT_WEIGHTS`); ``scripts/train_importance.py`` makes them.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from j4d.encoders.importance import edges_map, spectral_map
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
_KEYS = ("mean", "std", "w1", "b1", "w2", "b2", "w3", "b3")


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


@dataclass(frozen=True)
class ImportancePredictor:
    """The distilled network: feature standardization (``mean``, ``std``: (17,)) and three
    dense layers (``w1`` (17, H1), ``w2`` (H1, H2), ``w3`` (H2, 1) with their biases)."""

    mean: np.ndarray
    std: np.ndarray
    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    w3: np.ndarray
    b3: np.ndarray

    def log_scores(self, features: np.ndarray) -> np.ndarray:
        """(B,) predicted log block scores (up to a constant per image) of (B, 17) features."""
        # einsum, not @: a small product through a threaded BLAS can cost 100x its work on a
        # busy machine (threads that spin), and an encoder runs beside others
        x = (features - self.mean) / self.std
        x = np.maximum(np.einsum("bf,fh->bh", x, self.w1) + self.b1, 0.0)
        x = np.maximum(np.einsum("bf,fh->bh", x, self.w2) + self.b2, 0.0)
        return np.einsum("bf,fh->bh", x, self.w3)[:, 0] + self.b3[0]

    def scores(self, image: np.ndarray, coefficients: np.ndarray | None = None) -> np.ndarray:
        """(B,) block scores of ``image``, mean 1 (the trellis's block scores)."""
        log_scores = self.log_scores(block_features(image, coefficients))
        scores = np.exp(log_scores - log_scores.max())
        return scores / scores.mean()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """The weights as ``.npz``, written atomically."""
        buffer = io.BytesIO()
        np.savez(buffer, **{key: getattr(self, key) for key in _KEYS})
        return atomic_write_bytes(Path(path), buffer.getvalue())


def load_predictor(path: str | os.PathLike[str] | None = None) -> ImportancePredictor:
    """The predictor in ``path`` (default: the one j4d ships); one-line errors for a missing
    or corrupt file."""
    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    return _load(path.resolve())


@functools.cache
def _load(path: Path) -> ImportancePredictor:
    if not path.is_file():
        raise InvalidInputError("no such block-importance predictor file", path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {key: np.asarray(data[key], dtype=np.float64) for key in _KEYS}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        raise InvalidInputError(f"not a block-importance predictor ({error})", path) from None
    predictor = ImportancePredictor(**arrays)
    shapes_fit = (
        predictor.mean.shape == predictor.std.shape == (FEATURES,)
        and predictor.w1.shape[0] == FEATURES
        and predictor.w2.shape[0] == predictor.w1.shape[1] == predictor.b1.shape[0]
        and predictor.w3.shape == (predictor.w2.shape[1], 1)
        and predictor.b2.shape == (predictor.w2.shape[1],)
        and predictor.b3.shape == (1,)
    )
    if not shapes_fit:
        raise InvalidInputError("block-importance predictor layers do not fit together", path)
    if not all(np.all(np.isfinite(a)) for a in arrays.values()) or np.any(predictor.std <= 0):
        raise InvalidInputError("block-importance predictor holds non-finite values", path)
    return predictor


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
