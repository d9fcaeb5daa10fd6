"""The model's view as block weights for j4d's trellis: a file only a model reads needs no
bits where its view never looks.

A classifier's pipeline resizes a photo's short side to ``resize`` (256 for a 224 input) and
keeps the centre ``crop`` x ``crop``: in the stored photo that is a centre square of side
``crop * short / resize`` (57 % of a 500x375 photo's pixels). The ``rd-view`` encoder weighs
each 8x8 block's distortion by the share of it inside that square (widened by one view pixel
each side, the reach of the resize's antialiasing filter), and blocks wholly outside by
:data:`OUTSIDE`: the trellis then spends next to nothing on them, while inside the view the
file is the plain ``rd`` file's trade-off. Model-free: the geometry comes from the tables'
``meta["view"]`` (what :mod:`j4d.train` records for tables learned at a scale), else
:data:`DEFAULT_VIEW`. An image already at the crop size is the model's input as it is (as
:func:`~j4d.models.model_view` passes it): every block counts.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from j4d.encoders.rd import encode_rd, rd_settings
from j4d.errors import InvalidInputError
from j4d.tables import QuantTables

#: The view of torchvision's ImageNet classifiers (short side 256, centre crop 224).
DEFAULT_VIEW = {"resize": 256, "crop": 224}
#: Weight of a block the view never reads (relative to one it reads whole).
OUTSIDE = 0.01


def view_of(tables: QuantTables) -> tuple[int, int]:
    """(resize, crop) of ``tables.meta["view"]``, else :data:`DEFAULT_VIEW`'s."""
    view = tables.meta.get("view", DEFAULT_VIEW)
    try:
        resize, crop = int(view["resize"]), int(view["crop"])
    except (TypeError, KeyError, ValueError):
        raise InvalidInputError(
            f"meta 'view' needs integer resize and crop, got {view!r}"
        ) from None
    if not 0 < crop <= resize:
        raise InvalidInputError(f"meta 'view' needs 0 < crop <= resize, got {view!r}")
    return resize, crop


def view_region(height: int, width: int, resize: int, crop: int) -> tuple[float, ...]:
    """(top, bottom, left, right) in stored pixels of what the view reads of a ``height`` x
    ``width`` photo: torchvision's ``Resize(resize)`` sizes (long side truncated) and
    ``CenterCrop(crop)`` offsets, mapped back, widened by one view pixel each side."""
    if (height, width) == (crop, crop):
        return 0.0, float(height), 0.0, float(width)
    short, long = sorted((height, width))
    resized_long = int(resize * long / short)
    new_height, new_width = (resize, resized_long) if height <= width else (resized_long, resize)
    sy, sx = height / new_height, width / new_width
    top, left = round((new_height - crop) / 2), round((new_width - crop) / 2)
    return (
        max(0.0, (top - 1) * sy),
        min(float(height), (top + crop + 1) * sy),
        max(0.0, (left - 1) * sx),
        min(float(width), (left + crop + 1) * sx),
    )


def _inside(start: float, stop: float, blocks: int) -> np.ndarray:
    edges = 8.0 * np.arange(blocks + 1)
    return np.clip(np.minimum(edges[1:], stop) - np.maximum(edges[:-1], start), 0, 8) / 8


def view_block_factors(
    height: int, width: int, resize: int, crop: int, outside: float = OUTSIDE
) -> np.ndarray:
    """(B,) each 8x8 block's weight, raster order: ``outside + (1 - outside) x`` the share of
    the block inside :func:`view_region`."""
    top, bottom, left, right = view_region(height, width, resize, crop)
    rows = _inside(top, bottom, -(-height // 8))
    columns = _inside(left, right, -(-width // 8))
    return (outside + (1 - outside) * np.outer(rows, columns)).ravel()


def encode_rd_view(image: np.ndarray, tables: QuantTables) -> bytes:
    """``image`` by j4d's trellis with the tables' settings, each block's distortion weighed by
    :func:`view_block_factors` of the tables' view."""
    settings = rd_settings(tables)
    factors = view_block_factors(image.shape[0], image.shape[1], *view_of(tables))
    weights = settings.weights[:, None, :] * factors[None, :, None]
    return encode_rd(image, tables, dataclasses.replace(settings, weights=weights))
