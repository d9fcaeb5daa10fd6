"""Probe (issue 45): what a data set saves when its files share their tables (ISO 10918-1's
abbreviated format, ``j4d encode --abbreviated``), on imagenet-val against default JPEG.

MobileNetV2, all 1300 imagenet-val images (224 centre crop), the zoo's 14 MobileNetV2 tables
(rd, mozjpeg's per-block lambda). For each table, Huffman tables are learned once on a corpus
the test never sees: the 334 imagenet-samples photos, resized to 256 and centre-cropped to 224
as a user's pipeline would (:func:`j4d.encoders.shared.learn_shared_tables`). Each test image
is then written by rd priced with those Huffman tables; the file is decoded by Pillow
(libjpeg-turbo) and read by the model. Rates, per image of the 224x224 crop, 4:4:4:

- ``j4d-rd-shared``: the ordinary file with the shared Huffman tables (its DQT and DHT in it);
- ``j4d-rd-abbreviated``: the abbreviated file (the same bytes less the DQT and DHT segments,
  a fixed count per table, checked against a real abbreviated file of the first image); the
  tables file itself (under 600 bytes per table) is written once for the data set and left out;
- scan bpp: the entropy-coded data alone, as in every report.

Rows (each table's mean outcomes) go to ``abbreviated.jsonl`` as measured (a rerun skips
them); ``points.json`` in ``results/imagenet-mobilenetv2-abbreviated`` holds them as ``j4d eval``
writes its points, so ``scripts/plot_fronts.py`` overlays them on the default-JPEG and rd curves
of the same images.

Run from the repository root: ``.venv/bin/python results/probes/abbreviated.py``
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from j4d.data import IMAGENET, read_class_list, require_data_root
from j4d.data.folders import preprocess
from j4d.data.testset import load_photos, load_test_images
from j4d.encoders.shared import encode_shared, learn_shared_tables
from j4d.evaluation.matched import OUTCOMES, per_image
from j4d.evaluation.realfile import code_images, outputs
from j4d.models import create_model
from j4d.tables import QuantTables
from j4d.utils.files import atomic_write_json

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
ZOO = ROOT / "src" / "j4d" / "zoo" / "mobilenet_v2"
OUT = HERE / "abbreviated.jsonl"
RESULTS = ROOT / "results" / "imagenet-mobilenetv2-abbreviated"
SIZE = 224
SETTINGS = {
    "encoder": "j4d rate-distortion trellis (mozjpeg's per-block lambda) priced by shared "
    "Huffman tables learned on 334 imagenet-samples crops",
    "subsampling": "4:4:4",
    "frame": "baseline or progressive (spectral selection), whichever is smaller",
}


def corpus(root: Path) -> list[np.ndarray]:
    """The learning corpus: imagenet-samples photos as 224 crops of a 256 short side."""
    photos = load_photos(root / "imagenet-samples").images
    return [preprocess(p, SIZE).permute(1, 2, 0).contiguous().numpy() for p in photos]


def measure() -> list[dict]:
    done = [json.loads(line) for line in OUT.read_text().splitlines()] if OUT.exists() else []
    seen = {row["tables"] for row in done}
    todo = [path for path in sorted(ZOO.glob("*.json")) if path.stem not in seen]
    if not todo:
        return done
    root = require_data_root()
    test = load_test_images(
        root / IMAGENET.test, SIZE, None, IMAGENET.resize, read_class_list(root / IMAGENET.classes)
    )
    model = create_model("mobilenet_v2")
    reference = outputs(model, test.images)
    sample = corpus(root)
    first = test.images[0].permute(1, 2, 0).contiguous().numpy()
    for path in todo:
        tables = QuantTables.load(path)
        shared = learn_shared_tables(sample, tables)
        tables_bytes = len(encode_shared(first, shared, abbreviated=False)) - len(
            encode_shared(first, shared)
        )

        def encode(image: np.ndarray, index: int, shared=shared) -> bytes:
            return encode_shared(image, shared, abbreviated=False)

        coded = code_images(test.images, encode)
        outcomes = per_image(model, coded, test.labels, reference, 10.0)
        row = {
            "tables": path.stem,
            "tables_file_bytes": len(shared.to_bytes()),
            "table_segment_bytes": tables_bytes,
            **{name: outcomes.mean(name) for name in OUTCOMES},
        }
        done.append(row)
        with OUT.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        print(path.stem, f"{outcomes.mean('file_bpp'):.4f}", tables_bytes, flush=True)
    return done


def points(rows: list[dict]) -> list[dict]:
    out = []
    pixels = SIZE * SIZE
    for row in rows:
        common = {
            "tables": f"src/j4d/zoo/mobilenet_v2/{row['tables']}.json",
            **SETTINGS,
            "scan_bpp": row["scan_bpp"],
            "top1": row["correct"],
            "agreement": row["agreement"],
        }
        shared_bpp = row["file_bpp"]
        abbreviated_bpp = shared_bpp - 8 * row["table_segment_bytes"] / pixels
        for method, bpp, huffman in (
            ("j4d-rd-shared", shared_bpp, "shared, in each file"),
            ("j4d-rd-abbreviated", abbreviated_bpp, "shared, in the tables file only"),
        ):
            name = f"{row['tables']}_{method.removeprefix('j4d-rd-')}"
            out.append({"name": name, "method": method, "huffman": huffman, **common})
            out[-1]["file_bpp"] = bpp
    return out


def main() -> int:
    torch.set_num_threads(1)
    rows = measure()
    meta = {
        "models": "mobilenet_v2",
        "images": "imagenet-val, 1300 images",
        "rates": "scan_bpp = entropy-coded scan data only, file_bpp = whole file (abbreviated: "
        "without DQT and DHT); mean per image",
        "decoder": "Pillow (libjpeg-turbo)",
        "tables_file_bytes": sorted({row["tables_file_bytes"] for row in rows}),
    }
    atomic_write_json(RESULTS / "points.json", {"meta": meta, "points": points(rows)})
    print(f"{len(rows)} tables; {RESULTS / 'points.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
