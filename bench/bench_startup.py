"""Start-up benchmark: the wall time of whole ``j4d`` processes a user types once (``--help``,
``--version``, ``tables``, ``inspect``, a one-image ``encode``), beside a fresh Python process that
saves the same image with Pillow (what a ``cjpeg``-like tool costs) and an empty one. Medians of
``--runs``; the commands alternate, so a busy machine slows them alike.

Targets: ``--help``, ``--version``, ``tables`` and ``inspect`` under 1 s; a one-image ``encode``
of a 224x224 image under 2 s.

Usage: python bench/bench_startup.py [--runs 5] [--out bench/out/startup.json]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from j4d.utils.files import atomic_write_json

#: seconds each command should take at most (whole process)
TARGETS = {"--help": 1.0, "--version": 1.0, "tables": 1.0, "inspect": 1.0, "encode": 2.0}


def commands(scratch: Path) -> dict[str, list[str]]:
    image = scratch / "photo.png"
    pixels = np.random.default_rng(0).integers(0, 256, (224, 224, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(image)
    Image.fromarray(pixels).save(scratch / "photo.jpg", quality=75)
    j4d = [sys.executable, "-m", "j4d"]
    pillow = (
        "import sys; from PIL import Image; "
        "Image.open(sys.argv[1]).convert('RGB').save(sys.argv[2], quality=75)"
    )
    return {
        "python (empty)": [sys.executable, "-c", "pass"],
        "Pillow save (anchor)": [sys.executable, "-c", pillow, str(image), str(scratch / "p.jpg")],
        "--help": [*j4d, "--help"],
        "--version": [*j4d, "--version"],
        "tables": [*j4d, "tables", "--qf", "50", "-o", str(scratch / "t.json")],
        "inspect": [*j4d, "inspect", str(scratch / "photo.jpg")],
        "encode": [*j4d, "encode", "--qf", "50", str(image), "-o", str(scratch / "out")],
    }


def bench(runs: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch:
        todo = commands(Path(scratch))
        times: dict[str, list[float]] = {name: [] for name in todo}
        for _ in range(runs):
            for name, command in todo.items():
                start = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
    seconds = {name: statistics.median(values) for name, values in times.items()}
    anchor = seconds["Pillow save (anchor)"]
    return {
        "runs": runs,
        "seconds": seconds,
        "over_pillow_save": {name: value / anchor for name, value in seconds.items()},
    }


def format_report(report: dict) -> str:
    rows = [
        f"Whole-process wall time, median of {report['runs']} runs (224x224 image)",
        f"  {'command':22s} {'s':>7s} {'vs Pillow save':>15s} {'target':>8s}",
    ]
    for name, value in report["seconds"].items():
        target = f"< {TARGETS[name]:g} s" if name in TARGETS else ""
        ratio = report["over_pillow_save"][name]
        rows.append(f"  {name:22s} {value:7.2f} {ratio:15.2f} {target:>8s}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/out/startup.json"))
    args = parser.parse_args(argv)
    report = bench(args.runs)
    print(format_report(report))
    print(f"\nwrote {atomic_write_json(args.out, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
