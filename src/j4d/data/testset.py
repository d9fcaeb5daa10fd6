"""The measurement split: preprocessed uint8 images and labels (class indices, or label maps of
paired folders), with unreadable files skipped."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from j4d.data import class_spread_files
from j4d.data.folders import ImageFolderDataset
from j4d.data.paired import PairedFolderDataset, SegmentationClasses
from j4d.data.root import data_set_name
from j4d.errors import InvalidInputError
from j4d.jpegio.images import image_files, load_image_tensor
from j4d.tasks.base import UNLABELED


@dataclass(frozen=True)
class TestImages:
    """Uint8 images (N, 3, S, S), or photos at their own size (a list of (3, H, W)), labels
    (:data:`~j4d.tasks.base.UNLABELED` where a photo has none: a top-1 miss), where they
    came from, and the files skipped as unreadable (one ``FILE: problem`` line each)."""

    images: torch.Tensor | list[torch.Tensor]
    labels: torch.Tensor
    source: str
    skipped: tuple[str, ...] = ()

    __test__ = False  # not a pytest test class

    @property
    def own_size(self) -> bool:
        """Whether the images are photos at their own size (read through each model's view)."""
        return not isinstance(self.images, torch.Tensor)

    def describe(self) -> str:
        at = ", at their own size" if self.own_size else ""
        return f"{self.source}, {len(self.labels)} images{at}"

    def title(self) -> str:
        """``imagenet-val, 1300 images``: the split named as the data folder names it (its path
        inside the data root), else by its folder's name; no path of the measuring machine;
        photos at their own size say so."""
        at = " at their own size" if self.own_size else ""
        return f"{data_set_name(self.source)}, {len(self.labels)} images{at}"

    def megapixels(self) -> float:
        """Mean pixels per image, in millions."""
        sizes = [image.shape[-2] * image.shape[-1] for image in self.images]
        return float(sum(sizes)) / max(len(sizes), 1) / 1e6


def load_test_images(
    folder: str | os.PathLike[str],
    size: int,
    count: int | None = None,
    resize: int | str | None = None,
    classes: Sequence[str] | None = None,
) -> TestImages:
    """The first ``count`` images of an ImageFolder split taken round-robin over the classes
    (all of them if None), preprocessed to ``size`` (``resize`` as in
    :func:`~j4d.data.folders.preprocess`), labeled by ``classes`` if given (see
    :class:`~j4d.data.folders.ImageFolderDataset`). Unreadable images are skipped and listed in
    ``skipped``; if none is readable, InvalidInputError."""
    dataset = ImageFolderDataset(folder, size, resize=resize, classes=classes)
    wanted = {str(path) for path in class_spread_files(folder, count)}
    order = [i for i, (path, _) in enumerate(dataset.samples) if path in wanted]
    chosen = dataset.select(order)
    images, labels, skipped = [], [], []
    for index in range(len(chosen)):
        try:
            image, label = chosen[index]
        except InvalidInputError as error:
            skipped.append(str(error))
            continue
        images.append(image)
        labels.append(int(label))
    if not images:
        raise InvalidInputError(f"none of the {len(chosen)} images could be read", folder)
    return TestImages(torch.stack(images), torch.tensor(labels), str(folder), tuple(skipped))


def load_paired_test_images(
    folder: str | os.PathLike[str], classes: SegmentationClasses, count: int | None = None
) -> TestImages:
    """The first ``count`` pairs (by file name; all if None) of a paired ``images/`` +
    ``labels/`` folder, as they are (no resize: every image must have the same size)."""
    dataset = PairedFolderDataset(folder, classes, limit=count)
    pairs = [dataset[index] for index in range(len(dataset))]
    sizes = {tuple(image.shape[-2:]) for image, _ in pairs}
    if len(sizes) > 1:
        shown = ", ".join(f"{w}x{h}" for h, w in sorted(sizes)[:3])
        raise InvalidInputError(f"test images differ in size ({shown}); give one size", folder)
    images = torch.stack([image for image, _ in pairs])
    return TestImages(images, torch.stack([label for _, label in pairs]), str(folder))


def photo_label(path: Path, classes: Sequence[str] | None) -> int:
    """A photo's class index in ``classes``: its folder's name (an ImageFolder tree), else the
    part of its file name before the first ``_`` (``n01440764_tench.JPEG``, as ImageNet names
    its files); :data:`UNLABELED` if neither names a class."""
    if classes:
        index = {name: i for i, name in enumerate(classes)}
        for name in (path.parent.name, path.stem.split("_")[0]):
            if name in index:
                return index[name]
    return UNLABELED


def load_photos(
    folder: str | os.PathLike[str],
    count: int | None = None,
    classes: Sequence[str] | None = None,
) -> TestImages:
    """The first ``count`` image files under ``folder`` (recursive, sorted by path; all if
    None) at their own size, upright (EXIF orientation applied), labeled by
    :func:`photo_label`. Unreadable files are skipped and listed; if none is readable,
    InvalidInputError."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError("photo folder not found", folder)
    paths = image_files(folder)[:count] if count else image_files(folder)
    if not paths:
        raise InvalidInputError("photo folder holds no images", folder)
    photos, labels, skipped = [], [], []
    for path in paths:
        try:
            photos.append(load_image_tensor(path).contiguous())
        except InvalidInputError as error:
            skipped.append(str(error))
            continue
        labels.append(photo_label(path, classes))
    if not photos:
        raise InvalidInputError(f"none of the {len(paths)} images could be read", folder)
    return TestImages(photos, torch.tensor(labels), str(folder), tuple(skipped))
