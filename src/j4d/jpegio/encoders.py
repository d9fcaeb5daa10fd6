"""How a tables file's images become JPEG files: the encoder, one object in one place.

Tables say which step each frequency gets; the encoder decides, coefficient by coefficient,
which index to write with those steps and how to entropy-code the indices. Every encoder here
writes 4:4:4 files with optimized Huffman tables and exactly the given tables, readable by any
JPEG decoder. A tables file names its encoder in ``meta["encoder"]`` (default ``pillow``);
``j4d encode``, ``j4d eval`` and ``j4d sweep`` use it unless told otherwise.

* ``pillow``: plain rounding of y / q (libjpeg-turbo through Pillow), baseline.
* ``progressive``: the same indices in libjpeg-turbo's progressive scans.
* ``trellis``: mozjpeg 4.0.3's trellis quantization with these tables (jpeglib's
  ``mozjpeg403`` backend, AC and DC trellis, ``TRELLIS_Q_OPT`` off so the tables stay),
  mozjpeg's progressive scans: per block, the indices that minimize rate + lambda x squared
  error weighted by 1 / q^2.
* ``deadzone``: j4d's rule ``index = sign(y) * floor(|y| / q + 1/2 - theta)`` (libjpeg's
  rounding at theta = 0; :func:`~j4d.codec.quantize.uniform_indices`) with a dead zone
  ``theta`` in [0, 1/2] per channel and frequency from ``meta["deadzone"]``
  (:meth:`~j4d.tables.QuantTables.deadzone`; none: 0, plain rounding); the indices are
  written by jpeglib (libjpeg-turbo 2.1), baseline.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from j4d.codec.codec import analyze, channel_steps
from j4d.codec.quantize import uniform_indices
from j4d.errors import InvalidInputError
from j4d.jpegio.encode import check_rgb, encode_uniform, write_indices
from j4d.jpegio.images import to_batch
from j4d.jpegio.reference import TRELLIS_WITH_TABLES, write_mozjpeg
from j4d.tables import QuantTables


@dataclass(frozen=True)
class TablesEncoder:
    """A way to write an RGB image as a JPEG file with given tables."""

    name: str
    settings: Mapping[str, str]  # encoder, subsampling, huffman, frame: as reports list them
    write: Callable[[np.ndarray, QuantTables], bytes]

    def encode(self, image: np.ndarray, tables: QuantTables) -> bytes:
        """An (H, W, 3) uint8 RGB image as JPEG bytes with ``tables``."""
        return self.write(image, tables)


def _pillow(image: np.ndarray, tables: QuantTables) -> bytes:
    return encode_uniform(image, tables)


def _progressive(image: np.ndarray, tables: QuantTables) -> bytes:
    return encode_uniform(image, tables, progressive=True)


def _trellis(image: np.ndarray, tables: QuantTables) -> bytes:
    return write_mozjpeg(image, tables.to_jpeglib(), TRELLIS_WITH_TABLES)


def _deadzone(image: np.ndarray, tables: QuantTables) -> bytes:
    check_rgb(image)
    steps = channel_steps(torch.as_tensor(tables.to_array("zigzag"), dtype=torch.float32))
    thetas = channel_steps(tables.deadzone("zigzag"))
    with torch.no_grad():
        coefficients = analyze.eager(to_batch(image), order="zigzag")[0]
        indices = uniform_indices(coefficients, steps.unsqueeze(1), thetas.unsqueeze(1))
    return write_indices(indices, tables, image.shape[0], image.shape[1])


_COMMON = {"subsampling": "4:4:4", "huffman": "optimized"}
ENCODERS: dict[str, TablesEncoder] = {
    encoder.name: encoder
    for encoder in (
        TablesEncoder(
            "pillow",
            {"encoder": "Pillow (libjpeg-turbo), plain rounding", **_COMMON, "frame": "baseline"},
            _pillow,
        ),
        TablesEncoder(
            "progressive",
            {
                "encoder": "Pillow (libjpeg-turbo), plain rounding",
                **_COMMON,
                "frame": "progressive (libjpeg-turbo's scans)",
            },
            _progressive,
        ),
        TablesEncoder(
            "trellis",
            {
                "encoder": "mozjpeg 4.0.3 (jpeglib mozjpeg403), trellis quantization (AC + DC) "
                "with the tables",
                **_COMMON,
                "frame": "progressive (mozjpeg's default scans)",
            },
            _trellis,
        ),
        TablesEncoder(
            "deadzone",
            {
                "encoder": "j4d dead-zone rounding (meta deadzone), written by jpeglib "
                "(libjpeg-turbo 2.1)",
                **_COMMON,
                "frame": "baseline",
            },
            _deadzone,
        ),
    )
}
DEFAULT_ENCODER = "pillow"


def get_encoder(name: str) -> TablesEncoder:
    """The encoder called ``name``; a one-line error naming the known ones otherwise."""
    if name not in ENCODERS:
        raise InvalidInputError(f"unknown encoder {name!r} (known: {', '.join(ENCODERS)})")
    return ENCODERS[name]


def encoder_of(tables: QuantTables, override: str | None = None) -> TablesEncoder:
    """``override``, else the encoder ``tables`` record (``meta["encoder"]``), else pillow."""
    name = override or tables.meta.get("encoder") or DEFAULT_ENCODER
    if not isinstance(name, str):
        raise InvalidInputError(f"meta 'encoder' must be a name, got {name!r}")
    encoder = get_encoder(name)
    if encoder.name == "deadzone":
        tables.deadzone()  # its errors before the first image, not at each
    return encoder


def encode_with(
    image: np.ndarray, tables: QuantTables, encoder: str | TablesEncoder | None = None
) -> bytes:
    """``image`` as a JPEG file with ``tables`` by ``encoder`` (default: the tables' own)."""
    chosen = encoder if isinstance(encoder, TablesEncoder) else encoder_of(tables, encoder)
    return chosen.encode(image, tables)
