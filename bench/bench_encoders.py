"""Encoder benchmark at 224x224: images/s of every registered encoder and of model-aware
encoding, against plain Pillow with the same tables (no pass/fail: the target is reported).

The images are the first ``--images`` of ``DATA/imagenet-val`` preprocessed as the ImageNet
models read them (224x224 centre crop), the tables the zoo's MobileNetV2 tables nearest 1 bpp,
4:4:4 with optimized Huffman tables. Model-aware encoding (``j4d.encoders``, MobileNetV2 guiding,
strength 1, the tables' encoder) codes batches of 10 and is shown beside MobileNetV2's own
forward pass at that batch (what a server that runs the model anyway already pays).
Candidates alternate over ``--rounds``; each keeps its best round.

Target: a coefficient-writing encoder at >= 0.5x Pillow's images/s.

Usage: python bench/bench_encoders.py [--images 100] [--rounds 3] [--out bench/out/encoders.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from j4d.cli.options import load_test_split
from j4d.data import require_data_root
from j4d.encoders import GuidedEncoder
from j4d.encoders.registry import ENCODERS, encoder_of
from j4d.models import create_model
from j4d.utils.files import atomic_write_text
from j4d.zoo import nearest

#: Encoders that compute the indices themselves and hand them to a JPEG writer.
COEFFICIENT_WRITERS = ("deadzone",)
_BATCH = 10


def _images_per_second(function, batches) -> float:
    start = time.perf_counter()
    count = 0
    for batch in batches:
        function(batch)
        count += len(batch)
    return count / (time.perf_counter() - start)


def bench(images_count: int, rounds: int) -> dict:
    root = require_data_root()
    model = create_model("mobilenet_v2", data_root=root)
    test = load_test_split(root, None, model, images_count)
    arrays = list(test.images.permute(0, 2, 3, 1).contiguous().numpy())
    batches = [arrays[s : s + _BATCH] for s in range(0, len(arrays), _BATCH)]
    entry = nearest("mobilenet_v2", 1.0)
    tables = entry.load()
    guided = GuidedEncoder(model, tables, encoder_of(tables), 1.0)

    def forward(batch):
        with torch.no_grad():
            model(torch.from_numpy(np.stack(batch)).permute(0, 3, 1, 2).float())

    candidates = {
        name: (lambda batch, e=encoder: [e.encode(image, tables) for image in batch])
        for name, encoder in ENCODERS.items()
    }
    candidates[f"guided ({guided.encoder.name})"] = guided.encode_batch
    candidates["MobileNetV2 forward"] = forward
    for function in candidates.values():  # warm-up: library loading, first allocations
        function(batches[0][:2])
    rates: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(rounds):
        for name, function in candidates.items():
            rates[name].append(_images_per_second(function, batches))
    best = {name: max(values) for name, values in rates.items()}
    return {
        "images": len(arrays),
        "size": int(test.images.shape[-1]),
        "tables": f"zoo mobilenet_v2 {entry.name} ({entry.scan_bpp:.3f} scan bpp measured)",
        "tables_encoder": guided.encoder.name,
        "images_per_s": best,
        "over_pillow": {name: rate / best["pillow"] for name, rate in best.items()},
    }


def format_report(report: dict) -> str:
    rows = [
        f"Encoders at {report['size']}x{report['size']}, {report['images']} imagenet-val "
        f"images, {report['tables']}, 4:4:4, optimized Huffman",
        f"  {'encoder':28s} {'img/s':>8s} {'vs Pillow':>10s} {'target':>8s}",
    ]
    for name, rate in report["images_per_s"].items():
        target = ">= 0.5" if name in COEFFICIENT_WRITERS else ""
        ratio = report["over_pillow"][name]
        rows.append(f"  {name:28s} {rate:8.1f} {ratio:10.2f} {target:>8s}")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=Path("bench/out/encoders.json"))
    args = parser.parse_args(argv)
    report = {"torch_threads": torch.get_num_threads(), **bench(args.images, args.rounds)}
    print(format_report(report))
    atomic_write_text(args.out, json.dumps(report, indent=2) + "\n")
    print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
