"""Reference encoders that pick their own tables from a quality setting: mozjpeg and jpegli.

They are the baselines learned tables must beat; both write files any decoder reads.

* mozjpeg 4.0.3 through jpeglib's ``mozjpeg403`` backend: 4:4:4, trellis quantization of AC
  and DC coefficients, optimized Huffman coding, and mozjpeg's default progressive scan script
  (jpeglib cannot switch that backend to baseline) and default tables (Klein-Silverstein-Carney,
  scaled by quality).
* jpegli through ``pyjpegli``: the binding has no subsampling option and writes 4:2:0 baseline
  files with jpegli's adaptive quantization, at every quality.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from j4d.errors import InvalidInputError
from j4d.jpegio._jpeglib import MOZJPEG, scratch_file, use_backend
from j4d.jpegio.images import check_rgb
from j4d.tables import MAX_STEP, MIN_STEP, QuantTables

#: Chroma sampling factors (horizontal, vertical) for Y, Cb, Cr: no subsampling.
_FULL_CHROMA = np.array([[1, 1], [1, 1], [1, 1]])
MOZJPEG_FLAGS = ("+OPTIMIZE_CODING", "+TRELLIS_QUANT", "+TRELLIS_QUANT_DC")
#: Trellis with given tables: mozjpeg's table re-optimization off, so the file keeps them.
TRELLIS_WITH_TABLES = (*MOZJPEG_FLAGS, "-TRELLIS_Q_OPT")


def _check(image: np.ndarray, quality: int) -> np.ndarray:
    image = check_rgb(image)
    if not 1 <= int(quality) <= 100:
        raise InvalidInputError(f"quality must be in 1..100, got {quality}")
    return image


def write_mozjpeg(
    image: np.ndarray, qt: int | np.ndarray, flags: Sequence[str] = MOZJPEG_FLAGS
) -> bytes:
    """A 4:4:4 mozjpeg file of ``image`` with ``qt`` (a quality, or jpeglib's tables array)
    and jpeglib ``flags`` (default: trellis on, optimized Huffman); progressive."""
    return _write_mozjpeg(check_rgb(image), qt, flags)


def _write_mozjpeg(image: np.ndarray, qt: int | np.ndarray, flags: Sequence[str]) -> bytes:
    import jpeglib

    use_backend(MOZJPEG)
    jpeg = jpeglib.from_spatial(image)
    jpeg.samp_factor = _FULL_CHROMA
    with scratch_file() as path:
        jpeg.write_spatial(path, qt=qt, flags=list(flags))
        with open(path, "rb") as handle:
            return handle.read()


def encode_mozjpeg(image: np.ndarray, quality: int) -> bytes:
    """mozjpeg at ``quality`` (1..100): 4:4:4, trellis on, optimized Huffman, progressive."""
    return _write_mozjpeg(_check(image, quality), int(quality), MOZJPEG_FLAGS)


def mozjpeg_tables(quality: int) -> np.ndarray:
    """The (luma, chroma) tables, (2, 64) in natural order, that mozjpeg writes at ``quality``.

    Below about quality 60 some entries exceed 255 (mozjpeg then writes 16-bit tables)."""
    import jpeglib

    data = encode_mozjpeg(np.full((8, 8, 3), 128, np.uint8), quality)
    with scratch_file(data) as path:
        jpeg = jpeglib.read_dct(path)
        jpeg.load()
        qt = np.asarray(jpeg.qt).reshape(-1, 64)
        slots = [int(s) for s in jpeg.quant_tbl_no]
    return np.stack([qt[slots[0]], qt[slots[1]]]).astype(np.int64)


def mozjpeg_quant_tables(quality: int) -> QuantTables:
    """The tables mozjpeg 4.0.3 writes at an IJG quality (1..100): its default set
    (Klein-Silverstein-Carney) scaled as libjpeg scales Annex K, read from a file it wrote;
    entries above 255 (mozjpeg's 16-bit tables below about quality 60) are clipped."""
    steps = np.clip(mozjpeg_tables(quality), MIN_STEP, MAX_STEP)
    return QuantTables(
        tuple(steps[0]),
        tuple(steps[1]),
        meta={"init": f"mozjpeg{int(quality)}", "quality": int(quality)},
    )


def encode_jpegli(image: np.ndarray, quality: int) -> bytes:
    """jpegli at ``quality`` (1..100), as pyjpegli writes it (4:2:0, baseline)."""
    import pyjpegli

    image = _check(image, quality)
    return pyjpegli.encode(image, image.shape[1], image.shape[0], int(quality))
