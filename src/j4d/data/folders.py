"""(image, label) datasets of ImageFolder trees, preprocessed to a model's input size, and
unlabeled image folders as random crops.

Preprocessing happens *before* compression: the image the codec compresses is the resized and
centre-cropped one (e.g. 32x32 for CIFAR, 224x224 after a 256 resize for ImageNet-style
models). Training augmentation (horizontal flip, random crop after padding) draws from a
generator seeded by (seed, epoch, index), so a run gives the same images whatever the number of
loader workers.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision.datasets import ImageFolder
from torchvision.transforms.v2 import functional as TF

from j4d.errors import InvalidInputError
from j4d.jpegio.images import image_files, load_image_tensor
from j4d.tasks.base import UNLABELED

# ImageNet-style models resize the short side to input * 256 / 224 before the centre crop.
_RESIZE_RATIO = 256 / 224
_SMALL_INPUT = 64  # up to this side (CIFAR-like), resize straight to the input size
_CACHE_BYTES = 2**30  # decoded, downscaled unlabeled images kept per process


@dataclass(frozen=True)
class Augment:
    """Training augmentation: random horizontal flip, and a random ``input_size`` crop after
    zero-padding by ``crop_padding`` pixels (CIFAR's usual 4), if set."""

    hflip: bool = True
    crop_padding: int | None = None


#: ``resize`` value that keeps the image's scale: centre crop only.
NO_RESIZE = "none"


def images_per_batch(height: int, width: int, pixels: int, most: int | None = None) -> int:
    """Images of ``height`` x ``width`` in a batch of about ``pixels`` pixels (at least 1, at
    most ``most``): batches sized by memory or cache rather than by a count of images."""
    count = max(1, pixels // (height * width))
    return count if most is None else min(most, count)


def resize_side(input_size: int) -> int:
    """The short side a model of ``input_size`` resizes a photo to before its centre crop:
    the input size itself for small inputs (CIFAR-like), ``round(input_size * 256 / 224)``
    otherwise (256 for 224, as torchvision's ImageNet models)."""
    return input_size if input_size <= _SMALL_INPUT else round(input_size * _RESIZE_RATIO)


def parse_resize(value: int | str | None) -> int | str | None:
    """``N`` (short side in pixels), ``"none"`` (crop only) or None (the usual for the input
    size) from a command-line or config value."""
    if value is None or value == NO_RESIZE:
        return value
    try:
        side = int(value)
    except (TypeError, ValueError):
        side = 0
    if side < 1:
        raise InvalidInputError(
            f"resize must be a positive side in pixels or 'none', got {value!r}"
        )
    return side


def preprocess(
    image: torch.Tensor, input_size: int, resize: int | str | None = None
) -> torch.Tensor:
    """(3, H, W) uint8 -> (3, input_size, input_size): resize the short side, centre-crop.

    ``resize`` defaults to ``input_size`` for small inputs (<= 64) and to
    ``round(input_size * 256 / 224)`` otherwise; images already at the input size are kept.
    With ``"none"`` the image is only cropped (e.g. ImageNet validation images stored at
    227x227: resizing them to 256 would upsample); it must be at least ``input_size``."""
    if tuple(image.shape[-2:]) == (input_size, input_size):
        return image
    if resize == NO_RESIZE:
        if min(image.shape[-2:]) < input_size:
            height, width = image.shape[-2:]
            raise InvalidInputError(
                f"image is {width}x{height}, smaller than the {input_size}x{input_size} crop "
                "(give a --resize side)"
            )
    else:
        if resize is None:
            resize = resize_side(input_size)
        if min(image.shape[-2:]) != resize:
            image = TF.resize(image, [int(resize)], antialias=True)
    return TF.center_crop(image, [input_size, input_size])


def draws(seed: int, epoch: int, index: int) -> torch.Generator:
    """The random draws of sample ``index`` in ``epoch``: the same whatever loads it."""
    entropy = np.random.SeedSequence([seed, epoch, index])
    return torch.Generator().manual_seed(int(entropy.generate_state(1)[0]))


def augment(image: torch.Tensor, options: Augment, generator: torch.Generator) -> torch.Tensor:
    """Apply ``options`` to a (3, S, S) image with random draws from ``generator``."""
    if options.crop_padding:
        size = image.shape[-1]
        padded = TF.pad(image, [options.crop_padding] * 4, fill=0)
        top, left = torch.randint(
            0, 2 * options.crop_padding + 1, (2,), generator=generator
        ).tolist()
        image = TF.crop(padded, top, left, size, size)
    if options.hflip and torch.rand((), generator=generator).item() < 0.5:
        image = TF.horizontal_flip(image)
    return image


class ImageFolderDataset(Dataset):
    """Images of an ImageFolder tree as ``(uint8 tensor (3, S, S), label)`` with S the model's
    ``input_size``.

    Labels: with ``classes`` (the model's class list in index order) a folder's label is its
    name's index there, so a tree holding some of the classes keeps the model's numbering; a
    folder named in no line is an error. Without it the sorted folders are classes 0..C-1."""

    def __init__(
        self,
        root: str | os.PathLike[str],
        input_size: int,
        augment: Augment | None = None,
        seed: int = 0,
        resize: int | str | None = None,
        limit: int | None = None,
        classes: Sequence[str] | None = None,
    ) -> None:
        root = Path(root)
        if not root.is_dir():
            raise InvalidInputError("dataset folder not found", root)
        try:
            folder = ImageFolder(str(root), allow_empty=True)
        except (FileNotFoundError, OSError) as error:
            raise InvalidInputError(f"not an ImageFolder tree ({error})", root) from None
        if not folder.samples:
            raise InvalidInputError("dataset folder holds no images", root)
        samples = folder.samples
        if classes is not None:
            index = {name: i for i, name in enumerate(classes)}
            unknown = [name for name in folder.classes if name not in index]
            if unknown:
                raise InvalidInputError(
                    f"class folder {unknown[0]!r} is not in the model's class list"
                    + (f" (and {len(unknown) - 1} more)" if len(unknown) > 1 else ""),
                    root,
                )
            relabel = [index[name] for name in folder.classes]
            samples = [(path, relabel[label]) for path, label in samples]
        self.root = root
        self.classes: list[str] = list(classes) if classes is not None else folder.classes
        self.samples: list[tuple[str, int]] = _spread(samples, limit)
        self.input_size = input_size
        self.resize = resize
        self.augment = augment
        self.seed = seed
        self.epoch = 0

    def select(self, indices: Sequence[int], augment: Augment | None = None) -> ImageFolderDataset:
        """The same dataset restricted to ``indices`` (in that order), with ``augment``."""
        chosen = copy.copy(self)
        chosen.samples = [self.samples[i] for i in indices]
        chosen.augment = augment
        return chosen

    def set_epoch(self, epoch: int) -> None:
        """Augmentation draws depend on the epoch: call before each training epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.samples[index]
        image = load_image_tensor(path)
        try:
            image = preprocess(image, self.input_size, self.resize)
        except InvalidInputError as error:
            raise InvalidInputError(error.problem, path) from None
        if self.augment is not None:
            image = augment(image, self.augment, draws(self.seed, self.epoch, index))
        return image.contiguous(), label


class UnlabeledCrops(Dataset):
    """Images without labels (every image file under ``roots``, recursively) as ``crops``
    random crops per epoch: crop ``i`` comes from image ``i mod M``, resized so its short side
    is a random ``s`` in ``[input_size, zoom * input_size]``, never above the image's own short
    side (no upsampling, except of an image smaller than the input to the input size), cut at
    a random place, flipped at random if ``hflip``; its label is :data:`UNLABELED`. Draws are
    seeded by (seed, epoch, i). Each image is decoded and downscaled once (kept in memory up
    to 1 GiB per process), not once per crop.

    For learning tables where labels are missing (distillation never reads them), e.g. from
    photos of the deployment domain. On CIFAR-10 / ResNet-20, crops of other images trained
    no better frontier than the model's own training images (``results/``).

    With ``scale`` s > 1 the crops are photos as stored, not as the model sees them: each
    image is shown at short side ``S = round(s * resize_side(input_size))`` (downscaled to it,
    never upscaled: images whose short side is below S are left out and listed in
    ``too_small``), and crop ``i`` is a random S x S square of it (flipped at random), the
    whole short side, so the model's own view of it (resize to ``resize_side``, centre crop,
    :func:`~j4d.models.model_view`) sees the photo's scale; ``zoom`` does not apply."""

    def __init__(
        self,
        roots: Sequence[str | os.PathLike[str]],
        input_size: int,
        crops: int = 10_000,
        zoom: float = 4.0,
        hflip: bool = True,
        seed: int = 0,
        scale: float = 1.0,
    ) -> None:
        if crops < 1:
            raise InvalidInputError(f"crops per epoch must be >= 1, got {crops}")
        if zoom < 1:
            raise InvalidInputError(f"zoom must be >= 1, got {zoom:g}")
        if not scale >= 1:
            raise InvalidInputError(f"scale must be >= 1, got {scale:g}")
        self.roots = [Path(root) for root in roots]
        self.paths: list[Path] = []
        for root in self.roots:
            if not root.is_dir():
                raise InvalidInputError("unlabeled image folder not found", root)
            found = image_files(root)
            if not found:
                raise InvalidInputError("unlabeled image folder holds no images", root)
            self.paths += found
        self.input_size = input_size
        self.crops = crops
        self.scale = float(scale)
        self.too_small: list[Path] = []
        if self.scale > 1:
            self.stored_side = round(self.scale * resize_side(input_size))
            self.largest = self.stored_side
            self.paths, self.too_small = _split_by_short_side(self.paths, self.stored_side)
            if not self.paths:
                raise InvalidInputError(
                    f"no unlabeled image has a short side of {self.stored_side} pixels or more "
                    f"(scale {self.scale:g})",
                    self.roots[0],
                )
        else:
            self.stored_side = input_size
            self.largest = max(input_size, round(zoom * input_size))
        self.hflip = hflip
        self.seed = seed
        self.epoch = 0
        self._cache: dict[int, torch.Tensor] = {}
        self._cached_bytes = 0

    def set_epoch(self, epoch: int) -> None:
        """Crops depend on the epoch: call before each training epoch."""
        self.epoch = epoch

    def __len__(self) -> int:
        return self.crops

    def _image(self, which: int) -> torch.Tensor:
        """Image ``which`` with its short side at the largest crop scale (cached while small)."""
        if which in self._cache:
            return self._cache[which]
        image = load_image_tensor(self.paths[which])
        short = max(self.input_size, min(self.largest, min(image.shape[-2:])))
        if short != min(image.shape[-2:]):
            image = TF.resize(image, [short], antialias=True)
        image = image.contiguous()
        if self._cached_bytes + image.numel() <= _CACHE_BYTES:
            self._cache[which] = image
            self._cached_bytes += image.numel()
        return image

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        if not 0 <= index < self.crops:
            raise IndexError(index)
        image = self._image(index % len(self.paths))
        generator = draws(self.seed, self.epoch, index)
        size = self.stored_side
        if self.scale == 1:
            largest = min(image.shape[-2:])
            short = int(torch.randint(self.input_size, largest + 1, (), generator=generator))
            if short != largest:
                image = TF.resize(image, [short], antialias=True)
        height, width = image.shape[-2:]
        top = int(torch.randint(0, height - size + 1, (), generator=generator))
        left = int(torch.randint(0, width - size + 1, (), generator=generator))
        image = TF.crop(image, top, left, size, size)
        return augment(image, Augment(hflip=self.hflip), generator).contiguous(), UNLABELED


def _split_by_short_side(paths: Sequence[Path], side: int) -> tuple[list[Path], list[Path]]:
    """(images whose short side is at least ``side``, the others), read from their headers;
    an unreadable header counts as large enough (its decode reports it)."""
    from PIL import Image

    kept, small = [], []
    for path in paths:
        try:
            with Image.open(path) as image:
                short = min(image.size)
        except (OSError, ValueError):
            short = side
        (kept if short >= side else small).append(path)
    return kept, small


def _spread(samples: list[tuple[str, int]], limit: int | None) -> list[tuple[str, int]]:
    """The first ``limit`` samples taken round-robin over the classes (all if None), in their
    original order: a subset keeps every class, as far as ``limit`` allows."""
    if not limit or limit >= len(samples):
        return samples
    by_class: dict[int, list[int]] = {}
    for index, (_, label) in enumerate(samples):
        by_class.setdefault(label, []).append(index)
    rounds = max(len(members) for members in by_class.values())
    order = [m[i] for i in range(rounds) for m in by_class.values() if i < len(m)]
    return [samples[i] for i in sorted(order[:limit])]


def make_loader(
    dataset: Dataset,
    batch_size: int,
    shuffle: bool = False,
    seed: int = 0,
    workers: int = 0,
    drop_last: bool = False,
) -> DataLoader:
    """A DataLoader whose order is fixed by ``seed`` (batches are uint8 (N, 3, S, S))."""
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=shuffle,
        generator=torch.Generator().manual_seed(seed),
        num_workers=workers,
        drop_last=drop_last,
        persistent_workers=workers > 0,
    )


def holdout_split(
    dataset: ImageFolderDataset, val_size: int, seed: int = 0, augment: Augment | None = None
) -> tuple[ImageFolderDataset, ImageFolderDataset | None]:
    """(training part with ``augment``, validation slice of ``val_size`` images without it),
    drawn by a permutation fixed by ``seed``; no validation slice if ``val_size`` is 0."""
    if val_size < 0 or val_size >= len(dataset):
        raise InvalidInputError(
            f"validation slice of {val_size} images leaves none of {len(dataset)} to train on",
            dataset.root,
        )
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed)).tolist()
    train = dataset.select(sorted(order[val_size:]), augment)
    return train, (dataset.select(sorted(order[:val_size])) if val_size else None)
