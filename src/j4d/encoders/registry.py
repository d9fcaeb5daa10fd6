"""Every way j4d makes a JPEG file, each an object of one registry.

:data:`ENCODERS` write an image with given tables (:class:`TablesEncoder`);
:data:`QUALITY_CODECS` are the reference codecs swept over a quality setting that learned tables
are compared with (:class:`QualityCodec`). Model-aware encoding (:mod:`j4d.encoders.guided`,
:mod:`j4d.encoders.ladder`) wraps a tables encoder.

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
* ``rd``: j4d's own compiled trellis (:mod:`j4d.encoders.rd`): per block, the indices that
  minimize rate + lambda x squared error weighted per frequency (by default 1 / q^2, the
  weighting the tables imply; a tables file may carry its own), baseline or progressive
  (spectral selection), whichever file is smaller.
* ``rd-view``: ``rd`` with each block's distortion weighed by its share of the model's view
  (:mod:`j4d.encoders.view`): blocks the model's centre crop never reads cost next to nothing.
* ``rd-aware``: ``rd`` with each block's distortion weighed by its importance predicted from
  the image alone (:mod:`j4d.encoders.predictor`: a small network distilled from classifiers'
  Fisher information), model-aware files without the model.
* ``deadzone``: j4d's rule ``index = sign(y) * floor(|y| / q + 1/2 - theta)`` (libjpeg's
  rounding at theta = 0; :func:`~j4d.codec.quantize.uniform_indices`) with a dead zone
  ``theta`` in [0, 1/2] per channel and frequency from ``meta["deadzone"]``
  (:meth:`~j4d.tables.QuantTables.deadzone`; none: 0, plain rounding); the indices are
  written by jpeglib (libjpeg-turbo 2.1), baseline.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from j4d.encoders.pillow import encode_quality, encode_uniform
from j4d.encoders.predictor import AWARE_STRENGTH, weights_digest
from j4d.encoders.rd import encode_rd, rd_settings
from j4d.encoders.reference import (
    TRELLIS_WITH_TABLES,
    encode_jpegli,
    encode_mozjpeg,
    write_mozjpeg,
)
from j4d.errors import InvalidInputError
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


def _rd(image: np.ndarray, tables: QuantTables) -> bytes:
    return encode_rd(image, tables)


def _rd_view(image: np.ndarray, tables: QuantTables) -> bytes:
    from j4d.encoders.view import encode_rd_view

    return encode_rd_view(image, tables)


def _rd_aware(image: np.ndarray, tables: QuantTables, strength: float = AWARE_STRENGTH) -> bytes:
    from j4d.encoders.predictor import encode_aware

    return encode_aware(image, tables, strength)


def _deadzone(image: np.ndarray, tables: QuantTables) -> bytes:
    from j4d.encoders.deadzone import encode_deadzone  # torch: only when it is used

    return encode_deadzone(image, tables)


def _trellis(image: np.ndarray, tables: QuantTables) -> bytes:
    return write_mozjpeg(image, tables.to_jpeglib(), TRELLIS_WITH_TABLES)


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
            "rd",
            {
                "encoder": "j4d rate-distortion trellis (compiled; distortion weights and lambda "
                "from the tables, default 1/q^2)",
                **_COMMON,
                "frame": "baseline or progressive (spectral selection), whichever is smaller",
            },
            _rd,
        ),
        TablesEncoder(
            "rd-view",
            {
                "encoder": "j4d rate-distortion trellis, each block weighed by its share of the "
                "model's view (short-side resize, centre crop; meta view, else 256 / 224)",
                **_COMMON,
                "frame": "baseline or progressive (spectral selection), whichever is smaller",
            },
            _rd_view,
        ),
        TablesEncoder(
            "rd-aware",
            {
                "encoder": "j4d rate-distortion trellis, each block weighed by its importance as "
                "j4d's block-importance predictor sees it in the image (distilled from "
                "classifiers' Fisher information; no model needed)",
                **_COMMON,
                "frame": "baseline or progressive (spectral selection), whichever is smaller",
                # the predictor's weights decide the files: a cached point is of one predictor
                "predictor_sha1": weights_digest(),
            },
            _rd_aware,
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


#: Encoders that take a strength after ``@`` (``rd-aware@1.5``): the exponent of their block
#: scores, in place of the registry's default.
WITH_STRENGTH = ("rd-aware",)


def get_encoder(name: str) -> TablesEncoder:
    """The encoder called ``name`` (``rd-aware@S``: ``rd-aware`` at strength S >= 0); a
    one-line error naming the known ones otherwise."""
    base, at, strength = name.partition("@")
    if base not in ENCODERS or (at and base not in WITH_STRENGTH):
        known = ", ".join([*ENCODERS, *(f"{n}@STRENGTH" for n in WITH_STRENGTH)])
        raise InvalidInputError(f"unknown encoder {name!r} (known: {known})")
    if not at:
        return ENCODERS[name]
    try:
        value = float(strength)
    except ValueError:
        value = -1.0
    if not (math.isfinite(value) and value >= 0):
        raise InvalidInputError(f"encoder {name!r}: the strength after @ must be a number >= 0")
    return _with_strength(base, value)


@functools.cache
def _with_strength(base: str, strength: float) -> TablesEncoder:
    encoder = ENCODERS[base]
    return TablesEncoder(
        f"{base}@{strength:g}",
        {**encoder.settings, "strength": f"{strength:g}"},
        functools.partial(encoder.write, strength=strength),
    )


def encoder_of(tables: QuantTables, override: str | None = None) -> TablesEncoder:
    """``override``, else the encoder ``tables`` record (``meta["encoder"]``), else pillow."""
    name = override or tables.meta.get("encoder") or DEFAULT_ENCODER
    if not isinstance(name, str):
        raise InvalidInputError(f"meta 'encoder' must be a name, got {name!r}")
    encoder = get_encoder(name)
    if encoder.name == "deadzone":
        tables.deadzone()  # its errors before the first image, not at each
    if encoder.name.partition("@")[0] in ("rd", "rd-view", "rd-aware"):
        rd_settings(tables)
    return encoder


def encode_with(
    image: np.ndarray, tables: QuantTables, encoder: str | TablesEncoder | None = None
) -> bytes:
    """``image`` as a JPEG file with ``tables`` by ``encoder`` (default: the tables' own)."""
    chosen = encoder if isinstance(encoder, TablesEncoder) else encoder_of(tables, encoder)
    return chosen.encode(image, tables)


@dataclass(frozen=True)
class QualityCodec:
    """A codec swept over a quality setting (1..100), with the settings it writes files with."""

    name: str
    encode: Callable[[np.ndarray, int], bytes]
    settings: dict[str, str]


#: Named codecs: ``jpeg`` (Annex K tables scaled by IJG quality), ``mozjpeg``, ``jpegli``.
QUALITY_CODECS: dict[str, QualityCodec] = {
    "jpeg": QualityCodec(
        "jpeg",
        encode_quality,
        {
            "encoder": "Pillow (libjpeg-turbo), Annex K tables scaled by IJG quality",
            "subsampling": "4:4:4",
            "huffman": "optimized",
            "frame": "baseline",
        },
    ),
    "mozjpeg": QualityCodec(
        "mozjpeg",
        encode_mozjpeg,
        {
            "encoder": "mozjpeg 4.0.3 (jpeglib mozjpeg403), trellis quantization (AC + DC)",
            "subsampling": "4:4:4",
            "huffman": "optimized",
            "frame": "progressive (mozjpeg's default scans)",
        },
    ),
    "jpegli": QualityCodec(
        "jpegli",
        encode_jpegli,
        {
            "encoder": "jpegli (pyjpegli), adaptive quantization",
            "subsampling": "4:2:0 (pyjpegli has no 4:4:4 option)",
            "huffman": "jpegli default",
            "frame": "baseline",
        },
    ),
}


def get_quality_codec(name: str) -> QualityCodec:
    """The reference codec called ``name``; a one-line error naming the known ones otherwise."""
    if name not in QUALITY_CODECS:
        raise InvalidInputError(f"unknown codec {name!r} (known: {', '.join(QUALITY_CODECS)})")
    return QUALITY_CODECS[name]
