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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from j4d.encoders.guided import GuidedEncoder
from j4d.encoders.model_rd import BlockCurvature, encode_model_rd, image_key
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

    def measure(
        self, images: Sequence[np.ndarray], tolerance: float | None = None
    ) -> list[tuple[list[bytes | None], list[float]]]:
        """(files coarsest first, divergences: the largest over the guides) of each image (one
        size). Given a ``tolerance`` and ``keep=False`` the rungs are tried coarsest first and
        an image stops at the first within it, the one :class:`RateLadder` would choose: the
        rungs after it stay unmade (``None``, divergence nan)."""
        if not self.keep:
            self._measured.clear()
        keys = [image_key(image) for image in images]
        todo = [i for i, key in enumerate(keys) if key not in self._measured]
        if todo:
            stop = tolerance if not self.keep else None
            measured = self._measure([images[i] for i in todo], stop)
            for i, result in zip(todo, measured, strict=True):
                self._measured[keys[i]] = result
        return [self._measured[key] for key in keys]

    def _measure(
        self, images: Sequence[np.ndarray], stop: float | None
    ) -> list[tuple[list[bytes | None], list[float]]]:
        rungs = len(self.rungs)
        curvatures = self.curvature.measure(images) if self.curvature else [None] * len(images)
        originals = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
        references = []
        for model in self.models:
            with torch.no_grad():
                device = models_device([model])
                references.append(model(model_view(model, originals.to(device, torch.float32))))
        files: list[list[bytes | None]] = [[None] * rungs for _ in images]
        divergence = [[float("nan")] * rungs for _ in images]
        # every (image, rung) file through each guide in batches of _BATCH, not one forward
        # per rung; stopping early, rung by rung for the images not yet within the tolerance
        waves = [range(rungs)] if stop is None else [[rung] for rung in range(rungs)]
        pending = list(range(len(images)))
        for wave in waves:
            pairs = [(slot, rung) for slot in pending for rung in wave]
            for slot, rung in pairs:
                files[slot][rung] = self._file(images[slot], rung, curvatures[slot])
            kls = self._divergences(pairs, files, references)
            for (slot, rung), kl in zip(pairs, kls, strict=True):
                divergence[slot][rung] = kl
            if stop is not None:
                pending = [slot for slot in pending if not divergence[slot][wave[0]] <= stop]
                if not pending:
                    break
        return list(zip(files, divergence, strict=True))

    def _file(self, image: np.ndarray, rung: int, curvature: list[np.ndarray] | None) -> bytes:
        tables, encoder = self.rungs[rung]
        if curvature is None:
            return encoder.encode(image, tables)
        return encode_model_rd(image, tables, curvature, self.strength)

    def _divergences(
        self,
        pairs: Sequence[tuple[int, int]],
        files: Sequence[Sequence[bytes | None]],
        references: Sequence[torch.Tensor],
    ) -> list[float]:
        """The largest divergence over the guides of each (image slot, rung) file."""
        largest = [0.0] * len(pairs)
        for model, reference in zip(self.models, references, strict=True):
            device = reference.device
            for start in range(0, len(pairs), _BATCH):
                chunk = pairs[start : start + _BATCH]
                decoded = np.stack([decode(files[slot][rung]) for slot, rung in chunk])
                decoded_batch = torch.from_numpy(decoded).permute(0, 3, 1, 2)
                slots = torch.tensor([slot for slot, _ in chunk], device=device)
                kls = divergence_per_image(model, reference[slots], decoded_batch)
                for n, kl in enumerate(kls, start=start):
                    largest[n] = max(largest[n], kl)
        return largest


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
        for files, divergences in self.ladder.measure(images, self.tolerance):
            within = [rung for rung, kl in enumerate(divergences) if kl <= self.tolerance]
            rung = within[0] if within else len(files) - 1
            data = files[rung]
            assert data is not None  # the chosen rung is always made
            chosen.append((data, rung))
        return chosen

    def rung_name(self, rung: int) -> str:
        """How reports name a rung: its tables' ``meta["name"]``, else its position."""
        tables = self.ladder.rungs[rung][0]
        return str(tables.meta.get("name") or f"rung {rung + 1}")


#: Encoders that need the model at hand and code a batch of same-size images at once.
ModelAwareEncoder = GuidedEncoder | RateLadder
