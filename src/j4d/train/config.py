"""Training hyper-parameters as a plain dataclass (saved as the run's ``config.json``)."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from j4d.errors import InvalidInputError
from j4d.tasks.names import MODEL_POOLINGS, TASK_LOSSES

if TYPE_CHECKING:  # torch loads only when a codec is made, not for --help
    from j4d.codec.quantize import Softness

#: Training forward pass: the soft quantizer (METHOD.md), or plain rounding with its gradient.
QUANTIZERS = ("soft", "straight_through")
#: What codes a batch in training (:mod:`j4d.train.methods`): j4d's own, or a peer's.
TRAINING_METHODS = ("j4d", "autojpeg", "google")
#: Learning rate over the run: constant, or cosine decay from ``lr`` to 0 at the last step.
LR_SCHEDULES = ("constant", "cosine")
#: alpha = value / q^2 (``hardness``) or alpha = value (``fixed``).
SOFTNESS_MODES = ("hardness", "fixed")
_INIT = re.compile(r"^(qf|mozjpeg|sensitivity):(\d+(?:\.\d+)?)$")


def parse_init(spec: str) -> tuple[str, float | Path]:
    """``qf:Q`` (default tables at IJG quality Q, 1..100), ``mozjpeg:Q`` (the tables mozjpeg
    writes at quality Q), ``sensitivity:F`` (steps from the model's sensitivity, scaled by
    F > 0) or ``tables:PATH`` (the steps of a tables file, e.g. a zoo entry or another
    model's run) -> (kind, number or path). The file is read when the run starts."""
    spec = spec.strip()
    if spec.startswith("tables:"):
        path = spec[len("tables:") :]
        if not path:
            raise InvalidInputError("initialization 'tables:PATH' needs a path, got 'tables:'")
        return "tables", Path(path)
    match = _INIT.match(spec)
    if not match:
        raise InvalidInputError(
            "initialization must be 'qf:Q', 'mozjpeg:Q', 'sensitivity:F' or 'tables:PATH', "
            f"got {spec!r}"
        )
    kind, number = match.group(1), float(match.group(2))
    if kind in ("qf", "mozjpeg") and not (number == int(number) and 1 <= number <= 100):
        raise InvalidInputError(f"initial quality factor must be an integer 1..100, got {spec!r}")
    if kind == "sensitivity" and number <= 0:
        raise InvalidInputError(f"sensitivity scale factor must be > 0, got {spec!r}")
    return kind, number


#: The settings that take one of a few names, and those names.
_CHOICES = {
    "lr_schedule": LR_SCHEDULES,
    "task_loss": TASK_LOSSES,
    "model_pooling": MODEL_POOLINGS,
    "method": TRAINING_METHODS,
    "quantizer": QUANTIZERS,
}


@dataclass(frozen=True)
class TrainConfig:
    """What a training run optimizes and how.

    ``lam`` weighs the estimated bpp against the task loss (``task_loss``: cross-entropy, or
    distillation from the model's output on the original at ``temperature``); ``softness`` is
    ``hardness`` (alpha = value / q^2) or ``fixed`` (alpha = value, the paper's 100); ``init``
    is ``qf:Q``, ``mozjpeg:Q``, ``sensitivity:F`` or ``tables:PATH``."""

    lam: float = 1.0
    init: str = "qf:50"
    # j4d, or a peer re-implemented on the same tables (quantizer and softness are j4d's own)
    method: str = "j4d"
    # Measured on CIFAR-10 / ResNet-20 (results/): batch 32 left the tables noisy on 32x32
    # images (16 blocks each feed the rate estimate's histograms); batch 128 trained well, and
    # cosine decay from lr 3 gave a better frontier (BD-rate -23.9 %) than constant lr 1.5
    # (-19.4 %) or cosine from 1.5 (-19.0 %, the tables stayed nearer their init).
    epochs: int = 5
    batch_size: int = 128
    lr: float = 3.0
    lr_schedule: str = "cosine"
    softness: str = "hardness"
    softness_value: float = 10.0
    quantizer: str = "soft"
    # Distillation trained better frontiers than cross-entropy on CIFAR-10 / ResNet-20
    # (results/cifar10-resnet20, -distill-*): the model has memorized its training images, so
    # their labels say little about what compression costs on other images. T = 10 beat T = 4
    # at high rates; T = 30 was no better.
    task_loss: str = "distillation"
    temperature: float = 10.0
    model_pooling: str = "mean"  # several models' task losses: their mean, or the worst of them
    # the stored photo's short side over the model's resize side (256 for a 224 input): above
    # 1 the codec runs on crops of photos as stored and each model reads the decoded crop
    # through its own view (short-side resize, centre crop) before the task loss
    scale: float = 1.0
    seed: int = 0
    # learn a dead zone per channel and frequency with the tables (the deadzone encoder);
    # its own learning rate, under the same schedule: thetas live in [0, 1/2], steps in [1, 255]
    deadzone: bool = False
    deadzone_lr: float = 0.01
    checkpoint_every: int = 50  # steps
    sensitivity_images: int = 1000

    def __post_init__(self) -> None:
        parse_init(self.init)
        if self.lam < 0:
            raise InvalidInputError(f"lambda must be >= 0, got {self.lam}")
        for name in ("epochs", "batch_size", "checkpoint_every", "sensitivity_images"):
            if getattr(self, name) < 1:
                raise InvalidInputError(f"{name} must be >= 1, got {getattr(self, name)}")
        if not self.lr > 0:
            raise InvalidInputError(f"learning rate must be > 0, got {self.lr}")
        if not self.deadzone_lr > 0:
            raise InvalidInputError(f"dead-zone learning rate must be > 0, got {self.deadzone_lr}")
        self._check_softness()  # as Softness does, without importing torch for --help
        if not self.scale >= 1:
            raise InvalidInputError(f"scale must be >= 1, got {self.scale:g}")
        if self.scale > 1 and parse_init(self.init)[0] == "sensitivity":
            raise InvalidInputError(
                "--init sensitivity:F measures the model on crops of its input size; with "
                "--scale above 1 start from qf:Q, mozjpeg:Q or tables:PATH"
            )
        if not self.temperature > 0:
            raise InvalidInputError(f"temperature must be > 0, got {self.temperature}")
        for name, choices in _CHOICES.items():
            if getattr(self, name) not in choices:
                raise InvalidInputError(
                    f"{name.replace('_', ' ')} must be one of {', '.join(choices)}, "
                    f"got {getattr(self, name)!r}"
                )
        if self.deadzone and self.method != "j4d":
            raise InvalidInputError(f"--deadzone needs --method j4d, got {self.method!r}")

    def _check_softness(self) -> None:
        if self.softness not in SOFTNESS_MODES:
            raise InvalidInputError(
                f"softness must be {' or '.join(map(repr, SOFTNESS_MODES))}, got {self.softness!r}"
            )
        value = float(self.softness_value)
        if not (math.isfinite(value) and value > 0):
            name = "alpha" if self.softness == "fixed" else "hardness"
            raise InvalidInputError(f"{name} must be > 0, got {self.softness_value}")

    def make_softness(self) -> Softness:
        self._check_softness()
        from j4d.codec.quantize import Softness

        return Softness(self.softness, self.softness_value)  # type: ignore[arg-type]

    def describe_softness(self) -> str:
        return self.make_softness().describe()

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInputError(f"unknown training settings: {', '.join(unknown)}")
        # runs saved before these were settings trained at a constant rate on cross-entropy
        return cls(**{"lr_schedule": "constant", "task_loss": "cross_entropy", **values})

    def learning_rate(self, step: int, total_steps: int) -> float:
        """Learning rate of optimizer step ``step`` (0-based) of ``total_steps``."""
        if self.lr_schedule == "constant" or total_steps <= 1:
            return self.lr
        return (
            0.5
            * self.lr
            * (1.0 + math.cos(math.pi * min(step, total_steps - 1) / (total_steps - 1)))
        )

    def same_run(self, other: TrainConfig) -> bool:
        """Whether ``other`` continues this run (only the number of epochs may grow; with a
        cosine schedule that stretches the remaining decay)."""
        mine, theirs = self.as_dict(), other.as_dict()
        mine.pop("epochs"), theirs.pop("epochs")
        return mine == theirs
