"""Options and argument handling shared by several commands."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from j4d.data import DataDefaults, read_class_list
from j4d.encoders.registry import ENCODERS, WITH_STRENGTH, get_encoder
from j4d.errors import InvalidInputError
from j4d.evaluation.defaults import DEFAULT_QUALITIES, DEFAULT_RATES
from j4d.jpegio.images import image_files
from j4d.tables import QuantTables

# Modules that import torch are imported where they are used: these options are read by every
# command, and one-shot commands should not wait for torch unless they need it.
if TYPE_CHECKING:
    from j4d.codec.quantize import Softness
    from j4d.data.folders import ImageFolderDataset
    from j4d.data.paired import PairedFolderDataset, SegmentationClasses
    from j4d.data.testset import TestImages


def softness_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--alpha A`` (fixed alpha, the paper's 100) or ``--hardness H`` (alpha = H / q^2)."""
    function = click.option(
        "--hardness",
        type=float,
        default=None,
        help="Hardness-matched alpha = H / q^2 (softness fixed in units of steps).",
    )(function)
    return click.option(
        "--alpha",
        type=float,
        default=None,
        help="Fixed CPMF scale alpha for every table entry [default: 100].",
    )(function)


def output_folder_option(help_text: str) -> Callable[..., Any]:
    """``-o/--output DIR``, required: the folder a command writes into (``out_dir``)."""
    return click.option(
        "-o",
        "--output",
        "out_dir",
        required=True,
        type=click.Path(path_type=Path, file_okay=False),
        help=help_text,
    )


class EncoderName(click.ParamType):
    """A registry encoder's name, or ``rd-aware@S`` (its strength S)."""

    name = "encoder"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join([*ENCODERS, *(f"{n}@S" for n in WITH_STRENGTH)]) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            return get_encoder(value).name
        except InvalidInputError as error:
            self.fail(str(error), param, ctx)


def encoder_option(help_text: str, multiple: bool = False) -> Callable[..., Any]:
    """``--encoder NAME``: how tables become files (:mod:`j4d.encoders.registry`)."""
    return click.option(
        "--encoder",
        "encoders" if multiple else "encoder",
        type=EncoderName(),
        multiple=multiple,
        default=None,
        help=help_text,
    )


def make_softness(alpha: float | None, hardness: float | None) -> Softness:
    from j4d.codec.quantize import Softness

    if alpha is not None and hardness is not None:
        raise InvalidInputError("give --alpha or --hardness, not both")
    if hardness is not None:
        return Softness.hardness(hardness)
    return Softness.fixed() if alpha is None else Softness.fixed(alpha)


def resolve_tables(tables_path: Path | None, quality: int | None) -> QuantTables:
    if tables_path is not None and quality is not None:
        raise InvalidInputError("give --tables or --qf, not both")
    if tables_path is None and quality is None:
        raise InvalidInputError("give --tables FILE or --qf N")
    return (
        QuantTables.load(tables_path)
        if tables_path is not None
        else QuantTables.from_quality(quality)
    )


def expand_inputs(paths: Iterable[Path], skip: Path | None = None) -> list[tuple[Path, Path]]:
    """(file, output name relative to the output folder) for files and folders of images (with
    several folders, each folder's files under the folder's name); a folder's files inside
    ``skip`` (an output folder nested in it: a rerun must not read its own outputs back as
    inputs) are left out."""
    pairs: list[tuple[Path, Path]] = []
    skipped = skip.resolve() if skip is not None else None
    paths = list(paths)
    several = sum(path.is_dir() for path in paths) > 1
    for path in paths:
        if path.is_dir():
            nested = skipped if skipped != path.resolve() else None  # the same: --replace's
            found = [p for p in image_files(path) if not _inside(p, nested)]
            if not found:
                raise InvalidInputError("folder holds no images", path)
            # several folders: each under its own name, so equal file names do not collide
            base = Path(path.resolve().name) if several else Path()
            pairs += [(p, base / p.relative_to(path).with_suffix(".jpg")) for p in found]
        else:
            pairs.append((path, Path(path.name).with_suffix(".jpg")))
    seen: dict[Path, Path] = {}
    for source, name in pairs:
        if name in seen:
            raise InvalidInputError(
                f"two inputs would both be written as {name}: {seen[name]}", source
            )
        seen[name] = source
    return pairs


def _inside(path: Path, folder: Path | None) -> bool:
    return folder is not None and folder in path.resolve().parents


