"""Where the offline data set folder (``shared/data``) lives."""

from __future__ import annotations

import os
from pathlib import Path

from j4d.errors import InvalidInputError

#: Environment variable that overrides the data folder.
DATA_ENV = "J4D_DATA"

_REPO_ROOT = Path(__file__).resolve().parents[2]


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


def require_data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """Return an existing data folder or raise a one-line error that says how to point at it."""
    path = Path(root) if root is not None else default_data_root()
    if not path.is_dir():
        raise InvalidInputError(
            f"data folder not found (pass --data or set {DATA_ENV})", source=path
        )
    return path
