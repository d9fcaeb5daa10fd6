"""Real-file evaluation and rate-accuracy curve summaries."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from j4d.encoders import encode_uniform
from j4d.errors import InvalidInputError
from j4d.evaluation import (
    Curve,
    accuracy_at_rate,
    bd_rate,
    code_images,
    evaluate_tables,
    gain_curve,
    lowest_gain,
    pareto_frontier,
    rate_at_accuracy,
    score,
)
from j4d.jpegio import decode, file_rate
from j4d.models import create_model
from j4d.tables import QuantTables

CURVE = Curve("a", (0.5, 1.0, 2.0, 4.0), (0.4, 0.6, 0.8, 0.9))


def test_bd_rate_of_a_curve_against_itself_and_at_half_the_rate():
    half = Curve("b", tuple(r / 2 for r in CURVE.rates), CURVE.accuracies)
    assert bd_rate(CURVE, CURVE) == pytest.approx(0.0, abs=1e-9)
    assert bd_rate(CURVE, half) == pytest.approx(-50.0, abs=1e-6)
    assert bd_rate(half, CURVE) == pytest.approx(100.0, abs=1e-6)


def test_bd_rate_warns_on_little_overlap_and_refuses_none():
    shifted = Curve("c", (1.0, 2.0, 3.0), (0.88, 0.9, 0.95))
    with pytest.warns(UserWarning, match="share only"):
        bd_rate(CURVE, shifted)
    with pytest.raises(InvalidInputError, match="do not overlap"):
        bd_rate(CURVE, Curve("d", (1.0, 2.0), (0.95, 0.97)))


def test_pareto_frontier_keeps_only_undominated_points():
    points = [(1.0, 0.5), (2.0, 0.4), (0.5, 0.45), (3.0, 0.9), (3.0, 0.7), (1.5, 0.5)]
    assert pareto_frontier(points) == [2, 0, 3]


def test_lowest_gain_finds_where_one_curve_dips_under_another():
    # above CURVE at its own points, under it at rate 2 (between two of its own points)
    dipping = Curve("f", (0.5, 1.0, 4.0), (0.45, 0.62, 0.95))
    gain, rate = lowest_gain(CURVE, dipping)
    assert rate == 2.0
    assert gain == pytest.approx(0.62 + 0.33 / 2 - 0.8)  # halfway in log-rate from 1 to 4
    assert lowest_gain(dipping, CURVE)[0] == pytest.approx(-0.05)  # CURVE under it at 0.5
    assert lowest_gain(CURVE, CURVE) == (0.0, 0.5)
    # only the shared rates count: above everywhere from 2 on, whatever lies below 2
    late = Curve("g", (2.0, 3.0), (0.81, 0.9))
    assert lowest_gain(CURVE, late) == (pytest.approx(0.01), 2.0)
    assert lowest_gain(CURVE, Curve("h", (5.0, 6.0), (0.9, 0.95))) is None


def test_read_offs_interpolate_in_log_rate():
    assert accuracy_at_rate(CURVE, 1.0) == pytest.approx(0.6)
    assert accuracy_at_rate(CURVE, np.sqrt(2.0)) == pytest.approx(0.7)  # halfway in log-rate
    assert accuracy_at_rate(CURVE, 8.0) is None
    assert rate_at_accuracy(CURVE, 0.7) == pytest.approx(np.sqrt(2.0))
    assert rate_at_accuracy(CURVE, 0.95) is None
    assert rate_at_accuracy(CURVE, CURVE.accuracies[0]) == pytest.approx(CURVE.rates[0])
    assert rate_at_accuracy(CURVE, CURVE.accuracies[0] - 0.01) is None  # below: not measured
    # a dominated point at a higher rate extends the measured range at the best accuracy
    dominated = Curve("e", (*CURVE.rates, 6.0), (*CURVE.accuracies, 0.85))
    assert accuracy_at_rate(dominated, 5.0) == pytest.approx(0.9)
    assert accuracy_at_rate(dominated, 7.0) is None


def test_real_file_point_matches_files_and_decoder(data_root, cifar_images):
    images = torch.stack([torch.tensor(a).permute(2, 0, 1) for a in cifar_images[:40]])
    labels = torch.arange(40) % 10  # class_spread_files order: round-robin over classes
    tables = QuantTables.from_quality(30)
    coded = code_images(images, tables)
    data = encode_uniform(cifar_images[3], tables)
    assert coded.scan_bpp[3] == pytest.approx(file_rate(data, 32, 32).scan_bpp)
    assert torch.equal(coded.decoded[3], torch.tensor(decode(data)).permute(2, 0, 1))
    model = create_model("resnet20", data_root=data_root)
    (point,) = evaluate_tables(model, images, labels, tables)
    assert point.metrics["top1"] == score(model, coded.decoded, labels)["top1"]
    assert point.scan_bpp == pytest.approx(coded.scan_bpp.mean())
    assert point.scan_bpp < point.file_bpp
    assert 0.3 < point.metrics["top1"] <= point.metrics["top5"] <= 1.0


def test_gain_curve_is_the_difference_of_read_offs_at_every_knot():
    reference = Curve.from_points("jpeg", [(0.5, 0.2), (1.0, 0.4), (2.0, 0.6), (4.0, 0.7)])
    test = Curve.from_points("j4d", [(0.25, 0.2), (0.5, 0.4), (1.0, 0.6), (2.0, 0.7)])
    rates, gains = gain_curve(reference, test)
    assert rates == [0.5, 1.0, 2.0]  # the shared range, at both fronts' points
    np.testing.assert_allclose(gains, [0.2, 0.2, 0.1])
    assert lowest_gain(reference, test) == pytest.approx((0.1, 2.0))
    far = Curve.from_points("far", [(10.0, 0.8), (20.0, 0.9)])
    assert gain_curve(reference, far) == ([], []) and lowest_gain(reference, far) is None
