"""j4d: JPEG quantization tables learned for machine vision."""

from j4d._lazy import by_module, lazy_exports
from j4d._version import __version__

_EXPORTS = by_module(
    {
        "j4d.codec": ("CodecOutput", "JPEGCodec", "Softness"),
        "j4d.errors": ("InvalidInputError", "J4DError"),
        "j4d.rate": ("EntropyRate", "estimate_bpp"),
        "j4d.tables": ("QuantTables",),
    }
)
__all__ = [*sorted(_EXPORTS), "__version__"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
