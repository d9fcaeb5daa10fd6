"""The one place that picks jpeglib's backend: libjpeg-turbo 2.1 for our own files.

mozjpeg (``use_backend(MOZJPEG)``) writes the mozjpeg reference codec's files and those of the
``trellis`` encoder (:mod:`j4d.encoders.registry`), whose trellis quantization chooses the
coefficients; files whose indices j4d chose itself are written by libjpeg-turbo.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator

BACKEND = "turbo210"
MOZJPEG = "mozjpeg403"


def use_backend(name: str) -> None:
    """Switch jpeglib's (process-wide) backend to ``name`` if it is not already active."""
    import jpeglib  # here: most commands never call it, and it costs start-up time

    if jpeglib.version.get() != name:
        jpeglib.version.set(name)


def use_turbo() -> None:
    use_backend(BACKEND)


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
