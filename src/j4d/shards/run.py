"""Re-encoding a data set's shards: one output shard per input shard, written atomically, and a
manifest of the shards finished, so that a rerun after a crash resumes where it stopped and never
writes a finished shard twice.

Each shard is one task (:func:`encode_shard`), the same function whether a process pool on this
machine (:func:`encode_shards`) or Ray workers (:mod:`j4d.shards.ray`) run it, so the output
bytes do not depend on which ran it or how many workers there were. The manifest,
``OUTDIR/j4d-shards.jsonl``, gets one line per finished shard (appended in one write by the task
that wrote the shard, after the shard): its counts, bytes, the SHA-256 of the output and the
settings' digest. A shard is done when its line is there and its output has those bytes; a rerun
with other settings into the same folder is refused.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from j4d.errors import InvalidInputError, OutputError
from j4d.shards.parquet import recode_parquet
from j4d.shards.tar import IMAGE_FIELDS, recode_tar
from j4d.shards.transcode import Transcoder
from j4d.utils.faults import fault_point
from j4d.utils.files import atomic_write_bytes

MANIFEST = "j4d-shards.jsonl"
#: Shard file suffixes and their kinds.
SHARD_KINDS = {".tar": "tar", ".parquet": "parquet"}


def is_shard(path: Path) -> bool:
    """Whether ``path`` names a shard file (by its suffix)."""
    return path.suffix.lower() in SHARD_KINDS


@dataclass(frozen=True)
class ShardSettings:
    """What a shard's re-encoding depends on: the :class:`Transcoder`, the Parquet image
    ``column`` and the tar image ``fields``."""

    transcoder: Transcoder
    column: str = "image"
    fields: tuple[str, ...] = IMAGE_FIELDS

    def digest(self) -> str:
        """A short hash of the settings and of the tables file's bytes."""
        record = asdict(self)
        tables = self.transcoder.tables
        if tables is not None and Path(tables).is_file():
            record["tables_sha256"] = hashlib.sha256(Path(tables).read_bytes()).hexdigest()
        text = json.dumps(record, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class ShardJob:
    """An input shard and its output's path relative to the output folder."""

    source: Path
    name: str


def shard_jobs(inputs: list[Path]) -> list[ShardJob]:
    """One job per input shard file, written under its own file name; one-line errors for a
    missing input, one of another kind, and two inputs of the same name."""
    jobs, seen = [], {}
    for path in inputs:
        if not path.is_file():
            raise InvalidInputError("no such shard file", path)
        if not is_shard(path):
            raise InvalidInputError(
                f"not a shard ({' or '.join(SHARD_KINDS)}); give shards or images, not both", path
            )
        if path.name in seen:
            raise InvalidInputError(f"two shards would both be written as {path.name}: "
                                    f"{seen[path.name]}", path)  # fmt: skip
        seen[path.name] = path
        jobs.append(ShardJob(path.resolve(), path.name))
    return jobs


def read_manifest(out_dir: Path, digest: str) -> dict[str, dict]:
    """The finished shards' manifest lines by output name: those whose output is there with the
    recorded bytes. A folder written with other settings is an error."""
    path = out_dir / MANIFEST
    if not path.exists():
        return {}
    done = {}
    lines = path.read_text().splitlines()
    for number, line in enumerate(lines, 1):
        try:
            entry = json.loads(line)
            name, settings, size = entry["shard"], entry["settings"], entry["output_bytes"]
        except (ValueError, KeyError, TypeError):
            if number == len(lines):
                continue  # a line cut by a crash mid-append: its shard is done again
            raise InvalidInputError(f"line {number} is not a manifest entry", path) from None
        if settings != digest:
            raise InvalidInputError(
                "this output folder holds shards written with other settings (tables, encoder, "
                "options): choose another -o folder",
                path,
            )
        output = out_dir / name
        if output.is_file() and output.stat().st_size == size:
            done[name] = entry
    return done


def _recoder(transcoder: Transcoder):
    def recode(data: bytes, key: str) -> tuple[bytes, str | None]:
        try:
            return transcoder(data, key), None
        except InvalidInputError as error:
            return data, error.problem

    return recode


@functools.lru_cache(maxsize=4)
def _worker_transcoder(transcoder: Transcoder) -> Transcoder:
    """This process's built copy of ``transcoder``: tables and encoder loaded once per worker,
    not per shard or image."""
    return replace(transcoder).prepare()


def encode_shard(job: ShardJob, out_dir: Path, settings: ShardSettings) -> dict:
    """Re-encode one shard to ``out_dir / job.name`` (atomically), then append its manifest
    line; returns the line's entry."""
    start = time.perf_counter()
    recode = _recoder(_worker_transcoder(settings.transcoder))
    if SHARD_KINDS[job.source.suffix.lower()] == "tar":
        data, counts, problems = recode_tar(job.source, recode, settings.fields)
    else:
        data, counts, problems = recode_parquet(job.source, recode, settings.column)
    fault_point(f"shard:{job.name}")
    atomic_write_bytes(out_dir / job.name, data)
    entry = {
        "shard": job.name,
        **counts,
        "problems": problems,
        "input_bytes": job.source.stat().st_size,
        "output_bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "settings": settings.digest(),
        "seconds": round(time.perf_counter() - start, 3),  # the worker's own time on the shard
    }
    _append_line(out_dir / MANIFEST, json.dumps(entry))
    return entry


def _append_line(path: Path, line: str) -> None:
    """One line appended in a single write (O_APPEND: lines of concurrent workers never
    interleave on a local file system)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            os.write(fd, (line + "\n").encode())
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as error:
        raise OutputError(f"cannot write ({error.strerror or error})", path) from None


def encode_shards(
    jobs: list[ShardJob],
    out_dir: Path,
    settings: ShardSettings,
    workers: int = 1,
    ray_address: str | None = None,
) -> Iterator[tuple[dict, bool]]:
    """Every shard's manifest entry and whether this run wrote it (False: finished before),
    shards written by ``workers`` local processes or on Ray (``ray_address``: ``local`` or a
    cluster's address). Bad tables are an error before any shard is read."""
    replace(settings.transcoder).prepare()
    out_dir.mkdir(parents=True, exist_ok=True)
    done = read_manifest(out_dir, settings.digest())
    pending = [job for job in jobs if job.name not in done]
    for job in jobs:
        if job.name in done:
            yield done[job.name], False
    if ray_address is not None:
        from j4d.shards.ray import encode_on_ray

        results = encode_on_ray(pending, out_dir, settings, ray_address, workers)
    else:
        results = _on_this_machine(pending, out_dir, settings, workers)
    for entry in results:
        yield entry, True


def _on_this_machine(
    pending: list[ShardJob], out_dir: Path, settings: ShardSettings, workers: int
) -> Iterator[dict]:
    from j4d.utils.processes import worker_pool

    task = functools.partial(encode_shard, out_dir=out_dir, settings=settings)
    with worker_pool(min(workers, max(1, len(pending)))) as pool:
        yield from (map(task, pending) if pool is None else pool.map(task, pending))
