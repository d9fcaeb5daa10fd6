import itertools

import pytest
import torch

from j4d.codec import (
    ProbabilisticQuantizer,
    Softness,
    SoftQuantizer,
    UniformQuantizer,
    full_cpmf,
    kernels,
    masked_cpmf,
    probabilistic_quantize,
    sample_cpmf,
    soft_quantize,
    uniform_indices,
    uniform_quantize,
)
from j4d.errors import InvalidInputError

LEVELS = 1024


def full_soft_quantize(y, q, alpha, levels=LEVELS):
    index = torch.arange(-levels, levels + 1, dtype=y.dtype).view(-1, *([1] * y.dim()))
    return (full_cpmf(y, q, alpha, levels) * index * q).sum(0)


def test_masked_vs_full_space_at_alpha_1_q_1_y_half():
    y, q = torch.tensor([0.5], dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)
    assert soft_quantize(y, q, 1.0).item() == pytest.approx(0.5027, abs=5e-5)
    assert full_soft_quantize(y, q, 1.0).item() == pytest.approx(0.5000, abs=1e-9)


def test_masked_cpmf_matches_full_space_at_paper_alpha():
    y = torch.linspace(-300, 300, 2001, dtype=torch.float64)
    q = torch.tensor(7.0, dtype=torch.float64)
    masked = masked_cpmf(y, q, 100.0)
    full = full_cpmf(y, q, 100.0)
    gathered = full.gather(0, masked.indices() + LEVELS)
    assert torch.allclose(masked.probs, gathered, atol=1e-12)
    assert torch.allclose(masked.probs.sum(0), torch.ones_like(y))


@pytest.mark.parametrize("alpha", [0.05, 0.5])
def test_soft_quantizer_tends_to_uniform_as_alpha_grows(alpha):
    y = torch.linspace(-40, 40, 1601, dtype=torch.float64)
    q = torch.tensor(4.0, dtype=torch.float64)
    uniform = uniform_quantize(y, q)
    away_from_ties = ((y / q - (y / q).floor()) - 0.5).abs() > 0.05
    errors = [
        (soft_quantize(y, q, a) - uniform)[away_from_ties].abs().max().item()
        for a in (alpha, 10 * alpha, 100 * alpha, 1000 * alpha)
    ]
    assert all(a > b for a, b in itertools.pairwise(errors)) or errors[-1] < 1e-9
    assert errors[-1] < 1e-6


def test_probabilistic_quantizer_tends_to_uniform_and_is_seeded():
    y = torch.randn(10_000, dtype=torch.float64) * 50
    q = torch.tensor(3.0, dtype=torch.float64)
    generator = torch.Generator().manual_seed(0)
    hard = probabilistic_quantize(y, q, 1e4, generator)
    near_tie = ((y / q - (y / q).floor()) - 0.5).abs() < 0.05
    assert torch.equal(hard[~near_tie], uniform_quantize(y, q)[~near_tie])
    a = ProbabilisticQuantizer(Softness.fixed(0.1), seed=7)(y, q)
    b = ProbabilisticQuantizer(Softness.fixed(0.1), seed=7)(y, q)
    c = ProbabilisticQuantizer(Softness.fixed(0.1), seed=8)(y, q)
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("sampler", ["dense", "sparse"])
@pytest.mark.parametrize(("value", "alpha"), [(1.3, 1.0), (2.49, 40.0)])
def test_probabilistic_samples_follow_the_cpmf(sampler, value, alpha):
    y = torch.full((200_000,), value, dtype=torch.float64)
    q = torch.tensor(1.0, dtype=torch.float64)
    generator = torch.Generator().manual_seed(3)
    if sampler == "dense":
        samples = masked_cpmf(y, q, alpha).sample(generator)
    else:
        samples = sample_cpmf(y, q, alpha, generator)
    cpmf = masked_cpmf(y[:1], q, alpha)
    for j, index in enumerate(cpmf.indices()[:, 0].tolist()):
        frequency = (samples == index).double().mean().item()
        expected = cpmf.probs[j, 0].item()
        assert frequency == pytest.approx(expected, abs=4 * (expected / len(y)) ** 0.5 + 1e-4)


