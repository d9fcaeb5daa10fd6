"""Training throughput with 1 and N processes (``torchrun -m j4d train``): prints a table and
writes JSON.

Each count of processes trains the same run (same global batch, same steps) under torchrun
(gloo on the CPU, NCCL with ``--device cuda``) for two epochs; the throughput is the training
images of the second epoch over its wall time from the run's history (``seconds``: the steps
plus the validation of 8 images on real files; the first epoch pays for compiling the codec's
kernels). One process keeps every CPU thread; N processes get
``threads / N`` each, so on the CPU the ratio shows what sharding costs or saves, not more
hardware. Counts alternate over ``--rounds`` and each keeps its best round.

Usage: python bench/bench_distributed.py [--processes 1,2] [--model resnet20] [--batch 128]
       [--steps 8] [--device cpu|cuda] [--rounds 2] [--out bench/out/distributed.json]
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from j4d.utils.files import atomic_write_json

VALIDATION_IMAGES = 8


def _epoch_seconds(run: Path) -> float:
    with open(run / "history.csv") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    return float(rows[-1]["seconds"])


def train_once(processes: int, args: argparse.Namespace, threads: int) -> float:
    """Images per second of the second epoch of ``args.steps`` global batches each."""
    with tempfile.TemporaryDirectory(prefix="j4d-bench-") as folder:
        run = Path(folder) / "run"
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
        command += [f"--nproc-per-node={processes}", "-m", "j4d", "train", "-q"]
        command += ["--model", args.model, "--batch-size", str(args.batch), "--epochs", "2"]
        command += ["--limit", str(args.batch * args.steps + VALIDATION_IMAGES)]
        command += ["--val-size", str(VALIDATION_IMAGES), "-o", str(run)]
        if args.device:
            command += ["--device", args.device]
        environment = {**os.environ, "OMP_NUM_THREADS": str(max(1, threads // processes))}
        done = subprocess.run(command, capture_output=True, text=True, env=environment)
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
        return args.batch * args.steps / _epoch_seconds(run)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processes", default="1,2")
    parser.add_argument("--model", default="resnet20")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--device", default=None)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("bench/out/distributed.json"))
    args = parser.parse_args(argv)

    counts = [int(n) for n in args.processes.split(",")]
    threads = torch.get_num_threads()
    best: dict[int, float] = {}
    for _ in range(args.rounds):
        for count in counts:
            best[count] = max(best.get(count, 0.0), train_once(count, args, threads))
    reference = best[counts[0]]
    device = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    report = {
        "machine": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
            "threads": threads,
            "device": device,
        },
        "settings": {"model": args.model, "global_batch": args.batch, "steps": args.steps},
        "images_per_s": {str(n): best[n] for n in counts},
        "over_first": {str(n): best[n] / reference for n in counts},
    }
    print(
        f"torchrun training, {args.model}, global batch {args.batch}, {args.steps} steps, "
        f"{device}, {threads} threads shared by the processes"
    )
    print(f"  {'processes':>9s} {'img/s':>8s} {'vs ' + str(counts[0]):>8s}")
    for n in counts:
        print(f"  {n:9d} {best[n]:8.1f} {best[n] / reference:8.2f}")
    print(f"\nwrote {atomic_write_json(args.out, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
