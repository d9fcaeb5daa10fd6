"""A mixed folder of 224 crops and full-size photos, for the per-scale zoo choice
(``zoo:MODEL@TARGET`` picks each image's tables by its size): the centre 224x224 crops of the
first 150 ``imagenet-val`` images taken round-robin over the classes (lossless PNG under their
wnid folders) and every other ``imagenet-samples`` photo by name (150, copied as they are).

Usage: ``python scripts/mixed_folder.py DATA OUT`` (OUT is emptied first; keep it outside the
repository).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from PIL import Image

from j4d.data import class_spread_files

CROP, COUNT = 224, 150


def make_mixed_folder(data: Path, out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    (out / "photos").mkdir(parents=True)
    for path in class_spread_files(data / "imagenet-val", COUNT):
        with Image.open(path) as image:
            width, height = image.size
            left, top = (width - CROP) // 2, (height - CROP) // 2
            crop = image.convert("RGB").crop((left, top, left + CROP, top + CROP))
        folder = out / "crops" / path.parent.name
        folder.mkdir(parents=True, exist_ok=True)
        crop.save(folder / f"{path.stem}.png")
    for path in sorted((data / "imagenet-samples").iterdir())[1::2][:COUNT]:
        shutil.copy(path, out / "photos" / path.name)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-2])
    make_mixed_folder(Path(sys.argv[1]), Path(sys.argv[2]))
