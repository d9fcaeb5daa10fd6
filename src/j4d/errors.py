"""Errors that reach the user as one line, naming the offending file and the problem."""

from __future__ import annotations

from os import PathLike


class J4DError(Exception):
    """Base class of every error j4d reports to a user without a traceback."""


class InvalidInputError(J4DError, ValueError):
    """Bad user input: an unreadable image, a malformed tables file, a bad parameter."""

    def __init__(self, problem: str, source: str | PathLike[str] | None = None) -> None:
        self.problem = problem
        self.source = None if source is None else str(source)
        super().__init__(problem if self.source is None else f"{self.source}: {problem}")
