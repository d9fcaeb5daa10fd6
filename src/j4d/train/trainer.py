"""Learning quantization tables for frozen classifiers (METHOD.md section 5).

Objective per mini-batch: ``mean (or max) over models of task_loss(model(codec(x)), label)
+ lam * estimated_bpp`` (task loss: cross-entropy, or distillation from the model's output on
the original, see :mod:`j4d.tasks.objective`), minimized by Adam over the 128 table entries,
which are clipped to [1, 255] after every update (so before every forward pass). After each
epoch the current integer tables are measured on real files of a validation slice.

A run directory holds everything needed to continue: ``checkpoint.pt`` (tables, Adam state,
position in the epoch, history) is written atomically every ``checkpoint_every`` steps, at the
end of every epoch and on Ctrl-C, and ``--resume`` continues from it exactly: the batch order
and the augmentation draws depend only on (seed, epoch, index). Under torchrun each global
batch is shared out over the processes (:mod:`j4d.train.distributed`).
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, default_collate
from tqdm.auto import tqdm

from j4d.analysis.sensitivity import Sensitivity, compute_sensitivity
from j4d.codec import JPEGCodec
from j4d.codec.kernels import compiling
from j4d.data.folders import resize_side
from j4d.encoders.reference import mozjpeg_quant_tables
from j4d.errors import InvalidInputError, J4DError, warn
from j4d.evaluation.points import metric_columns
from j4d.evaluation.realfile import evaluate_tables, load_split, reference_predictions
from j4d.models import model_name, model_view, models_device
from j4d.tables import MAX_DEADZONE, MAX_STEP, MIN_STEP, QuantTables
from j4d.tasks import Task, describe_metric, task_of
from j4d.tasks.objective import task_loss
from j4d.train.config import TrainConfig, parse_init
from j4d.train.distributed import Processes
from j4d.train.methods import create_method
from j4d.utils.faults import fault_point
from j4d.utils.files import atomic_write_bytes, atomic_write_csv, atomic_write_text

CHECKPOINT = "checkpoint.pt"
RUN_CONFIG = "config.json"
HISTORY = "history.csv"
TABLES = "tables.json"


class TrainingDivergedError(J4DError):
    """The objective or its gradient stopped being finite."""


@dataclass
class TrainResult:
    tables: QuantTables
    history: list[dict[str, Any]]
    run_dir: Path | None = None


_SUMS = ("task", "ce", "bpp", "n")


@dataclass
class _State:
    epoch: int = 0  # epochs completed
    batch: int = 0  # batches of the current epoch completed
    step: int = 0
    sums: dict[str, float] = field(default_factory=lambda: dict.fromkeys(_SUMS, 0.0))
    history: list[dict[str, Any]] = field(default_factory=list)


def initial_tables(
    config: TrainConfig,
    models: Sequence[nn.Module],
    dataset: Dataset,
    sensitivity: Sensitivity | None = None,
    progress: bool = False,
) -> QuantTables:
    """The starting tables ``config.init`` asks for (measuring the sensitivity if needed)."""
    kind, value = parse_init(config.init)
    if kind == "tables":
        # the steps only: the file's own provenance (lambda, encoder, dead zones) is its run's
        start = QuantTables.load(value)
        return QuantTables(start.luma, start.chroma, meta={"init": config.init})
    if kind == "qf":
        return QuantTables.from_quality(int(value)).with_meta(init=config.init)
    if kind == "mozjpeg":
        return mozjpeg_quant_tables(int(value)).with_meta(init=config.init)
    if sensitivity is None:
        sensitivity = compute_sensitivity(
            models, dataset, config.sensitivity_images, progress=progress
        )
    return sensitivity.initial_tables(float(value))


def _epoch_batches(size: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    state = np.random.SeedSequence([seed, epoch]).generate_state(1)[0]
    order = torch.randperm(size, generator=torch.Generator().manual_seed(int(state))).tolist()
    return [order[start : start + batch_size] for start in range(0, size, batch_size)]


class Trainer:
    """One training run; :func:`train_tables` is the usual entry point."""

    def __init__(
        self,
        models: Sequence[nn.Module],
        train_set: Dataset,
        config: TrainConfig,
        tables: QuantTables,
        val_set: Dataset | None = None,
        run_dir: Path | None = None,
        progress: bool = True,
        workers: int = 0,
        processes: Processes | None = None,
    ) -> None:
        self.models = list(models)
        self.train_set = train_set
        self.config = config
        self.processes = processes or Processes()
        self.run_dir = run_dir
        self.progress = progress and self.processes.main
        self.workers = workers
        # Everything runs where the (first) model's parameters are.
        self.device = models_device(self.models)
        self.task = task_of(self.models[0])
        self.codec = JPEGCodec(
            tables,
            config.make_softness(),
            mode=config.quantizer,
            learn_tables=True,
            deadzone=config.deadzone,
        ).to(self.device)
        self.method = create_method(config.method).to(self.device)
        self.method.pool = self.processes if self.processes.several else None
        # the tables' group (and the dead zones', scaled) follow the lr schedule; a method's
        # own rate model keeps its lr
        groups = [{"params": [self.codec.tables], "scheduled": True}]
        if self.codec.deadzone is not None:
            scale = config.deadzone_lr / config.lr
            groups.append({"params": [self.codec.deadzone], "scheduled": True, "scale": scale})
        self.optimizer = torch.optim.Adam(
            groups + [group | {"scheduled": False} for group in self.method.param_groups()],
            lr=config.lr,
        )
        auxiliary = self.method.auxiliary_groups()
        self.auxiliary_optimizer = torch.optim.Adam(auxiliary) if auxiliary else None
        self.state = _State()
        validating = val_set is not None and self.processes.main
        self.validation = load_split(val_set) if validating else None
        self.references = (
            reference_predictions(self.models, self.validation[0]) if self.validation else None
        )

    # -- checkpoints -------------------------------------------------------------------------
    def checkpoint_path(self) -> Path | None:
        return self.run_dir / CHECKPOINT if self.run_dir is not None else None

    def save_checkpoint(self) -> None:
        path = self.checkpoint_path()
        if path is None or not self.processes.main:
            return
        buffer = io.BytesIO()
        torch.save(
            {
                "config": self.config.as_dict(),
                "tables": self.codec.tables.detach().clone(),
                "deadzone": (
                    None if self.codec.deadzone is None else self.codec.deadzone.detach().clone()
                ),
                "optimizer": self.optimizer.state_dict(),
                "method": self.method.state_dict(),
                "auxiliary_optimizer": (
                    self.auxiliary_optimizer.state_dict() if self.auxiliary_optimizer else None
                ),
                "state": self.state.__dict__,
            },
            buffer,
        )
        atomic_write_bytes(path, buffer.getvalue())
        fault_point("checkpoint")

    def load_checkpoint(self, saved: dict[str, Any], path: Path) -> None:
        """Continue from ``saved`` (see :func:`read_checkpoint`), made with these settings."""
        config = TrainConfig.from_dict(saved["config"])
        if not config.same_run(self.config):
            raise InvalidInputError(
                "checkpoint was made with other settings (only --epochs may change on resume)",
                path,
            )
        with torch.no_grad():
            self.codec.tables.copy_(saved["tables"])
            if self.codec.deadzone is not None:
                self.codec.deadzone.copy_(saved["deadzone"])
        self.optimizer.load_state_dict(saved["optimizer"])
        self.method.load_state_dict(saved.get("method", {}))
        if self.auxiliary_optimizer is not None:
            self.auxiliary_optimizer.load_state_dict(saved["auxiliary_optimizer"])
        self.state = _State(**saved["state"])
        # checkpoints from before the task loss was a setting summed the cross-entropy only
        self.state.sums.setdefault("task", self.state.sums["ce"])

    # -- training ----------------------------------------------------------------------------
    def objective(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(objective, task loss, mean cross-entropy, estimated bpp) of one batch."""
        images = images.to(self.device, torch.float32)
        labels = labels.to(self.device)
        reconstruction, bpp = self.method(self.codec, images)
        task, ce = task_loss(
            self.models,
            reconstruction,
            images,
            labels,
            self.config.task_loss,
            self.config.temperature,
            self.config.model_pooling,
            view=model_view if self.config.scale > 1 else None,
        )
        return task + self.config.lam * bpp, task, ce, bpp

    def _parameters(self) -> list[nn.Parameter]:
        return [p for group in self.optimizer.param_groups for p in group["params"]]

    def _step(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> None:
        """One Adam step on a global batch of ``batch_size`` images, of which this process
        holds ``images`` (all of them in one process)."""
        objective, task, ce, bpp = self.objective(images, labels)
        n = len(labels)
        # the totals over the processes of n x (objective, task, ce, bpp), and n
        local = torch.stack([objective, task, ce, bpp]).detach() * n
        totals = [*self.processes.total(local).tolist(), batch_size]
        where = f"epoch {self.state.epoch + 1}, step {self.state.step + 1}"
        if not math.isfinite(totals[0]):
            self._diverged(f"objective is {totals[0] / batch_size} at {where}")
        share = n / batch_size
        rate_share = 1 / self.processes.world if self.method.pools_marginals else share
        self.optimizer.zero_grad(set_to_none=True)
        (share * task + self.config.lam * rate_share * bpp).backward()
        self.processes.sum_gradients(self._parameters())
        if not bool(torch.isfinite(self.codec.tables.grad).all()):
            self._diverged(f"gradient of the tables is not finite at {where}")
        self._updating = True
        for group in self.optimizer.param_groups:
            if group.get("scheduled", True):  # checkpoints from before the key: tables only
                rate = self.config.learning_rate(self.state.step, self._total_steps())
                group["lr"] = rate * group.get("scale", 1.0)
        self.optimizer.step()
        auxiliary = self.method.auxiliary_loss()
        if auxiliary is not None and self.auxiliary_optimizer is not None:
            self.auxiliary_optimizer.zero_grad(set_to_none=True)
            # a function of the rate model's parameters alone, the same in every process: no
            # reduction (summing would count it N times)
            auxiliary.backward()
            self.auxiliary_optimizer.step()
        with torch.no_grad():
            self.codec.tables.clamp_(MIN_STEP, MAX_STEP)
            if self.codec.deadzone is not None:
                self.codec.deadzone.clamp_(0.0, MAX_DEADZONE)
        sums = self.state.sums
        for key, total in zip(("task", "ce", "bpp", "n"), totals[1:], strict=True):
            sums[key] += total
        self.state.batch += 1
        self.state.step += 1
        self._updating = False
        fault_point("step")

    def _total_steps(self) -> int:
        per_epoch = math.ceil(len(self.train_set) / self.config.batch_size)  # type: ignore[arg-type]
        return per_epoch * self.config.epochs

    def _diverged(self, message: str) -> None:
        path = self.checkpoint_path()
        kept = f"; the last good checkpoint is {path}" if path and path.exists() else ""
        raise TrainingDivergedError(f"training stopped: {message}{kept} (try a smaller --lr)")

    def validate(self) -> dict[str, Any]:
        if self.validation is None:
            return {}
        images, labels = self.validation
        fault_point("validation")
        points = evaluate_tables(
            self.models, images, labels, self.codec.quant_tables(), references=self.references
        )
        row: dict[str, Any] = {
            "val_scan_bpp": points[0].scan_bpp,
            "val_file_bpp": points[0].file_bpp,
        }
        return row | metric_columns(points, self.models, prefix="val_")

    def _finish_epoch(self, started: float) -> None:
        sums = self.state.sums
        n = max(sums["n"], 1.0)
        row = {
            "epoch": self.state.epoch + 1,
            "step": self.state.step,
            "cross_entropy": sums["ce"] / n,
            "task_loss": sums["task"] / n,
            "estimated_bpp": sums["bpp"] / n,
            "objective": (sums["task"] + self.config.lam * sums["bpp"]) / n,
            **self.validate(),
            "seconds": round(time.perf_counter() - started, 2),
        }
        self.state.history.append(row)
        self.state.epoch += 1
        self.state.batch = 0
        self.state.sums = dict.fromkeys(_SUMS, 0.0)
        fault_point("epoch-end")

    def run(self) -> TrainResult:
        with compiling():  # a training loop: compiling the codec's kernels pays
            return self._run()

    def _run(self) -> TrainResult:
        if not self.state.history and self.state.step == 0:
            self.state.history.append({"epoch": 0, "step": 0, **self.validate()})
        # also on resume: a kill between a checkpoint and its history row would lose the row
        self._write_history()
        self._updating = False
        try:
            self._run_epochs()
        except KeyboardInterrupt:
            if not self._updating:
                self.save_checkpoint()
            if self.run_dir is not None:
                tqdm.write(f"j4d: checkpoint in {self.run_dir}; continue with --resume")
            raise
        return self._result()

    def _run_epochs(self) -> None:
        while self.state.epoch < self.config.epochs:
            self._run_epoch()
            self.save_checkpoint()
            self._write_history()

    def _run_epoch(self) -> None:
        epoch = self.state.epoch
        if hasattr(self.train_set, "set_epoch"):
            self.train_set.set_epoch(epoch)
        batches = _epoch_batches(
            len(self.train_set),
            self.config.batch_size,
            self.config.seed,
            epoch,  # type: ignore[arg-type]
        )
        self.processes.check_batches(len(batch) for batch in batches)
        if self.state.step == 0:  # a method's own rate model sees the whole first batch
            self.method.begin(
                self.codec,
                lambda: default_collate([self.train_set[i] for i in batches[0]])[0].to(
                    self.device, torch.float32
                ),
            )
        remaining = batches[self.state.batch :]
        loader = DataLoader(
            self.train_set,
            batch_sampler=[self.processes.shard(batch) for batch in remaining],
            num_workers=self.workers,
        )
        started = time.perf_counter()
        bar = tqdm(
            loader,
            total=len(batches),
            initial=self.state.batch,
            unit="batch",
            desc=f"epoch {epoch + 1}/{self.config.epochs}",
            disable=not self.progress,
            leave=False,
        )
        for batch, (images, labels) in zip(remaining, bar, strict=True):
            self._step(images, labels, len(batch))
            sums = self.state.sums
            bar.set_postfix(
                loss=f"{sums['task'] / sums['n']:.3f}", bpp=f"{sums['bpp'] / sums['n']:.3f}"
            )
            if self.state.step % self.config.checkpoint_every == 0:
                self.save_checkpoint()
        bar.close()
        self._finish_epoch(started)
        if self.progress:
            tqdm.write(_describe(self.state.history[-1], self.task))

    # -- outputs -----------------------------------------------------------------------------
    def _write_history(self) -> None:
        if self.run_dir is not None and self.processes.main:
            atomic_write_csv(self.run_dir / HISTORY, self.state.history)

    def _result(self) -> TrainResult:
        last = self.state.history[-1] if self.state.history else {}
        meta: dict[str, Any] = {
            "method": self.config.method,
            "lambda": self.config.lam,
            "init": self.config.init,
            "alpha": self.config.describe_softness(),
            "task_loss": self.config.task_loss,
            "epochs": self.state.epoch,
            "models": [model_name(m) for m in self.models],
        }
        if self.config.scale > 1:
            meta.update(scale_meta(self.config.scale, self.models[0]))
        primary = self.task.primary
        if f"val_{primary}" in last:
            meta["validation"] = {
                "images": len(self.validation[1]) if self.validation else 0,
                primary: last[f"val_{primary}"],
                "scan_bpp": last["val_scan_bpp"],
                "file_bpp": last["val_file_bpp"],
            }
        tables = self.codec.quant_tables(meta)
        if self.run_dir is not None and self.processes.main:
            tables.save(self.run_dir / TABLES)
            tables.save(self.run_dir / "tables.txt")
            _plot_tables(tables, self.run_dir / "tables.png")
        return TrainResult(tables, list(self.state.history), self.run_dir)


def scale_meta(scale: float, model: nn.Module) -> dict[str, Any]:
    """What a tables file learned at ``scale`` records: the scale (stored short side over the
    model's resize side) and the view its files were judged through (``model``'s short-side
    resize and centre crop, the stored short side they stand for)."""
    size = int(getattr(model, "input_size", 0) or 0)
    resize = resize_side(size) if size else 0
    view = {"resize": resize, "crop": size, "stored_short_side": round(scale * resize)}
    return {"scale": float(scale), "view": view}


def _plot_tables(tables: QuantTables, path: Path) -> None:
    from j4d.utils.plots import heatmaps

    array = tables.to_array()
    meta = tables.meta
    title = f"lambda {meta.get('lambda')}, init {meta.get('init')}, {meta.get('alpha')}"
    heatmaps([array[0], array[1]], ["luma", "chroma"], [path], suptitle=title)


def _describe(row: dict[str, Any], task: Task) -> str:
    text = (
        f"epoch {row['epoch']}: task loss {row['task_loss']:.4f} "
        f"(cross-entropy {row['cross_entropy']:.4f}), estimated {row['estimated_bpp']:.3f} bpp"
    )
    if f"val_{task.primary}" in row:
        text += (
            f"; real files: {describe_metric(task, row[f'val_{task.primary}'])}, "
            f"{row['val_scan_bpp']:.3f} scan bpp"
        )
    return text


def train_tables(
    models: nn.Module | Sequence[nn.Module],
    train_set: Dataset,
    config: TrainConfig | None = None,
    val_set: Dataset | None = None,
    run_dir: str | Path | None = None,
    resume: bool = False,
    sensitivity: Sensitivity | None = None,
    progress: bool = True,
    workers: int = 0,
    description: dict[str, Any] | None = None,
    processes: Processes | None = None,
) -> TrainResult:
    """Learn tables for ``models`` (frozen classifiers taking RGB in [0, 255]; their losses are
    averaged: universal tables) on ``train_set`` ((3, H, W) images in [0, 255], labels).

    ``val_set`` is measured on real files after each epoch. With ``run_dir`` the run writes
    ``config.json``, ``history.csv``, ``checkpoint.pt`` and the final ``tables.json`` /
    ``tables.txt`` / ``tables.png``; ``resume`` continues the checkpoint found there.
    ``description`` (models, data) is stored in ``config.json`` beside the settings (key
    ``settings``, a :class:`TrainConfig`). With ``processes`` (torchrun) each process trains on
    its shard of every batch and process 0 alone writes."""
    config = config or TrainConfig()
    models = [models] if isinstance(models, nn.Module) else list(models)
    if not models:
        raise InvalidInputError("no model to train tables for")
    if len(train_set) == 0:  # type: ignore[arg-type]
        raise InvalidInputError("the training set is empty")
    for model in models:
        model.eval().requires_grad_(False)
    path = Path(run_dir) if run_dir is not None else None
    checkpoint = path / CHECKPOINT if path is not None else None
    if checkpoint is not None and checkpoint.exists() and not resume:
        raise InvalidInputError("run directory holds a run already (use --resume)", path)
    saved = read_checkpoint(checkpoint) if resume and checkpoint is not None else None
    tables = (
        QuantTables.from_quality(50)
        if saved is not None
        else initial_tables(config, models, train_set, sensitivity, progress)
    )
    processes = processes or Processes()
    trainer = Trainer(
        models, train_set, config, tables, val_set, path, progress, workers, processes
    )
    writing = path is not None and processes.main
    if saved is not None:
        trainer.load_checkpoint(saved, checkpoint)  # type: ignore[arg-type]
    elif writing:
        path.mkdir(parents=True, exist_ok=True)  # type: ignore[union-attr]
        tables.save(path / "initial_tables.json")  # type: ignore[operator]
    if writing:  # rewritten on resume: --epochs may have grown
        record = {
            **(description or {}),
            "settings": config.as_dict(),
            # how many processes trained it, at its start and at each resume (torchrun)
            "processes": [*_processes_so_far(path / RUN_CONFIG, saved), processes.world],
        }
        atomic_write_text(path / RUN_CONFIG, json.dumps(record, indent=1) + "\n")
    return trainer.run()


_CHECKPOINT_KEYS = ("config", "tables", "optimizer", "state")


def _processes_so_far(config_path: Path, saved: dict[str, Any] | None) -> list[int]:
    """The process counts an earlier ``config.json`` of this run recorded (a fresh run: none)."""
    if saved is None or not config_path.exists():
        return []
    try:
        counts = json.loads(config_path.read_text()).get("processes", [])
    except (OSError, ValueError):
        return []
    return [int(n) for n in counts] if isinstance(counts, list) else []


def read_checkpoint(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``; None when there is none, or when it is damaged (truncated,
    not a checkpoint), which is reported in one line: the run then starts again rather than
    continue from something it cannot trust."""
    if not path.exists():
        return None
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
        if not (isinstance(saved, dict) and all(key in saved for key in _CHECKPOINT_KEYS)):
            raise ValueError("not a j4d checkpoint")
        TrainConfig.from_dict(saved["config"])
    except KeyboardInterrupt:
        raise
    except Exception as error:  # a damaged file raises whatever its bytes lead the reader to
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        warn(f"damaged checkpoint ({reason}); the run starts again", path)
        return None
    return saved


#: Description entries that tell the images a run learned from apart (folders by name only,
#: so a committed run still matches where the data lives elsewhere).
_DATA_ENTRIES = (
    "models",
    "input_size",
    "augment",
    "train_images",
    "val_images",
    "unlabeled_images",
    "unlabeled_zoom",
)


def data_fingerprint(description: dict[str, Any]) -> dict[str, Any]:
    """What in a run's ``description`` (see :func:`train_tables`) decides its data."""
    fingerprint = {key: description[key] for key in _DATA_ENTRIES if key in description}
    if "train" in description:
        fingerprint["train"] = Path(description["train"]).name
    if "unlabeled" in description:
        fingerprint["unlabeled"] = [Path(folder).name for folder in description["unlabeled"]]
    return fingerprint


def saved_run(run_dir: str | Path) -> tuple[TrainConfig, dict[str, Any]] | None:
    """(settings, :func:`data_fingerprint`) a run directory was trained with, from one read of
    its ``config.json``; None for runs written before it kept the settings."""
    path = Path(run_dir) / RUN_CONFIG
    try:
        record = json.loads(path.read_text())
        if not (isinstance(record, dict) and "settings" in record):
            return None
        return TrainConfig.from_dict(record["settings"]), data_fingerprint(record)
    except (OSError, ValueError, TypeError, InvalidInputError):
        raise InvalidInputError("cannot read the run's settings", path) from None