def parse_list(text: str, kind: type, name: str) -> list:
    try:
        return [kind(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise InvalidInputError(f"{name} must be a comma-separated list, got {text!r}") from None


#: ``--data``: the offline data folder.
data_option = click.option(
    "--data",
    "data_root",
    type=click.Path(path_type=Path),
    default=None,
    help="Data folder [default: ../shared/data].",
)


device_option = click.option(
    "--device",
    default=None,
    help="torch device, e.g. cuda or cpu [default: cuda if available; under torchrun each "
    "process takes the GPU of its local rank].",
)


def place_models(models: list[Any], device: str | None) -> list[Any]:
    """``models`` moved to ``device`` (default: cuda if available; under torchrun with
    several processes, cuda means the GPU of this process's local rank)."""
    import torch

    from j4d.utils.processes import launched_with_several_processes

    device = device or ("cuda" if torch.cuda.is_available() else "cpu")
    if device == "cuda" and launched_with_several_processes():
        device = f"cuda:{os.environ.get('LOCAL_RANK', '0')}"
    try:
        return [model.to(device) for model in models]
    except RuntimeError as error:
        raise InvalidInputError(f"cannot use device {device!r} ({error})") from None


def model_option(help_text: str) -> Callable[..., Any]:
    """``-m/--model`` (repeatable registry name or NAME=WEIGHTS_FILE)."""
    return click.option(
        "-m",
        "--model",
        "model_specs",
        multiple=True,
        default=("resnet20",),
        show_default=True,
        help=f"Registry name or NAME=WEIGHTS_FILE; {help_text}",
    )


def sensitivity_option(help_text: str, multiple: bool = False) -> Callable[..., Any]:
    """``--sensitivity FILE``: a `j4d sensitivity` JSON file (``multiple``: repeatable)."""
    return click.option(
        "--sensitivity",
        "sensitivity_paths" if multiple else "sensitivity_path",
        type=click.Path(path_type=Path, dir_okay=False),
        default=() if multiple else None,
        multiple=multiple,
        help=help_text,
    )


def labeled_folder_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--classes`` and ``--resize``: how the labeled ImageFolder trees are read."""
    for option in reversed(
        [
            click.option(
                "--classes",
                "classes_file",
                type=click.Path(path_type=Path, dir_okay=False),
                default=None,
                help="Class list (line k: class k's folder name, then a tab and anything) that "
                "numbers the folders [default: the model's, e.g. DATA/imagenet-classes.txt; "
                "CIFAR models: the sorted folders].",
            ),
            click.option(
                "--resize",
                default=None,
                callback=_parse_resize,
                help="Short side N before the centre crop, or 'none' (crop only) "
                "[default: 'none' for imagenet-val, which is 227x227; else 256 for 224 inputs].",
            ),
        ]
    ):
        function = option(function)
    return function


def _parse_resize(_ctx: Any, _param: Any, value: str | None) -> int | str | None:
    if value is None:  # not given: nothing to read (and no torch to import for it)
        return None
    from j4d.data.folders import parse_resize

    return parse_resize(value)


def class_list(root: Path, data: DataDefaults, classes_file: Path | None) -> list[str] | None:
    """The class list given, else the model's (None: number the sorted folders)."""
    if classes_file is not None:
        return read_class_list(classes_file)
    return read_class_list(root / data.classes) if data.classes else None


def folder_resize(
    folder: Path, default: Path | None, data: DataDefaults, resize: int | str | None
) -> int | str | None:
    """``--resize`` if given; else the model's preprocessing for its own default folder, and
    the usual resize (short side 256 for 224 inputs) for any other folder."""
    if resize is not None:
        return resize
    same = default is not None and folder.resolve() == default.resolve()
    return data.resize if same else None


def test_split_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--test``, ``--test-size`` and ``--qualities`` (parsed to a list of ints)."""
    for option in reversed(
        [
            click.option(
                "--test",
                "test_dir",
                type=click.Path(path_type=Path),
                default=None,
                help="ImageFolder split to measure on [default: the model's, e.g. "
                "DATA/cifar10/test or DATA/imagenet-val].",
            ),
            click.option(
                "--test-size", type=int, default=None, help="Use N class-balanced test images."
            ),
            click.option(
                "--qualities",
                default=",".join(map(str, DEFAULT_QUALITIES)),
                show_default=True,
                callback=lambda _ctx, _param, text: parse_list(text, int, "--qualities"),
                help="Qualities of default JPEG (and of the other --codec sweeps), same images.",
            ),
        ]
    ):
        function = option(function)
    return function


def _targets(_ctx: Any, _param: Any, text: str | None) -> list[float | str] | None:
    """Comma-separated read-off targets (numbers or qf:Q), see ``parse_target``."""
    from j4d.evaluation.summary import parse_target

    return None if text is None else [parse_target(p) for p in text.split(",") if p.strip()]


def read_off_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--rates`` and ``--accuracies``: where the summary reads the curves off."""
    for option in reversed(
        [
            click.option(
                "--rates",
                default=",".join(f"{r:g}" for r in DEFAULT_RATES),
                show_default=True,
                callback=_targets,
                help="Scan bpp, or qf:Q (default JPEG's own rate at quality Q, e.g. qf:1), at "
                "which the summary reads off accuracy.",
            ),
            click.option(
                "--accuracies",
                default=None,
                callback=_targets,
                help="Accuracy fractions (e.g. 0.85,0.9) or qf:Q (default JPEG's own accuracy "
                "at quality Q, e.g. qf:95) at which the summary reads off scan bpp "
                "[default: 90, 95, 98, 99 % of jpeg's best].",
            ),
        ]
    ):
        function = option(function)
    return function


def segmentation_classes(
    root: Path, model: Any, classes_file: Path | None, folder: Path
) -> SegmentationClasses:
    """The classes file given, else the model's, checked against the model's output."""
    from j4d.data.paired import read_segmentation_classes

    path = classes_file or (root / model.data.classes if model.data.classes else None)
    if path is None:
        raise InvalidInputError("a paired folder needs --classes FILE", folder)
    classes = read_segmentation_classes(path)
    expected = getattr(model.task, "num_classes", None)
    if expected is not None and classes.num_classes != expected:
        raise InvalidInputError(
            f"{classes.num_classes} classes, but the model predicts {expected}", path
        )
    return classes


def labeled_dataset(
    root: Path,
    folder: Path,
    default: Path | None,
    model: Any,
    resize: int | str | None = None,
    classes_file: Path | None = None,
    limit: int | None = None,
    seed: int = 0,
) -> ImageFolderDataset | PairedFolderDataset:
    """A labeled folder for ``model``: paired ``images/`` + ``labels/`` folders as they are,
    an ImageFolder tree preprocessed to the model's input (:func:`folder_resize`) and
    labeled by its class list."""
    from j4d.data.folders import ImageFolderDataset
    from j4d.data.paired import PairedFolderDataset, is_paired_folder

    if is_paired_folder(folder):
        classes = segmentation_classes(root, model, classes_file, folder)
        return PairedFolderDataset(folder, classes, limit=limit, seed=seed)
    data: DataDefaults = model.data
    return ImageFolderDataset(
        folder,
        model.input_size,
        limit=limit,
        resize=folder_resize(folder, default, data, resize),
        classes=class_list(root, data, classes_file),
    )


def load_test_split(
    root: Path,
    test_dir: Path | None,
    model: Any,
    count: int | None,
    resize: int | str | None = None,
    classes_file: Path | None = None,
    own_size: bool = False,
) -> TestImages:
    """The ``--test`` split (default: the ``model``'s test folder under ``root``) as
    :class:`TestImages`: an ImageFolder tree labeled by the model's class list and
    preprocessed as :func:`folder_resize` says, or paired image / label folders; with
    ``own_size`` the photos of ``test_dir`` (which must be given) as they are."""
    from j4d.data.paired import is_paired_folder
    from j4d.data.testset import load_paired_test_images, load_photos, load_test_images

    data: DataDefaults = model.data
    if own_size:
        if test_dir is None:
            raise InvalidInputError(
                "photos at their own size (--own-size, --scale) are measured on --test FOLDER: "
                "give the photos to measure"
            )
        return load_photos(test_dir, count, class_list(root, data, classes_file))
    default = root / data.test
    folder = test_dir or default
    if is_paired_folder(folder):
        classes = segmentation_classes(root, model, classes_file, folder)
        return load_paired_test_images(folder, classes, count)
    return load_test_images(
        folder,
        model.input_size,
        count,
        resize=folder_resize(folder, default, data, resize),
        classes=class_list(root, data, classes_file),
    )


def model_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--model`` (repeatable), ``--data``, ``--train``, ``--unlabeled`` (repeatable)."""
    for option in reversed(
        [
            model_option("repeat for universal tables (the models pooled)."),
            data_option,
            click.option(
                "--train",
                "train_dir",
                type=click.Path(path_type=Path),
                default=None,
                help="ImageFolder tree to learn from [default: the model's, e.g. "
                "DATA/cifar10/train; ImageNet models: none, they learn from --unlabeled].",
            ),
            click.option(
                "--unlabeled",
                "unlabeled_dirs",
                multiple=True,
                type=click.Path(path_type=Path),
                help="Learn from random crops of the images in this folder (recursive; "
                "repeatable) instead: no labels needed, the model's own top class stands in. "
                "--train then gives only the validation slice. [default for ImageNet models: "
                "DATA/imagenet-samples and DATA/kodak24, unless --train is given]",
            ),
            click.option(
                "--unlabeled-crops",
                type=int,
                default=10_000,
                show_default=True,
                help="Crops per epoch from the --unlabeled images (cycling through them).",
            ),
            click.option(
                "--unlabeled-zoom",
                type=float,
                default=4.0,
                show_default=True,
                help="Crops of the model's input size from the image resized to a short side "
                "between 1x and this times the input size.",
            ),
        ]
    ):
        function = option(function)
    return labeled_folder_options(function)
