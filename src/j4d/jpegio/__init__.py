"""Real JPEG files: reading images, encoding with custom tables, decoding, measuring rate."""

from j4d.jpegio.decode import (
    JpegCoefficients,
    decode,
    read_bytes,
    read_coefficients,
    read_tables,
)
from j4d.jpegio.encode import (
    FileRate,
    encode_probabilistic,
    encode_quality,
    encode_uniform,
    file_rate,
    sample_indices,
    write_indices,
)
from j4d.jpegio.images import load_image, to_batch, to_rgb, to_uint8_image
from j4d.jpegio.markers import JpegLayout, parse_layout

__all__ = [
    "FileRate",
    "JpegCoefficients",
    "JpegLayout",
    "decode",
    "encode_probabilistic",
    "encode_quality",
    "encode_uniform",
    "file_rate",
    "load_image",
    "parse_layout",
    "read_bytes",
    "read_coefficients",
    "read_tables",
    "sample_indices",
    "to_batch",
    "to_rgb",
    "to_uint8_image",
    "write_indices",
]
