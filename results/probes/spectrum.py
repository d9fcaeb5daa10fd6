"""Probe: how much of an 8x8 luma block's energy is AC at 32x32 and at 224x224.

JPEG's tables act on 8x8 blocks whatever the image size. A 32x32 CIFAR-10 image packs a whole
object into 4x4 blocks, a 224x224 ImageNet crop into 28x28: this measures the mean energy per
luma DCT frequency (JFIF YCbCr, level shift 128, orthonormal DCT, j4d's codec) over the 5,000
CIFAR-10 test images, the 334 ImageNet samples preprocessed as the paper does (short side 256,
centre crop 224), and the same crops resized to 32x32. Writes ``spectrum.json`` and
``spectrum.md``.

Run from the repository root: ``.venv/bin/python results/probes/spectrum.py``
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from j4d.codec import block_dct, rgb_to_ycbcr
from j4d.data import require_data_root
from j4d.data.folders import preprocess
from j4d.data.testset import load_test_images
from j4d.jpegio.images import image_files, load_image_tensor
from j4d.tables import natural_to_zigzag

HERE = Path(__file__).parent


def luma_energy(images: torch.Tensor) -> torch.Tensor:
    """Mean squared luma DCT coefficient per frequency (64, zig-zag order) of uint8 images."""
    luma = rgb_to_ycbcr(images.double())[:, :1] - 128
    coefficients = block_dct(luma)  # (N, 1, B, 64)
    return (coefficients**2).reshape(-1, 64).mean(0)


def shares(energy: torch.Tensor) -> dict[str, float]:
    rows, cols = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    order = torch.as_tensor(natural_to_zigzag(list(range(64))))
    band = (rows + cols).flatten()[order]  # u + v of each zig-zag position
    ac = energy[1:].sum()
    return {
        "ac_share_of_total": float(ac / energy.sum()),
        "high_share_of_ac": float(energy[band >= 4].sum() / ac),
        "mean_ac_energy": float(ac / 63),
    }


def main() -> None:
    data = require_data_root()
    cifar = load_test_images(data / "cifar10" / "test", 32).images
    paths = image_files(data / "imagenet-samples", recursive=False)
    crops = torch.stack([preprocess(load_image_tensor(p), 224) for p in paths])
    small = torch.stack([preprocess(crop, 32, resize=32) for crop in crops])
    sets = {
        "CIFAR-10 test, 32x32": cifar,
        "ImageNet samples, 224x224 crops": crops,
        "the same crops resized to 32x32": small,
    }
    results = {name: {"images": len(x), **shares(luma_energy(x))} for name, x in sets.items()}
    (HERE / "spectrum.json").write_text(json.dumps(results, indent=1) + "\n")
    lines = [
        "# Luma DCT energy per 8x8 block",
        "",
        "| images | count | AC share of block energy | share of AC energy at u + v >= 4 |",
        "|---|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['images']} | {100 * r['ac_share_of_total']:.1f} % "
            f"| {100 * r['high_share_of_ac']:.1f} % |"
        )
    (HERE / "spectrum.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
