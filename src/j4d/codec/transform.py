"""Block geometry and the blockwise 8x8 orthonormal DCT, coefficients in zig-zag order.

An image (N, C, H, W) is padded to multiples of 8 by repeating its last row and column (as
libjpeg does), cut into 8x8 blocks in raster (scan) order, and each block ``X`` becomes
``Y = D X D^T`` with the orthonormal DCT-II matrix
``D[u, x] = c(u) cos((2x + 1) u pi / 16)``, ``c(0) = sqrt(1/8)``, ``c(u > 0) = sqrt(2/8)``:
exactly the JPEG FDCT. Coefficients are laid out as (N, C, B, 64), B blocks per image, the
last axis in zig-zag order (k = 0 is DC).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from j4d.tables import ZIGZAG

BLOCK = 8


def blocks_shape(height: int, width: int) -> tuple[int, int]:
    """Number of block rows and columns covering an image of the given size."""
    return math.ceil(height / BLOCK), math.ceil(width / BLOCK)


def _natural_dct_basis() -> torch.Tensor:
    """(64, 64) matrix mapping a flattened block (row-major) to row-major DCT coefficients."""
    u = np.arange(BLOCK)[:, None]
    x = np.arange(BLOCK)[None, :]
    d = np.cos((2 * x + 1) * u * np.pi / (2 * BLOCK)) * np.sqrt(2.0 / BLOCK)
    d[0] /= np.sqrt(2.0)
    kron = np.kron(d, d)  # row (u, v) natural, column (x, y) natural
    return torch.as_tensor(kron, dtype=torch.float64)


_BASES = {"natural": _natural_dct_basis()}
_BASES["zigzag"] = _BASES["natural"][ZIGZAG]


def dct_basis(
    dtype: torch.dtype = torch.float64, device: torch.device | str = "cpu", order: str = "zigzag"
) -> torch.Tensor:
    """The (64, 64) orthonormal DCT basis, rows are frequencies in ``order`` (zigzag/natural)."""
    return _BASES[order].to(dtype=dtype, device=device)


def pad_to_blocks(x: torch.Tensor) -> torch.Tensor:
    """Pad H and W of (N, C, H, W) up to multiples of 8 by edge replication."""
    height, width = x.shape[-2:]
    pad_h, pad_w = (-height) % BLOCK, (-width) % BLOCK
    if pad_h == 0 and pad_w == 0:
        return x
    return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")


def blockify(x: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) with H, W multiples of 8 -> (N, C, B, 64) raster-order blocks, row-major."""
    n, c, height, width = x.shape
    hb, wb = height // BLOCK, width // BLOCK
    blocks = x.reshape(n, c, hb, BLOCK, wb, BLOCK).permute(0, 1, 2, 4, 3, 5)
    return blocks.reshape(n, c, hb * wb, BLOCK * BLOCK)


def unblockify(blocks: torch.Tensor, hb: int, wb: int) -> torch.Tensor:
    """Inverse of :func:`blockify` for a grid of hb x wb blocks."""
    n, c = blocks.shape[:2]
    x = blocks.reshape(n, c, hb, wb, BLOCK, BLOCK).permute(0, 1, 2, 4, 3, 5)
    return x.reshape(n, c, hb * BLOCK, wb * BLOCK)


def block_dct(x: torch.Tensor, order: str = "zigzag") -> torch.Tensor:
    """(N, C, H, W) -> (N, C, B, 64) DCT coefficients of the edge-padded 8x8 blocks.

    The last axis is in zig-zag order (default) or natural (row-major) order."""
    if x.dim() != 4:
        raise ValueError(f"block_dct expects (N, C, H, W), got shape {tuple(x.shape)}")
    blocks = blockify(pad_to_blocks(x))
    return blocks @ dct_basis(x.dtype, x.device, order).T


def block_idct(coefficients: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(N, C, B, 64) zig-zag coefficients -> (N, C, height, width), padding cropped away."""
    hb, wb = blocks_shape(height, width)
    if coefficients.shape[-2:] != (hb * wb, BLOCK * BLOCK):
        raise ValueError(
            f"expected (N, C, {hb * wb}, 64) coefficients for a {height}x{width} image, "
            f"got shape {tuple(coefficients.shape)}"
        )
    blocks = coefficients @ dct_basis(coefficients.dtype, coefficients.device)
    return unblockify(blocks, hb, wb)[..., :height, :width]
