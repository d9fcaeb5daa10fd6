"""Plain rounding of y / q by libjpeg-turbo through Pillow: ``qtables``, ``subsampling=0``,
``optimize=True`` and no ``quality`` (which would rescale custom tables); baseline or
libjpeg-turbo's progressive scans."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageFile

from j4d.jpegio.images import check_rgb
from j4d.tables import QuantTables


def encode_uniform(image: np.ndarray, tables: QuantTables, progressive: bool = False) -> bytes:
    """Encode an (H, W, 3) uint8 RGB image by plain rounding with ``tables`` (Pillow),
    baseline or in libjpeg-turbo's progressive scans."""
    check_rgb(image)
    buffer = io.BytesIO()
    # With optimize=True libjpeg writes the file in one shot into a buffer that Pillow sizes at
    # 2 bytes per pixel; steps near 1 on noisy images need more ("Suspension not allowed
    # here"), so make room for the worst case (~81 bits per pixel at 4:4:4) while saving.
    saved = ImageFile.MAXBLOCK
    ImageFile.MAXBLOCK = max(saved, 11 * image.shape[0] * image.shape[1] + 65536)
    try:
        Image.fromarray(image).save(
            buffer,
            format="JPEG",
            qtables=tables.to_pillow(),
            subsampling=0,
            optimize=True,
            progressive=progressive,
        )
    finally:
        ImageFile.MAXBLOCK = saved
    return buffer.getvalue()


def encode_quality(image: np.ndarray, quality: int) -> bytes:
    """Default JPEG at an IJG quality factor: Annex K tables scaled as libjpeg does."""
    return encode_uniform(image, QuantTables.from_quality(quality))
