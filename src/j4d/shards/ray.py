"""Shards on Ray: each shard one task of a Ray Data pipeline, on a running cluster or a local one.

The pipeline is ``from_items`` (one row per pending shard) then ``map`` with
:func:`j4d.shards.run.encode_shard`: a task reads its shard, re-encodes it, writes the output
atomically and appends the manifest line, as a local worker does; so the bytes are the same and
a rerun resumes from the same manifest. Ray runs a task whose worker died again (Ray Data's
default: until it finishes); a shard is written whole or not at all, so a retried one is never
half there. Every node must see the input shards and the output folder at the same paths (a
shared file system). Each worker process builds the tables (and the predictor of
``rd-aware``) once.

``J4D_*`` environment variables (``J4D_DATA``, the fault points of the tests) travel to the
workers.
"""

from __future__ import annotations

import functools
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from j4d.errors import InvalidInputError, J4DError
from j4d.shards.run import ShardJob, ShardSettings, encode_shard
from j4d.utils.faults import fault_point


def _ray():
    try:
        import ray
        import ray.data
    except ImportError:
        raise InvalidInputError("--ray needs Ray Data: pip install 'j4d[shards]'") from None
    return ray


def _task(row: dict, out_dir: str, settings: ShardSettings) -> dict:
    """One shard; a j4d error (an unreadable shard, an unwritable output) comes back as its line
    to the driver, not as a task failure that Ray would run again."""
    job = ShardJob(Path(row["source"]), row["name"])
    try:
        return {"entry": json.dumps(encode_shard(job, Path(out_dir), settings)), "error": ""}
    except J4DError as error:
        return {"entry": "", "error": str(error)}


def encode_on_ray(
    pending: list[ShardJob], out_dir: Path, settings: ShardSettings, address: str, workers: int
) -> Iterator[dict]:
    """Each pending shard's manifest entry as its task finishes. ``address``: ``local`` starts
    a cluster of ``workers`` CPUs in this process (stopped at the end); else the address of a
    running one (``auto``, ``ray://host:10001``, ``host:6379``), where ``workers`` caps the
    tasks running at once."""
    if not pending:
        return
    ray = _ray()
    local = address == "local"
    environment = {k: v for k, v in os.environ.items() if k.startswith("J4D_")}
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(
                address=None if local else address,
                num_cpus=workers if local else None,
                include_dashboard=False,
                log_to_driver=False,
                configure_logging=False,
                runtime_env={"env_vars": environment} if environment else None,
            )
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise InvalidInputError(
                f"cannot reach the Ray cluster at {address} ({error})"
            ) from None
    try:
        # j4d encode shows its own progress and one line per problem: Ray Data's bars and
        # INFO lines would bury them
        logging.getLogger("ray.data").setLevel(logging.ERROR)
        ray.data.DataContext.get_current().enable_progress_bars = False
        rows = [{"source": str(job.source), "name": job.name} for job in pending]
        dataset = ray.data.from_items(rows, override_num_blocks=len(rows)).map(
            functools.partial(_task, out_dir=str(out_dir.resolve()), settings=settings),
            compute=ray.data.TaskPoolStrategy(size=workers),
            num_cpus=1,
        )
        for row in dataset.iter_rows():
            if row["error"]:
                raise InvalidInputError(row["error"])
            entry = json.loads(row["entry"])
            fault_point("ray-shard-done")
            yield entry
    finally:
        if started:
            ray.shutdown()
