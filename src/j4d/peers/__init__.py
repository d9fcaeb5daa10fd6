"""The peer methods j4d is measured against, as makers of the same tables JSON: closed-form
designs (DeepN-JPEG from the images' DCT statistics, OptS from the model's sensitivity), and
the pieces of the trained ones (AutoJPEG's tanh rounding, Google's cubic rounding; their
rate models live in :mod:`j4d.rate`, their training in :mod:`j4d.train.methods`)."""

from j4d.peers.deepn import DeepNMap, deepn_tables
from j4d.peers.opts import RateDistortion, opts_tables
from j4d.peers.statistics import CoefficientStatistics, coefficient_statistics

__all__ = [
    "CoefficientStatistics",
    "DeepNMap",
    "RateDistortion",
    "coefficient_statistics",
    "deepn_tables",
    "opts_tables",
]
