"""Probe: mozjpeg's trellis quantization on top of learned tables (not a j4d encoder).

Encodes the 5,000 CIFAR-10 test images with each frontier table of ``../cifar10-resnet20`` and
with default JPEG at a few qualities, three ways: Pillow (baseline, plain rounding: what j4d
measures), mozjpeg 4.0.3 through jpeglib without trellis (progressive frame: jpeglib cannot make
that backend write baseline), and mozjpeg with trellis on AC and DC. 4:4:4, optimized Huffman,
decoded by Pillow, ResNet-20 top-1, scan-data bpp. Writes ``trellis.json`` and ``trellis.md``;
the plain curves to compare with are read from ``../cifar10-resnet20/points.csv``.

Run from the repository root: ``.venv/bin/python results/probes/trellis.py``
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import numpy as np
from common import FRONTIER, plain_curves

from j4d.data import require_data_root
from j4d.data.testset import load_test_images
from j4d.encoders.reference import write_mozjpeg
from j4d.evaluation.curves import Curve, accuracy_at_rate, bd_rate, rate_at_accuracy
from j4d.evaluation.realfile import code_images, evaluate_coded
from j4d.models import create_model
from j4d.tables import QuantTables
from j4d.utils.processes import worker_pool

HERE = Path(__file__).parent
QUALITIES = (10, 20, 30, 40, 50, 60, 75, 85)
MODES = {
    "mozjpeg_no_trellis": ("+OPTIMIZE_CODING", "-TRELLIS_QUANT", "-TRELLIS_QUANT_DC"),
    "mozjpeg_trellis": ("+OPTIMIZE_CODING", "+TRELLIS_QUANT", "+TRELLIS_QUANT_DC"),
}


def encode_mozjpeg_tables(image: np.ndarray, index: int, qt: np.ndarray, flags: tuple) -> bytes:
    return write_mozjpeg(image, qt, flags)


def main() -> None:
    test = load_test_images(require_data_root() / "cifar10" / "test", 32)
    model = create_model("resnet20")
    tables = [
        ("j4d", path.stem, QuantTables.load(path))
        for path in sorted((FRONTIER / "frontier").glob("*.json"))
    ]
    tables += [("jpeg", f"jpeg_q{q}", QuantTables.from_quality(q)) for q in QUALITIES]
    rows = []
    with worker_pool(2) as pool:
        for method, name, table in tables:
            row = {"method": method, "name": name}
            encoders = {"pillow": table} | {
                mode: functools.partial(encode_mozjpeg_tables, qt=table.to_jpeglib(), flags=flags)
                for mode, flags in MODES.items()
            }
            for mode, encode in encoders.items():
                point = evaluate_coded(
                    [model], code_images(test.images, encode, pool), test.labels
                )[0]
                row[mode] = {"scan_bpp": point.scan_bpp, "top1": point.top1}
            rows.append(row)
            print(json.dumps(row), flush=True)
    (HERE / "trellis.json").write_text(
        json.dumps({"images": test.describe(), "rows": rows}, indent=1) + "\n"
    )
    write_report(rows, test.describe())


def write_report(rows: list[dict], images: str) -> None:
    rows = sorted(rows, key=lambda row: (row["method"] != "j4d", row["pillow"]["scan_bpp"]))
    plain = plain_curves()
    lines = [
        "# Trellis quantization (mozjpeg) on learned and default tables",
        "",
        f"ResNet-20, {images}; 4:4:4, optimized Huffman, decoded by Pillow; scan-data bpp. "
        "`vs plain` is the top-1 of the same method's plain-rounding curve "
        "(`../cifar10-resnet20/points.csv`) at the trellis point's rate (log-rate "
        "interpolation; n/a outside its range).",
        "",
        "| tables | Pillow bpp / top-1 | mozjpeg no trellis | mozjpeg trellis | vs plain |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        cells = [
            f"{row[m]['scan_bpp']:.3f} / {100 * row[m]['top1']:.2f} %" for m in ("pillow", *MODES)
        ]
        trellis = row["mozjpeg_trellis"]
        at = accuracy_at_rate(plain[row["method"]], trellis["scan_bpp"])
        delta = "n/a" if at is None else f"{100 * (trellis['top1'] - at):+.2f}"
        lines.append(f"| {row['name']} | " + " | ".join(cells) + f" | {delta} |")
    trellis = {
        method: Curve.from_points(
            method,
            [
                (r["mozjpeg_trellis"]["scan_bpp"], r["mozjpeg_trellis"]["top1"])
                for r in rows
                if r["method"] == method
            ],
        )
        for method in ("j4d", "jpeg")
    }
    lines += [
        "",
        "BD-rates by top-1 (`bjontegaard` PCHIP) over the accuracies both curves cover.",
        "",
        "| curve | BD-rate vs default JPEG, plain | vs the same tables, plain "
        "| scan bpp for 88 % | for 90 % |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, curve, same in (
        ("default JPEG, plain", plain["jpeg"], None),
        ("default JPEG + trellis", trellis["jpeg"].frontier(), plain["jpeg"]),
        ("j4d, plain (the frontier)", plain["j4d"], None),
        ("j4d + trellis", trellis["j4d"].frontier(), plain["j4d"]),
    ):
        reads = [
            "n/a" if r is None else f"{r:.3f}"
            for r in (rate_at_accuracy(curve, a) for a in (0.88, 0.90))
        ]
        bd = "anchor" if curve is plain["jpeg"] else f"{bd_rate(plain['jpeg'], curve):+.1f} %"
        own = "" if same is None else f"{bd_rate(same, curve):+.1f} %"
        lines.append(f"| {label} | {bd} | {own} | {reads[0]} | {reads[1]} |")
    (HERE / "trellis.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    if sys.argv[1:] == ["--report-only"]:  # rewrite trellis.md from trellis.json
        saved = json.loads((HERE / "trellis.json").read_text())
        write_report(saved["rows"], saved["images"])
    else:
        main()
