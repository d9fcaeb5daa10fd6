"""Paired folders for dense prediction: ``<split>/images/<stem>.*`` with
``<split>/labels/<stem>.png`` (one channel, value = class index), and a classes file.

The classes file numbers the classes (line ``k``: ``k``, a tab, the name); a line whose name says
``void`` or ``ignore`` names the ignore index, which the loss and the metrics skip. Images keep
their size: no resize (a segmentation model takes any size divisible by 8).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from j4d.data.folders import Augment, draws
from j4d.errors import InvalidInputError
from j4d.jpegio.images import image_files, load_image_tensor

_VOID_WORDS = ("void", "ignore")


@dataclass(frozen=True)
class SegmentationClasses:
    """Class names by index, and the label value that marks unlabeled pixels (or None)."""

    names: tuple[str, ...]
    ignore_index: int | None

    @property
    def num_classes(self) -> int:
        """Classes the model predicts (the ignore index, when last, is not one of them)."""
        return len(self.names) - (self.ignore_index is not None)


def read_segmentation_classes(path: str | os.PathLike[str]) -> SegmentationClasses:
    """Read ``index<TAB>name`` lines; indices must count 0, 1, 2, ... and a void class, if any,
    must be the last line."""
    path = Path(path)
    try:
        lines = [line for line in path.read_text().splitlines() if line.strip()]
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"cannot read classes file ({error})", path) from None
    names, ignore = [], None
    for number, line in enumerate(lines):
        index, _, name = line.partition("\t")
        if index.strip() != str(number) or not name.strip():
            raise InvalidInputError(
                f"line {number + 1}: expected '{number}<TAB>name', got {line!r}", path
            )
        names.append(name.strip())
        if any(word in name.lower() for word in _VOID_WORDS):
            if number != len(lines) - 1:
                raise InvalidInputError(f"line {number + 1}: the void class must be last", path)
            ignore = number
    if not names:
        raise InvalidInputError("no classes", path)
    return SegmentationClasses(tuple(names), ignore)


def load_label(path: Path) -> np.ndarray:
    """A label image as an (H, W) uint8 array of class indices."""
    try:
        with Image.open(path) as image:
            if image.mode not in ("L", "P"):
                raise InvalidInputError(
                    f"label image must have one channel (mode L or P), not {image.mode}", path
                )
            return np.asarray(image, dtype=np.uint8)
    except UnidentifiedImageError:
        raise InvalidInputError("not an image file Pillow can read", path) from None
    except OSError as error:
        raise InvalidInputError(f"cannot read label image ({error})", path) from None


def is_paired_folder(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` holds ``images/`` and ``labels/`` (a :class:`PairedFolderDataset`)."""
    path = Path(path)
    return (path / "images").is_dir() and (path / "labels").is_dir()


class PairedFolderDataset(Dataset):
    """(image (3, H, W) uint8, label (H, W) int64) pairs of ``root/images`` and ``root/labels``.

    Every image needs a label of the same stem and size, with values among the classes (or the
    ignore index); a pair that breaks this is a one-line error naming the file, raised when the
    dataset is built (``check=True``, reading every label once) or when the pair is read.
    ``limit`` keeps the first N pairs (by file name); ``hflip`` flips image and label together
    at random, drawn from (seed, epoch, index) as for the other datasets."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        classes: SegmentationClasses,
        check: bool = True,
        limit: int | None = None,
        hflip: bool = False,
        seed: int = 0,
    ) -> None:
        self.root = Path(root)
        self.classes = classes
        self.hflip = hflip
        self.seed = seed
        self.epoch = 0
        images_dir, labels_dir = self.root / "images", self.root / "labels"
        for folder in (images_dir, labels_dir):
            if not folder.is_dir():
                raise InvalidInputError("paired folder needs images/ and labels/", folder)
        self.images = image_files(images_dir, recursive=False)
        if not self.images:
            raise InvalidInputError("no images", images_dir)
        labels = {p.stem: p for p in labels_dir.glob("*.png")}
        missing = [p for p in self.images if p.stem not in labels]
        if missing:
            raise InvalidInputError(
                f"no label {missing[0].stem}.png in {labels_dir} "
                f"({len(missing)} image(s) without a label)",
                missing[0],
            )
        self.images = self.images[:limit] if limit else self.images
        self.labels = [labels[p.stem] for p in self.images]
        if check:
            for index in range(len(self)):
                self._label(index)

    def __len__(self) -> int:
        return len(self.images)

    def set_epoch(self, epoch: int) -> None:
        """Flips depend on the epoch: call before each training epoch."""
        self.epoch = epoch

    def select(self, indices: Sequence[int], augment: Augment | None = None) -> PairedFolderDataset:
        """The same dataset restricted to ``indices`` (in that order), flipping image and label
        at random if ``augment.hflip`` (random crops do not apply: images keep their size)."""
        if augment is not None and augment.crop_padding:
            raise InvalidInputError("--crop-padding does not apply to paired folders", self.root)
        chosen = copy.copy(self)
        chosen.images = [self.images[i] for i in indices]
        chosen.labels = [self.labels[i] for i in indices]
        chosen.hflip = augment is not None and augment.hflip
        return chosen

    def _label(self, index: int, size: tuple[int, int] | None = None) -> np.ndarray:
        """Label ``index``, checked against the classes and its image's (height, width)
        (``size``, else read from the image file's header)."""
        path = self.labels[index]
        label = load_label(path)
        top = int(label.max())
        if top >= len(self.classes.names):
            raise InvalidInputError(
                f"label value {top} outside the {len(self.classes.names)} classes", path
            )
        if size is None:
            with Image.open(self.images[index]) as image:
                size = image.size[::-1]
        height, width = size
        if label.shape != (height, width):
            raise InvalidInputError(
                f"label is {label.shape[1]}x{label.shape[0]} but its image is {width}x{height}",
                path,
            )
        return label

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        image = load_image_tensor(self.images[index])
        label = torch.from_numpy(self._label(index, tuple(image.shape[-2:])).astype(np.int64))
        if self.hflip and torch.rand((), generator=draws(self.seed, self.epoch, index)) < 0.5:
            image, label = image.flip(-1), label.flip(-1)
        return image.contiguous(), label.contiguous()
