"""j4d: JPEG quantization tables learned for machine vision.

The names below are imported on first use (PEP 562), so that ``import j4d`` and the command
line's ``--help`` do not pay for torch until something needs it."""

from __future__ import annotations

import importlib
from typing import Any

from j4d._version import __version__

_LAZY = {
    "CodecOutput": "j4d.codec",
    "JPEGCodec": "j4d.codec",
    "Softness": "j4d.codec",
    "InvalidInputError": "j4d.errors",
    "J4DError": "j4d.errors",
    "EntropyRate": "j4d.rate",
    "estimate_bpp": "j4d.rate",
    "QuantTables": "j4d.tables",
}

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


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'j4d' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
