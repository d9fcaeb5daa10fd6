"""Worker processes for per-file work (encoding, decoding)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager


@contextmanager
def worker_pool(workers: int) -> Iterator[Executor | None]:
    """``workers`` processes (None, i.e. in this process, for ``workers`` <= 1). Spawned, not
    forked: a forked child of a process running torch threads can hang."""
    if workers <= 1:
        yield None
        return
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool
