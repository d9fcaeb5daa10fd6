"""Model-aware per-image rate control: each image gets the coarsest of several tables files
(a ladder) whose file the model reads within a tolerance of the original,
``KL(p(x) || p(x_hat)) <= tolerance``; easy images go cheap, hard ones keep their bits. Each
file is an ordinary JPEG with its rung's tables. The model's prediction on the original stands
in for a label; no label is ever read.

With several guide models an image's divergence is the largest of theirs (every guide must
read the file within the tolerance). With ``strength`` > 0 and j4d's trellis (``rd``) as the
rungs' encoder, each rung's file is itself model-aware, block by block
(:mod:`j4d.encoders.model_rd`, the guides' Fisher information measured once per image).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from j4d.encoders.guided import GuidedEncoder
from j4d.encoders.model_rd import BlockCurvature, encode_model_rd
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
        model: nn.Module | Sequence[nn.Module],
        rungs: Sequence[tuple[QuantTables, TablesEncoder]],
        keep: bool = True,
        strength: float = 0.0,
    ):
        if not rungs:
            raise InvalidInputError("a tables ladder needs at least one tables file")
        self.models = [model] if isinstance(model, nn.Module) else list(model)
        if not self.models:
            raise InvalidInputError("a tables ladder needs at least one guide model")
        self.model = self.models[0]
        self.keep = keep  # False: measure every call afresh (a stream of images)
        self.rungs = sorted(rungs, key=lambda rung: -_coarseness(rung[0]))
        if not (np.isfinite(strength) and strength >= 0):
            raise InvalidInputError(f"ladder strength must be >= 0, got {strength}")
        if strength > 0 and any(encoder.name != "rd" for _, encoder in self.rungs):
            raise InvalidInputError("model-aware rungs (strength > 0) need the rd encoder")
        self.strength = strength
        self.curvature = BlockCurvature(self.models, keep=False) if strength > 0 else None
        self._measured: dict[bytes, tuple[list[bytes], list[float]]] = {}

    def measure(self, images: Sequence[np.ndarray]) -> list[tuple[list[bytes], list[float]]]:
        """(files coarsest first, divergences: the largest over the guides) of each image (one
        size)."""
        if not self.keep:
            self._measured.clear()
        keys = [
            hashlib.sha1(image.tobytes() + repr(image.shape).encode()).digest() for image in images
        ]
        todo = [i for i, key in enumerate(keys) if key not in self._measured]
        if todo:
            todo_images = [images[i] for i in todo]
            files = self._files(todo_images)
            originals = torch.from_numpy(np.stack(todo_images)).permute(0, 3, 1, 2)
            # every (image, rung) file through each guide in batches of _BATCH, not one
            # forward per rung: one image's rungs share a batch
            pairs = [(slot, rung) for slot in range(len(todo)) for rung in range(len(self.rungs))]
            divergence: dict[tuple[int, int], float] = dict.fromkeys(pairs, 0.0)
            for model in self.models:
                with torch.no_grad():
                    device = models_device([model])
                    reference = model(model_view(model, originals.to(device, torch.float32)))
                for start in range(0, len(pairs), _BATCH):
                    chunk = pairs[start : start + _BATCH]
                    decoded = np.stack([decode(files[slot][rung]) for slot, rung in chunk])
                    decoded_batch = torch.from_numpy(decoded).permute(0, 3, 1, 2)
                    slots = torch.tensor([slot for slot, _ in chunk])
                    kls = divergence_per_image(model, reference[slots.to(device)], decoded_batch)
                    for pair, kl in zip(chunk, kls, strict=True):
                        divergence[pair] = max(divergence[pair], kl)
            for slot, i in enumerate(todo):
                per_rung = [divergence[slot, rung] for rung in range(len(self.rungs))]
                self._measured[keys[i]] = (files[slot], per_rung)
        return [self._measured[key] for key in keys]

    def _files(self, images: Sequence[np.ndarray]) -> list[list[bytes]]:
        """Each image's file at every rung (model-aware ones with the guides' curvature)."""
        if self.curvature is None:
            return [
                [encoder.encode(image, tables) for tables, encoder in self.rungs]
                for image in images
            ]
        curvatures = self.curvature.measure(images)  # one backward pass per guide
        return [
            [encode_model_rd(image, tables, curvature, self.strength) for tables, _ in self.rungs]
            for image, curvature in zip(images, curvatures, strict=True)
        ]


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
