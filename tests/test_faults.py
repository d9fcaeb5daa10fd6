"""Kill it anywhere: runs killed (SIGKILL, by ``J4D_FAULT``) at exact points resume to the
uninterrupted run's results, bit for bit; damaged checkpoints and cache rows are reported and
recomputed; a full disk is one line and keeps the last good files. Each command that is killed
runs as its own process (``python -m j4d``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import assert_same_run
from j4d.cli import main
from j4d.tables import QuantTables
from j4d.utils.faults import ENVIRONMENT_VARIABLE

KILLED = -9  # subprocess's exit code of a process ended by SIGKILL


def run_command(argv: list[str], fault: str | None = None) -> int:
    """The exit code of ``j4d argv`` run as a process with ``J4D_FAULT`` set to ``fault``."""
    environment = {k: v for k, v in os.environ.items() if k != ENVIRONMENT_VARIABLE}
    if fault is not None:
        environment[ENVIRONMENT_VARIABLE] = fault
    command = [sys.executable, "-m", "j4d", *argv]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, timeout=600)
    assert done.returncode in (0, KILLED), done.stderr[-3000:]
    return done.returncode


def _train_args(data_root: Path, run: Path) -> list[str]:
    # 64 training images in batches of 16: 4 steps an epoch; checkpoints at steps 3 and 6 and
    # at both epochs' ends, so some kills replay steps taken after the last checkpoint
    return [
        "train", "--data", str(data_root), "-o", str(run), "--limit", "72", "--val-size", "8",
        "--batch-size", "16", "--epochs", "2", "--checkpoint-every", "3", "-q",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def straight_run(data_root, tmp_path_factory) -> Path:
    """The uninterrupted run that killed ones are held to."""
    run = tmp_path_factory.mktemp("straight") / "run"
    assert main(_train_args(data_root, run)) == 0
    return run


#: Kills in turn, each in the run resumed from the one before (counts are per process; a run
#: writes its history when it starts): just after a checkpoint, while writing the epoch-end
#: checkpoint, during validation, after an epoch's row before its checkpoint, while writing
#: the history after that checkpoint, mid-epoch with a step to replay, while writing the last
#: epoch's history (its checkpoint holds the finished run), while writing the final tables.
TRAIN_FAULTS = (
    "checkpoint:1",
    "write:*/checkpoint.pt:1",
    "validation:1",
    "epoch-end:1",
    "write:*/history.csv:2",
    "step:2",
    "write:*/history.csv:2",
    "write:*/tables.json:1",
)


def test_training_killed_anywhere_resumes_to_the_same_run(data_root, tmp_path, straight_run):
    killed = tmp_path / "killed"
    for number, fault in enumerate(TRAIN_FAULTS):
        args = _train_args(data_root, killed) + (["--resume"] if number else [])
        assert run_command(args, fault) == KILLED, fault
        assert not (killed / "tables.json").exists()
    assert main([*_train_args(data_root, killed), "--resume"]) == 0
    assert_same_run(straight_run, killed)
    assert not list(killed.glob(".*.tmp"))  # what the killed writes left is gone


def test_a_damaged_checkpoint_is_reported_and_the_run_starts_again(
    data_root, tmp_path, straight_run, capsys
):
    damaged = tmp_path / "damaged"
    shutil.copytree(straight_run, damaged)
    (damaged / "tables.json").unlink()
    checkpoint = damaged / "checkpoint.pt"
    checkpoint.write_bytes(checkpoint.read_bytes()[: checkpoint.stat().st_size // 2])
    capsys.readouterr()
    assert main([*_train_args(data_root, damaged), "--resume"]) == 0
    err = capsys.readouterr().err
    assert f"j4d: warning: {checkpoint}: damaged checkpoint" in err
    assert "the run starts again" in err
    assert_same_run(straight_run, damaged)


def test_a_full_disk_is_one_line_and_keeps_the_last_good_checkpoint(
    data_root, tmp_path, monkeypatch, capsys
):
    run = tmp_path / "run"
    # the checkpoint write at step 6 (the fourth: steps 3, 4 = epoch end, 6) finds no space
    monkeypatch.setenv("J4D_FAULT", "write:*/checkpoint.pt:3=enospc")
    assert main(_train_args(data_root, run)) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        f"j4d: error: {run / 'checkpoint.pt'}: cannot write (No space left on device); "
        "the earlier file there is kept"
    ]
    kept = torch.load(run / "checkpoint.pt", weights_only=False)
    assert kept["state"]["step"] == 4 and kept["state"]["epoch"] == 1
    assert not list(run.glob(".*.tmp"))  # the partial temporary file is gone


@pytest.fixture(scope="module")
def tables_files(tmp_path_factory) -> list[Path]:
    folder = tmp_path_factory.mktemp("tables")
    paths = []
    for quality in (15, 40, 80):
        # flatter than Annex K: another curve than default JPEG's, each a point of the front
        tables = QuantTables.from_quality(quality).to_array()
        flat = ((tables + tables.mean(axis=1, keepdims=True)) // 2).clip(1, 255)
        paths.append(QuantTables(flat[0], flat[1]).save(folder / f"flat{quality}.json"))
    return paths


def _eval_args(data_root: Path, out: Path, tables: list[Path]) -> list[str]:
    return [
        "eval", *map(str, tables), "--data", str(data_root), "--test-size", "40",
        "--qualities", "10,30,60,90", "-q", "-o", str(out),
    ]  # fmt: skip


#: Every output of an eval or a sweep but its cache (kept and compared apart).
def _outputs(folder: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "cache" not in path.parts and "runs" not in path.parts
    }


def test_eval_killed_while_measuring_or_caching_reruns_to_the_same_report(
    data_root, tmp_path, tables_files, capsys
):
    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(_eval_args(data_root, straight, tables_files)) == 0
    assert run_command(_eval_args(data_root, killed, tables_files), "point:2") == KILLED
    assert len(list((killed / "cache").glob("*.json"))) == 1
    assert run_command(_eval_args(data_root, killed, tables_files), "write:cache/*:2") == KILLED
    assert len(list((killed / "cache").glob("*.json"))) == 2  # the third row never landed
    # a truncated row is reported and measured again, never used
    damaged = sorted((killed / "cache").glob("*.json"))[0]
    damaged.write_text(damaged.read_text()[:100])
    capsys.readouterr()
    assert main(_eval_args(data_root, killed, tables_files)) == 0
    err = capsys.readouterr().err
    assert f"j4d: warning: {damaged}: damaged cache row" in err
    assert _outputs(killed) == _outputs(straight)
    cached = sorted((killed / "cache").glob("*.json"))
    assert [p.read_bytes() for p in cached] == [
        p.read_bytes() for p in sorted((straight / "cache").glob("*.json"))
    ]
    assert not list(killed.rglob(".*.tmp"))


def test_eval_removes_frontier_tables_and_heatmaps_no_longer_made(
    data_root, tmp_path, tables_files, capsys
):
    out = tmp_path / "eval"
    assert main(_eval_args(data_root, out, tables_files)) == 0
    assert main([*_eval_args(data_root, out, tables_files[:1]), "--label", "other"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    front = {f"{name}.json" for name in summary["frontier"]["other"]}
    assert {p.relative_to(out / "frontier").as_posix() for p in (out / "frontier").rglob("*")} == (
        front
    )
    heatmaps = {f"heatmaps/{p.name}" for p in (out / "heatmaps").glob("*.png")}
    assert heatmaps == set(summary["heatmaps"])


def test_sweep_killed_while_measuring_reruns_to_the_same_report(data_root, tmp_path):
    def args(out: Path) -> list[str]:
        return [
            "sweep", "--data", str(data_root), "-o", str(out), "--limit", "40", "--val-size",
            "8", "--batch-size", "16", "--epochs", "1", "--init", "qf:50", "--lams", "1,30",
            "--test-size", "40", "--qualities", "10,50,90", "-q",
        ]  # fmt: skip

    straight, killed = tmp_path / "straight", tmp_path / "killed"
    assert main(args(straight)) == 0
    assert run_command(args(killed), "point:3") == KILLED
    assert run_command(args(killed), "write:cache/*:1") == KILLED
    assert main(args(killed)) == 0
    assert _outputs(killed) == _outputs(straight)
    for run in ("qf50_lam1", "qf50_lam30"):
        assert_same_run(straight / "runs" / run, killed / "runs" / run)
