"""Shards benchmark: images/s of ``j4d encode`` over WebDataset shards, on this machine's
processes (``-j 1``, ``-j 2``) and on Ray (1 and 2 workers on a running local cluster, and
``--ray`` alone, which starts its own), whole processes, start-up included.

Two data sets, each ``--shards`` tar shards of JPEG q95 inputs: 224x224 centre crops of
imagenet-val, and the full-size photos of ``DATA/imagenet-samples`` (about 500x375). Tables: the
zoo's MobileNetV2 tables nearest 1 bpp (rd, the zoo's encoder). Medians of ``--runs``; the
commands alternate, so a busy machine slows them alike. Ray's overhead is the wall time of Ray
with one worker less one process's (per run, and per shard); a worker's own rate is the images
over the seconds its tasks took (the manifest's), and the throughput of a cluster is that rate
times its workers, on paper (no cluster of several machines was measured).

Usage: python bench/bench_shards.py [--shards 4] [--per-shard 50] [--runs 3]
       [--out bench/out/shards.json]
"""

from __future__ import annotations

import io
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

from PIL import Image

from command import bench_main
from j4d.data import IMAGENET, read_class_list, require_data_root
from j4d.data.testset import load_test_images
from j4d.jpegio.images import image_files
from j4d.shards import MANIFEST
from j4d.zoo import nearest


def _shards(folder: Path, images: list[Image.Image], shards: int) -> int:
    """``images`` as JPEG q95 samples (with a class member) over ``shards`` tar files."""
    folder.mkdir(parents=True)
    for shard in range(shards):
        with tarfile.open(folder / f"shard-{shard:03d}.tar", "w") as archive:
            for index in range(shard, len(images), shards):
                buffer = io.BytesIO()
                images[index].save(buffer, format="JPEG", quality=95)
                for field, data in (("jpg", buffer.getvalue()), ("cls", b"0")):
                    info = tarfile.TarInfo(f"{index:06d}.{field}")
                    info.size = len(data)
                    archive.addfile(info, io.BytesIO(data))
    return len(images)


def prepare(scratch: Path, shards: int, per_shard: int) -> dict[str, tuple[Path, int]]:
    root = require_data_root()
    count = shards * per_shard
    test = load_test_images(
        root / IMAGENET.test, 224, count, IMAGENET.resize, read_class_list(root / IMAGENET.classes)
    )
    crops = [Image.fromarray(a) for a in test.images.permute(0, 2, 3, 1).numpy()]
    photos = [Image.open(p).convert("RGB") for p in image_files(root / "imagenet-samples")[:count]]
    return {
        "224x224 crops": (scratch / "crops", _shards(scratch / "crops", crops, shards)),
        "full-size photos": (scratch / "photos", _shards(scratch / "photos", photos, shards)),
    }


def _start_cluster(temp: Path) -> tuple[str, Path]:
    ray = Path(sys.executable).with_name("ray")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(ray), "start", "--head", f"--port={port}", "--num-cpus=2"]
    command += ["--include-dashboard=false", "--disable-usage-stats", f"--temp-dir={temp}"]
    subprocess.run(command, check=True, capture_output=True)
    return f"127.0.0.1:{port}", ray


def bench(shards: int, per_shard: int, runs: int) -> dict:
    os.environ["RAY_AUTH_MODE"] = "disabled"  # a cluster started here has no token to show
    tables = str(nearest("mobilenet_v2", 1.0, "file_bpp").path)
    temp = Path(tempfile.mkdtemp(prefix="j4d-ray-", dir="/tmp"))
    address, ray = _start_cluster(temp)
    results = {}
    try:
        with tempfile.TemporaryDirectory() as scratch_name:
            scratch = Path(scratch_name)
            for label, (folder, images) in prepare(scratch, shards, per_shard).items():
                inputs = sorted(map(str, folder.glob("*.tar")))
                base = [sys.executable, "-m", "j4d", "encode", "--tables", tables, *inputs]
                todo = {
                    "j4d encode -j 1": [*base, "-j", "1"],
                    "j4d encode -j 2": [*base, "-j", "2"],
                    "--ray (cluster), 1 worker": [*base, "--ray", address, "-j", "1"],
                    "--ray (cluster), 2 workers": [*base, "--ray", address, "-j", "2"],
                    "--ray (starts its own), 2 workers": [*base, "--ray", "-j", "2"],
                }
                times: dict[str, list[float]] = {name: [] for name in todo}
                worker: list[float] = []  # a Ray worker's own seconds over all shards
                for run in range(runs):
                    for number, (name, command) in enumerate(todo.items()):
                        out = scratch / f"out-{label[:4]}-{run}-{number}"
                        start = time.perf_counter()
                        subprocess.run([*command, "-o", str(out)], check=True, capture_output=True)
                        times[name].append(time.perf_counter() - start)
                        if name == "--ray (cluster), 1 worker":
                            lines = (out / MANIFEST).read_text().splitlines()
                            worker.append(sum(json.loads(line)["seconds"] for line in lines))
                        shutil.rmtree(out)
                seconds = {name: statistics.median(values) for name, values in times.items()}
                one, ray_one = seconds["j4d encode -j 1"], seconds["--ray (cluster), 1 worker"]
                per_worker = images / statistics.median(worker)
                results[label] = {
                    "images": images,
                    "shards": shards,
                    "seconds": seconds,
                    "images_per_s": {name: images / value for name, value in seconds.items()},
                    "ray_worker_images_per_s": per_worker,
                    "ray_overhead_s": ray_one - one,
                    "ray_overhead_per_shard_s": (ray_one - one) / shards,
                    "ray_start_s": seconds["--ray (starts its own), 2 workers"]
                    - seconds["--ray (cluster), 2 workers"],
                    "on_paper": {
                        f"{machines} machines x 16 workers": per_worker * machines * 16
                        for machines in (1, 10, 100)
                    },
                }
    finally:
        subprocess.run([str(ray), "stop", "--force"], capture_output=True)
        shutil.rmtree(temp, ignore_errors=True)
    return {"runs": runs, "tables": Path(tables).name, "data": results}


def format_report(report: dict) -> str:
    rows = [f"j4d encode over WebDataset shards (median of {report['runs']}; {report['tables']})"]
    for label, result in report["data"].items():
        rows.append(f"{label}: {result['images']} images in {result['shards']} shards")
        rows.append(f"  {'command':36s} {'s':>7s} {'images/s':>9s}")
        for name, value in result["seconds"].items():
            rows.append(f"  {name:36s} {value:7.2f} {result['images_per_s'][name]:9.1f}")
        rows.append(
            f"  Ray, 1 worker against one process: +{result['ray_overhead_s']:.1f} s a run, "
            f"{result['ray_overhead_per_shard_s']:.2f} s a shard; the worker's own rate "
            f"{result['ray_worker_images_per_s']:.1f} images/s"
        )
        rows.append(f"  a local cluster's start: {result['ray_start_s']:.1f} s")
        for name, rate in result["on_paper"].items():
            rows.append(f"  on paper, {name}: {rate:.0f} images/s (the per-worker rate x workers)")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    return bench_main(
        __doc__,
        {"shards": 4, "per_shard": 50, "runs": 3},
        "bench/out/shards.json",
        bench,
        format_report,
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())
