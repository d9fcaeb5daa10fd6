"""Probe: what progressive scans save over baseline with the same indices (rates only).

A progressive file holds exactly the indices of the baseline one (``pillow`` vs ``progressive``
encoder: both plain rounding by libjpeg-turbo), so the decoded image, and any model's accuracy,
is the same: only the bits differ. Encodes the 1300 imagenet-val images (centre crop 224) with
each tables file of the joint MobileNetV2 front and with default JPEG at a few qualities, both
ways, and checks that the decoded pixels agree. Writes ``progressive.json`` and
``progressive.md``.

Run from the repository root: ``.venv/bin/python results/probes/progressive.py``
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from j4d.data import require_data_root
from j4d.data.testset import load_test_images
from j4d.encoders.registry import encode_with
from j4d.jpegio import decode, file_rate
from j4d.tables import QuantTables

HERE = Path(__file__).parent
FRONT = HERE.parent / "imagenet-mobilenetv2-all" / "frontier"
QUALITIES = (10, 30, 50, 70, 90)


def main() -> None:
    root = require_data_root(None)
    test = load_test_images(root / "imagenet-val", 224, resize="none")
    images = [image.permute(1, 2, 0).numpy() for image in test.images]
    tables = {path.stem: QuantTables.load(path) for path in sorted(FRONT.glob("*.json"))}
    tables |= {f"jpeg_q{q}": QuantTables.from_quality(q) for q in QUALITIES}
    rows = []
    for name, table in tables.items():
        row: dict[str, float | str | bool] = {"tables": name}
        decoded = {}
        for encoder in ("pillow", "progressive"):
            rates = []
            for index, image in enumerate(images):
                data = encode_with(image, table, encoder)
                rates.append(file_rate(data, *image.shape[:2]))
                if index < 20:  # the same pixels: spot-check the first images
                    decoded.setdefault(index, []).append(decode(data))
            row[f"{encoder}_scan_bpp"] = float(np.mean([r.scan_bpp for r in rates]))
            row[f"{encoder}_file_bpp"] = float(np.mean([r.file_bpp for r in rates]))
        row["same_pixels"] = all(np.array_equal(*pair) for pair in decoded.values())
        rows.append(row)
        print(row, flush=True)
    (HERE / "progressive.json").write_text(json.dumps(rows, indent=1) + "\n")
    lines = [
        "# Progressive scans vs baseline, same indices",
        "",
        f"{len(images)} imagenet-val images (centre crop 224), 4:4:4, optimized Huffman, "
        "libjpeg-turbo (Pillow) baseline vs its default progressive script; mean bpp per image.",
        "",
        "| tables | baseline scan / file bpp | progressive scan / file bpp | change scan / file | "
        "same pixels |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        base_s, base_f = row["pillow_scan_bpp"], row["pillow_file_bpp"]
        prog_s, prog_f = row["progressive_scan_bpp"], row["progressive_file_bpp"]
        lines.append(
            f"| {row['tables']} | {base_s:.3f} / {base_f:.3f} | {prog_s:.3f} / {prog_f:.3f} | "
            f"{100 * (prog_s / base_s - 1):+.1f} % / {100 * (prog_f / base_f - 1):+.1f} % | "
            f"{row['same_pixels']} |"
        )
    (HERE / "progressive.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
