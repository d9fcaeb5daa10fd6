"""Processes: workers for per-file work (encoding, decoding), and whether a launcher started
several (no torch here: the command line asks before it loads it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from concurrent.futures import Executor


@contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """``workers`` processes (None, i.e. in this process, for ``workers`` <= 1). Spawned, not
    forked: a forked child of a process running torch threads can hang."""
    if workers <= 1:
        yield None
        return
    # imported here: a one-process command (most are) need not pay for them at start-up
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def launched_with_several_processes() -> bool:
    """True under torchrun (or another launcher setting ``WORLD_SIZE``) with N > 1."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1
