"""Errors that reach the user as one line, naming the offending file and the problem."""

from __future__ import annotations

import sys
from os import PathLike


class J4DError(Exception):
    """Base class of every error j4d reports to a user without a traceback."""


class InvalidInputError(J4DError, ValueError):
    """Bad user input: an unreadable image, a malformed tables file, a bad parameter."""

    def __init__(self, problem: str, source: str | PathLike[str] | None = None) -> None:
        self.problem = problem
        self.source = None if source is None else str(source)
        super().__init__(problem if self.source is None else f"{self.source}: {problem}")


class OutputError(J4DError, OSError):
    """An output file could not be written (e.g. no space left on the device)."""

    def __init__(self, problem: str, path: str | PathLike[str]) -> None:
        self.problem = problem
        self.source = str(path)
        super().__init__(f"{self.source}: {problem}")


def warn(problem: str, source: str | PathLike[str] | None = None) -> None:
    """One line on stderr for something j4d recovers from (e.g. a damaged cache file that is
    measured again)."""
    where = "" if source is None else f"{source}: "
    print(f"j4d: warning: {where}{problem}", file=sys.stderr, flush=True)
