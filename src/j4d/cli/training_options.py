"""Options shared by ``j4d train``, ``j4d sweep`` and ``j4d sensitivity``: models, data and
training settings, turned into a :class:`~j4d.train.TrainConfig` and datasets."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from j4d.cli.options import device_option
from j4d.data.root import data_set_name, require_data_root
from j4d.errors import InvalidInputError, warn
from j4d.tasks.names import MODEL_POOLINGS, TASK_LOSSES
from j4d.train.config import (
    LR_SCHEDULES,
    QUANTIZERS,
    SOFTNESS_MODES,
    TRAINING_METHODS,
    TrainConfig,
)

# torch, the data sets and the models load when a command runs, not for its --help
if TYPE_CHECKING:
    from j4d.data.folders import ImageFolderDataset, UnlabeledCrops
    from j4d.data.paired import PairedFolderDataset
    from j4d.models import FrozenModel

_DEFAULTS = TrainConfig()


def _choice(setting: str, choices: tuple[str, ...], help: str) -> Callable[..., Any]:
    """``--setting-name`` choosing among ``choices``, defaulting to :class:`TrainConfig`'s."""
    return click.option(
        f"--{setting.replace('_', '-')}",
        type=click.Choice(list(choices)),
        default=getattr(_DEFAULTS, setting),
        show_default=True,
        help=help,
    )


def _number(setting: str, kind: type, help: str | None = None) -> Callable[..., Any]:
    """``--setting-name`` taking a number, defaulting to :class:`TrainConfig`'s."""
    return click.option(
        f"--{setting.replace('_', '-')}",
        type=kind,
        default=getattr(_DEFAULTS, setting),
        show_default=True,
        help=help,
    )


def training_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """Optimization settings (see :class:`~j4d.train.TrainConfig`)."""
    for option in reversed(
        [
            _choice(
                "method",
                TRAINING_METHODS,
                "j4d, or a peer's codec proxy and rate estimate on the same tables: autojpeg "
                "(tanh rounding, run-length size model) or google (cubic rounding, a learned "
                "density per channel and frequency; needs j4d[peers]).",
            ),
            _number("epochs", int),
            _number(
                "batch_size",
                int,
                "Images per step (small images need more: the rate estimate's histograms "
                "count 8x8 blocks).",
            ),
            _number("lr", float, "Adam learning rate on the table entries."),
            click.option(
                "--deadzone/--no-deadzone",
                default=False,
                show_default=True,
                help="Learn a dead zone per channel and frequency with the tables; their files "
                "are then written by the deadzone encoder.",
            ),
            _number("deadzone_lr", float, "Adam learning rate on the dead zones (in [0, 1/2])."),
            _choice(
                "quantizer",
                QUANTIZERS,
                "Training forward pass: soft quantizer, or rounding with its gradient.",
            ),
            _choice(
                "task_loss",
                TASK_LOSSES,
                "cross_entropy against the labels, or distillation from the model's output on "
                "the uncompressed image.",
            ),
            _number("temperature", float, "Softmax temperature of the distillation loss."),
            _choice(
                "model_pooling",
                MODEL_POOLINGS,
                "How the losses of several models (-m repeated) combine: their mean, or in each "
                "batch the worst of them.",
            ),
            click.option(
                "--scale",
                type=click.FloatRange(min=1),
                default=_DEFAULTS.scale,
                show_default=True,
                help="Learn for photos stored at this scale: short side = SCALE x the side the "
                "model resizes to (256 for a 224 input; 1.5: 384). The codec runs on crops of "
                "the --unlabeled photos at that size (larger ones downscaled, smaller ones left "
                "out) and the model reads each decoded crop through its own resize and centre "
                "crop; the rate is the stored file's.",
            ),
            _choice(
                "lr_schedule", LR_SCHEDULES, "Constant, or cosine decay to 0 at the last step."
            ),
            _choice(
                "softness",
                SOFTNESS_MODES,
                "alpha = H / q^2 (hardness) or alpha = A (fixed, the paper's 100).",
            ),
            click.option(
                "--softness-value",
                type=float,
                default=None,
                help="H for hardness [10], A for fixed [100].",
            ),
            click.option("--seed", type=int, default=0, show_default=True),
            click.option(
                "--val-size",
                type=int,
                default=None,
                help="Training images held out to measure real files after each epoch "
                "[default: 500, or a tenth of a smaller training set].",
            ),
            click.option("--hflip/--no-hflip", default=True, show_default=True),
            click.option(
                "--crop-padding", type=int, default=None, help="Random crop after padding."
            ),
            click.option(
                "--limit",
                type=int,
                default=None,
                help="Use only N training images, taken round-robin over the classes.",
            ),
            _number("checkpoint_every", int, "Steps between checkpoints."),
            click.option(
                "-j",
                "--jobs",
                "workers",
                type=int,
                default=0,
                show_default=True,
                help="Data loader processes; a sweep also codes its test files in this many.",
            ),
            device_option,
        ]
    ):
        function = option(function)
    return function


