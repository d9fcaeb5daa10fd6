import numpy as np
import pytest
import torch
from scipy.fft import dctn

from j4d.codec import (
    block_dct,
    block_idct,
    dct_basis,
    pad_to_blocks,
    rgb_to_ycbcr,
    rgb_to_ycbcr_libjpeg,
    ycbcr_to_rgb,
)
from j4d.tables import ZIGZAG


def test_basis_is_orthonormal():
    basis = dct_basis(torch.float64)
    assert torch.allclose(basis @ basis.T, torch.eye(64, dtype=torch.float64), atol=1e-12)


def test_block_dct_equals_scipy_orthonormal_dct_in_zigzag_order(rng):
    block = rng.uniform(-128, 127, (8, 8))
    ours = block_dct(torch.from_numpy(block).view(1, 1, 8, 8))[0, 0, 0].numpy()
    reference = dctn(block, type=2, norm="ortho").reshape(64)[ZIGZAG]
    assert np.allclose(ours, reference, atol=1e-10)


def test_dc_of_a_constant_block_is_eight_times_the_value():
    coefficients = block_dct(torch.full((1, 1, 8, 8), 5.0, dtype=torch.float64))
    assert coefficients[0, 0, 0, 0].item() == pytest.approx(40.0)
    assert torch.allclose(coefficients[0, 0, 0, 1:], torch.zeros(63, dtype=torch.float64))


@pytest.mark.parametrize(("height", "width"), [(8, 8), (32, 32), (13, 21), (1, 9), (17, 8)])
def test_dct_idct_invert_each_other_and_crop_padding(height, width):
    x = torch.rand(2, 3, height, width, dtype=torch.float64) * 255
    coefficients = block_dct(x)
    assert coefficients.shape == (2, 3, -(-height // 8) * -(-width // 8), 64)
    assert torch.allclose(block_idct(coefficients, height, width), x, atol=1e-9)


def test_padding_replicates_last_row_and_column():
    x = torch.arange(3 * 5 * 1.0).view(1, 1, 3, 5)
    padded = pad_to_blocks(x)
    assert padded.shape == (1, 1, 8, 8)
    assert torch.equal(padded[0, 0, 7, :5], x[0, 0, 2])
    assert torch.equal(padded[0, 0, :3, 7], x[0, 0, :, 4])


def test_color_round_trip_and_known_values():
    rgb = torch.rand(2, 3, 5, 7, dtype=torch.float64) * 255
    assert torch.allclose(ycbcr_to_rgb(rgb_to_ycbcr(rgb)), rgb, atol=1e-3)
    white = torch.full((1, 3, 1, 1), 255.0, dtype=torch.float64)
    assert torch.allclose(rgb_to_ycbcr(white).flatten(), torch.tensor([255.0, 128, 128]).double())
    red = torch.tensor([255.0, 0, 0]).view(1, 3, 1, 1).double()
    assert torch.allclose(
        rgb_to_ycbcr(red).flatten(), torch.tensor([76.245, 84.97232, 255.5]).double()
    )


def test_libjpeg_integer_color_is_rounded_and_clamped():
    blue = torch.tensor([0.0, 0, 255]).view(1, 3, 1, 1)
    # Exact Cb is 255.5: libjpeg stores 255 (8-bit sample).
    assert rgb_to_ycbcr_libjpeg(blue).flatten().tolist() == [29.0, 255.0, 107.0]
    rgb = torch.randint(0, 256, (1, 3, 16, 16)).double()
    difference = rgb_to_ycbcr_libjpeg(rgb) - rgb_to_ycbcr(rgb)
    assert difference.abs().max() <= 0.5 + 1e-3


def test_bad_shape_is_rejected():
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        rgb_to_ycbcr(torch.zeros(3, 4, 4))


def test_8bit_decode_matches_straight_through_autograd_reference():
    from j4d.codec import straight_through_round, ycbcr_to_rgb_8bit

    torch.manual_seed(0)
    ycbcr = (torch.rand(2, 3, 9, 11, dtype=torch.float64) * 320 - 30).requires_grad_()
    reference = ycbcr.detach().clone().requires_grad_()
    grad = torch.randn(2, 3, 9, 11, dtype=torch.float64)

    def clamp_inclusive(x):  # gradient passes on [0, 255] including the ends
        return torch.where((x >= 0) & (x <= 255), x, x.detach().clamp(0, 255))

    out = ycbcr_to_rgb_8bit(ycbcr)
    rounded = clamp_inclusive(straight_through_round(reference))
    expected = clamp_inclusive(straight_through_round(ycbcr_to_rgb(rounded)))
    assert torch.equal(out, expected)
    out.backward(grad)
    expected.backward(grad)
    assert torch.allclose(ycbcr.grad, reference.grad)
    assert (ycbcr.grad == 0).any()  # some samples were clamped
