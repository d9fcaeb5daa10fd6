"""Training over several processes (torchrun, gloo on the CPU): the pooled rate estimate and
the whole objective equal those of one process over the same global batch."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from conftest import assert_same_run, smooth_image
from j4d.cli import main
from j4d.codec import JPEGCodec, kernels
from j4d.jpegio import to_batch
from j4d.rate.entropy import estimate_bpp
from j4d.tables import QuantTables
from j4d.train.distributed import Processes
from j4d.utils.faults import ENVIRONMENT_VARIABLE

WORLD = 2


def _images() -> torch.Tensor:
    """Four smooth images, then four noisy ones: each process of two gets a different kind
    (every second image), so its own marginals differ from the batch's."""
    rng = np.random.default_rng(0)
    smooth = [smooth_image(rng, 32, 32) for _ in range(4)]
    noisy = [rng.integers(0, 256, (32, 32, 3), dtype=np.uint8) for _ in range(4)]
    return to_batch([image for pair in zip(smooth, noisy, strict=True) for image in pair])


def _rate_and_gradient(images: torch.Tensor, processes: Processes | None) -> tuple[float, ...]:
    codec = JPEGCodec(QuantTables.from_quality(50), learn_tables=True)
    with kernels.eager_mode():
        output = codec(images)
        pooled = estimate_bpp(output.cpmf, output.pixels_per_image, pool=processes)
        own = estimate_bpp(output.cpmf, output.pixels_per_image).item()
        world = processes.world if processes else 1
        (pooled / world).backward()  # the pool's backward sums the N processes' gradients
    if processes is not None:
        processes.sum_gradients([codec.tables])
    return pooled.item(), own, codec.tables.grad.clone()


def _worker(rank: int, store: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=WORLD)
    processes = Processes(rank, WORLD)
    torch.save(_rate_and_gradient(processes.shard_tensor(_images()), processes), f"{out}/{rank}.pt")
    dist.destroy_process_group()


def test_pooled_marginals_give_the_whole_batch_rate_and_gradient(tmp_path):
    mp.spawn(_worker, args=(str(tmp_path / "store"), str(tmp_path)), nprocs=WORLD)
    whole, _, whole_gradient = _rate_and_gradient(_images(), None)
    shards = [torch.load(tmp_path / f"{rank}.pt") for rank in range(WORLD)]
    for pooled, _, gradient in shards:
        assert pooled == pytest.approx(whole, rel=1e-5)
        torch.testing.assert_close(gradient, whole_gradient, rtol=1e-4, atol=1e-6)
    # Each process's own marginals (smooth alone, noise alone) miss the mixture's entropy.
    own = [rate for _, rate, _ in shards]
    assert abs(own[0] - own[1]) > 1.0
    assert np.mean(own) < whole - 0.05


def _torchrun_command(args: list[str], processes: int) -> list[str]:
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    return [*command, f"--nproc-per-node={processes}", "-m", "j4d", *args]


_ENVIRONMENT = {**os.environ, "OMP_NUM_THREADS": "1"}


def _torchrun(args: list[str], processes: int, fault: str | None = None) -> int:
    """torchrun's exit code; with ``fault`` (``J4D_FAULT``) the run is expected to die."""
    command = _torchrun_command(args, processes)
    environment = _ENVIRONMENT | ({ENVIRONMENT_VARIABLE: fault} if fault else {})
    done = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=600)
    assert (done.returncode != 0) == (fault is not None), done.stderr[-3000:]
    return done.returncode


def _history(run: Path) -> list[dict[str, str]]:
    with open(run / "history.csv") as handle:
        return list(csv.DictReader(row for row in handle if not row.startswith("#")))


def _same_run(first: Path, second: Path) -> None:
    """Same tables (to float tolerance) and the same logged objective, epoch by epoch."""
    tables = [
        torch.load(run / "checkpoint.pt", weights_only=False)["tables"] for run in (first, second)
    ]
    torch.testing.assert_close(tables[1], tables[0], rtol=1e-4, atol=1e-4)
    assert tables[0].ne(QuantTables.from_quality(50).to_tensor()).any()  # they moved
    for row_one, row_two in zip(_history(first)[1:], _history(second)[1:], strict=True):
        for key in ("objective", "task_loss", "estimated_bpp"):
            assert float(row_two[key]) == pytest.approx(float(row_one[key]), rel=1e-4)


def test_two_processes_learn_the_tables_of_one_and_resume_with_either(data_root, tmp_path):
    def args(run: Path, epochs: int) -> list[str]:
        # constant lr: a cosine schedule depends on --epochs, which a resume here raises
        return [
            "train", "--data", str(data_root), "-o", str(run), "--limit", "40",
            "--val-size", "8", "--batch-size", "16", "--epochs", str(epochs), "-q",
            "--lr-schedule", "constant",
        ]  # fmt: skip

    one, two = tmp_path / "one", tmp_path / "two"
    assert main(args(one, 2)) == 0
    _torchrun(args(two, 1), WORLD)
    _torchrun([*args(two, 2), "--resume"], 1)  # resumed by another number of processes
    _same_run(one, two)
    # the run says how it ran: WORLD processes at its start, one at its resume
    assert json.loads((two / "config.json").read_text())["processes"] == [WORLD, 1]
    assert json.loads((one / "config.json").read_text())["processes"] == [1]


def test_a_run_killed_under_torchrun_resumes_to_the_uninterrupted_run(data_root, tmp_path):
    """Killed (SIGKILL by J4D_FAULT in every process) just after its first checkpoint, then
    mid-epoch with a step to replay: the same tables, Adam state and history, bit for bit, as
    the uninterrupted run with as many processes. (Not as a one-process run: there the batch
    sums add up in another order, and Adam's normalized steps at lr 3 turn those last-bit
    differences into table differences of ~0.1 within 8 steps.)"""

    def args(run: Path) -> list[str]:
        return [
            "train", "--data", str(data_root), "-o", str(run), "--limit", "72",
            "--val-size", "8", "--batch-size", "16", "--epochs", "2", "-q",
            "--checkpoint-every", "3",
        ]  # fmt: skip

    straight, killed = tmp_path / "straight", tmp_path / "killed"
    _torchrun(args(straight), WORLD)
    assert _torchrun(args(killed), WORLD, fault="checkpoint:1") != 0
    assert _torchrun([*args(killed), "--resume"], WORLD, fault="step:2") != 0
    assert not (killed / "tables.json").exists()  # it did not finish
    _torchrun([*args(killed), "--resume"], WORLD)
    assert_same_run(straight, killed)


def test_commands_other_than_train_refuse_several_processes(monkeypatch, capsys):
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert main(["tables", "--qf", "50"]) == 2
    assert "only `j4d train` shares its batches" in capsys.readouterr().err


def test_the_google_method_trains_alike_over_two_processes(data_root, tmp_path):
    """A per-image rate and a rate model of its own: fitted on the whole first batch, its
    parameters' gradients summed like the tables'."""

    def args(run: Path) -> list[str]:
        return [
            "train", "--data", str(data_root), "-o", str(run), "--limit", "40",
            "--val-size", "8", "--batch-size", "16", "--epochs", "1", "-q", "--method", "google",
        ]  # fmt: skip

    one, two = tmp_path / "one", tmp_path / "two"
    assert main(args(one)) == 0
    _torchrun(args(two), WORLD)
    _same_run(one, two)
    densities = [torch.load(run / "checkpoint.pt")["method"] for run in (one, two)]
    for key, value in densities[0].items():
        torch.testing.assert_close(densities[1][key], value, rtol=1e-3, atol=1e-4)