def make_config(lam: float, init: str, options: dict[str, Any]) -> TrainConfig:
    from j4d.codec.quantize import Softness

    value = options["softness_value"]
    if value is None:
        default = Softness.hardness() if options["softness"] == "hardness" else Softness.fixed()
        value = default.value
    return TrainConfig(
        lam=lam,
        init=init,
        method=options["method"],
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        lr=options["lr"],
        lr_schedule=options["lr_schedule"],
        quantizer=options["quantizer"],
        task_loss=options["task_loss"],
        temperature=options["temperature"],
        model_pooling=options["model_pooling"],
        softness=options["softness"],
        softness_value=value,
        seed=options["seed"],
        deadzone=options["deadzone"],
        deadzone_lr=options["deadzone_lr"],
        checkpoint_every=options["checkpoint_every"],
        scale=options.get("scale", _DEFAULTS.scale),
    )


_VAL_SIZE = 500  # default validation slice, held out of the training folder


@dataclass
class Setup:
    """Models and the training / validation split of one command."""

    models: list[FrozenModel]
    train: ImageFolderDataset | PairedFolderDataset | UnlabeledCrops
    val: ImageFolderDataset | PairedFolderDataset | None  # None: no labeled folder
    data_root: Path
    description: dict[str, Any]


def make_setup(options: dict[str, Any]) -> Setup:
    from j4d.cli.options import labeled_dataset, place_models
    from j4d.data.folders import Augment, UnlabeledCrops, holdout_split
    from j4d.models import create_models

    root = require_data_root(options["data_root"])
    models = place_models(create_models(options["model_specs"], root), options.get("device"))
    data, size = models[0].data, models[0].input_size
    default_train = root / data.train if data.train else None
    train_dir = options["train_dir"] or default_train
    unlabeled_dirs = options.get("unlabeled_dirs") or ()
    if not unlabeled_dirs and not options["train_dir"]:
        unlabeled_dirs = tuple(root / folder for folder in data.unlabeled)
    if train_dir is None and not unlabeled_dirs:
        raise InvalidInputError("nothing to learn from: give --train FOLDER or --unlabeled FOLDER")
    augment = Augment(options.get("hflip", True), options.get("crop_padding"))
    scale = options.get("scale", _DEFAULTS.scale)
    if scale > 1 and not unlabeled_dirs:
        raise InvalidInputError(
            "--scale applies to --unlabeled photos (a --train folder is resized to the model's "
            "input before it is coded)"
        )
    description: dict[str, Any] = {"models": list(options["model_specs"])}
    train: ImageFolderDataset | PairedFolderDataset | UnlabeledCrops | None = None
    val = None
    if train_dir is not None:
        dataset = labeled_dataset(
            root,
            train_dir,
            default_train,
            models[0],
            options.get("resize"),
            options.get("classes_file"),
            options.get("limit"),
            options["seed"],
        )
        val_size = options.get("val_size")
        if val_size is None:
            val_size = min(_VAL_SIZE, len(dataset) // 10)
        train, val = holdout_split(dataset, val_size, options["seed"], augment)
        description.update(train=data_set_name(train_dir), train_images=len(train))
    description.update(
        val_images=len(val) if val is not None else 0,
        input_size=size,
        augment={"hflip": augment.hflip, "crop_padding": augment.crop_padding},
    )
    if unlabeled_dirs:
        if augment.crop_padding:
            raise InvalidInputError(
                "--crop-padding applies to --train images; --unlabeled crops are cut at "
                "random places and scales already"
            )
        train = UnlabeledCrops(
            unlabeled_dirs,
            size,
            options["unlabeled_crops"],
            options["unlabeled_zoom"],
            augment.hflip,
            options["seed"],
            scale,
        )
        if train.too_small:
            warn(
                f"{len(train.too_small)} unlabeled image(s) have a short side below "
                f"{train.stored_side} pixels (scale {scale:g}) and are left out"
            )
        description.update(
            unlabeled=[data_set_name(d) for d in train.roots],
            unlabeled_images=len(train.paths),
            train_images=len(train),
            unlabeled_zoom=options["unlabeled_zoom"],
        )
        if scale > 1:
            description.update(scale=scale, stored_short_side=train.stored_side)
    assert train is not None
    return Setup(models, train, val, root, description)
