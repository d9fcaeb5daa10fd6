import numpy as np
import pytest
import torch

from conftest import smooth_image
from j4d import EntropyRate, JPEGCodec, QuantTables, Softness
from j4d.codec import kernels
from j4d.encoders import encode_uniform
from j4d.errors import InvalidInputError
from j4d.jpegio import decode, to_batch

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("mode", ["soft", "uniform", "probabilistic", "straight_through"])
def test_modes_shapes_and_dtypes(device, dtype, mode):
    x = torch.rand(2, 3, 13, 21, dtype=dtype, device=device) * 255
    codec = JPEGCodec(QuantTables.from_quality(50), mode=mode).to(device)
    generator = torch.Generator(device=device).manual_seed(0)
    output = codec(x, generator=generator)
    assert output.reconstruction.shape == x.shape and output.reconstruction.dtype == dtype
    assert output.coefficients.shape == (2, 3, 6, 64)
    assert output.cpmf.probs.shape == (5, 2, 3, 6, 64)
    assert (output.indices is None) == (mode == "soft")
    assert output.reconstruction.min() >= 0 and output.reconstruction.max() <= 255


def test_uniform_mode_reconstruction_matches_a_real_decoder(rng):
    image = smooth_image(rng, 40, 56)
    tables = QuantTables.from_quality(40)
    with torch.no_grad():
        output = JPEGCodec(tables, mode="uniform")(to_batch(image, torch.float64))
    ours = output.reconstruction[0].permute(1, 2, 0).numpy()
    reference = decode(encode_uniform(image, tables)).astype(np.float64)
    assert np.abs(ours - reference).mean() < 0.2 and np.abs(ours - reference).max() <= 4


def test_soft_mode_is_close_to_uniform_at_paper_alpha(rng):
    x = to_batch(smooth_image(rng, 32, 32))
    codec = JPEGCodec(QuantTables.from_quality(50), softness=Softness.fixed(100.0))
    soft = codec(x).reconstruction
    uniform = codec(x, mode="uniform").reconstruction
    assert (soft - uniform).abs().mean() < 0.5


def test_gradients_reach_tables_and_pixels(rng):
    x = to_batch(smooth_image(rng, 24, 24)).requires_grad_()
    codec = JPEGCodec(
        QuantTables.from_quality(50), softness=Softness.hardness(4.0), learn_tables=True
    )
    output = codec(x)
    loss = (output.reconstruction - 100).square().mean() + EntropyRate()(output)
    loss.backward()
    assert codec.tables.grad is not None and torch.isfinite(codec.tables.grad).all()
    assert codec.tables.grad.abs().sum() > 0
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert isinstance(codec.tables, torch.nn.Parameter)
    assert "tables" in dict(JPEGCodec().named_buffers())


def test_tables_are_clipped_and_round_to_quant_tables():
    tables = torch.full((2, 64), 300.0)
    tables[0, 5] = 0.2
    codec = JPEGCodec(tables)
    assert codec.steps().max() == 255 and codec.steps().min() == 1
    exported = codec.quant_tables(meta={"lambda": 0.1})
    assert exported.luma[2] == 1  # zig-zag position 5 is natural index 2
    assert exported.meta == {"lambda": 0.1}


def test_table_entries_on_the_clip_bounds_still_get_gradients(rng):
    tables = torch.full((2, 64), 20.0)
    tables[0, 3], tables[1, 60] = 1.0, 255.0  # where the optimizer projects them
    codec = JPEGCodec(tables, softness=Softness.hardness(10.0), learn_tables=True)
    EntropyRate()(codec(to_batch(smooth_image(rng, 32, 32)))).backward()
    assert codec.tables.grad[0, 3] < 0  # a larger step would cost fewer bits
    assert codec.tables.grad[1, 60] != 0
    codec.tables.data[0, 3] = 0.5  # beyond the bound: clipped, no gradient
    codec.tables.grad = None
    EntropyRate()(codec(to_batch(smooth_image(rng, 32, 32)))).backward()
    assert codec.tables.grad[0, 3] == 0


def test_straight_through_has_uniform_value_and_soft_gradient(rng):
    x = 64 + 0.5 * to_batch(smooth_image(rng, 24, 24), torch.float64)  # never clamped
    codec = JPEGCodec(
        QuantTables.from_quality(30), softness=Softness.hardness(10.0), learn_tables=True
    )
    with torch.no_grad():
        uniform = codec(x, mode="uniform").reconstruction
    gradients = []
    for mode in ("straight_through", "soft"):
        codec.tables.grad = None
        output = codec(x, mode=mode)
        if mode == "straight_through":
            assert torch.equal(output.reconstruction, uniform)
        # a loss linear in the coefficients: same gradient whatever the forward value
        (output.reconstruction * torch.linspace(-1, 1, x.numel()).view_as(x)).sum().backward()
        gradients.append(codec.tables.grad.clone())
    assert torch.allclose(gradients[0], gradients[1], rtol=1e-6, atol=1e-9)


def test_per_entry_alpha():
    alpha = torch.full((2, 64), 100.0)
    alpha[1] = 3.0
    codec = JPEGCodec(softness=Softness.fixed(alpha))
    output = codec(torch.rand(1, 3, 16, 16) * 255)
    assert output.cpmf.probs.shape[0] == 5


def test_compiled_codec_matches_eager(monkeypatch, rng):
    x = to_batch([smooth_image(rng, 16, 24), smooth_image(rng, 16, 24)])
    results = []
    for flag in ("1", "0"):
        monkeypatch.setenv(kernels.COMPILE_ENV, flag)
        codec = JPEGCodec(
            QuantTables.from_quality(30), softness=Softness.hardness(6.0), learn_tables=True
        )
        output = codec(x)
        loss = output.reconstruction.mean() + EntropyRate()(output)
        loss.backward()
        results.append((output.reconstruction.detach(), loss.detach(), codec.tables.grad))
        assert flag == "0" or kernels.compile_enabled(), "compiling failed, eager fallback ran"
    for compiled, eager in zip(*results, strict=True):
        assert torch.allclose(compiled, eager, rtol=1e-4, atol=1e-3)


def test_bad_inputs():
    with pytest.raises(InvalidInputError, match="mode"):
        JPEGCodec(mode="fancy")
    with pytest.raises(InvalidInputError, match=r"\(N, 3, H, W\)"):
        JPEGCodec()(torch.zeros(1, 1, 8, 8))
    with pytest.raises(InvalidInputError, match=r"\(2, 64\)"):
        JPEGCodec(torch.ones(64))


def test_a_dead_zone_at_zero_changes_nothing_and_learns_from_the_rate(rng):
    image = to_batch(smooth_image(rng, 32, 48))
    tables = QuantTables.from_quality(50)
    softness = Softness.hardness(10.0)
    plain = JPEGCodec(tables, softness)
    zoned = JPEGCodec(tables, softness, deadzone=True)
    for mode in ("soft", "uniform"):
        torch.testing.assert_close(
            zoned(image, mode).reconstruction, plain(image, mode).reconstruction
        )
    rate = EntropyRate()(zoned(image))
    rate.backward()
    assert torch.isfinite(zoned.deadzone.grad).all()
    assert (zoned.deadzone.grad < 0).sum() > 64  # a wider dead zone costs fewer bits
    with torch.no_grad():
        zoned.deadzone.fill_(0.3)
    uniform = zoned(image, "uniform")
    assert uniform.indices.abs().sum() < plain(image, "uniform").indices.abs().sum()
    assert zoned.quant_tables().meta["encoder"] == "deadzone"
