"""Probe: is j4d's writer behind mozjpeg's files, or its trellis's choices?

The first 100 imagenet-val images (224 crop) are encoded by mozjpeg's trellis (the ``trellis``
encoder) with three tables of the ImageNet joint front; each file's indices are read back
(jpeglib) and written again by ``rd``'s writer as baseline, progressive (spectral selection) and
the smaller of the two: the same coefficients, so any size difference is the frame and its
Huffman coding. Results in ``rd_writer.md``.

Run from the repository root: ``.venv/bin/python results/probes/rd_writer.py``
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from j4d.data import IMAGENET, read_class_list, require_data_root
from j4d.data.testset import load_test_images
from j4d.encoders import get_encoder
from j4d.encoders.rd import FRAMES, write_indices_rd
from j4d.jpegio import read_coefficients
from j4d.tables import QuantTables

HERE = Path(__file__).parent
FRONT = HERE.parent / "imagenet-mobilenetv2-joint" / "frontier" / "j4d"
TABLES = ["qf10_lam10", "qf30_lam1", "qf50_lam0.03"]
IMAGES = 100


def main() -> None:
    root = require_data_root()
    test = load_test_images(
        root / IMAGENET.test, 224, IMAGES, IMAGENET.resize, read_class_list(root / IMAGENET.classes)
    )
    images = test.images.permute(0, 2, 3, 1).contiguous().numpy()
    lines = [
        "# j4d's writer on mozjpeg's own indices",
        "",
        f"First {IMAGES} imagenet-val images (224 crop), 4:4:4, optimized Huffman. Total bytes of "
        "the files mozjpeg's trellis writes (progressive, its scan script), and of `rd`'s "
        "writer on the same indices read back from them (change against mozjpeg's).",
        "",
        "| tables | mozjpeg bytes | " + " | ".join(f"j4d {frame}" for frame in FRAMES) + " |",
        "|---|---:|" + "---:|" * len(FRAMES),
    ]
    for name in TABLES:
        tables = QuantTables.load(FRONT / f"{name}.json")
        totals = dict.fromkeys(FRAMES, 0)
        mozjpeg = 0
        for image in images:
            data = get_encoder("trellis").encode(image, tables)
            mozjpeg += len(data)
            components = read_coefficients(data).components
            indices = np.stack([c.reshape(-1, 64) for c in components]).astype(np.int16)
            for frame in FRAMES:
                totals[frame] += len(write_indices_rd(indices, tables, 224, 224, frame))
        cells = [f"{100 * (totals[f] / mozjpeg - 1):+.1f} %" for f in FRAMES]
        lines.append(f"| {name} | {mozjpeg} | " + " | ".join(cells) + " |")
    (HERE / "rd_writer.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
