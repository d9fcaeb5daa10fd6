"""A folder of abbreviated JPEG files (``j4d encode --abbreviated``) as a torch dataset."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from j4d.errors import InvalidInputError
from j4d.jpegio import read_bytes
from j4d.jpegio.abbreviated import TABLES_FILE, SharedTables, is_abbreviated, restore
from j4d.jpegio.images import to_rgb
from j4d.tasks.base import UNLABELED


class AbbreviatedFolder(Dataset):
    """(image, target) pairs of the JPEG files under ``root``, abbreviated or not, as
    torchvision's ``ImageFolder`` gives them: the image an RGB ``PIL.Image`` (after
    ``transform``, if given), the target the index of its first-level subfolder among the
    sorted subfolder names (:attr:`classes`; ``UNLABELED``, -1, for a file directly in
    ``root``). Each abbreviated file is decoded with the shared tables
    (``root/j4d-tables.jpg`` unless ``tables`` names another file), read once here::

        dataset = AbbreviatedFolder("photos-abbreviated", transform=transforms.ToTensor())
        loader = torch.utils.data.DataLoader(dataset, batch_size=32, num_workers=4)
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        tables: str | os.PathLike[str] | None = None,
        transform: Callable[[Image.Image], Any] | None = None,
    ) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise InvalidInputError("no such folder", self.root)
        self.shared = SharedTables.load(tables if tables is not None else self.root / TABLES_FILE)
        self.files = sorted(
            p
            for p in self.root.rglob("*")
            if p.suffix.lower() in (".jpg", ".jpeg") and p.name != TABLES_FILE and p.is_file()
        )
        if not self.files:
            raise InvalidInputError("folder holds no JPEG files", self.root)
        tops = {p.relative_to(self.root).parts[0] for p in self.files if p.parent != self.root}
        self.classes = sorted(tops)
        index = {name: i for i, name in enumerate(self.classes)}
        self.targets = [
            UNLABELED if p.parent == self.root else index[p.relative_to(self.root).parts[0]]
            for p in self.files
        ]
        self.transform = transform

    def __len__(self) -> int:
        return len(self.files)

    def ordinary_bytes(self, index: int) -> bytes:
        """File ``index`` as an ordinary JPEG (the shared tables put back where it lacks them)."""
        path = self.files[index]
        data, _ = read_bytes(path)
        return restore(data, self.shared, path) if is_abbreviated(data, path) else data

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path = self.files[index]
        try:
            with Image.open(io.BytesIO(self.ordinary_bytes(index))) as image:
                picture = to_rgb(image)
        except (UnidentifiedImageError, OSError, SyntaxError) as error:
            raise InvalidInputError(f"cannot decode image ({error})", path) from None
        return (self.transform(picture) if self.transform else picture), self.targets[index]
