"""``j4d encode SHARD...``: a data set's WebDataset tar or Parquet shards re-encoded, one output
shard per input shard, on this machine's processes or on Ray (:mod:`j4d.shards`)."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from j4d.shards import MANIFEST, ShardSettings, Transcoder, encode_shards, shard_jobs
from j4d.shards.tar import IMAGE_FIELDS


def encode_shard_files(
    inputs: tuple[Path, ...],
    out_dir: Path,
    transcoder: Transcoder,
    column: str,
    fields: tuple[str, ...],
    jobs: int,
    ray_address: str | None,
) -> int:
    """Encode the shards; report each problem image (carried over as it was) and a summary.
    Exit status 2 where some images could not be read, else 0."""
    jobs_list = shard_jobs(list(inputs))
    settings = ShardSettings(transcoder, column, tuple(f.lower() for f in fields) or IMAGE_FIELDS)
    totals = {"samples": 0, "images": 0, "input_bytes": 0, "output_bytes": 0}
    before = problems = 0
    progress = tqdm(total=len(jobs_list), desc="encode", unit="shard", disable=None)
    with progress:
        for entry, written in encode_shards(jobs_list, out_dir, settings, jobs, ray_address):
            before += not written
            for problem in entry["problems"]:
                click.echo(
                    f"j4d: error: {entry['shard']}: {problem} (carried over unchanged)", err=True
                )
            problems += len(entry["problems"])
            for key in totals:
                totals[key] += entry[key]
            progress.update()
    where = f"Ray ({ray_address})" if ray_address is not None else f"{jobs} process(es)"
    resumed = f", {before} finished before (see {out_dir / MANIFEST})" if before else ""
    click.echo(
        f"{len(jobs_list)} shards{resumed}: {totals['samples']} samples, "
        f"{totals['images'] - problems} images re-encoded on {where}"
    )
    change = totals["output_bytes"] / totals["input_bytes"] - 1 if totals["input_bytes"] else 0
    click.echo(
        f"shards: {totals['input_bytes']} bytes in, {totals['output_bytes']} out "
        f"({100 * change:+.1f} %)"
    )
    if problems:
        click.echo(f"j4d: {problems} images could not be read and were carried over", err=True)
        return 2
    return 0
