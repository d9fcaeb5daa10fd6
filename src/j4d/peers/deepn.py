r"""DeepN-JPEG (Liu et al., DAC 2018): quantization steps from the images' DCT statistics alone.

A frequency whose coefficients vary more (larger standard deviation :math:`\delta` over the
blocks of the training images) is taken to matter more to the network and gets a finer step,
through the authors' piece-wise linear map

.. math::

    Q(\delta) = \max\big(Q_{min},\ \begin{cases}
        a - k_1 \delta & \delta \le T_1 \\
        b - k_2 \delta & T_1 < \delta \le T_2 \\
        c - k_3 \delta & \delta > T_2
    \end{cases}\big)

with :math:`a = 255, b = 80, c = 240, T_1 = 20, T_2 = 60, k_1 = 9.75, k_2 = 1, k_3 = 3,
Q_{min} = 5` (the values of the authors' public implementation; the map jumps from 20 up to 60
at :math:`T_2`, as theirs does). The model plays no part. j4d scales the map by a factor to
cover a range of rates: steps = clip(round(scale * Q(delta)), 1, 255). The luma table takes
Y's deviations; the shared chroma table the pooled deviation of Cb and Cr
(:math:`\sqrt{(\delta_{Cb}^2 + \delta_{Cr}^2) / 2}`), since baseline JPEG gives both one table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from j4d.errors import InvalidInputError
from j4d.peers.statistics import CoefficientStatistics
from j4d.tables import MAX_STEP, MIN_STEP, QuantTables


@dataclass(frozen=True)
class DeepNMap:
    """The piece-wise linear map from a frequency's standard deviation to its step."""

    a: float = 255.0
    b: float = 80.0
    c: float = 240.0
    t1: float = 20.0
    t2: float = 60.0
    k1: float = 9.75
    k2: float = 1.0
    k3: float = 3.0
    q_min: float = 5.0

    def __call__(self, std: np.ndarray) -> np.ndarray:
        std = np.asarray(std, dtype=np.float64)
        steps = np.where(
            std <= self.t1,
            self.a - self.k1 * std,
            np.where(std <= self.t2, self.b - self.k2 * std, self.c - self.k3 * std),
        )
        return np.maximum(steps, self.q_min)


def deepn_tables(
    statistics: CoefficientStatistics, scale: float = 1.0, mapping: DeepNMap = DeepNMap()
) -> QuantTables:
    """DeepN-JPEG tables from ``statistics`` (see the module), steps multiplied by ``scale``."""
    if not scale > 0:
        raise InvalidInputError(f"DeepN-JPEG scale must be > 0, got {scale}")
    luma_std = statistics.std[0]
    chroma_std = np.sqrt(np.square(statistics.std[1:]).mean(axis=0))
    tables = [
        np.clip(np.rint(scale * mapping(std)), MIN_STEP, MAX_STEP) for std in (luma_std, chroma_std)
    ]
    meta = {"method": "deepn", "scale": scale, "images": statistics.images}
    return QuantTables(*(tuple(int(v) for v in table) for table in tables), meta)
