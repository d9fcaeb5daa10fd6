"""Real JPEG files: reading images, decoding, reading coefficients and tables, parsing the
marker layout and measuring the rate. Making files is :mod:`j4d.encoders`."""

from j4d.jpegio.decode import (
    JpegCoefficients,
    decode,
    read_bytes,
    read_coefficients,
    read_tables,
)
from j4d.jpegio.filerate import FileRate, file_rate
from j4d.jpegio.images import (
    Metadata,
    check_rgb,
    decode_image_with_metadata,
    load_image,
    load_image_with_metadata,
    to_batch,
    to_rgb,
    to_uint8_image,
)
from j4d.jpegio.markers import JpegLayout, insert_metadata, parse_layout

__all__ = [
    "FileRate",
    "JpegCoefficients",
    "JpegLayout",
    "Metadata",
    "check_rgb",
    "decode",
    "decode_image_with_metadata",
    "file_rate",
    "insert_metadata",
    "load_image",
    "load_image_with_metadata",
    "parse_layout",
    "read_bytes",
    "read_coefficients",
    "read_tables",
    "to_batch",
    "to_rgb",
    "to_uint8_image",
]
