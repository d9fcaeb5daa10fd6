"""The "Google" peer method (Luo et al. 2020): cubic rounding, CompressAI's density as the rate."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

pytest.importorskip("compressai")

from conftest import smooth_image
from j4d.cli import main
from j4d.codec import JPEGCodec, analyze, channel_steps
from j4d.evaluation.ratecheck import ESTIMATORS
from j4d.jpegio import to_batch
from j4d.peers.google import cubic_round
from j4d.rate.factorized import FactorizedRate
from j4d.tables import QuantTables
from j4d.train.methods import Google


def _coefficients(seeds: range) -> torch.Tensor:
    return analyze(to_batch([smooth_image(np.random.default_rng(s), 32, 48) for s in seeds]))


def _indices(quality: int, seeds: range = range(3)) -> torch.Tensor:
    q = channel_steps(QuantTables.from_quality(quality).to_tensor()).unsqueeze(1)
    return torch.round(_coefficients(seeds) / q)


def test_cubic_round_is_exact_at_integers_with_the_cubic_between():
    x = torch.tensor([-2.0, -0.3, 0.0, 0.3, 1.4, 7.0], requires_grad=True)
    y = cubic_round(x)
    expected = torch.tensor([-2.0, -0.027, 0.0, 0.027, 1.064, 7.0])
    torch.testing.assert_close(y.detach(), expected)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.tensor([0.0, 0.27, 0.0, 0.27, 0.48, 0.0]))


def test_density_fit_lowers_the_bits_and_the_auxiliary_loss():
    rate = FactorizedRate()
    indices = _indices(50)
    auxiliary_before = rate.auxiliary_loss().item()
    history = rate.fit(indices, steps=150)
    assert history[-1] < 0.5 * history[0]
    assert rate.auxiliary_loss().item() < auxiliary_before


def test_probabilities_of_all_integers_sum_to_one():
    rate = FactorizedRate()
    rate.fit(_indices(50), steps=100)
    support = torch.arange(-300, 301, dtype=torch.float32)
    grid = support.view(1, 1, -1, 1).expand(1, 3, -1, 64)  # every integer at every density
    with torch.no_grad():
        totals = rate.likelihoods(grid).sum(dim=-1)
    torch.testing.assert_close(totals, torch.ones_like(totals), atol=1e-3, rtol=0)


def test_google_estimate_falls_as_the_steps_grow_and_fits_on_other_images():
    coefficients, fitting = _coefficients(range(3)), _coefficients(range(3, 9))
    rates = [
        ESTIMATORS["google"](coefficients, QuantTables.from_quality(q), 32 * 48, 1.0, fitting)
        for q in (95, 75, 50, 25, 10)
    ]
    for finer, coarser in itertools.pairwise(rates):
        assert coarser.sum() < finer.sum()


def test_google_method_rate_gradient_asks_for_larger_steps():
    codec = JPEGCodec(QuantTables.from_quality(50), learn_tables=True)
    images = to_batch([smooth_image(np.random.default_rng(seed), 32, 48) for seed in range(2)])
    method = Google()
    method.begin(codec, lambda: images)
    reconstruction, bpp = method(codec, images)
    assert reconstruction.shape == images.shape and bpp.item() > 0
    bpp.backward()
    assert codec.tables.grad.sum() < 0  # growing the steps lowers the estimated rate


def test_train_with_the_google_method_and_resume(data_root, tmp_path, pillow_round_trip):
    run = tmp_path / "run"
    args = ["train", "--data", str(data_root), "-o", str(run), "--val-size", "8", "--limit", "40"]
    args += ["--batch-size", "16", "-q", "--method", "google"]
    assert main([*args, "--epochs", "1"]) == 0
    saved = torch.load(run / "checkpoint.pt", weights_only=False)
    assert any(key.startswith("rate.density.") for key in saved["method"])
    assert saved["auxiliary_optimizer"]["state"]  # the quantiles took steps
    first = QuantTables.load(run / "tables.json")
    assert first.meta["method"] == "google" and first != QuantTables.from_quality(50)
    assert main([*args, "--epochs", "2", "--resume"]) == 0
    second = QuantTables.load(run / "tables.json")
    assert second != first and np.isfinite(second.to_array()).all()
    pillow_round_trip(second)
