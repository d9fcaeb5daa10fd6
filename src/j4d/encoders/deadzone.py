"""j4d's dead-zone rounding: ``index = sign(y) * floor(|y| / q + 1/2 - theta)`` (libjpeg's
rounding at theta = 0; :func:`~j4d.codec.quantize.uniform_indices`) with a dead zone ``theta`` in
[0, 1/2] per channel and frequency from ``meta["deadzone"]``
(:meth:`~j4d.tables.QuantTables.deadzone`; none: 0, plain rounding); the indices are written by
jpeglib (libjpeg-turbo 2.1), baseline."""

from __future__ import annotations

import numpy as np
import torch

from j4d.codec.codec import analyze, channel_steps
from j4d.codec.quantize import uniform_indices
from j4d.encoders.indices import write_indices
from j4d.jpegio.images import check_rgb, to_batch
from j4d.tables import QuantTables


def encode_deadzone(image: np.ndarray, tables: QuantTables) -> bytes:
    """An (H, W, 3) uint8 RGB image as a baseline JPEG by dead-zone rounding with ``tables``."""
    check_rgb(image)
    steps = channel_steps(torch.as_tensor(tables.to_array("zigzag"), dtype=torch.float32))
    thetas = channel_steps(tables.deadzone("zigzag"))
    with torch.no_grad():
        coefficients = analyze.eager(to_batch(image), order="zigzag")[0]
        indices = uniform_indices(coefficients, steps.unsqueeze(1), thetas.unsqueeze(1))
    return write_indices(indices, tables, image.shape[0], image.shape[1])
