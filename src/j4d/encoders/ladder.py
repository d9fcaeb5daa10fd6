"""Model-aware per-image rate control: each image gets the coarsest of several tables files
(a ladder) whose file the model reads within a tolerance of the original,
``KL(p(x) || p(x_hat)) <= tolerance``; easy images go cheap, hard ones keep their bits. Each
file is an ordinary JPEG with its rung's tables. The model's prediction on the original stands
in for a label; no label is ever read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from j4d.encoders.guided import GuidedEncoder
from j4d.encoders.registry import TablesEncoder
from j4d.errors import InvalidInputError
from j4d.jpegio import decode
from j4d.models import model_view, models_device
from j4d.tables import QuantTables
from j4d.tasks import kl_divergence


def divergence_per_image(
    model: nn.Module, reference: torch.Tensor, decoded: torch.Tensor
) -> list[float]:
    """``KL(p(original) || p(decoded))`` of each image (mean over pixels for a segmenter),
    given the model's output on the originals, ``reference``; the model sees each image as its
    pipeline hands it over (:func:`~j4d.models.model_view`)."""
    device = models_device([model])
    with torch.no_grad():
        output = model(model_view(model, decoded.to(device, torch.float32)))
    kl = kl_divergence(output, reference)
    return kl.reshape(len(kl), -1).mean(dim=1).cpu().tolist()


class LadderFiles:
    """Every image's file at every rung of a tables ladder (coarsest first), with the model's
    divergence on each; measured once per image and kept, so that ladders at several
    tolerances share the work."""

    def __init__(
        self,
        model: nn.Module,
        rungs: Sequence[tuple[QuantTables, TablesEncoder]],
        keep: bool = True,
    ):
        if not rungs:
            raise InvalidInputError("a tables ladder needs at least one tables file")
        self.model = model
        self.keep = keep  # False: measure every call afresh (a stream of images)
        self.rungs = sorted(rungs, key=lambda rung: -_coarseness(rung[0]))
        self._measured: dict[bytes, tuple[list[bytes], list[float]]] = {}

    def measure(self, images: Sequence[np.ndarray]) -> list[tuple[list[bytes], list[float]]]:
        """(files coarsest first, divergences) of each image."""
        if not self.keep:
            self._measured.clear()
        keys = [
            hashlib.sha1(image.tobytes() + repr(image.shape).encode()).digest() for image in images
        ]
        todo = [i for i, key in enumerate(keys) if key not in self._measured]
        if todo:
            originals = torch.from_numpy(np.stack([images[i] for i in todo])).permute(0, 3, 1, 2)
            files = [
                [encoder.encode(images[i], tables) for tables, encoder in self.rungs] for i in todo
            ]
            with torch.no_grad():
                device = models_device([self.model])
                reference = self.model(model_view(self.model, originals.to(device, torch.float32)))
            # every (image, rung) file through the model in batches of _BATCH, not one
            # forward per rung: one image's rungs share a batch
            pairs = [(slot, rung) for slot in range(len(todo)) for rung in range(len(self.rungs))]
            divergence: dict[tuple[int, int], float] = {}
            for start in range(0, len(pairs), _BATCH):
                chunk = pairs[start : start + _BATCH]
                decoded = np.stack([decode(files[slot][rung]) for slot, rung in chunk])
                decoded_batch = torch.from_numpy(decoded).permute(0, 3, 1, 2)
                slots = torch.tensor([slot for slot, _ in chunk])
                kls = divergence_per_image(self.model, reference[slots.to(device)], decoded_batch)
                divergence.update(zip(chunk, kls, strict=True))
            for slot, i in enumerate(todo):
                per_rung = [divergence[slot, rung] for rung in range(len(self.rungs))]
                self._measured[keys[i]] = (files[slot], per_rung)
        return [self._measured[key] for key in keys]


#: decoded files per forward pass of the model
_BATCH = 32


def _coarseness(tables: QuantTables) -> float:
    """Mean log step: coarser tables (higher) spend fewer bits on the same image."""
    return float(np.log(tables.to_array().astype(np.float64)).mean())


@dataclass(frozen=True)
class RateLadder:
    """Per-image rate control by the model: each image gets the coarsest rung of ``ladder``
    whose file the model reads within ``tolerance`` of the original
    (``KL(p(original) || p(decoded)) <= tolerance``), else the finest rung. Each file is an
    ordinary JPEG with its rung's tables, by its rung's encoder. Tolerance 0 gives the finest
    rung's plain files wherever the model's output changes at all."""

    ladder: LadderFiles
    tolerance: float

    def __post_init__(self) -> None:
        if not (self.tolerance >= 0):
            raise InvalidInputError(f"ladder tolerance must be >= 0, got {self.tolerance}")

    def encode_batch(self, images: Sequence[np.ndarray]) -> list[bytes]:
        return [data for data, _ in self.choose(images)]

    def choose(self, images: Sequence[np.ndarray]) -> list[tuple[bytes, int]]:
        """Each image's file and the index of its rung in ``ladder.rungs`` (coarsest first)."""
        chosen = []
        for files, divergences in self.ladder.measure(images):
            within = [rung for rung, kl in enumerate(divergences) if kl <= self.tolerance]
            rung = within[0] if within else len(files) - 1
            chosen.append((files[rung], rung))
        return chosen

    def rung_name(self, rung: int) -> str:
        """How reports name a rung: its tables' ``meta["name"]``, else its position."""
        tables = self.ladder.rungs[rung][0]
        return str(tables.meta.get("name") or f"rung {rung + 1}")


#: Encoders that need the model at hand and code a batch of same-size images at once.
ModelAwareEncoder = GuidedEncoder | RateLadder
