"""Codec benchmarks: prints a table and writes JSON (no pass/fail: targets are reported).

1. Encode throughput on Kodak-24 (4:4:4, optimized Huffman, QF 50 tables):
   j4d uniform path / plain Pillow with the same tables   (target >= 0.95)
   j4d probabilistic path / plain Pillow                 (target >= 0.5)
   and the probabilistic path's two halves alone: sampling the indices (colour transform, DCT,
   CPMF draws) and writing them (jpeglib's ``write_dct``, libjpeg-turbo 2.1)
2. One training step at 224x224, batch 32, the paper's main setting: the frozen ImageNet
   MobileNetV2 of the registry (``mobilenet_v2``, weights from the data folder) forward +
   backward to its input, alone and with the soft codec + entropy rate estimate in front
   (backward to the tables): time ratio (target <= 1.10; the paper: 1.15), and peak memory.
   The codec + rate estimate alone (no model) is timed too, eager and compiled. Each job runs
   in its own process after a warm-up step; jobs alternate over ``--rounds`` and each keeps
   its best round. Peak memory is the resident-set high-water mark of the timed steps above
   the memory resident before them (CPU, reset through /proc/self/clear_refs) or torch's peak
   allocation (CUDA).

Usage: python bench/bench_codec.py [--device cpu|cuda] [--rounds 3] [--out bench/out/codec.json]
"""

from __future__ import annotations

import argparse
import io
import multiprocessing as mp
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

from j4d import EntropyRate, JPEGCodec, QuantTables
from j4d.data import require_data_root
from j4d.encoders import encode_probabilistic, encode_uniform, sample_indices, write_indices
from j4d.jpegio import load_image
from j4d.utils.files import atomic_write_json


def _images_per_second(function, items) -> float:
    """Images per second of one full pass over ``items``."""
    start = time.perf_counter()
    for item in items:
        function(item)
    return len(items) / (time.perf_counter() - start)


def bench_encode(rounds: int) -> dict:
    root = require_data_root()
    images = [load_image(p) for p in sorted((root / "kodak24").glob("kodim*.png"))]
    tables = QuantTables.from_quality(50)
    qtables = tables.to_pillow()

    def pillow(image):
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, "JPEG", qtables=qtables, subsampling=0, optimize=True)
        return buffer.getvalue()

    encode_probabilistic(images[0], tables)  # warm-up (library loading)
    sampled = {
        id(image): sample_indices(image, tables, generator=torch.Generator().manual_seed(0))
        for image in images
    }
    candidates = {
        "pillow": pillow,
        "uniform": lambda image: encode_uniform(image, tables),
        "probabilistic": lambda image: encode_probabilistic(image, tables, seed=0),
        "sampling": lambda image: sample_indices(image, tables, order="natural"),
        "writing": lambda image: write_indices(sampled[id(image)], tables, *image.shape[:2]),
    }
    # Interleave the candidates round by round so drifting machine load hits all of them;
    # keep each one's best pass (least disturbed by other load).
    rates = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, function in candidates.items():
            rates[name].append(_images_per_second(function, images))
    best = {name: max(values) for name, values in rates.items()}
    return {
        "images": len(images),
        "images_per_s": best,
        "uniform_over_pillow": best["uniform"] / best["pillow"],
        "probabilistic_over_pillow": best["probabilistic"] / best["pillow"],
        "sampling_over_pillow": best["sampling"] / best["pillow"],
        "writing_over_pillow": best["writing"] / best["pillow"],
    }


def _status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _reset_peak() -> int:
    """Reset the resident-set high-water mark (Linux); return the current RSS in kB."""
    Path("/proc/self/clear_refs").write_text("5")
    return _status_kb("VmRSS")


def _peak_memory_mb(device: str, baseline_kb: int) -> float:
    """Peak memory of the timed steps above what was resident before them."""
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return (_status_kb("VmHWM") - baseline_kb) / 1024


