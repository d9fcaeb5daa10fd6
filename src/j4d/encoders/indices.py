"""Indices j4d chose itself, written losslessly as a baseline 4:4:4 JPEG with optimized Huffman
tables by jpeglib's libjpeg-turbo backend."""

from __future__ import annotations

import jpeglib
import numpy as np
import torch

from j4d.codec.transform import blocks_shape
from j4d.errors import InvalidInputError
from j4d.jpegio._jpeglib import scratch_file, use_turbo
from j4d.tables import NATURAL_TO_ZIGZAG, QuantTables


def write_indices(
    indices: np.ndarray | torch.Tensor,
    tables: QuantTables,
    height: int,
    width: int,
    order: str = "zigzag",
) -> bytes:
    """Write quantized indices as a baseline 4:4:4 JPEG with optimized Huffman tables.

    ``indices`` is (3, B, 64): Y, Cb, Cr; blocks in scan order; frequencies in ``order``
    (zig-zag, as the codec produces them, or natural).
    """
    hb, wb = blocks_shape(height, width)
    # numpy, not torch: these small element-wise passes ran ~10x slower through torch's
    # thread pool on a busy machine (bench_codec)
    array = indices.cpu().numpy() if isinstance(indices, torch.Tensor) else np.asarray(indices)
    if array.shape != (3, hb * wb, 64):
        raise InvalidInputError(
            f"expected (3, {hb * wb}, 64) indices for {height}x{width}, got {array.shape}"
        )
    if array.size and max(int(array.max()), -int(array.min())) > 2047:
        raise InvalidInputError("coefficient index out of the baseline range [-2047, 2047]")
    if order == "zigzag":
        array = array[..., NATURAL_TO_ZIGZAG]
    planes = np.ascontiguousarray(array, dtype=np.int16).reshape(3, hb, wb, 8, 8)
    use_turbo()
    jpeg = jpeglib.from_dct(planes[0], planes[1], planes[2], qt=tables.to_jpeglib())
    jpeg.height, jpeg.width = height, width  # the true size; blocks cover the padding
    with scratch_file() as path:
        jpeg.write_dct(path, flags=["+OPTIMIZE_CODING"])
        with open(path, "rb") as handle:
            return handle.read()
