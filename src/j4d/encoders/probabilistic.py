"""The paper's probabilistic encoder: indices drawn from the quantizer's CPMF, written by
:func:`~j4d.encoders.indices.write_indices`."""

from __future__ import annotations

import numpy as np
import torch

from j4d.codec.codec import analyze, channel_steps
from j4d.codec.quantize import Softness, sample_cpmf
from j4d.encoders.indices import write_indices
from j4d.jpegio.images import check_rgb, to_batch
from j4d.tables import QuantTables


def sample_indices(
    image: np.ndarray,
    tables: QuantTables,
    softness: Softness | None = None,
    generator: torch.Generator | None = None,
    order: str = "zigzag",
) -> torch.Tensor:
    """(3, B, 64) int64 indices drawn by the probabilistic quantizer for one RGB image.

    The same pipeline as :class:`~j4d.codec.JPEGCodec` in probabilistic mode (libjpeg's 8-bit
    YCbCr, exact DCT, masked CPMF), without the decoding half. Frequencies come in ``order``;
    the random stream follows that layout, so the two orders draw differently for one seed
    (:func:`encode_probabilistic` uses natural order)."""
    check_rgb(image)
    softness = softness or Softness()
    table_steps = torch.as_tensor(tables.to_array(order), dtype=torch.float32)
    q = channel_steps(table_steps).unsqueeze(1)
    alpha = channel_steps(softness.alpha(table_steps)).unsqueeze(1)
    with torch.no_grad():  # eager: one-shot work, compiling would cost more than it saves
        coefficients = analyze.eager(to_batch(image), order=order)[0]
        return sample_cpmf(coefficients, q, alpha, generator)


def encode_probabilistic(
    image: np.ndarray,
    tables: QuantTables,
    softness: Softness | None = None,
    seed: int = 0,
) -> bytes:
    """Encode with indices sampled from the CPMF (the paper's probabilistic encoder)."""
    generator = torch.Generator().manual_seed(int(seed))
    indices = sample_indices(image, tables, softness, generator, order="natural")
    return write_indices(indices, tables, image.shape[0], image.shape[1], order="natural")
