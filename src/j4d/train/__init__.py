"""Learning tables: configuration, sensitivity-based initialization, the trainer, sweeps."""

from j4d.analysis.sensitivity import Sensitivity, compute_sensitivity
from j4d.train.config import TrainConfig, parse_init
from j4d.train.trainer import TrainingDivergedError, TrainResult, initial_tables, train_tables

__all__ = [
    "Sensitivity",
    "TrainConfig",
    "TrainResult",
    "TrainingDivergedError",
    "compute_sensitivity",
    "initial_tables",
    "parse_init",
    "train_tables",
]
