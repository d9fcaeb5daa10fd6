"""AutoJPEG's tanh rounding and run-length size model, as a training method and an estimator."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from conftest import smooth_image
from j4d.cli import main
from j4d.codec import JPEGCodec, analyze, channel_steps
from j4d.codec.kernels import round_half_away
from j4d.evaluation.ratecheck import ESTIMATORS
from j4d.jpegio import to_batch
from j4d.peers.autojpeg import tanh_round
from j4d.rate.runlength import RunLengthRate, magnitude_category
from j4d.tables import QuantTables
from j4d.train.methods import AutoJPEG


def test_tanh_round_meets_round_at_integers_and_half_integers_and_sharpens():
    x = torch.tensor([-2.0, -1.5, 0.0, 0.5, 1.0, 2.5, 3.0], dtype=torch.float64)
    torch.testing.assert_close(tanh_round(x), x)
    between = torch.tensor([0.2, 0.8, -1.3, 2.6], dtype=torch.float64)
    assert torch.all((tanh_round(between, 50.0) - torch.round(between)).abs() < 1e-4)
    assert torch.all((tanh_round(between, 1.0) - between).abs() < 0.1)  # soft: near identity
    x = torch.linspace(-3, 3, 601, dtype=torch.float64, requires_grad=True)
    tanh_round(x).sum().backward()
    assert torch.all(x.grad > 0)  # monotone


def test_magnitude_category_is_jpegs_ssss():
    v = torch.tensor([0.0, 0.4, -0.6, 1.0, -2.0, 3.0, 4.0, 7.0, 8.0, -255.0, 1023.0])
    expected = torch.tensor([0, 0, 1, 1, 2, 2, 3, 3, 4, 8, 10], dtype=torch.float32)
    torch.testing.assert_close(magnitude_category(v), expected)


def test_run_length_bits_of_a_hand_coded_block():
    indices = torch.zeros(1, 3, 1, 64)
    indices[0, 0, 0, 0] = 5  # DC: symbol 3 + SSSS 3
    indices[0, 0, 0, 1] = 3  # symbol 4 + SSSS 2
    indices[0, 0, 0, 20] = -1  # 18 zeros before it: one ZRL (11) + symbol 4 + SSSS 1
    # Y: 6 + 6 + 16 + EOB 4 = 32; Cb and Cr: DC symbol 3 (difference 0) + EOB 4 = 7 each
    assert RunLengthRate().bits(indices).item() == 46.0
    indices[0, 0, 0, 63] = 2  # the last AC is nonzero: no EOB; 42 zeros: 2 ZRL; 4 + 2
    assert RunLengthRate().bits(indices).item() == 46.0 - 4 + 22 + 6


def _coefficients() -> torch.Tensor:
    images = [smooth_image(np.random.default_rng(seed), 32, 48) for seed in range(3)]
    return analyze(to_batch(images))


@pytest.mark.parametrize("estimator", ["j4d", "autojpeg"])
def test_estimated_rate_falls_as_the_steps_grow(estimator):
    coefficients = _coefficients()
    rates = [
        ESTIMATORS[estimator](coefficients, QuantTables.from_quality(q), 32 * 48, 100.0)
        for q in (95, 75, 50, 25, 10)
    ]
    for finer, coarser in itertools.pairwise(rates):
        assert torch.all(coarser <= finer) and coarser.sum() < finer.sum()


def test_autojpeg_estimate_counts_the_rounded_indices():
    coefficients = _coefficients()
    tables = QuantTables.from_quality(50)
    q = channel_steps(tables.to_tensor()).unsqueeze(1)
    expected = RunLengthRate().bits(round_half_away(coefficients / q)) / (32 * 48)
    torch.testing.assert_close(ESTIMATORS["autojpeg"](coefficients, tables, 32 * 48, 1.0), expected)


def test_autojpeg_method_rate_gradient_asks_for_larger_steps():
    codec = JPEGCodec(QuantTables.from_quality(50), learn_tables=True)
    images = to_batch([smooth_image(np.random.default_rng(seed), 32, 48) for seed in range(2)])
    reconstruction, bpp = AutoJPEG()(codec, images)
    assert reconstruction.shape == images.shape and bpp.item() > 0
    bpp.backward()
    assert codec.tables.grad.sum() < 0  # growing the steps lowers the estimated rate
    assert (codec.tables.grad <= 1e-9).float().mean() > 0.9


def test_train_with_the_autojpeg_method(data_root, tmp_path, capsys, pillow_round_trip):
    run = tmp_path / "run"
    args = ["train", "--data", str(data_root), "-o", str(run), "--val-size", "8", "--limit", "40"]
    assert main([*args, "--batch-size", "16", "--epochs", "1", "-q", "--method", "autojpeg"]) == 0
    tables = QuantTables.load(run / "tables.json")
    assert tables.meta["method"] == "autojpeg"
    assert tables != QuantTables.from_quality(50)  # the tables moved
    assert np.isfinite(tables.to_array()).all()
    pillow_round_trip(tables)
