"""Encoder benchmark: images/s of every registered encoder and of model-aware encoding, against
plain Pillow with the same tables (no pass/fail: the targets are reported), and the wall time of
a one-image ``j4d encode`` process by each of Pillow and j4d's own trellis (``rd``).

At 224x224 the images are the first ``--images`` of ``DATA/imagenet-val`` preprocessed as the
ImageNet models read them (224x224 centre crop); at full size, the first ``--photos`` of
``DATA/imagenet-samples`` as they are (about 500x375). The tables are the zoo's MobileNetV2
tables nearest 1 bpp, 4:4:4 with optimized Huffman tables. Model-aware encoding
(``j4d.encoders``, MobileNetV2 guiding, strength 1, the tables' encoder) codes batches of 10 at
224 and is shown beside MobileNetV2's own forward pass at that batch (what a server that runs
the model anyway already pays); so is the model-aware trellis (``rd`` weighted by MobileNetV2's
Fisher information: one backward pass per image, target >= 0.5x the forward pass) and the
forward pass with a backward pass to the pixels (what any guide that needs the model's gradient
on the image pays before it encodes anything: the ceiling of the model-aware trellis), and the
ladder over the zoo's MobileNetV2 tables at KL 0.3 as ``j4d encode --ladder zoo`` runs it (a
stream: each image stops at its first rung within the tolerance), its rungs by mozjpeg's
trellis and by ``rd`` (goal: 5 images/s). Candidates alternate over ``--rounds``; each keeps its best
round. The one-image command is timed as whole processes, median of ``--runs``.

Targets: ``rd`` at >= 0.3x Pillow's images/s at 224 (a coefficient-writing encoder at >= 0.5x,
``rd-aware`` at >= 0.2x);
a one-image ``j4d encode`` by ``rd`` within 0.5 s of the same command by Pillow.

Usage: python bench/bench_encoders.py [--images 100] [--rounds 3] [--out bench/out/encoders.json]
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
import torch

from j4d.cli.options import load_test_split
from j4d.data import require_data_root
from j4d.encoders import GuidedEncoder, LadderFiles, RateLadder
from j4d.encoders.registry import ENCODERS, encoder_of
from j4d.jpegio import load_image
from j4d.jpegio.images import image_files
from j4d.models import create_model
from j4d.utils.files import atomic_write_json
from j4d.zoo import nearest, zoo_entries

#: images/s over Pillow's each encoder aims at (at 224).
TARGETS = {"rd": 0.3, "deadzone": 0.5, "rd-aware": 0.2}
#: the ladder's tolerance (KL) and its goal in images/s at 224 (MobileNetV2, the zoo's rungs)
LADDER_TOLERANCE = 0.3
LADDER_TARGET = 5.0
#: images/s of the model-aware trellis over the guide's own forward pass
FORWARD_TARGET = 0.5
FORWARD = "MobileNetV2 forward"
FORWARD_BACKWARD = "MobileNetV2 forward+backward"
#: seconds a one-image ``j4d encode`` by rd may take over the same command by Pillow
ONE_IMAGE_SLACK = 0.5
_BATCH = 10


def _images_per_second(function, batches) -> float:
    start = time.perf_counter()
    count = 0
    for batch in batches:
        function(batch)
        count += len(batch)
    return count / (time.perf_counter() - start)


def _rates(candidates: dict, batches: list, rounds: int) -> dict[str, float]:
    for function in candidates.values():  # warm-up: library loading, first allocations
        function(batches[0][:2])
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, function in candidates.items():
            rates[name].append(_images_per_second(function, batches))
    return {name: max(values) for name, values in rates.items()}


def _one_image_seconds(tables_path: Path, image: Path, runs: int) -> dict[str, float]:
    """Median wall time of ``j4d encode --tables T IMAGE`` by each encoder (whole process)."""
    command = [sys.executable, "-m", "j4d", "encode", "--tables", str(tables_path), str(image)]
    times: dict[str, list[float]] = {"pillow": [], "rd": []}
    with tempfile.TemporaryDirectory() as out:
        for _ in range(runs):
            for encoder in times:
                start = time.perf_counter()
                subprocess.run(
                    [*command, "-o", out, "--encoder", encoder], check=True, capture_output=True
                )
                times[encoder].append(time.perf_counter() - start)
    return {encoder: statistics.median(values) for encoder, values in times.items()}


def bench(images_count: int, photos_count: int, rounds: int, runs: int) -> dict:
    root = require_data_root()
    model = create_model("mobilenet_v2", data_root=root)
    test = load_test_split(root, None, model, images_count)
    arrays = list(test.images.permute(0, 2, 3, 1).contiguous().numpy())
    batches = [arrays[s : s + _BATCH] for s in range(0, len(arrays), _BATCH)]
    entry = nearest("mobilenet_v2", 1.0)
    tables = entry.load()
    guided = GuidedEncoder(model, tables, encoder_of(tables), 1.0)

    def pixels(batch):
        return torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float()

    def forward(batch):
        with torch.no_grad():
            model(pixels(batch))

    candidates = {
        name: (lambda batch, e=encoder: [e.encode(image, tables) for image in batch])
        for name, encoder in ENCODERS.items()
    }
    full_size = {name: candidates[name] for name in ("pillow", "rd", "rd-aware", "trellis")}
    candidates[f"guided ({guided.encoder.name})"] = guided.encode_batch
    model_rd = GuidedEncoder(model, tables, ENCODERS["rd"], 1.0)
    candidates["guided (rd, model's Fisher)"] = model_rd.encode_batch
    rungs = [entry.load() for entry in zoo_entries("mobilenet_v2")]
    for name in ("trellis", "rd"):  # the zoo's rungs by their own encoder, and by j4d's
        files = LadderFiles(model, [(t, ENCODERS[name]) for t in rungs], keep=False)
        candidates[f"ladder ({name}, KL {LADDER_TOLERANCE:g})"] = RateLadder(
            files, LADDER_TOLERANCE
        ).encode_batch

    def forward_backward(batch):
        inputs = pixels(batch).requires_grad_(True)
        torch.autograd.grad(model(inputs).logsumexp(dim=1).sum(), inputs)

    candidates[FORWARD] = forward
    candidates[FORWARD_BACKWARD] = forward_backward
    best = _rates(candidates, batches, rounds)
    photos = [load_image(p) for p in image_files(root / "imagenet-samples")[:photos_count]]
    best_full = _rates(
        full_size, [photos[s : s + _BATCH] for s in range(0, len(photos), _BATCH)], rounds
    )
    with tempfile.TemporaryDirectory() as scratch:
        tables_path = tables.save(Path(scratch) / "tables.json")
        one_image = _one_image_seconds(tables_path, image_files(root / "imagenet-samples")[0], runs)
    return {
        "images": len(arrays),
        "size": int(test.images.shape[-1]),
        "tables": f"zoo mobilenet_v2 {entry.name} ({entry.scan_bpp:.3f} scan bpp measured)",
        "tables_encoder": guided.encoder.name,
        "images_per_s": best,
        "over_pillow": {name: rate / best["pillow"] for name, rate in best.items()},
        "over_forward": {name: rate / best[FORWARD] for name, rate in best.items()},
        "full_size": {
            "photos": len(photos),
            "mean_pixels": float(np.mean([p.shape[0] * p.shape[1] for p in photos])),
            "images_per_s": best_full,
            "over_pillow": {name: rate / best_full["pillow"] for name, rate in best_full.items()},
        },
        "one_image_encode_s": one_image,
        "one_image_over_pillow_s": one_image["rd"] - one_image["pillow"],
    }


def format_report(report: dict) -> str:
    rows = [
        f"Encoders at {report['size']}x{report['size']}, {report['images']} imagenet-val "
        f"images, {report['tables']}, 4:4:4, optimized Huffman",
        f"  {'encoder':28s} {'img/s':>8s} {'vs Pillow':>10s} {'target':>8s} {'vs forward':>11s}",
    ]
    for name, rate in report["images_per_s"].items():
        target = f">= {TARGETS[name]}" if name in TARGETS else ""
        ratio = report["over_pillow"][name]
        forward = report["over_forward"][name]
        goal = f" (>= {FORWARD_TARGET})" if name.startswith("guided (rd") else ""
        goal = f" (goal >= {LADDER_TARGET:g} img/s)" if name.startswith("ladder") else goal
        rows.append(f"  {name:28s} {rate:8.1f} {ratio:10.2f} {target:>8s} {forward:11.2f}{goal}")
    full = report["full_size"]
    rows += [
        "",
        f"Full-size photos: {full['photos']} of imagenet-samples, "
        f"{full['mean_pixels'] / 1e3:.0f} kpixels on average",
    ]
    for name, rate in full["images_per_s"].items():
        rows.append(f"  {name:28s} {rate:8.1f} {full['over_pillow'][name]:10.2f}")
    one = report["one_image_encode_s"]
    rows += [
        "",
        "One-image `j4d encode` (whole process, median): "
        f"pillow {one['pillow']:.2f} s, rd {one['rd']:.2f} s, "
        f"difference {report['one_image_over_pillow_s']:+.2f} s (target <= +{ONE_IMAGE_SLACK})",
    ]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--photos", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path("bench/out/encoders.json"))
    args = parser.parse_args(argv)
    report = {
        "torch_threads": torch.get_num_threads(),
        **bench(args.images, args.photos, args.rounds, args.runs),
    }
    print(format_report(report))
    print(f"\nwrote {atomic_write_json(args.out, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
