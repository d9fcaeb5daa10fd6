"""The one place that talks to jpeglib: always the libjpeg-turbo 2.1 backend.

mozjpeg backends are never used for our files: their trellis quantization would change the
coefficients we chose.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

import jpeglib

BACKEND = "turbo210"


def use_turbo() -> None:
    if jpeglib.version.get() != BACKEND:
        jpeglib.version.set(BACKEND)


@contextlib.contextmanager
def scratch_file(data: bytes | None = None) -> Iterator[str]:
    """A temporary .jpg path (holding ``data`` if given), removed afterwards."""
    fd, path = tempfile.mkstemp(suffix=".jpg", prefix="j4d-")
    try:
        with os.fdopen(fd, "wb") as handle:
            if data is not None:
                handle.write(data)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
