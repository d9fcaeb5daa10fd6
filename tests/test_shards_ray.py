"""Shards on Ray (``j4d encode SHARD... --ray ADDRESS``), on one local cluster of 2 CPUs shared by
these tests: the same bytes as one process, a worker killed mid-run and a driver killed and run
again both end with every shard written once, each sample in it once."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import numpy as np
import pytest

from j4d.shards import MANIFEST
from test_shards import make_parquet, make_tar

# a cluster started here has no token for its drivers to show
os.environ["RAY_AUTH_MODE"] = "disabled"


@pytest.fixture(scope="module")
def cluster():
    """The address of a local Ray cluster (2 CPUs) for the module; stopped at its end."""
    ray = Path(sys.executable).with_name("ray")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="j4d-ray-", dir="/tmp")  # Ray's socket paths must be short
    start = [str(ray), "start", "--head", f"--port={port}", "--num-cpus=2"]
    start += ["--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    subprocess.run(start, check=True, capture_output=True)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        subprocess.run([str(ray), "stop", "--force"], capture_output=True)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture(scope="module")
def shards(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("shards")
    rng = np.random.default_rng(9)
    paths = [folder / f"s{i}.tar" for i in range(4)] + [folder / "t.parquet"]
    for path in paths[:-1]:
        make_tar(path, rng, samples=3, broken=path.stem == "s1")
    make_parquet(paths[-1], rng)
    return paths


@pytest.fixture(scope="module")
def reference(shards, tmp_path_factory) -> Path:
    """One process's shards."""
    out = tmp_path_factory.mktemp("reference")
    assert _run(shards, out).returncode == 2  # s1's broken image
    return out


def _run(shards: list[Path], out: Path, *extra: str, **env: str) -> subprocess.CompletedProcess:
    argv = [sys.executable, "-m", "j4d", "encode", *map(str, shards), "-o", str(out), "--qf", "40"]
    environment = {**os.environ, **env}
    return subprocess.run([*argv, *extra], env=environment, capture_output=True, text=True)


def _assert_finished_like(out: Path, reference: Path, shards: list[Path]) -> None:
    """Every shard in the manifest, its bytes the reference's, each sample's members once."""
    lines = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert {line["shard"] for line in lines} == {shard.name for shard in shards}
    for shard in shards:
        assert (out / shard.name).read_bytes() == (reference / shard.name).read_bytes()
        if shard.suffix == ".tar":
            with tarfile.open(out / shard.name) as archive:
                names = archive.getnames()
            assert len(names) == len(set(names))


def test_ray_writes_the_bytes_one_process_writes(cluster, shards, reference, tmp_path):
    result = _run(shards, tmp_path / "out", "--ray", cluster, "-j", "2")
    assert result.returncode == 2, result.stderr
    assert "s1.tar: part/s1_broken.jpg: not an image file Pillow can read" in result.stderr
    _assert_finished_like(tmp_path / "out", reference, shards)


def test_a_killed_worker_is_replaced_and_its_shard_written_once(
    cluster, shards, reference, tmp_path
):
    marker = tmp_path / "killed"  # the first worker to reach a shard's write dies, once
    result = _run(
        shards, tmp_path / "out", "--ray", cluster, "-j", "2",
        J4D_FAULT="shard:*", J4D_FAULT_ONCE=str(marker),
    )  # fmt: skip
    assert marker.exists()  # a worker did die
    assert result.returncode == 2, result.stderr
    _assert_finished_like(tmp_path / "out", reference, shards)


def test_a_killed_driver_run_again_finishes_the_rest(cluster, shards, reference, tmp_path):
    out = tmp_path / "out"
    killed = _run(shards, out, "--ray", cluster, "-j", "1", J4D_FAULT="ray-shard-done")
    assert killed.returncode == -9
    assert _run(shards, out, "--ray", cluster, "-j", "1").returncode == 2
    _assert_finished_like(out, reference, shards)


def test_an_unreadable_shard_is_a_one_line_error(cluster, tmp_path):
    (tmp_path / "x.tar").write_bytes(b"not a tar at all" * 40)
    result = _run([tmp_path / "x.tar"], tmp_path / "out", "--ray", cluster)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == f"j4d: error: {tmp_path / 'x.tar'}: not a readable tar shard (invalid header)"
