r"""Two encoders compared image by image at a matched rate (or a matched accuracy), with paired
confidence intervals.

A BD-rate over two fronts says where each front's points land as much as how good each encoder
is: with sparse fronts a single table's point decides it. Here one encoder (``a``) codes the
test images once with a tables file; the other (``b``) codes them at several operating points
(its lambda, say) with the same tables. ``b`` is read at ``a``'s mean rate by mixing, image by
image, the two points of its sweep whose mean rates bracket it:

.. math::  x_i(t) = (1 - t)\,x_i^{(j)} + t\,x_i^{(j+1)},\qquad
           \bar r(t) = \bar r_a

(a per-image outcome of an encoder that codes a share :math:`t` of the images at the upper
point: its mean rate and mean accuracy are the straight line between the two points). The
difference of means :math:`\bar x_b - \bar x_a` then pairs each image with itself, and its
interval comes from a bootstrap over images (the same images resampled for both encoders),
which is far tighter than two independent curves' noise.

Per image (:class:`PerImage`): whole-file and scan bpp, the task's decision against the label
(top-1 for a classifier, pixel accuracy for a segmenter), agreement with the model's decision on
the uncompressed image, and the divergence the tables were trained to keep small,
:math:`T^2\,\mathrm{KL}(p_T(\text{original})\,\|\,p_T(\text{compressed}))`, averaged over a
segmenter's pixels.
"""

from __future__ import annotations

import itertools
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


def mix(lower: PerImage, upper: PerImage, share: float) -> PerImage:
    """Image by image, ``(1 - share) lower + share upper``: both points' straight line."""
    return PerImage(*((1 - share) * lower[n] + share * upper[n] for n in OUTCOMES))


def at_mean(sweep: Sequence[PerImage], outcome: str, value: float) -> PerImage:
    """The sweep read where the mean of ``outcome`` is ``value``: the mix of the first two
    neighbouring points (in the order of their mean ``outcome``) that bracket it. ValueError
    if ``value`` lies outside the sweep's range."""
    ordered = sorted(sweep, key=lambda point: point.mean(outcome))
    means = [point.mean(outcome) for point in ordered]
    for lower, upper in itertools.pairwise(ordered):
        low, high = lower.mean(outcome), upper.mean(outcome)
        if low <= value <= high:
            share = 0.0 if high == low else (value - low) / (high - low)
            return mix(lower, upper, share)
    raise ValueError(
        f"mean {outcome} {value:.4g} is outside the sweep's {means[0]:.4g}..{means[-1]:.4g}"
        if means
        else "empty sweep"
    )


@dataclass(frozen=True)
class Paired:
    """``b``'s mean outcome minus ``a``'s (relative: over ``a``'s mean), with a bootstrap
    interval over images at ``confidence``."""

    outcome: str
    difference: float
    low: float
    high: float
    relative: bool
    images: int
    confidence: float

    def __str__(self) -> str:
        scale, unit = (100.0, " %") if self.relative else (1.0, "")
        return (
            f"{scale * self.difference:+.3g}{unit} "
            f"[{scale * self.low:+.3g}, {scale * self.high:+.3g}]"
        )

    def as_dict(self) -> dict[str, float | int | str | bool]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def paired_difference(
    a: PerImage,
    b: PerImage,
    outcome: str,
    relative: bool = False,
    confidence: float = 0.95,
    resamples: int = 4000,
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

    draws = np.random.default_rng(seed).integers(0, len(a), size=(resamples, len(a)))
    spread = statistic(first[draws], second[draws])
    tail = 50 * (1 - confidence)
    low, high = np.percentile(spread, [tail, 100 - tail])
    return Paired(
        outcome,
        float(statistic(first, second)),
        float(low),
        float(high),
        relative,
        len(a),
        confidence,
    )


__all__ = [
    "OUTCOMES",
    "Paired",
    "PerImage",
    "at_mean",
    "mix",
    "paired_difference",
    "per_image",
]
