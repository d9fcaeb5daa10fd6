"""The peer methods j4d is measured against, as makers of the same tables JSON: closed-form
designs (DeepN-JPEG from the images' DCT statistics, OptS from the model's sensitivity)."""

from j4d.baselines.deepn import DeepNMap, deepn_tables
from j4d.baselines.opts import RateDistortion, opts_tables
from j4d.baselines.statistics import CoefficientStatistics, coefficient_statistics

__all__ = [
    "CoefficientStatistics",
    "DeepNMap",
    "RateDistortion",
    "coefficient_statistics",
    "deepn_tables",
    "opts_tables",
]
