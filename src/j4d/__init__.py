"""j4d: JPEG quantization tables learned for machine vision."""

from j4d._version import __version__
from j4d.codec import CodecOutput, JPEGCodec, Softness
from j4d.errors import InvalidInputError, J4DError
from j4d.rate import EntropyRate, estimate_bpp
from j4d.tables import QuantTables

__all__ = [
    "CodecOutput",
    "EntropyRate",
    "InvalidInputError",
    "J4DError",
    "JPEGCodec",
    "QuantTables",
    "Softness",
    "__version__",
    "estimate_bpp",
]