def _train_step_job(
    job: str, device: str, batch: int, size: int, steps: int, compile_: bool, queue
) -> None:
    os.environ["J4D_COMPILE"] = "1" if compile_ else "0"
    from j4d.models import create_model

    torch.manual_seed(0)
    x = (torch.rand(batch, 3, size, size) * 255).round().to(device)
    model = create_model("mobilenet_v2").to(device) if job != "codec" else None
    codec = JPEGCodec(QuantTables.from_quality(50), learn_tables=True).to(device)
    rate = EntropyRate()

    def step():
        if job == "model":
            images = x.clone().requires_grad_()
            model(images).logsumexp(1).mean().backward()
            return
        output = codec(x)
        loss = 0.01 * rate(output)
        if model is None:
            loss = loss + output.reconstruction.mean()
        else:
            loss = loss + model(output.reconstruction).logsumexp(1).mean()
        loss.backward()

    def sync():
        if device == "cuda":
            torch.cuda.synchronize()

    step()  # warm-up (and compilation)
    sync()
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    baseline = _reset_peak()
    timings = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        sync()
        timings.append(time.perf_counter() - start)
    queue.put({"seconds": statistics.median(timings), "peak_mb": _peak_memory_mb(device, baseline)})


def _run_job(*args) -> dict:
    context = mp.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_train_step_job, args=(*args, queue))
    process.start()
    result = queue.get()
    process.join()
    return result


#: (label, job, compiled) of the training-step benchmark; ratios are to the first.
STEP_JOBS = (
    ("mobilenet_v2", "model", False),
    ("codec_mobilenet_v2", "codec+model", True),
    ("codec_compiled", "codec", True),
    ("codec_eager", "codec", False),
)


def bench_training_step(device: str, batch: int, size: int, steps: int, rounds: int) -> dict:
    best: dict[str, dict] = {}
    for _ in range(rounds):  # alternate, so drifting machine load hits every job
        for label, job, compile_ in STEP_JOBS:
            result = _run_job(job, device, batch, size, steps, compile_)
            if label not in best or result["seconds"] < best[label]["seconds"]:
                best[label] = result
    reference = best[STEP_JOBS[0][0]]["seconds"]
    results = {"batch": batch, "size": size, "device": device}
    for label, _, _ in STEP_JOBS:
        results[label] = {**best[label], "time_over_model": best[label]["seconds"] / reference}
    return results


def format_report(report: dict) -> str:
    encode, step = report["encode"], report["training_step"]
    rate = encode["images_per_s"]
    rows = [
        f"Encode, Kodak-24 ({encode['images']} images, QF 50 tables, 4:4:4, optimized Huffman)",
        f"  {'path':18s} {'img/s':>8s} {'vs Pillow':>10s} {'target':>8s}",
        f"  {'Pillow (plain)':18s} {rate['pillow']:8.1f} {1.0:10.2f}",
    ]
    for name, key, target in (
        ("uniform", "uniform", ">= 0.95"),
        ("probabilistic", "probabilistic", ">= 0.5"),
        ("  sampling alone", "sampling", ""),
        ("  writing alone", "writing", ""),
    ):
        ratio = encode[f"{key}_over_pillow"]
        rows.append(f"  {'j4d ' + name:18s} {rate[key]:8.1f} {ratio:10.2f} {target:>8s}")
    rows += [
        "",
        f"Training step (forward + backward), batch {step['batch']} at {step['size']}x{step['size']}, {step['device']}",
        f"  {'job':34s} {'s/step':>8s} {'peak MB':>9s} {'vs model':>9s}",
    ]
    names = {
        "mobilenet_v2": "MobileNetV2 alone (to the input)",
        "codec_mobilenet_v2": "codec + rate + MobileNetV2",
        "codec_compiled": "codec + rate alone, compiled",
        "codec_eager": "codec + rate alone, eager",
    }
    for label, name in names.items():
        row = step[label]
        rows.append(
            f"  {name:34s} {row['seconds']:8.3f} {row['peak_mb']:9.0f} {row['time_over_model']:9.3f}"
        )
    rows.append("  target: codec + rate + MobileNetV2 <= 1.10 x MobileNetV2 alone (paper: 1.15)")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--out", type=Path, default=Path("bench/out/codec.json"))
    args = parser.parse_args(argv)

    encode = bench_encode(args.rounds)
    step = bench_training_step(args.device, args.batch, args.size, args.steps, args.rounds)
    report = {
        "machine": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "cpu": platform.processor() or platform.machine(),
            "threads": torch.get_num_threads(),
        },
        "encode": encode,
        "training_step": step,
    }
    print(format_report(report))
    print(f"\nwrote {atomic_write_json(args.out, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
