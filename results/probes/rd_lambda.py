"""Probe: which lambda (and how many passes) should j4d's own trellis (``rd``) use by default?

Codes the first 400 imagenet-val images (round-robin over classes, 224 centre crop) with each of
the 16 plain frontier tables of ``../imagenet-mobilenetv2-joint`` by Pillow (plain rounding),
mozjpeg's trellis (the ``trellis`` encoder) and ``rd`` at several lambdas with its default
weights (1 / q^2), decodes with Pillow and scores MobileNetV2 (top-1, agreement with its
prediction on the uncompressed crop). 4:4:4, optimized Huffman. Rows go to ``rd_lambda.jsonl``
as they are measured (a rerun skips them); ``rd_lambda.md`` gives each encoder's front's BD-rate
against the trellis front and the Pillow front, by top-1 and by agreement, on whole-file and
scan bpp.

Run from the repository root: ``.venv/bin/python results/probes/rd_lambda.py``
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
from common import imagenet_crops

from j4d.encoders import get_encoder
from j4d.encoders.rd import RDSettings, default_weights, encode_rd
from j4d.evaluation.curves import Curve, bd_rate
from j4d.evaluation.realfile import code_images, evaluate_coded, reference_predictions
from j4d.models import create_model
from j4d.tables import QuantTables

HERE = Path(__file__).parent
FRONT = HERE.parent / "imagenet-mobilenetv2-joint" / "frontier" / "j4d"
IMAGES = 400
#: every other frontier table, by name (they span the front's rates)
TABLES = sorted(FRONT.glob("*.json"))[::2]
MODES = ["pillow", "trellis", "rd_l8", "rd_l16", "rd_l32"]


def _rd(
    image: np.ndarray, index: int, tables: QuantTables, lam: float, passes: int, frame: str
) -> bytes:
    return encode_rd(image, tables, RDSettings(lam, default_weights(tables)), passes, frame)


def _tables_encoder(image: np.ndarray, index: int, tables: QuantTables, name: str) -> bytes:
    return get_encoder(name).encode(image, tables)


def encoder(mode: str, tables: QuantTables, frame: str = "baseline"):
    """``mode``'s (image, index) -> bytes; ``rd`` modes write ``frame`` (the same indices)."""
    if mode.startswith("rd_"):
        parts = mode.split("_")[1:]
        lam = float(parts[0][1:])
        passes = int(parts[1][1:]) if len(parts) > 1 else 2
        return functools.partial(_rd, tables=tables, lam=lam, passes=passes, frame=frame)
    return functools.partial(_tables_encoder, tables=tables, name=mode)


def measure_modes(out: Path, modes: list[str], encoder_for: Callable) -> list[dict]:
    """Rows of every (table, mode) not yet in ``out`` (JSON lines, appended as measured):
    ``encoder_for(mode, tables)`` gives the (image, index) -> bytes encoder."""
    done = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
    seen = {(r["tables"], r["mode"]) for r in done}
    test = imagenet_crops(IMAGES)
    model = create_model("mobilenet_v2")
    references = reference_predictions([model], test.images)
    for path in TABLES:
        tables = QuantTables.load(path)
        for mode in modes:
            if (path.stem, mode) in seen:
                continue
            coded = code_images(test.images, encoder_for(mode, tables))
            point = evaluate_coded([model], coded, test.labels, references)[0]
            row = {
                "tables": path.stem,
                "mode": mode,
                "file_bpp": point.file_bpp,
                "scan_bpp": point.scan_bpp,
                "top1": point.metrics["top1"],
                "agreement": point.metrics["agreement"],
            }
            done.append(row)
            with out.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(json.dumps(row), flush=True)
    return done


def measure() -> list[dict]:
    return measure_modes(HERE / "rd_lambda.jsonl", MODES, encoder)


def write_report(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


#: the columns of :func:`front_table`: (anchor, rate, metric)
COLUMNS = [
    ("trellis", "file_bpp", "top1"),
    ("trellis", "file_bpp", "agreement"),
    ("trellis", "scan_bpp", "top1"),
    ("trellis", "scan_bpp", "agreement"),
    ("pillow", "file_bpp", "top1"),
    ("pillow", "file_bpp", "agreement"),
]


def front_table(rows: list[dict], modes: list[str]) -> list[str]:
    """Markdown rows: each mode's front's BD-rate against the trellis and Pillow fronts."""
    lines = [
        "| encoder | vs trellis, top-1, file | agreement, file | top-1, scan | agreement, scan "
        "| vs pillow, top-1, file | agreement, file |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]

    def curve(mode: str, rate: str, metric: str) -> Curve:
        points = [(r[rate], r[metric]) for r in rows if r["mode"] == mode]
        return Curve.from_points(mode, points).frontier()

    for mode in modes:
        if not any(r["mode"] == mode for r in rows):
            continue
        cells = []
        for anchor, rate, metric in COLUMNS:
            value = bd_rate(curve(anchor, rate, metric), curve(mode, rate, metric))
            cells.append("n/a" if value is None or math.isnan(value) else f"{value:+.1f} %")
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    return lines


def report(rows: list[dict]) -> None:
    lines = [
        "# Default lambda of j4d's own trellis (`rd`)",
        "",
        f"MobileNetV2, first {IMAGES} imagenet-val images (round-robin over classes, 224 "
        "crop), 8 of the 16 plain frontier tables of `imagenet-mobilenetv2-joint` (every other "
        "by name); 4:4:4, optimized Huffman, "
        "decoded by Pillow. BD-rate (bjontegaard PCHIP) of each encoder's Pareto front against "
        "mozjpeg's trellis (`trellis`) and plain rounding (`pillow`) on the same tables. "
        "`rd_lX`: lambda X, 2 passes, DC chain on, baseline files.",
        "",
        *front_table(rows, MODES),
    ]
    write_report(HERE / "rd_lambda.md", lines)


if __name__ == "__main__":
    report(measure())
