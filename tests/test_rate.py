import dataclasses
import itertools
from collections import defaultdict

import numpy as np
import pytest
import torch

from j4d import JPEGCodec, QuantTables, Softness, estimate_bpp
from j4d.codec import CPMF, masked_cpmf, round_half_away
from j4d.evaluation.ratecheck import agreement, estimate_vs_real
from j4d.rate import EntropyRate, coefficient_bits, dpcm_cpmf


def random_cpmf(generator, shape, spread=3):
    probs = torch.rand((5, *shape), generator=generator, dtype=torch.float64)
    probs = probs / probs.sum(0)
    center = torch.randint(-spread, spread + 1, shape, generator=generator)
    return CPMF(probs, center)


def test_dpcm_convolution_matches_brute_force_enumeration():
    generator = torch.Generator().manual_seed(0)
    dc = random_cpmf(generator, (3,))  # one image, three blocks in scan order
    probs, indices = dpcm_cpmf(dc)
    support = dc.indices()
    for block in range(3):
        expected = defaultdict(float)
        ranges = [range(5)] * (block + 1)
        for choice in itertools.product(*ranges):
            p = np.prod([dc.probs[choice[b], b].item() for b in range(block + 1)])
            previous = support[choice[block - 1], block - 1].item() if block else 0
            expected[support[choice[block], block].item() - previous] += p
        ours = defaultdict(float)
        for m in range(9):
            ours[indices[m, block].item()] += probs[m, block].item()
        for d in set(expected) | set(ours):
            assert ours[d] == pytest.approx(expected[d], abs=1e-12)


def reference_bits(cpmf, per_image):
    """Independent dense computation with Python loops over every coefficient."""
    probs, center = cpmf.probs.numpy(), cpmf.center.numpy()
    _, n, _, blocks, _ = probs.shape
    dc_probs, dc_indices = (
        t.numpy() for t in dpcm_cpmf(CPMF(cpmf.probs[..., 0], cpmf.center[..., 0]))
    )
    groups = [[i] for i in range(n)] if per_image else [list(range(n))]
    totals = []
    for images in groups:
        bits = 0.0
        for channels in ([0], [1, 2]):
            for k in range(64):
                marginal = defaultdict(float)
                count = 0
                for i, c, b in itertools.product(images, channels, range(blocks)):
                    count += 1
                    if k == 0:
                        for m in range(9):
                            marginal[dc_indices[m, i, c, b]] += dc_probs[m, i, c, b]
                    else:
                        for j in range(5):
                            marginal[center[i, c, b, k] + j - 2] += probs[j, i, c, b, k]
                p = np.array(list(marginal.values())) / count
                p = p[p > 0]
                bits += count * -(p * np.log2(p)).sum()
        totals.append(bits)
    return np.array(totals)


@pytest.mark.parametrize("per_image", [False, True])
@pytest.mark.parametrize("spread", [2, 600])  # narrow range: dense histogram; wide: compact
def test_bits_match_independent_reference(per_image, spread):
    generator = torch.Generator().manual_seed(1)
    cpmf = random_cpmf(generator, (2, 3, 4, 64), spread)
    ours = coefficient_bits(cpmf, per_image)
    expected = reference_bits(cpmf, per_image)
    assert np.allclose(np.atleast_1d(ours.numpy()), expected if per_image else expected[0])


def test_hard_limit_equals_empirical_entropy_of_indices(rng):
    # Real-valued samples: no coefficient sits exactly on a rounding tie, where the CPMF would
    # split 50/50 and hard rounding picks one side.
    x = torch.from_numpy(rng.uniform(0, 255, (1, 3, 24, 40)))
    codec = JPEGCodec(
        QuantTables.from_quality(30),
        softness=Softness.fixed(1e6),
        mode="uniform",
        integer_samples=False,
    )
    with torch.no_grad():
        output = codec(x.double())
    # as alpha -> infinity the CPMF is a point mass at round(y / q) (exact rounding)
    indices = round_half_away(output.coefficients / output.steps.unsqueeze(1))[0].numpy()
    bits = 0.0
    for channels in ([0], [1, 2]):
        for k in range(64):
            values = indices[channels, :, k]
            if k == 0:  # DPCM per channel, predictor 0 at the first block
                values = np.diff(values, axis=-1, prepend=0)
            _, counts = np.unique(values, return_counts=True)
            p = counts / counts.sum()
            bits += counts.sum() * -(p * np.log2(p)).sum()
    estimate = estimate_bpp(output.cpmf, output.pixels_per_image).item()
    assert estimate == pytest.approx(bits / (24 * 40), rel=1e-6)


def test_rate_is_differentiable_in_tables_and_falls_with_coarser_steps(rng):
    x = torch.from_numpy(rng.integers(0, 256, (2, 3, 16, 16)).astype(np.float32))
    codec = JPEGCodec(QuantTables.from_quality(50), learn_tables=True)
    rate = EntropyRate()(codec(x))
    (gradient,) = torch.autograd.grad(rate, codec.tables)
    assert torch.isfinite(gradient).all() and gradient.abs().sum() > 0
    assert gradient.sum() < 0  # coarser steps, fewer bits
    coarser = JPEGCodec(QuantTables.from_quality(20))
    assert EntropyRate()(coarser(x)) < rate


@pytest.mark.parametrize("path", ["fused", "generic"])
def test_gradcheck_rate_in_steps(path):
    """Fused: gradients through the CPMF's inputs (kernels.histogram_backward); generic: through
    the CPMF values, as for a CPMF built by hand."""
    generator = torch.Generator().manual_seed(2)
    y = torch.randn((2, 3, 4, 64), generator=generator, dtype=torch.float64) * 20
    q = (torch.rand((3, 1, 64), generator=generator, dtype=torch.float64) * 4 + 2).requires_grad_()

    def rate(q):
        cpmf = masked_cpmf(y, q, 0.3)
        if path == "generic":
            cpmf = dataclasses.replace(cpmf, inputs=None)
        return estimate_bpp(cpmf, 256)

    assert torch.autograd.gradcheck(rate, (q,))


def test_estimate_tracks_real_scan_bpp_over_all_quality_factors(cifar_images):
    """500 CIFAR-10 test images (50 per class), QF 1..100, 4:4:4, optimized Huffman:
    batch estimate vs mean real scan bpp of Pillow files. A reference reached 0.9999."""
    assert len(cifar_images) == 500
    points = estimate_vs_real(cifar_images, range(1, 101))
    estimated = [p.estimated_bpp for p in points]
    real = [p.real_scan_bpp for p in points]
    pearson = agreement(estimated, real)["pearson"]
    assert pearson >= 0.99, pearson
    assert all(p.real_scan_bpp < p.real_file_bpp for p in points)
