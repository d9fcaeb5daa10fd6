"""Image-only block-importance maps (:mod:`j4d.encoders.importance`): one score per block,
mean 1, deterministic, and each where its definition puts it on images made to show it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from j4d.encoders.importance import MAPS, importance_map
from j4d.encoders.rd import block_weights, encode_rd, rd_settings
from j4d.errors import InvalidInputError
from j4d.jpegio import load_image
from j4d.tables import QuantTables


@pytest.fixture(scope="module")
def photo(kodak_files) -> np.ndarray:
    return load_image(kodak_files[3])[:100, :140]  # not a multiple of 8


def _grid(scores: np.ndarray, height: int, width: int) -> np.ndarray:
    return scores.reshape(-(-height // 8), -(-width // 8))


@pytest.mark.parametrize("name", list(MAPS))
def test_a_map_is_one_positive_score_per_block_with_mean_one_and_repeats(name, photo):
    scores = importance_map(name, photo)
    assert scores.shape == (13 * 18,)
    assert np.all(scores > 0) and scores.mean() == pytest.approx(1.0)
    assert np.array_equal(scores, importance_map(name, photo.copy()))


def test_the_centre_prior_peaks_in_the_middle_and_is_symmetric():
    grid = _grid(importance_map("centre", np.zeros((64, 96, 3), np.uint8)), 64, 96)
    assert np.unravel_index(grid.argmax(), grid.shape) in {(3, 5), (3, 6), (4, 5), (4, 6)}
    assert np.allclose(grid, grid[::-1, ::-1])


def test_edges_and_energy_find_the_textured_block_and_flat_its_opposite():
    image = np.full((32, 32, 3), 120, np.uint8)
    image[8:16, 16:24] = np.indices((8, 8)).sum(0)[..., None] % 2 * 255  # a checkerboard block
    textured = 1 * 4 + 2
    for name in ("edges", "energy"):
        assert importance_map(name, image).argmax() == textured
    assert importance_map("flat", image).argmin() == textured
    # a flat image: every block alike
    assert np.allclose(importance_map("edges", np.full((24, 24, 3), 7, np.uint8)), 1.0)


def test_spectral_residual_marks_the_odd_object_out():
    rng = np.random.default_rng(0)
    image = np.full((128, 128, 3), 100, np.uint8) + rng.integers(0, 3, (128, 128, 3), np.uint8)
    image[88:104, 24:40] = 250  # one small bright square in a quiet scene
    grid = _grid(importance_map("spectral", image), 128, 128)
    row, col = np.unravel_index(grid.argmax(), grid.shape)
    assert 10 <= row <= 13 and 2 <= col <= 5


def test_the_centre_prior_is_its_formula():
    height, width = 100, 140
    grid = _grid(importance_map("centre", np.zeros((height, width, 3), np.uint8)), height, width)
    y = ((np.arange(13) * 8 + 4) / height - 0.5) / 0.3
    x = ((np.arange(18) * 8 + 4) / width - 0.5) / 0.3
    expected = np.exp(-0.5 * (y[:, None] ** 2 + x[None, :] ** 2))
    assert np.allclose(grid, expected / expected.mean())


def test_pinned_scores_on_a_real_photo(photo):
    # values of blocks 0, 50 and 117 when the maps were written (numpy's FFT and Pillow's
    # resampling are deterministic): a change to a map's definition shows here
    expected = {
        "edges": [1.89364, 0.30113, 0.23504],
        "energy": [1.12239, 0.64078, 0.64358],
        "flat": [0.7056, 1.23593, 1.23056],
        "spectral": [6.77275, 0.23999, 0.10077],
    }
    for name, values in expected.items():
        assert importance_map(name, photo)[[0, 50, 117]] == pytest.approx(values, abs=1e-4)


def test_a_map_steers_the_trellis_and_strength_zero_is_model_free(photo):
    tables = QuantTables.from_quality(40)
    settings = rd_settings(tables)
    plain = encode_rd(photo, tables, settings)
    scores = importance_map("centre", photo)

    still = dataclasses.replace(settings, weights=block_weights(settings, scores, 0.0))
    assert encode_rd(photo, tables, still) == plain
    steered = dataclasses.replace(settings, weights=block_weights(settings, scores, 1.0))
    assert encode_rd(photo, tables, steered) != plain


def test_an_unknown_map_is_a_one_line_error():
    with pytest.raises(InvalidInputError, match="unknown importance map 'saliency'"):
        importance_map("saliency", np.zeros((8, 8, 3), np.uint8))
