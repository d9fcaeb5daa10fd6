r"""Two encoders compared image by image at a matched rate (or a matched accuracy), with paired
confidence intervals.

A BD-rate over two fronts says where each front's points land as much as how good each encoder
is: with sparse fronts a single table's point decides it. Here one encoder (the reference)
codes the test images once with a tables file; the other codes them at several operating points
(its lambda, say) with the same tables: its sweep. The sweep is read where its mean of one
outcome (``at``: the rate, or an accuracy) equals the reference's, on the straight line between
the two neighbouring points (in the order of their rates) that bracket it,

.. math::  \bar x(t) = (1 - t)\,\bar x^{(j)} + t\,\bar x^{(j+1)},\qquad
           t:\ \bar a(t) = \bar a_{\mathrm{ref}}

(an encoder that codes a share :math:`t` of the images at the upper point), and another outcome
:math:`\bar x(t) - \bar x_{\mathrm{ref}}` (or its ratio) is compared there. Its interval is a
percentile bootstrap over images that resamples the same images for both encoders and redoes
the match in every resample, so the noise of the matched point is in it; a resample where the
sweep does not reach the reference is left out and counted (:attr:`Paired.unmatched`).

Per image (:class:`PerImage`): whole-file and scan bpp, the task's decision against the label
(top-1 for a classifier, pixel accuracy for a segmenter), agreement with the model's decision on
the uncompressed image, and the divergence the tables were trained to keep small,
:math:`T^2\,\mathrm{KL}(p_T(\text{original})\,\|\,p_T(\text{compressed}))`, averaged over a
segmenter's pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np
import torch
from torch import nn

from j4d.evaluation.realfile import CodedImages, outputs
from j4d.tasks import task_of
from j4d.tasks.base import UNLABELED, kl_divergence

#: The per-image outcomes, by name.
OUTCOMES = ("file_bpp", "scan_bpp", "correct", "agreement", "divergence")


@dataclass(frozen=True)
class PerImage:
    """One encoding of a test split as one model reads it: each outcome is (N,), image i of
    every :class:`PerImage` of a comparison being the same image."""

    file_bpp: np.ndarray
    scan_bpp: np.ndarray
    correct: np.ndarray
    agreement: np.ndarray
    divergence: np.ndarray

    def __post_init__(self) -> None:
        sizes = {len(getattr(self, name)) for name in OUTCOMES}
        if len(sizes) != 1:
            raise ValueError(f"per-image outcomes of different lengths: {sorted(sizes)}")

    def __len__(self) -> int:
        return len(self.file_bpp)

    def mean(self, outcome: str) -> float:
        return float(np.mean(self[outcome]))

    def __getitem__(self, outcome: str) -> np.ndarray:
        if outcome not in OUTCOMES:
            raise KeyError(f"unknown outcome {outcome!r} (one of {', '.join(OUTCOMES)})")
        return getattr(self, outcome)

    def to_json(self) -> dict[str, list[float]]:
        return {name: [round(float(v), 7) for v in self[name]] for name in OUTCOMES}

    @classmethod
    def from_json(cls, data: dict[str, list[float]]) -> PerImage:
        return cls(**{f.name: np.asarray(data[f.name], dtype=np.float64) for f in fields(cls)})


def per_image(
    model: nn.Module,
    coded: CodedImages,
    labels: torch.Tensor,
    reference_logits: torch.Tensor,
    temperature: float = 1.0,
) -> PerImage:
    """``model``'s outcomes on each decoded image of ``coded``; ``reference_logits`` (from
    :func:`~j4d.evaluation.realfile.outputs` on the originals) give agreement and divergence.
    Unlabeled images (and a segmenter's ignored pixels) count as misses in ``correct``."""
    logits = outputs(model, coded.decoded)
    task = task_of(model)
    count = len(logits)
    decided = logits.argmax(dim=1).reshape(count, -1)
    original = reference_logits.argmax(dim=1).reshape(count, -1)
    targets = labels.reshape(count, -1).to(decided.device)
    valid = targets != UNLABELED
    if task.ignore_index is not None:
        valid &= targets != task.ignore_index
    hits = (decided == targets) & valid
    divergence = kl_divergence(logits, reference_logits, temperature).reshape(count, -1)
    return PerImage(
        coded.file_bpp.astype(np.float64),
        coded.scan_bpp.astype(np.float64),
        (hits.sum(1) / valid.sum(1).clamp(min=1)).double().cpu().numpy(),
        (decided == original).double().mean(1).cpu().numpy(),
        (divergence.mean(1) * temperature**2).double().cpu().numpy(),
    )


def _crossing(means: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per row of ``means`` (R, K: the sweep's points in rate order), the first segment j whose
    ends bracket ``target`` (R,), and the share t along it; j = -1 where none does."""
    low, high = means[:, :-1], means[:, 1:]
    inside = (np.minimum(low, high) <= target[:, None]) & (target[:, None] <= np.maximum(low, high))
    segment = np.where(inside.any(axis=1), inside.argmax(axis=1), -1)
    rows = np.arange(len(means))
    picked = np.clip(segment, 0, None)
    start, end = low[rows, picked], high[rows, picked]
    span = np.where(end == start, 1.0, end - start)
    share = np.where(end == start, 0.0, (target - start) / span)
    return segment, share


@dataclass(frozen=True)
class Paired:
    """The sweep's (or ``b``'s) mean ``outcome`` minus the reference's (``relative``: over the
    reference's mean), with a bootstrap interval over images at ``confidence``; ``unmatched``
    resamples (of ``resamples``) where the sweep did not reach the reference were left out."""

    outcome: str
    difference: float
    low: float
    high: float
    relative: bool
    images: int
    confidence: float
    at: str | None = None
    resamples: int = 0
    unmatched: int = 0

    def __str__(self) -> str:
        scale, unit = (100.0, " %") if self.relative else (1.0, "")
        return (
            f"{scale * self.difference:+.3g}{unit} "
            f"[{scale * self.low:+.3g}, {scale * self.high:+.3g}]"
        )

    def as_dict(self) -> dict[str, float | int | str | bool | None]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def _draws(images: int, resamples: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, images, size=(resamples, images))


def _paired(
    outcome: str,
    whole: float,
    spread: np.ndarray,
    relative: bool,
    confidence: float,
    images: int,
    at: str | None = None,
) -> Paired:
    """A :class:`Paired` from the whole sample's statistic and its (R,) bootstrap ``spread``
    over ``images`` (NaN where a resample did not match: left out and counted)."""
    kept = spread[~np.isnan(spread)]
    tail = 50 * (1 - confidence)
    low, high = np.percentile(kept, [tail, 100 - tail]) if len(kept) else (np.nan, np.nan)
    return Paired(
        outcome,
        float(whole),
        float(low),
        float(high),
        relative,
        images,
        confidence,
        at,
        len(spread),
        int(np.isnan(spread).sum()),
    )


def matched_difference(
    reference: PerImage,
    sweep: Sequence[PerImage],
    at: str,
    outcome: str,
    relative: bool = False,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Paired:
    """The sweep read at the reference's mean ``at`` (e.g. ``file_bpp``: equal rate; or
    ``divergence``: equal accuracy), its mean ``outcome`` minus the reference's (``relative``:
    ``/ reference - 1``), with the bootstrap of the module's docstring. ValueError where the
    sweep does not reach the reference on the whole sample."""
    points = sorted(sweep, key=lambda point: point.mean("file_bpp"))
    if any(len(point) != len(reference) for point in points) or len(points) < 2:
        raise ValueError("a sweep of at least two points over the reference's images is needed")

    def statistic(rows: np.ndarray) -> np.ndarray:
        """(R,) the difference on each row of image indices (R, N); NaN where unmatched."""
        target = reference[at][rows].mean(axis=1)
        matches = np.stack([p[at][rows].mean(axis=1) for p in points], axis=1)
        values = np.stack([p[outcome][rows].mean(axis=1) for p in points], axis=1)
        segment, share = _crossing(matches, target)
        picked = np.clip(segment, 0, None)
        index = np.arange(len(rows))
        read = (1 - share) * values[index, picked] + share * values[index, picked + 1]
        base = reference[outcome][rows].mean(axis=1)
        difference = read / base - 1 if relative else read - base
        return np.where(segment >= 0, difference, np.nan)

    whole = statistic(np.arange(len(reference))[None, :])[0]
    if np.isnan(whole):
        ends = sorted(point.mean(at) for point in points)
        raise ValueError(
            f"the sweep's mean {at} ({ends[0]:.4g}..{ends[-1]:.4g}) does not reach the "
            f"reference's {reference.mean(at):.4g}"
        )
    spread = statistic(_draws(len(reference), resamples, seed))
    return _paired(outcome, whole, spread, relative, confidence, len(reference), at)


def paired_difference(
    a: PerImage,
    b: PerImage,
    outcome: str,
    relative: bool = False,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Paired:
    """``mean(b) - mean(a)`` of ``outcome`` (``relative``: ``mean(b) / mean(a) - 1``) over the
    same images, with a percentile bootstrap interval (images resampled with replacement, the
    same draw for both)."""
    if len(a) != len(b) or not len(a):
        raise ValueError(f"paired outcomes need the same images, got {len(a)} and {len(b)}")
    first, second = a[outcome], b[outcome]

    def statistic(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return y.mean(-1) / x.mean(-1) - 1 if relative else y.mean(-1) - x.mean(-1)

    draws = _draws(len(a), resamples, seed)
    spread = statistic(first[draws], second[draws])
    return _paired(outcome, statistic(first, second), spread, relative, confidence, len(a))


__all__ = [
    "OUTCOMES",
    "Paired",
    "PerImage",
    "matched_difference",
    "paired_difference",
    "per_image",
]
