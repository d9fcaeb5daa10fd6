"""Side by side at the same rate: an image, its default-JPEG version at the quality whose scan
bpp is closest to the learned tables' own on that image, and the learned tables' version, with
the model's prediction on each (the paper's Fig. 9)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from j4d.encoders import QUALITY_CODECS
from j4d.encoders.registry import encode_with
from j4d.evaluation.realfile import predictions
from j4d.jpegio import decode, file_rate
from j4d.tables import QuantTables
from j4d.tasks import task_of


@dataclass(frozen=True)
class Version:
    """One picture of the comparison: label, pixels, scan bpp (None: the original), what the
    model made of it (a picture or None, and a caption)."""

    label: str
    pixels: np.ndarray
    scan_bpp: float | None
    shown: np.ndarray | None
    caption: str


def _coded(image: np.ndarray, data: bytes) -> tuple[np.ndarray, float]:
    return decode(data), file_rate(data, *image.shape[:2]).scan_bpp


def same_rate_jpeg(image: np.ndarray, scan_bpp: float) -> tuple[int, np.ndarray, float]:
    """(quality, decoded, scan bpp) of default JPEG (Pillow, 4:4:4, optimized Huffman) at the
    quality whose scan bpp on ``image`` is closest to ``scan_bpp`` (in ratio), found by
    bisection (the rate grows with the quality): 8 encodes of a large photo, not 100."""
    encode = QUALITY_CODECS["jpeg"].encode
    coded: dict[int, tuple[np.ndarray, float]] = {}

    def at(quality: int) -> float:
        if quality not in coded:
            coded[quality] = _coded(image, encode(image, quality))
        return coded[quality][1]

    low, high = 1, 100  # the first quality whose rate reaches scan_bpp lies in [low, high]
    while low < high:
        middle = (low + high) // 2
        if at(middle) < scan_bpp:
            low = middle + 1
        else:
            high = middle
    near = [q for q in (low - 1, low) if 1 <= q <= 100]
    quality = min(near, key=lambda q: (abs(np.log(at(q) / scan_bpp)), q))
    return quality, coded[quality][0], coded[quality][1]


def compare(
    model: nn.Module, image: np.ndarray, tables: QuantTables, label: str = "j4d"
) -> list[Version]:
    """The original ``image`` ((H, W, 3) uint8), default JPEG at the same rate, and
    ``tables``' version (by the encoder they record), each with ``model``'s prediction made
    through its own view (a classifier's short-side resize and centre crop)."""
    learned, learned_bpp = _coded(image, encode_with(image, tables))
    quality, jpeg, jpeg_bpp = same_rate_jpeg(image, learned_bpp)
    pictures = [("original", image, None), (f"JPEG QF {quality}", jpeg, jpeg_bpp)]
    pictures.append((label, learned, learned_bpp))
    photos = [torch.from_numpy(np.ascontiguousarray(p)).permute(2, 0, 1) for _, p, _ in pictures]
    found = predictions(model, photos)
    task = task_of(model)
    return [
        Version(name, pixels, rate, task.show(found[k]), task.caption(found[k], found[0]))
        for k, (name, pixels, rate) in enumerate(pictures)
    ]
