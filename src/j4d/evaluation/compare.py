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
    """One picture of the comparison: label, pixels, scan bpp (None: uncompressed), what the
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
    quality whose scan bpp on ``image`` is closest to ``scan_bpp`` (in ratio)."""
    encode = QUALITY_CODECS["jpeg"].encode
    best = None
    for quality in range(1, 101):
        decoded, rate = _coded(image, encode(image, quality))
        if best is None or abs(np.log(rate / scan_bpp)) < abs(np.log(best[2] / scan_bpp)):
            best = (quality, decoded, rate)
    assert best is not None
    return best


def compare(
    model: nn.Module, image: np.ndarray, tables: QuantTables, label: str = "j4d"
) -> list[Version]:
    """The uncompressed ``image`` ((H, W, 3) uint8), default JPEG at the same rate, and
    ``tables``' version (by the encoder they record), each with ``model``'s prediction."""
    learned, learned_bpp = _coded(image, encode_with(image, tables))
    quality, jpeg, jpeg_bpp = same_rate_jpeg(image, learned_bpp)
    pictures = [("uncompressed", image, None), (f"JPEG QF {quality}", jpeg, jpeg_bpp)]
    pictures.append((label, learned, learned_bpp))
    batch = torch.from_numpy(np.stack([p for _, p, _ in pictures])).permute(0, 3, 1, 2)
    found = predictions(model, batch.contiguous())
    task = task_of(model)
    return [
        Version(name, pixels, rate, task.show(found[k]), task.caption(found[k], found[0]))
        for k, (name, pixels, rate) in enumerate(pictures)
    ]