def test_sparse_sampler_keeps_certain_coefficients_at_their_centre():
    y = torch.tensor([0.2, 3.9, -7.1, 2.5], dtype=torch.float64)
    q = torch.tensor(1.0, dtype=torch.float64)
    draws = {
        tuple(sample_cpmf(y, q, 100.0, torch.Generator().manual_seed(s)).tolist())
        for s in range(40)
    }
    assert {d[:3] for d in draws} == {(0, 4, -7)}  # far from a threshold: always the centre
    assert {d[3] for d in draws} == {2, 3}  # an exact tie: either neighbour


def test_uniform_rounding_matches_libjpeg_ties():
    q = torch.tensor(1.0, dtype=torch.float64)
    y = torch.tensor([2.5, -2.5, 0.5, -0.5, 2.49, 1.4999999], dtype=torch.float64)
    # ties go away from zero; values within 1/16 of a tie round as libjpeg's 1/8-unit DCT does
    assert uniform_indices(y, q).tolist() == [3, -3, 1, -1, 3, 2]
    assert UniformQuantizer()(y, q).tolist() == [3.0, -3.0, 1.0, -1.0, 3.0, 2.0]


@pytest.mark.parametrize("per_entry", [False, True])
def test_gradcheck_soft_quantizer(per_entry):
    torch.manual_seed(0)
    y = (torch.randn(3, 7, dtype=torch.float64) * 6).requires_grad_()
    q = (torch.rand(1, 7, dtype=torch.float64) * 3 + 1.5).requires_grad_()
    # alpha is a constant for autograd, also when hardness-matched (alpha = h / q^2, q
    # detached); gradcheck perturbs q numerically, so alpha is frozen at its value here.
    alpha = 2.0 / q.detach() ** 2 if per_entry else torch.tensor(0.3, dtype=torch.float64)
    module = SoftQuantizer(Softness.fixed(alpha))
    assert torch.autograd.gradcheck(lambda y, q: module(y, q), (y, q))


def test_hardness_alpha_gradient_treats_alpha_as_constant():
    y = torch.tensor([2.3, -0.7], dtype=torch.float64)
    q = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    hardness = SoftQuantizer(Softness.hardness(2.0))(y, q).sum()
    frozen = SoftQuantizer(Softness.fixed(2.0 / 1.7**2))(y, q).sum()
    assert torch.allclose(torch.autograd.grad(hardness, q)[0], torch.autograd.grad(frozen, q)[0])


def test_gradcheck_cpmf_values_hand_written_backward():
    torch.manual_seed(1)
    y = (torch.randn(4, 5, dtype=torch.float64) * 5).requires_grad_()
    q = (torch.rand(5, dtype=torch.float64) * 2 + 1).requires_grad_()
    weights = torch.randn(5, 4, 5, dtype=torch.float64)

    def function(y, q):
        cpmf = masked_cpmf(y, q, 0.4)
        return (cpmf.probs * weights).sum(0), cpmf.expectation(q)

    assert torch.autograd.gradcheck(function, (y, q))


def test_cpmf_near_index_limits_masks_outside_indices():
    levels = 3
    y = torch.tensor([3.4, -3.9, 2.6, 40.0], dtype=torch.float64)
    q = torch.tensor(1.0, dtype=torch.float64)
    cpmf = masked_cpmf(y, q, 2.0, levels)
    outside = cpmf.indices().abs() > levels
    assert torch.all(cpmf.probs[outside] == 0)
    assert torch.allclose(cpmf.probs.sum(0), torch.ones(4, dtype=torch.float64))
    full = full_cpmf(y, q, 2.0, levels)
    inside = cpmf.indices().clamp(-levels, levels) + levels
    assert torch.allclose(cpmf.probs, torch.where(outside, 0.0, full.gather(0, inside)), atol=1e-3)


