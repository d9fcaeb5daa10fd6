"""Where the offline data set folder (``shared/data``) lives."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

from j4d.errors import InvalidInputError

#: Environment variable that overrides the data folder.
DATA_ENV = "J4D_DATA"

_REPO_ROOT = Path(__file__).resolve().parents[3]


@dataclass(frozen=True)
class DataDefaults:
    """Where a model's images live in the data folder, and how its labeled folders are read.

    ``name`` is the folder of the weights (``models/<name>``); ``train`` an ImageFolder tree to
    learn from (or None: learn from random crops of the ``unlabeled`` folders); ``test`` the
    measurement split; ``resize`` the short side the labeled folders are resized to before the
    centre crop (None: the input size's usual one, ``"none"``: crop only); ``classes`` the class
    list that numbers folder names (None: the sorted folders are the classes)."""

    name: str
    train: str | None
    test: str
    unlabeled: tuple[str, ...] = ()
    resize: int | str | None = None
    classes: str | None = None


CIFAR10 = DataDefaults("cifar10", "cifar10/train", "cifar10/test")
#: ImageNet models learn from crops of the full-size samples and Kodak (no labeled training
#: set is here) and are measured on ``imagenet-val``, whose images are 227x227 already.
IMAGENET = DataDefaults(
    "imagenet",
    None,
    "imagenet-val",
    ("imagenet-samples", "kodak24"),
    "none",
    "imagenet-classes.txt",
)


#: CamVid road scenes (paired ``images/`` + ``labels/`` folders, 360x480, kept at their size).
CAMVID = DataDefaults("camvid", "camvid/train", "camvid/val", (), "none", "camvid/classes.txt")


#: CUB-200-2011's birds, 50 classes (227x227 JPEG q75 already: crop only; the sorted folders
#: ``NNN.Name`` are the classes).
CUB50 = DataDefaults("cub50", "cub50/train", "cub50/test", (), "none")


def default_data_root() -> Path:
    """The data folder: ``$J4D_DATA``, else ``../shared/data`` beside the working directory or
    beside this source checkout (the first that exists)."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV])
    candidates = [Path.cwd().parent / "shared" / "data", _REPO_ROOT.parent / "shared" / "data"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def data_set_name(source: str | os.PathLike[str]) -> str:
    """How reports name an image folder, with no path of the measuring machine: its path inside
    the data root (``imagenet-val``, ``cub50/test``); for a path recorded on another machine,
    what follows its ``data`` folder; else the folder's own name."""
    path = Path(source).resolve()
    with contextlib.suppress(ValueError):
        return path.relative_to(default_data_root().resolve()).as_posix()
    parts = Path(source).parts
    return "/".join(parts[parts.index("data") + 1 :]) if "data" in parts else path.name


def require_data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return an existing data folder or raise a one-line error that says how to point at it."""
    path = Path(root) if root is not None else default_data_root()
    if not path.is_dir():
        raise InvalidInputError(
            f"data folder not found (pass --data or set {DATA_ENV})", source=path
        )
    return path


def class_spread_files(folder: str | os.PathLike[str], count: int | None = None) -> list[Path]:
    """Image files of an ImageFolder tree taken round-robin over the classes (deterministic).

    The first ``10 * m`` files of a 10-class tree hold ``m`` images of every class."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidInputError("no such folder", folder)
    per_class = [
        sorted(p for p in d.iterdir() if p.is_file())
        for d in sorted(folder.iterdir())
        if d.is_dir()
    ]
    per_class = [files for files in per_class if files]
    if not per_class:
        raise InvalidInputError("no class folders with images", folder)
    ordered = [
        files[i]
        for i in range(max(len(files) for files in per_class))
        for files in per_class
        if i < len(files)
    ]
    return ordered if count is None else ordered[:count]


def read_class_list(path: str | os.PathLike[str]) -> list[str]:
    """Class names in index order: line k names class k (its first tab-separated field, e.g.
    the WordNet id of ``imagenet-classes.txt``'s ``wnid<TAB>names``)."""
    path = Path(path)
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as error:
        raise InvalidInputError(f"cannot read class list ({error})", path) from None
    names = [line.split("\t")[0].strip() for line in lines if line.strip()]
    if not names:
        raise InvalidInputError("class list is empty", path)
    if len(set(names)) != len(names):
        raise InvalidInputError("class list names a class twice", path)
    return names
