"""The block-importance predictor (:mod:`j4d.encoders.predictor`): its features against their
definitions, its weights file's round trip and errors, and scores that are deterministic, one
per block, mean 1."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from j4d.encoders.predictor import (
    FEATURES,
    ImportancePredictor,
    _convolve,
    _neighbourhood_mean,
    block_features,
    load_predictor,
)
from j4d.encoders.rd import analyze_rd
from j4d.errors import InvalidInputError
from j4d.jpegio import load_image


@pytest.fixture(scope="module")
def photo(kodak_files) -> np.ndarray:
    return load_image(kodak_files[5])[:90, :130]


def _random_predictor(seed: int = 0, hidden: int = 8) -> ImportancePredictor:
    rng = np.random.default_rng(seed)
    shapes = [(1, 1, FEATURES, hidden), (3, 3, hidden, hidden), (1, 1, hidden, 1)]
    return ImportancePredictor(
        mean=rng.normal(size=FEATURES),
        std=rng.uniform(0.5, 2, FEATURES),
        weights=tuple(rng.normal(size=shape) / np.sqrt(np.prod(shape[:3])) for shape in shapes),
        biases=tuple(rng.normal(size=shape[3]) for shape in shapes),
    )


def test_features_are_one_row_per_block_as_defined(photo):
    features = block_features(photo)
    rows, cols = 12, 17
    assert features.shape == (rows * cols, FEATURES)
    coefficients = analyze_rd(photo)
    assert np.allclose(features, block_features(photo, coefficients))
    # band 1 (zig-zag 1-2) of block 0, and the luma level
    y = coefficients[0, 0]
    assert features[0, 0] == pytest.approx(np.log1p(np.mean(y[1:3] ** 2) / 16))
    assert features[0, 8] == pytest.approx((y[0] / 8 + 128) / 255)
    # the block centre's offset from the image centre
    assert features[0, 12] == pytest.approx(4 / 130 - 0.5)
    assert features[0, 13] == pytest.approx(4 / 90 - 0.5)


def test_the_neighbourhood_mean_is_the_brute_force_one():
    grid = np.random.default_rng(1).normal(size=(5, 7))
    padded = np.pad(grid, 2, mode="edge")
    expected = np.array([[padded[r : r + 5, c : c + 5].mean() for c in range(7)] for r in range(5)])
    assert np.allclose(_neighbourhood_mean(grid, 2), expected)


def test_the_block_grid_convolution_is_the_brute_force_one():
    rng = np.random.default_rng(2)
    grid, weight, bias = (
        rng.normal(size=(4, 6, 3)),
        rng.normal(size=(3, 3, 3, 2)),
        rng.normal(size=2),
    )
    padded = np.pad(grid, ((1, 1), (1, 1), (0, 0)), mode="edge")
    expected = np.array(
        [
            [
                np.einsum("yxi,yxio->o", padded[r : r + 3, c : c + 3], weight) + bias
                for c in range(6)
            ]
            for r in range(4)
        ]
    )
    assert np.allclose(_convolve(grid, weight, bias), expected)


def test_scores_are_deterministic_with_mean_one_and_survive_a_round_trip(tmp_path, photo):
    predictor = _random_predictor()
    scores = predictor.scores(photo)
    assert scores.shape == (12 * 17,) and scores.mean() == pytest.approx(1.0)
    assert np.all(scores > 0)
    path = predictor.save(tmp_path / "p.npz")
    again = load_predictor(path)
    assert np.array_equal(again.scores(photo), scores)


def test_a_missing_or_corrupt_predictor_is_a_one_line_error(tmp_path):
    for name, content in (("missing.npz", None), ("text.npz", b"not numpy")):
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(InvalidInputError) as error:
            load_predictor(tmp_path / name)
        assert name in str(error.value) and "\n" not in str(error.value)
    bad = _random_predictor()
    np.savez(tmp_path / "shapes.npz", **{**bad.arrays(), "w2": np.zeros((3, 3, 5, 8))})
    with pytest.raises(InvalidInputError, match="do not fit together"):
        load_predictor(tmp_path / "shapes.npz")
    np.savez(tmp_path / "nan.npz", **{**bad.arrays(), "b1": np.full(8, np.nan)})
    with pytest.raises(InvalidInputError, match="non-finite"):
        load_predictor(tmp_path / "nan.npz")


def test_the_shipped_predictor_is_pinned_on_a_real_photo(photo):
    # scores of blocks 0, 50, 117 and 200 when the shipped weights were trained
    # (scripts/train_importance.py; results/importance-predictor/training.json)
    scores = load_predictor().scores(photo)
    assert scores[[0, 50, 117, 200]] == pytest.approx(
        [0.06400, 0.51740, 0.09530, 0.12787], abs=1e-4
    )
    assert np.array_equal(scores, load_predictor().scores(photo.copy()))


def test_rd_aware_at_strength_zero_is_model_free_rd_byte_for_byte(photo):
    from j4d.encoders.predictor import encode_aware
    from j4d.encoders.rd import encode_rd
    from j4d.encoders.registry import get_encoder
    from j4d.jpegio import decode
    from j4d.tables import QuantTables

    tables = QuantTables.from_quality(40)
    assert encode_aware(photo, tables, strength=0.0) == encode_rd(photo, tables)
    aware = get_encoder("rd-aware").encode(photo, tables)
    assert aware == encode_aware(photo, tables) != encode_rd(photo, tables)
    assert decode(aware).shape == photo.shape


def test_the_centre_prior_adds_the_centre_maps_log(photo):
    from j4d.encoders.importance import importance_map

    plain = _random_predictor()
    features = block_features(photo)
    with_prior = dataclasses.replace(plain, centre_prior=1.5)
    difference = with_prior.log_scores(features, (12, 17)) - plain.log_scores(features, (12, 17))
    expected = 1.5 * np.log(importance_map("centre", photo))
    # the map is normalized to mean 1 per image: equal up to a constant
    assert np.allclose(difference - difference.mean(), expected - expected.mean())


def test_rd_aware_takes_its_strength_after_an_at_sign(photo):
    from j4d.encoders.predictor import encode_aware
    from j4d.encoders.rd import encode_rd
    from j4d.encoders.registry import get_encoder
    from j4d.tables import QuantTables

    tables = QuantTables.from_quality(40)
    assert get_encoder("rd-aware@0").encode(photo, tables) == encode_rd(photo, tables)
    stronger = get_encoder("rd-aware@1.50")
    assert stronger.name == "rd-aware@1.5" and stronger.settings["strength"] == "1.5"
    assert stronger.encode(photo, tables) == encode_aware(photo, tables, strength=1.5)
    for bad in ("rd@2", "rd-aware@x", "rd-aware@-1", "rd-aware@nan"):
        with pytest.raises(InvalidInputError) as error:
            get_encoder(bad)
        assert bad in str(error.value) and "\n" not in str(error.value)


def test_encode_writes_rd_aware_at_a_strength(tmp_path, photo, capsys):
    from PIL import Image

    from j4d.cli import main
    from j4d.encoders.rd import encode_rd
    from j4d.tables import QuantTables

    Image.fromarray(photo).save(tmp_path / "p.png")
    argv = ["encode", "--qf", "40", str(tmp_path / "p.png"), "-o", str(tmp_path / "out")]
    assert main([*argv, "--encoder", "rd-aware@0"]) == 0
    written = (tmp_path / "out" / "p.jpg").read_bytes()
    assert written == encode_rd(photo, QuantTables.from_quality(40))
    assert main([*argv, "--encoder", "rd-aware@x", "--replace"]) == 2
    assert "rd-aware@x" in capsys.readouterr().err
