"""Deterministic fault injection for the resume tests: kill this process at a named point.

Long jobs promise that a kill anywhere loses nothing: ``--resume`` (or a rerun of a sweep or
an eval) ends with the results of an uninterrupted run. Tests prove it by killing runs at
exact places rather than after a delay, which lands elsewhere on a faster or busier machine.

``J4D_FAULT=PATTERN[:N][=ACTION]`` acts the N-th time (default 1) the process reaches a point
whose name matches ``PATTERN`` (:func:`fnmatch.fnmatch`). ``ACTION`` ``kill`` (default): the
process SIGKILLs itself, so no handler runs, as when a machine is lost; ``enospc``: the point
raises the ``OSError`` of a full disk (at a ``write:`` point the temporary file then holds part
of the data). The points:

* ``step``: an optimizer step was taken, before its checkpoint;
* ``checkpoint``: a checkpoint was just written;
* ``epoch-end``: an epoch's history row was made, before its checkpoint;
* ``validation``: real files of the validation slice are being measured;
* ``point``: a codec point of ``j4d eval`` / ``j4d sweep`` was measured, before its cache row;
* ``write:FOLDER/FILE``: an atomic write has its data in the temporary file, not yet renamed
  (``FOLDER`` is the file's parent folder's name, e.g. ``write:cache/*``);
* ``shard:NAME``: a shard was re-encoded, before its output is written;
* ``ray-shard-done``: the driver of a Ray run got a finished shard's manifest entry.

``J4D_FAULT_ONCE=PATH`` makes the fault act once over all processes (see ``ONCE_VARIABLE``).

Unset (always, outside tests) it costs one dictionary lookup per point.
"""

from __future__ import annotations

import errno
import fnmatch
import os
import signal

ENVIRONMENT_VARIABLE = "J4D_FAULT"
#: A marker file: the fault acts once over all processes (a worker that a scheduler starts
#: again after the kill must not die the same way), the first to reach it making the file.
ONCE_VARIABLE = "J4D_FAULT_ONCE"

#: How often this process reached a point matching ``J4D_FAULT``, which it counts for.
_reached: dict[str, int] = {}


ACTIONS = ("kill", "enospc")


def _parse(spec: str) -> tuple[str, int, str]:
    spec, _, action = spec.partition("=")
    action = action or "kill"
    if action not in ACTIONS:
        raise ValueError(f"{ENVIRONMENT_VARIABLE}: unknown action {action!r} (known: {ACTIONS})")
    pattern, _, count = spec.rpartition(":")
    if pattern and count.isdigit():
        return pattern, int(count), action
    return spec, 1, action


def _first_over_processes() -> bool:
    """With ``J4D_FAULT_ONCE=PATH``, whether this process is the first to act (it makes PATH);
    without it, always (each process counts for itself)."""
    marker = os.environ.get(ONCE_VARIABLE)
    if not marker:
        return True
    try:
        os.close(os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return False
    return True


def fault_point(name: str) -> None:
    """Kill this process here if ``J4D_FAULT`` asks for the point ``name`` now."""
    spec = os.environ.get(ENVIRONMENT_VARIABLE)
    if not spec:
        return
    pattern, count, action = _parse(spec)
    if not fnmatch.fnmatchcase(name, pattern):
        return
    _reached[spec] = _reached.get(spec, 0) + 1
    if _reached[spec] != count or not _first_over_processes():
        return
    if action == "enospc":
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    os.kill(os.getpid(), signal.SIGKILL)
