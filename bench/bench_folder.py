"""Folder benchmark: the wall time of ``j4d encode`` over a folder of 224x224 photos with the
zoo's MobileNetV2 tables nearest 1 bpp, by mozjpeg's trellis, by ``rd`` with a fixed lambda
(32), by ``rd`` with its default rule (mozjpeg's per-block lambda: what the zoo ships) and as
abbreviated files (``--abbreviated``: Huffman tables learned on 64 photos first), beside one
Python process that saves the same files with Pillow and the same
tables (``qtables``, 4:4:4, optimized Huffman): what a folder costs a user, start-up included.
Medians of ``--runs``; the commands alternate, so a busy machine slows them alike.

The photos are the first ``--images`` of ``DATA/imagenet-val`` as 224x224 centre crops, written
as PNG. Target (issue 45): the zoo's default encoder within 2x Pillow's wall time.

Usage: python bench/bench_folder.py [--images 300] [--runs 3] [--jobs 1] [--out bench/out/folder.json]
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from PIL import Image

from command import bench_main
from j4d.data import IMAGENET, read_class_list, require_data_root
from j4d.data.testset import load_test_images
from j4d.tables import QuantTables
from j4d.zoo import nearest

TARGET = 2.0  # the zoo's default encoder, times Pillow's wall time


def prepare(scratch: Path, images: int) -> tuple[Path, dict[str, Path]]:
    """The photo folder and the tables files of each candidate."""
    root = require_data_root()
    test = load_test_images(
        root / IMAGENET.test, 224, images, IMAGENET.resize, read_class_list(root / IMAGENET.classes)
    )
    folder = scratch / "photos"
    folder.mkdir()
    for index, image in enumerate(test.images.permute(0, 2, 3, 1).numpy()):
        Image.fromarray(image).save(folder / f"{index:04d}.png")
    entry = nearest("mobilenet_v2", 1.0, "file_bpp")
    base = entry.load()
    kinds = {
        "trellis": {"encoder": "trellis"},
        "rd lambda 32": {"encoder": "rd", "rd": {"rule": "fixed"}},
        "rd": {"encoder": "rd"},  # its default: mozjpeg's per-block lambda, as the zoo's
    }
    files = {}
    for name, meta in kinds.items():
        kept = {k: v for k, v in base.meta.items() if k not in ("encoder", "rd", "test")}
        path = scratch / f"{name.replace(' ', '_')}.json"
        QuantTables(base.luma, base.chroma, meta={**kept, **meta}).save(path)
        files[name] = path
    return folder, files


PILLOW = """
import sys
from pathlib import Path
from PIL import Image
from j4d.tables import QuantTables
tables = QuantTables.load(sys.argv[1])
qtables = [list(tables.luma), list(tables.chroma)]
out = Path(sys.argv[3]); out.mkdir(exist_ok=True)
for path in sorted(Path(sys.argv[2]).glob("*.png")):
    Image.open(path).convert("RGB").save(
        out / (path.stem + ".jpg"), qtables=qtables, subsampling=0, optimize=True
    )
"""


def bench(images: int, runs: int, jobs: int) -> dict:
    with tempfile.TemporaryDirectory() as scratch_name:
        scratch = Path(scratch_name)
        folder, files = prepare(scratch, images)
        todo = {
            "Pillow (anchor)": [sys.executable, "-c", PILLOW, str(files["rd"]), str(folder)],
        }
        for name, path in files.items():
            todo[f"j4d encode, {name}"] = [
                sys.executable, "-m", "j4d", "encode", "--tables", str(path), str(folder),
                "-j", str(jobs), "-o",
            ]  # fmt: skip
        # a data set's files: Huffman tables learned on 64 of the photos first, then written
        todo["j4d encode, rd --abbreviated"] = [*todo["j4d encode, rd"][:-1], "--abbreviated", "-o"]
        times: dict[str, list[float]] = {name: [] for name in todo}
        for run in range(runs):
            for name, command in todo.items():
                out = scratch / f"out{run}_{len(times[name])}_{name.split(',')[-1].strip()}"
                start = time.perf_counter()
                subprocess.run([*command, str(out)], check=True, capture_output=True)
                times[name].append(time.perf_counter() - start)
    seconds = {name: statistics.median(values) for name, values in times.items()}
    anchor = seconds["Pillow (anchor)"]
    return {
        "images": images,
        "runs": runs,
        "jobs": jobs,
        "seconds": seconds,
        "over_pillow": {name: value / anchor for name, value in seconds.items()},
        "target_over_pillow": TARGET,
    }


def format_report(report: dict) -> str:
    rows = [
        f"Wall time of a folder of {report['images']} 224x224 photos (whole processes, median "
        f"of {report['runs']}, j4d with -j {report['jobs']}); zoo tables nearest 1 bpp",
        f"  {'command':28s} {'s':>7s} {'x Pillow':>9s}",
    ]
    for name, value in report["seconds"].items():
        rows.append(f"  {name:28s} {value:7.2f} {report['over_pillow'][name]:9.2f}")
    rows.append(f"  target: the zoo's default encoder within {TARGET:g}x Pillow")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        __doc__,
        {"images": 300, "runs": 3, "jobs": 1},
        "bench/out/folder.json",
        bench,
        format_report,
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
