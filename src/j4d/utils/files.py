"""Atomic file output: a crash never leaves a half-written file under the final name, and a
failed write (a full disk) leaves the file that was there before as it was. Files get the
permissions any program's new files get (``0666`` less the umask), and a file written over keeps
its own."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from j4d.errors import OutputError
from j4d.utils.faults import fault_point


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, sync: bool = True) -> Path:
    """Write ``data`` to a temporary file beside ``path``, then rename it into place (and
    remove temporary files of this path that a killed write left). An
    ``OSError`` (no space left, no permission) becomes an :class:`OutputError` naming ``path``;
    the file already at ``path``, if any, is kept unchanged. ``sync``: the data reaches the disk
    before the rename (a lost machine then leaves the old file or the new one); a batch of many
    small files may leave that to one :func:`flush_to_disk` at its end instead (a killed process
    still leaves each file whole or absent)."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        # mkstemp makes 0600 files: give the final file the mode open() would have given it
        os.fchmod(fd, _mode_for(path))
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            fault_point(f"write:{path.parent.name}/{path.name}")
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
        # temporary files of earlier writes of this file that a kill left behind
        for leftover in _leftovers(path.parent).pop(path.name, ()):
            leftover.unlink(missing_ok=True)
    except BaseException as error:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(error, OSError):
            kept = "; the earlier file there is kept" if path.exists() else ""
            raise OutputError(f"cannot write ({error.strerror or error}){kept}", path) from None
        raise
    return path


def flush_to_disk() -> None:
    """Everything written so far onto the disks (one ``sync``: far cheaper than a ``fsync`` per
    file for a batch of small files written with ``sync=False``)."""
    os.sync()


#: Per folder this process writes into, the temporary files that earlier writes left there, by
#: the name of the file each was to become; listed once per folder (a listing per write would
#: cost a folder of N outputs N^2 entries).
_LEFTOVERS: dict[Path, dict[str, list[Path]]] = {}
_TEMPORARY = re.compile(r"\.(?P<name>.+)\.[^.]+\.tmp")


def _leftovers(folder: Path) -> dict[str, list[Path]]:
    """The temporary files (``.NAME.<random>.tmp``, as :func:`atomic_write_bytes` names them)
    that were in ``folder`` when this process first wrote there, by NAME. Only a write of NAME
    removes them: another process may be writing the others."""
    if folder not in _LEFTOVERS:
        found: dict[str, list[Path]] = {}
        with os.scandir(folder) as entries:
            for entry in entries:
                match = _TEMPORARY.fullmatch(entry.name)
                if match:
                    found.setdefault(match["name"], []).append(Path(entry.path))
        _LEFTOVERS[folder] = found
    return _LEFTOVERS[folder]


def _mode_for(path: Path) -> int:
    """The existing file's permission bits, else ``0666`` less the process's umask."""
    try:
        return path.stat().st_mode & 0o7777
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike[str], value: Any) -> Path:
    """``value`` as indented JSON with a final newline."""
    return atomic_write_text(path, json.dumps(value, indent=2) + "\n")


def atomic_write_csv(
    path: str | os.PathLike[str], rows: Sequence[Mapping[str, Any]], comments: Sequence[str] = ()
) -> Path:
    """Rows of dicts as CSV (columns in order of first appearance; missing cells empty), after
    ``comments`` as ``# `` lines (read with ``pandas.read_csv(path, comment="#")``)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    buffer = io.StringIO()
    buffer.writelines(f"# {line}\n" for line in comments)
    writer = csv.DictWriter(buffer, columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buffer.getvalue())


def prune_folder(folder: str | os.PathLike[str], keep: Sequence[Path], pattern: str) -> list[Path]:
    """Remove the files under ``folder`` (recursively) that match ``pattern`` and are not in
    ``keep``, then the folders this leaves empty: outputs of an earlier run that this run no
    longer makes. Returns what was removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    kept = {Path(path).resolve() for path in keep}
    removed = [path for path in folder.rglob(pattern) if path.resolve() not in kept]
    for path in removed:
        path.unlink()
    for directory in sorted(folder.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()
    return removed


def read_csv(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Rows of a CSV file written by :func:`atomic_write_csv` (``#`` comment lines skipped)."""
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(line for line in handle if not line.startswith("#")))
