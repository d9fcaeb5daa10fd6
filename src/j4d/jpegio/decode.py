"""Decoding real JPEG files (Pillow) and reading their coefficients and tables (jpeglib)."""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from j4d.errors import InvalidInputError
from j4d.jpegio._jpeglib import scratch_file, use_turbo
from j4d.jpegio.images import to_rgb
from j4d.jpegio.markers import parse_layout
from j4d.tables import ZIGZAG, QuantTables

Source = bytes | str | os.PathLike[str]


def read_bytes(source: Source) -> tuple[bytes, str | None]:
    """The bytes of ``source`` (bytes or a path) and its name for messages; one-line errors."""
    if isinstance(source, bytes | bytearray):
        return bytes(source), None
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except FileNotFoundError:
        raise InvalidInputError("no such file", path) from None
    except OSError as error:
        raise InvalidInputError(f"cannot read file ({error.strerror})", path) from None


def decode(source: Source) -> np.ndarray:
    """Decode a JPEG (bytes or path) to an (H, W, 3) uint8 RGB array with Pillow."""
    data, name = read_bytes(source)
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(to_rgb(image), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise InvalidInputError(f"cannot decode image ({error})", name) from None


@dataclass(frozen=True)
class JpegCoefficients:
    """Quantized DCT indices and tables read back from a JPEG file."""

    components: tuple[np.ndarray, ...]  # each (blocks_high, blocks_wide, 64), zig-zag order
    tables: QuantTables
    sampling: tuple[tuple[int, int], ...]  # (vertical, horizontal) factor per component
    height: int
    width: int

    @property
    def is_444(self) -> bool:
        return len(set(self.sampling)) == 1

    def stacked(self) -> np.ndarray:
        """(3, B, 64) indices of a 4:4:4 colour file (the layout of ``CodecOutput.indices``)."""
        if len(self.components) != 3 or not self.is_444:
            raise InvalidInputError("coefficients are not 4:4:4 YCbCr")
        return np.stack([c.reshape(-1, 64) for c in self.components])


def read_coefficients(source: Source) -> JpegCoefficients:
    """Read the quantized coefficients and tables of a JPEG file (jpeglib, libjpeg-turbo)."""
    data, name = read_bytes(source)
    parse_layout(data, name)  # a damaged file is one line here, before libjpeg prints its own
    use_turbo()
    try:
        with scratch_file(data) as path:
            import jpeglib  # here: decoding pixels (the common case) does not need it

            jpeg = jpeglib.read_dct(path)
            jpeg.load()
            planes = [jpeg.Y] + ([jpeg.Cb, jpeg.Cr] if jpeg.Cb is not None else [])
            qt = np.asarray(jpeg.qt).reshape(-1, 64)
            slots = [int(s) for s in jpeg.quant_tbl_no]
            sampling = tuple(tuple(int(v) for v in f) for f in np.asarray(jpeg.samp_factor))
            height, width = int(jpeg.height), int(jpeg.width)
    except (OSError, RuntimeError, ValueError) as error:
        raise InvalidInputError(f"cannot read JPEG coefficients ({error})", name) from None
    components = tuple(
        np.asarray(p).reshape(p.shape[0], p.shape[1], 64)[..., ZIGZAG].astype(np.int32)
        for p in planes
    )
    chroma_slot = slots[1] if len(slots) > 1 else slots[0]
    tables = QuantTables(tuple(qt[slots[0]]), tuple(qt[chroma_slot]))
    return JpegCoefficients(components, tables, sampling[: len(planes)], height, width)


def read_tables(source: Source) -> QuantTables:
    """The (luma, chroma) tables of a JPEG file."""
    return read_coefficients(source).tables
