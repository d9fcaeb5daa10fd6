"""Rate-accuracy curves: Pareto frontier, BD-rate and read-offs at a rate or an accuracy.

Curves are measured points (rate in bpp, accuracy as a fraction). Interpolation between points
is linear in log-rate (rates of codec sweeps are spread geometrically); nothing is extrapolated
beyond the measured range.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from j4d.errors import InvalidInputError

#: BD-rate warns when the curves share less than this fraction of their accuracy ranges.
MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class Curve:
    """Measured (rate, accuracy) points of one method, in any order."""

    label: str
    rates: tuple[float, ...]
    accuracies: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.rates) != len(self.accuracies):
            raise InvalidInputError(f"curve {self.label!r}: rates and accuracies differ in length")

    @classmethod
    def from_points(cls, label: str, points: Iterable[tuple[float, float]]) -> Curve:
        pairs = list(points)
        return cls(label, tuple(float(r) for r, _ in pairs), tuple(float(a) for _, a in pairs))

    def frontier(self) -> Curve:
        """The Pareto-optimal points, by increasing rate (and strictly increasing accuracy)."""
        keep = pareto_frontier(list(zip(self.rates, self.accuracies, strict=True)))
        return Curve.from_points(self.label, [(self.rates[i], self.accuracies[i]) for i in keep])


def pareto_frontier(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the (rate, accuracy) points no other point beats (lower or equal rate with
    higher accuracy), sorted by rate."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    kept: list[int] = []
    best = -np.inf
    for index in order:
        if points[index][1] > best:
            kept.append(index)
            best = points[index][1]
    return kept


def _monotone(curve: Curve, name: str) -> tuple[np.ndarray, np.ndarray]:
    front = curve.frontier()
    if len(front.rates) < 2:
        raise InvalidInputError(f"{name} curve {curve.label!r} needs >= 2 Pareto points")
    return np.asarray(front.rates), np.asarray(front.accuracies)


def accuracy_at_rate(curve: Curve, rate: float) -> float | None:
    """Accuracy of the Pareto frontier at ``rate`` (None outside the measured range; past the
    frontier's last point, up to the highest measured rate, its best accuracy)."""
    rates, accuracies = _monotone(curve, "the")
    if rates[-1] < rate <= max(curve.rates):
        return float(accuracies[-1])
    if not rates[0] <= rate <= rates[-1]:
        return None
    return float(np.interp(np.log(rate), np.log(rates), accuracies))


def rate_at_accuracy(curve: Curve, accuracy: float) -> float | None:
    """Lowest rate at which the frontier reaches ``accuracy``; None outside the frontier's
    accuracy range: above it never reached, below it the rate that would do is not measured
    (the lowest point only bounds it)."""
    rates, accuracies = _monotone(curve, "the")
    if not accuracies[0] <= accuracy <= accuracies[-1]:
        return None
    return float(np.exp(np.interp(accuracy, accuracies, np.log(rates))))


def gain_curve(reference: Curve, test: Curve) -> tuple[list[float], list[float]]:
    """``test``'s accuracy gain over ``reference`` across the rates both cover, at every knot of
    either front (the gain is linear in log-rate between them, see :func:`lowest_gain`):
    (rates, gains); empty lists when the rates do not overlap."""
    rates_ref, _ = _monotone(reference, "reference")
    rates_test, _ = _monotone(test, "test")
    low = max(rates_ref[0], rates_test[0])
    high = min(max(reference.rates), max(test.rates))
    if low > high:
        return [], []
    knots = sorted({low, high, *(r for r in (*rates_ref, *rates_test) if low < r < high)})
    gains = [accuracy_at_rate(test, r) - accuracy_at_rate(reference, r) for r in knots]
    return [float(r) for r in knots], gains


def lowest_gain(reference: Curve, test: Curve) -> tuple[float, float] | None:
    """Smallest accuracy gain of ``test`` over ``reference`` across the rates both curves
    cover, and the rate where it lies: ``(gain, rate)``; None when the rates do not overlap.

    Both read-offs are linear in log-rate between their points (flat past a frontier's last
    point), so their difference is too, and its minimum lies at a point of either curve or at
    an end of the shared range: the gain is checked at exactly those rates."""
    rates, gains = gain_curve(reference, test)
    if not rates:
        return None
    return min(zip(gains, rates, strict=True))


def shared_range(anchor: Curve, test: Curve) -> tuple[float, float]:
    """The accuracy range both frontiers cover (low > high when they do not overlap)."""
    _, a = _monotone(anchor, "anchor")
    _, t = _monotone(test, "test")
    return max(a[0], t[0]), min(a[-1], t[-1])


def overlap(anchor: Curve, test: Curve) -> float:
    """Shared accuracy range of the two frontiers, as a fraction of the smaller range."""
    _, a = _monotone(anchor, "anchor")
    _, t = _monotone(test, "test")
    low, high = shared_range(anchor, test)
    return max(0.0, high - low) / min(a[-1] - a[0], t[-1] - t[0])


def bd_rate(anchor: Curve, test: Curve) -> float:
    """Bjontegaard delta rate (percent; negative = ``test`` needs fewer bits) with accuracy as
    the metric, PCHIP interpolation (``bjontegaard`` package) over the two Pareto frontiers.

    Warns (``UserWarning``) when the frontiers share less than half their accuracy range."""
    rate_a, acc_a = _monotone(anchor, "anchor")
    rate_t, acc_t = _monotone(test, "test")
    shared = overlap(anchor, test)
    if shared <= 0:
        raise InvalidInputError(
            f"BD-rate: accuracy ranges of {anchor.label!r} and {test.label!r} do not overlap"
        )
    if shared < MIN_OVERLAP:
        warnings.warn(
            f"BD-rate {test.label!r} vs {anchor.label!r}: the curves share only "
            f"{100 * shared:.0f}% of their accuracy range",
            stacklevel=2,
        )
    import bjontegaard  # scipy and matplotlib: only where a BD-rate is asked for

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(
            bjontegaard.bd_rate(
                rate_a,
                acc_a,
                rate_t,
                acc_t,
                method="pchip",
                require_matching_points=False,
                min_overlap=0,
            )
        )


def or_none(function, *args):  # a read-off that a curve may not cover is None
    try:
        return function(*args)
    except InvalidInputError:
        return None
