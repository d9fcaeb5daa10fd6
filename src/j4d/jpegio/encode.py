"""Real JPEG files with custom tables (baseline, 4:4:4, optimized Huffman tables).

* Uniform path: Pillow (libjpeg-turbo) with ``qtables``, ``subsampling=0``, ``optimize=True``
  and no ``quality`` (which would rescale custom tables).
* Probabilistic path: our own sampled indices, written losslessly through jpeglib's
  libjpeg-turbo backend with the same tables and optimized Huffman coding.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import jpeglib
import numpy as np
import torch
from PIL import Image, ImageFile

from j4d.codec.codec import analyze, channel_steps
from j4d.codec.quantize import Softness, sample_cpmf
from j4d.codec.transform import blocks_shape
from j4d.errors import InvalidInputError
from j4d.jpegio._jpeglib import scratch_file, use_turbo
from j4d.jpegio.images import to_batch
from j4d.jpegio.markers import JpegLayout, parse_layout
from j4d.tables import NATURAL_TO_ZIGZAG, QuantTables


@dataclass(frozen=True)
class FileRate:
    """Size of a JPEG file in bits per pixel: whole file, and entropy-coded scan data only."""

    file_bytes: int
    scan_bytes: int
    height: int
    width: int

    @property
    def pixels(self) -> int:
        return self.height * self.width

    @property
    def file_bpp(self) -> float:
        return 8.0 * self.file_bytes / self.pixels

    @property
    def scan_bpp(self) -> float:
        return 8.0 * self.scan_bytes / self.pixels


def file_rate(data: bytes, height: int, width: int, source: str | None = None) -> FileRate:
    layout: JpegLayout = parse_layout(data, source)
    return FileRate(layout.file_bytes, layout.scan_bytes, height, width)


def check_rgb(image: np.ndarray) -> None:
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise InvalidInputError(
            f"expected an (H, W, 3) uint8 RGB image, got {image.dtype} {tuple(image.shape)}"
        )


def encode_uniform(image: np.ndarray, tables: QuantTables, progressive: bool = False) -> bytes:
    """Encode an (H, W, 3) uint8 RGB image by plain rounding with ``tables`` (Pillow),
    baseline or in libjpeg-turbo's progressive scans."""
    check_rgb(image)
    buffer = io.BytesIO()
    # With optimize=True libjpeg writes the file in one shot into a buffer that Pillow sizes at
    # 2 bytes per pixel; steps near 1 on noisy images need more ("Suspension not allowed
    # here"), so make room for the worst case (~81 bits per pixel at 4:4:4) while saving.
    saved = ImageFile.MAXBLOCK
    ImageFile.MAXBLOCK = max(saved, 11 * image.shape[0] * image.shape[1] + 65536)
    try:
        Image.fromarray(image).save(
            buffer,
            format="JPEG",
            qtables=tables.to_pillow(),
            subsampling=0,
            optimize=True,
            progressive=progressive,
        )
    finally:
        ImageFile.MAXBLOCK = saved
    return buffer.getvalue()


def encode_quality(image: np.ndarray, quality: int) -> bytes:
    """Default JPEG at an IJG quality factor: Annex K tables scaled as libjpeg does."""
    return encode_uniform(image, QuantTables.from_quality(quality))


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


def sample_indices(
    image: np.ndarray,
    tables: QuantTables,
    softness: Softness | None = None,
    generator: torch.Generator | None = None,
    order: str = "zigzag",
) -> torch.Tensor:
    """(3, B, 64) int64 indices drawn by the probabilistic quantizer for one RGB image.

    The same pipeline as :class:`~j4d.codec.JPEGCodec` in probabilistic mode (libjpeg's 8-bit
    YCbCr, exact DCT, masked CPMF), without the decoding half. Frequencies come in ``order``;
    the random stream follows that layout, so the two orders draw differently for one seed
    (:func:`encode_probabilistic` uses natural order)."""
    check_rgb(image)
    softness = softness or Softness()
    table_steps = torch.as_tensor(tables.to_array(order), dtype=torch.float32)
    q = channel_steps(table_steps).unsqueeze(1)
    alpha = channel_steps(softness.alpha(table_steps)).unsqueeze(1)
    with torch.no_grad():  # eager: one-shot work, compiling would cost more than it saves
        coefficients = analyze.eager(to_batch(image), order=order)[0]
        return sample_cpmf(coefficients, q, alpha, generator)


def encode_probabilistic(
    image: np.ndarray,
    tables: QuantTables,
    softness: Softness | None = None,
    seed: int = 0,
) -> bytes:
    """Encode with indices sampled from the CPMF (the paper's probabilistic encoder)."""
    generator = torch.Generator().manual_seed(int(seed))
    indices = sample_indices(image, tables, softness, generator, order="natural")
    return write_indices(indices, tables, image.shape[0], image.shape[1], order="natural")
