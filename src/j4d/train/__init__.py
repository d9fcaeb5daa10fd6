"""Learning tables: configuration, sensitivity-based initialization, the trainer, sweeps."""

from j4d._lazy import by_module, lazy_exports

_EXPORTS = by_module(
    {
        "j4d.analysis.sensitivity": ("Sensitivity", "compute_sensitivity"),
        "j4d.train.config": ("TrainConfig", "parse_init"),
        "j4d.train.trainer": (
            "TrainingDivergedError",
            "TrainResult",
            "initial_tables",
            "train_tables",
        ),
    }
)
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())