def test_compiled_and_eager_kernels_agree(monkeypatch):
    y = (torch.randn(2, 3, 10, 64) * 30).requires_grad_()
    q = (torch.rand(3, 1, 64) * 20 + 1).requires_grad_()

    def run():
        cpmf = masked_cpmf(y, q, Softness.hardness(8.0).alpha(q))
        loss = (cpmf.probs[1] * 3 + cpmf.probs[4]).sum() + cpmf.expectation(q).square().mean()
        grads = torch.autograd.grad(loss, (y, q))
        return cpmf.probs.detach(), *grads

    monkeypatch.setenv(kernels.COMPILE_ENV, "1")
    compiled = run()
    assert kernels.compile_enabled(), "torch.compile failed and fell back to eager"
    monkeypatch.setenv(kernels.COMPILE_ENV, "0")
    eager = run()
    for a, b in zip(compiled, eager, strict=True):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-5)


def test_softness_validation_and_alpha():
    q = torch.tensor([1.0, 2.0, 4.0])
    assert torch.equal(Softness.fixed(100).alpha(q), torch.full((3,), 100.0))
    assert Softness.fixed(torch.full((3,), 5.0)).alpha(q).shape == (3,)
    assert torch.allclose(Softness.hardness(8).alpha(q), torch.tensor([8.0, 2.0, 0.5]))
    for bad in (0.0, -1.0, float("nan")):
        with pytest.raises(InvalidInputError, match="must be > 0"):
            Softness.fixed(bad)
    with pytest.raises(InvalidInputError):
        Softness("sharp", 1.0)
    with pytest.raises(InvalidInputError, match="steps must be > 0"):
        uniform_quantize(torch.ones(2), torch.tensor(0.0))


def test_eager_mode_context_turns_compiling_off(monkeypatch):
    monkeypatch.setenv(kernels.COMPILE_ENV, "1")
    assert kernels.compile_enabled()
    with kernels.eager_mode():
        assert not kernels.compile_enabled()
        with kernels.eager_mode():
            assert not kernels.compile_enabled()
        assert not kernels.compile_enabled()
    assert kernels.compile_enabled()


def test_compiling_is_announced_once_per_process(monkeypatch, capfd):
    monkeypatch.setenv(kernels.COMPILE_ENV, "1")
    monkeypatch.setitem(kernels._state, "announced", False)
    doubled = kernels.fused(lambda x: x * 2)
    tripled = kernels.fused(lambda x: x * 3)
    assert torch.equal(doubled(torch.ones(3)), torch.full((3,), 2.0))
    assert torch.equal(tripled(torch.ones(3)), torch.full((3,), 3.0))
    assert capfd.readouterr().err.count(kernels.COMPILE_NOTICE) == 1
    monkeypatch.setenv(kernels.COMPILE_ENV, "0")
    monkeypatch.setitem(kernels._state, "announced", False)
    assert torch.equal(kernels.fused(lambda x: x + 1)(torch.ones(1)), torch.full((1,), 2.0))
    assert kernels.COMPILE_NOTICE not in capfd.readouterr().err  # eager: nothing to wait for


def test_only_loops_compile_unless_the_environment_says(monkeypatch):
    """One-shot work (the API's first call) runs eagerly; training loops compile; J4D_COMPILE
    set to 1 or 0 decides everywhere; eager_mode wins over compiling."""
    monkeypatch.delenv(kernels.COMPILE_ENV, raising=False)
    assert not kernels.compile_enabled()
    with kernels.compiling():
        assert kernels.compile_enabled()
        with kernels.eager_mode():
            assert not kernels.compile_enabled()
    assert not kernels.compile_enabled()
    assert kernels.compiles(kernels.compile_enabled)()
    monkeypatch.setenv(kernels.COMPILE_ENV, "0")
    with kernels.compiling():
        assert not kernels.compile_enabled()
    monkeypatch.setenv(kernels.COMPILE_ENV, "1")
    assert kernels.compile_enabled()
