"""Validation of the core against libjpeg-turbo on real data: prints tables, writes JSON.

1. Hard (uniform) indices of the codec vs the coefficients libjpeg-turbo wrote (Pillow file,
   read back with jpeglib) for the same images and tables: fraction equal, largest difference.
2. Entropy rate estimate (alpha = 100) vs real scan bpp of Pillow files (4:4:4, optimized
   Huffman), default tables at QF 1..100: Pearson and MSE, batch-level (one estimate per QF
   over all images against the mean real scan bpp) and per image (every (image, QF) pair).

Usage: python bench/validate_codec.py [--cifar 500] [--out bench/out/validate.json]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch

from j4d import JPEGCodec, QuantTables
from j4d.data import class_spread_files, require_data_root
from j4d.encoders import encode_uniform
from j4d.evaluation.ratecheck import agreement, estimate_vs_real
from j4d.jpegio import load_image, read_coefficients, to_batch
from j4d.utils.files import atomic_write_json

AGREEMENT_QUALITIES = (1, 5, 10, 25, 50, 75, 90, 95, 100)


def index_agreement(images: list[np.ndarray]) -> list[dict]:
    rows = []
    for quality in AGREEMENT_QUALITIES:
        tables = QuantTables.from_quality(quality)
        codec = JPEGCodec(tables, mode="uniform")
        equal = total = worst = 0
        for image in images:
            reference = read_coefficients(encode_uniform(image, tables)).stacked()
            with torch.no_grad():
                ours = codec(to_batch(image, torch.float64)).indices[0].numpy()
            equal += int((ours == reference).sum())
            total += reference.size
            worst = max(worst, int(np.abs(ours - reference).max()))
        rows.append({"quality": quality, "equal": equal / total, "max_abs_diff": worst})
    return rows


def rate_correlation(images: list[np.ndarray]) -> dict:
    points = estimate_vs_real(images, range(1, 101), per_image=True)
    per_image_estimated = [v for p in points for v in p.estimated_per_image]
    per_image_scan = [v for p in points for v in p.scan_per_image]
    return {
        "batch": agreement([p.estimated_bpp for p in points], [p.real_scan_bpp for p in points]),
        "per_image": agreement(per_image_estimated, per_image_scan),
        "curve": [
            {
                "quality": p.quality,
                "estimated_bpp": p.estimated_bpp,
                "real_scan_bpp": p.real_scan_bpp,
            }
            for p in points
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--cifar", type=int, default=500, help="CIFAR-10 test images (class-balanced)"
    )
    parser.add_argument(
        "--kodak", type=int, default=2, help="Kodak images added to the agreement check"
    )
    parser.add_argument("--out", type=Path, default=Path("bench/out/validate.json"))
    args = parser.parse_args(argv)
    root = require_data_root()
    cifar = [load_image(p) for p in class_spread_files(root / "cifar10" / "test", args.cifar)]
    kodak = [load_image(p) for p in sorted((root / "kodak24").glob("kodim*.png"))[: args.kodak]]

    agreement_images = cifar[:: max(1, len(cifar) // 100)][:100] + kodak
    agreement = index_agreement(agreement_images)
    print(
        f"Hard indices vs libjpeg-turbo ({len(agreement_images) - len(kodak)} CIFAR-10 test + {len(kodak)} Kodak images, 4:4:4)"
    )
    print(f"  {'QF':>4s} {'equal':>9s} {'max |diff|':>11s}")
    for row in agreement:
        print(f"  {row['quality']:4d} {100 * row['equal']:8.3f}% {row['max_abs_diff']:11d}")

    correlation = rate_correlation(cifar)
    print(
        f"\nRate estimate (alpha = 100) vs real scan bpp, {len(cifar)} CIFAR-10 test images, QF 1..100, 4:4:4, optimized Huffman"
    )
    for kind in ("batch", "per_image"):
        row = correlation[kind]
        print(
            f"  {kind:10s} Pearson {row['pearson']:.5f}  MSE {row['mse']:.4f}  ({row['points']} points)"
        )
    print(f"  {'QF':>4s} {'estimated':>10s} {'real scan':>10s}")
    for row in correlation["curve"]:
        if row["quality"] in (1, 10, 25, 50, 75, 90, 95, 100):
            print(
                f"  {row['quality']:4d} {row['estimated_bpp']:10.3f} {row['real_scan_bpp']:10.3f}"
            )

    report = {
        "images": {"cifar10_test": len(cifar), "kodak": len(kodak)},
        "agreement": agreement,
        "rate_estimate": correlation,
    }
    print(f"\nwrote {atomic_write_json(args.out, report)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
