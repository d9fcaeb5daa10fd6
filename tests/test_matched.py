"""Encoders compared image by image at a matched rate: the per-image outcomes agree with the
rate-accuracy points, the matched mix lands on the asked mean, the paired interval is a
bootstrap of the paired difference."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest

from j4d.data.testset import load_test_images
from j4d.encoders import encode_quality
from j4d.evaluation.matched import (
    OUTCOMES,
    PerImage,
    matched_difference,
    paired_difference,
    per_image,
)
from j4d.evaluation.realfile import code_images, evaluate_coded, outputs, predictions
from j4d.models import create_model
from j4d.tasks.base import kl_divergence


def _quality(image: np.ndarray, index: int, quality: int) -> bytes:
    return encode_quality(image, quality)


@pytest.fixture(scope="module")
def cifar(data_root):
    test = load_test_images(data_root / "cifar10" / "test", 32, 60)
    model = create_model("resnet20", data_root=data_root)
    return test, model, outputs(model, test.images)


def test_per_image_outcomes_average_to_the_points_metrics(cifar):
    test, model, reference = cifar
    coded = code_images(test.images, functools.partial(_quality, quality=20))
    outcomes = per_image(model, coded, test.labels, reference, temperature=2.0)
    point = evaluate_coded(model, coded, test.labels, [predictions(model, test.images)])[0]
    assert outcomes.mean("correct") == pytest.approx(point.metrics["top1"])
    assert outcomes.mean("agreement") == pytest.approx(point.metrics["agreement"])
    assert outcomes.mean("file_bpp") == pytest.approx(point.file_bpp)
    assert 0 < outcomes.mean("agreement") < 1  # quality 20 changes some decisions
    logits = outputs(model, coded.decoded)
    expected = 4.0 * kl_divergence(logits, reference, 2.0).double().numpy()
    np.testing.assert_allclose(outcomes.divergence, expected, rtol=1e-6)
    assert PerImage.from_json(outcomes.to_json()).mean("divergence") == pytest.approx(
        outcomes.mean("divergence"), rel=1e-6
    )


def test_uncompressed_images_agree_fully_and_diverge_not(cifar):
    test, model, reference = cifar
    coded = code_images(test.images, functools.partial(_quality, quality=100))
    same = dataclasses.replace(coded, decoded=test.images)
    outcomes = per_image(model, same, test.labels, reference)
    assert outcomes.mean("agreement") == 1.0
    assert np.abs(outcomes.divergence).max() < 1e-6


def _outcomes(rng: np.random.Generator, rate: float, accuracy: float, n: int = 50) -> PerImage:
    return PerImage(
        rng.normal(rate, 0.1, n),
        rng.normal(rate * 0.9, 0.1, n),
        (rng.random(n) < accuracy).astype(float),
        (rng.random(n) < accuracy).astype(float),
        rng.exponential(1 - accuracy, n),
    )


def test_the_sweep_is_read_on_the_line_between_the_points_that_bracket_the_reference(rng):
    sweep = [_outcomes(rng, r, a) for r, a in ((0.5, 0.6), (1.0, 0.7), (2.0, 0.8))]
    upper = sweep[1].mean("file_bpp"), sweep[2].mean("file_bpp")
    target = upper[0] + 0.25 * (upper[1] - upper[0])
    reference = PerImage(*(np.full(50, target if k == "file_bpp" else 0.5) for k in OUTCOMES))
    paired = matched_difference(reference, sweep[::-1], "file_bpp", "correct")  # any order
    expected = 0.75 * sweep[1].mean("correct") + 0.25 * sweep[2].mean("correct") - 0.5
    assert paired.difference == pytest.approx(expected)
    assert paired.at == "file_bpp" and paired.low <= paired.difference <= paired.high
    rate = matched_difference(reference, sweep, "file_bpp", "file_bpp", relative=True)
    assert rate.difference == pytest.approx(0.0, abs=1e-12)  # matched: the same mean rate
    far = PerImage(*(np.full(50, 9.0) for _ in OUTCOMES))
    with pytest.raises(ValueError, match="does not reach"):
        matched_difference(far, sweep, "file_bpp", "correct")


def test_matching_on_a_noisy_outcome_widens_the_interval(rng):
    """At equal accuracy the matched point moves with the resampled accuracy: its noise is in
    the interval, not only the rate's."""
    sweep = [_outcomes(rng, r, a, n=300) for r, a in ((0.5, 0.55), (1.0, 0.7), (2.0, 0.85))]
    reference = _outcomes(rng, 1.0, 0.7, n=300)
    equal_rate = matched_difference(reference, sweep, "file_bpp", "correct")
    equal_accuracy = matched_difference(reference, sweep, "correct", "file_bpp", relative=True)
    assert equal_accuracy.high - equal_accuracy.low > 0.05  # about +-7 % of the bytes
    assert equal_rate.high - equal_rate.low > 0.02 and equal_accuracy.unmatched < 100


def test_paired_difference_is_a_bootstrap_of_the_pairs(rng):
    a = _outcomes(rng, 1.0, 0.7, n=400)
    shifted = PerImage(*(a[k] + (0.05 if k == "divergence" else 0.0) for k in OUTCOMES))
    paired = paired_difference(a, shifted, "divergence")
    assert paired.difference == pytest.approx(0.05)
    # the same shift for every image: no spread at all, however noisy the images are
    assert paired.low == pytest.approx(0.05) and paired.high == pytest.approx(0.05)
    b = _outcomes(rng, 1.1, 0.75, n=400)
    relative = paired_difference(a, b, "file_bpp", relative=True)
    assert relative.difference == pytest.approx(b.mean("file_bpp") / a.mean("file_bpp") - 1)
    assert relative.low < relative.difference < relative.high
    assert paired_difference(a, b, "file_bpp", relative=True) == relative  # seeded
    assert "%" in str(relative)
    with pytest.raises(ValueError, match="same images"):
        paired_difference(a, _outcomes(rng, 1.0, 0.7, n=10), "correct")
    with pytest.raises(KeyError, match="unknown outcome"):
        a["top5"]


def test_outcomes_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="different lengths"):
        PerImage(*(np.zeros(3),) * 4, np.zeros(2))
