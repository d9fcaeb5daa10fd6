"""Probe (issue 45): where should j4d's trellis (``rd``) sit on each table, and is it ahead of
mozjpeg's trellis (``trellis``) there, table by table at a matched rate?

MobileNetV2, the first 500 imagenet-val images (round-robin over classes, 224 centre crop): the
first 400 are the test images, the last 100 calibrate. Seven of the zoo's 14 MobileNetV2
tables (every other by rate). Each table codes the images with

- ``trellis``: mozjpeg 4.0.3's trellis through jpeglib (what the zoo ships);
- ``rd_lX``: rd with a fixed lambda X (bits per unit of squared error in steps; 32 is today's
  default) and its default weights 1 / q^2;
- ``rd_mozS``: rd with mozjpeg's lambda rule, per block ``S x 27554.4 / (1448.15 + mean_k
  y_k^2)`` over the block's 63 AC coefficients y (orthonormal DCT), as per-block weights.

4:4:4, optimized Huffman, decoded by Pillow; outcomes per image (:mod:`j4d.evaluation.matched`):
whole-file and scan bpp, top-1, agreement, and the tables' training divergence (T = 10:
``T^2 KL``). Rows go to ``rd_operating_point.jsonl`` as measured (a rerun skips them);
``rd_operating_point.md`` gives, per table:

- rd's sweeps (fixed lambda; mozjpeg's rule scaled) read at trellis's mean whole-file bpp, and
  the paired difference (rd minus trellis, 95 % bootstrap interval over the 400 images) of
  top-1, agreement and divergence;
- whole-file bytes at trellis's mean divergence, and at its agreement (relative, paired);
- the lambda of the grid that minimizes the tables' own objective (mean divergence + the
  table's training lambda x scan bpp) on the 100 calibration images, and its test outcome;
- BD-rates over the seven tables' fronts against trellis (whole file, top-1 and agreement).

Run from the repository root: ``.venv/bin/python results/probes/rd_operating_point.py``
"""

from __future__ import annotations

import functools
import gzip
import json
import math
import sys
from pathlib import Path

import numpy as np
from common import imagenet_crops, zoo_tables

from j4d.encoders import get_encoder
from j4d.encoders.rd import RDSettings, analyze_rd, default_weights, encode_rd, energy_lambdas
from j4d.errors import InvalidInputError
from j4d.evaluation.curves import Curve, bd_rate
from j4d.evaluation.matched import PerImage, matched_difference, paired_difference, per_image
from j4d.evaluation.realfile import code_images, outputs
from j4d.models import create_model
from j4d.tables import QuantTables

HERE = Path(__file__).parent
OUT = HERE / "rd_operating_point.jsonl"  # the working file (not committed)
ARCHIVE = OUT.with_suffix(".jsonl.gz")  # what the repository keeps: 2 MB of rows as 0.55 MB
IMAGES, TEST = 500, 400
TEMPERATURE = 10.0  # the zoo tables' distillation temperature
FIXED = [8.0, 16.0, 32.0]
MOZ = [0.5, 1.0, 2.0]
MODES = ["trellis"] + [f"rd_l{x:g}" for x in FIXED] + [f"rd_moz{s:g}" for s in MOZ]


#: rd's writer: ``lean`` (no JFIF, one DHT segment) since commit 46667b8; rows without it were
#: measured with the first writer and are measured again (kept for the lean files' table)
WRITER = "lean"


def _current(row: dict, writer: str = WRITER) -> bool:
    return row["mode"] == "trellis" or row.get("writer", "first") == writer


def _moz(image: np.ndarray, index: int, tables: QuantTables, scale: float) -> bytes:
    lambdas = scale * energy_lambdas(analyze_rd(image))
    weights = default_weights(tables)[:, None, :] * lambdas[..., None]
    return encode_rd(image, tables, RDSettings(1.0, weights))


def _fixed(image: np.ndarray, index: int, tables: QuantTables, lam: float) -> bytes:
    return encode_rd(image, tables, RDSettings(lam, default_weights(tables)))


def _trellis(image: np.ndarray, index: int, tables: QuantTables) -> bytes:
    return get_encoder("trellis").encode(image, tables)


def encoder(mode: str, tables: QuantTables):
    if mode == "trellis":
        return functools.partial(_trellis, tables=tables)
    if mode.startswith("rd_moz"):
        return functools.partial(_moz, tables=tables, scale=float(mode[6:]))
    return functools.partial(_fixed, tables=tables, lam=float(mode[4:]))


def read_rows() -> list[dict]:
    """The rows measured so far: the working file, else the committed compressed copy."""
    if OUT.exists():
        return [json.loads(line) for line in OUT.read_text().splitlines()]
    if ARCHIVE.exists():
        return [json.loads(line) for line in gzip.decompress(ARCHIVE.read_bytes()).splitlines()]
    return []


def measure() -> list[dict]:
    done = read_rows()
    if not OUT.exists() and done:
        OUT.write_text("".join(json.dumps(row) + "\n" for row in done))
    seen = {(row["tables"], row["mode"]) for row in done if _current(row)}
    test = imagenet_crops(IMAGES)
    model = create_model("mobilenet_v2")
    reference = outputs(model, test.images)
    for path in zoo_tables():
        tables = QuantTables.load(path)
        for mode in MODES:
            if (path.stem, mode) in seen:
                continue
            coded = code_images(test.images, encoder(mode, tables))
            outcomes = per_image(model, coded, test.labels, reference, TEMPERATURE)
            row = {"tables": path.stem, "mode": mode, "lam": tables.meta["lambda"]}
            row["writer"] = WRITER if mode != "trellis" else "jpeglib"
            row["outcomes"] = outcomes.to_json()
            done.append(row)
            with OUT.open("a") as handle:
                handle.write(json.dumps(row) + "\n")
            print(path.stem, mode, f"{outcomes.mean('file_bpp'):.4f}", flush=True)
    return done


def _split(outcomes: PerImage, part: slice) -> PerImage:
    return PerImage(*(outcomes[name][part] for name in PerImage.__dataclass_fields__))


def _paired_at(sweep: list[PerImage], reference: PerImage, key: str, outcome: str, relative: bool):
    try:
        return matched_difference(reference, sweep, key, outcome, relative=relative)
    except ValueError:
        return None


def _points(paired, scale: float = 100) -> str:
    if paired is None:
        return "n/a"
    return (
        f"{scale * paired.difference:+.2f} [{scale * paired.low:+.2f}, {scale * paired.high:+.2f}]"
    )


def report(rows: list[dict], writer: str = WRITER) -> list[str]:
    by = {
        (r["tables"], r["mode"]): PerImage.from_json(r["outcomes"])
        for r in rows
        if _current(r, writer)
    }
    lams = {r["tables"]: r["lam"] for r in rows}
    names = list(dict.fromkeys(r["tables"] for r in rows))
    test, calibration = slice(0, TEST), slice(TEST, IMAGES)
    lines = [
        "# rd's operating point, table by table (issue 45)",
        "",
        f"rd's writer: {writer} ("
        + ("no JFIF, one DHT segment" if writer == "lean" else "JFIF APP0, a DHT per scan")
        + ").",
        "",
        f"MobileNetV2; imagenet-val, first {IMAGES} images (round-robin over classes, 224 "
        f"centre crop): the first {TEST} test, the last {IMAGES - TEST} calibrate. Seven of the "
        "zoo's MobileNetV2 tables (every other by rate). 4:4:4, optimized Huffman, decoded by "
        "Pillow; bpp is the whole file. Differences are rd minus trellis (mozjpeg 4.0.3's "
        "trellis on the same tables), paired over the same test images, with 95 % bootstrap "
        "intervals. `fixed`: rd's sweep over lambda "
        + ", ".join(f"{x:g}" for x in FIXED)
        + "; `moz`: rd with mozjpeg's per-block lambda rule scaled by "
        + ", ".join(f"{s:g}" for s in MOZ)
        + ". Divergence: T^2 KL at T = 10 (the tables' training loss).",
        "",
        "## Accuracy at trellis's bpp",
        "",
        "| tables | trellis bpp | sweep | top-1 (points) | agreement (points) | divergence |",
        "|---|---:|---|---:|---:|---:|",
    ]
    sweeps = {
        "fixed": [f"rd_l{x:g}" for x in FIXED],
        "moz": [f"rd_moz{s:g}" for s in MOZ],
    }
    compared = [
        (name, label, _split(by[name, "trellis"], test),
         [_split(by[name, m], test) for m in modes if (name, m) in by])
        for name in names
        if (name, "trellis") in by
        for label, modes in sweeps.items()
    ]  # fmt: skip
    for name, label, reference, sweep in compared:
        cells = [
            _points(_paired_at(sweep, reference, "file_bpp", outcome, False), scale)
            for outcome, scale in (("correct", 100), ("agreement", 100), ("divergence", 1))
        ]
        lines.append(
            f"| {name} | {reference.mean('file_bpp'):.3f} | {label} | " + " | ".join(cells) + " |"
        )
    lines += [
        "",
        "## Bytes at trellis's accuracy",
        "",
        "| tables | sweep | bytes (%) at equal divergence | at equal agreement | at equal top-1 |",
        "|---|---|---:|---:|---:|",
    ]
    for name, label, reference, sweep in compared:
        cells = [
            _points(_paired_at(sweep, reference, key, "file_bpp", True))
            for key in ("divergence", "agreement", "correct")
        ]
        lines.append(f"| {name} | {label} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "## Lambda by the tables' objective on the calibration images",
        "",
        "Objective: mean divergence + the table's training lambda x mean scan bpp, on the "
        f"{IMAGES - TEST} calibration images; the grid is both sweeps. Then the test images.",
        "",
        "| tables | training lambda | chosen | test bpp | trellis bpp | top-1 vs trellis | "
        "agreement vs trellis |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    chosen_rows = []
    for name in names:
        modes = [m for m in MODES[1:] if (name, m) in by]
        if not modes or (name, "trellis") not in by:
            continue

        def objective(mode: str, name: str = name) -> float:
            part = _split(by[name, mode], calibration)
            return part.mean("divergence") + lams[name] * part.mean("scan_bpp")

        best = min(modes, key=objective)
        reference, chosen = _split(by[name, "trellis"], test), _split(by[name, best], test)
        chosen_rows.append((name, best))
        top1 = paired_difference(reference, chosen, "correct")
        agree = paired_difference(reference, chosen, "agreement")
        lines.append(
            f"| {name} | {lams[name]:g} | {best} | {chosen.mean('file_bpp'):.3f} | "
            f"{reference.mean('file_bpp'):.3f} | {_points(top1)} | {_points(agree)} |"
        )
    first = {
        (r["tables"], r["mode"]): PerImage.from_json(r["outcomes"])
        for r in rows
        if r["mode"] != "trellis" and "writer" not in r
    }
    pairs = [key for key in first if key in by] if writer != "first" else []
    if pairs:
        lines += [
            "",
            "## Lean files: the same indices, rd's first writer against the lean one",
            "",
            "Whole-file bytes over all 500 images, each table and rd mode: the same indices (a "
            "photo's frame may turn to the other where it becomes the smaller file).",
            "",
            "| rd mode | tables | bytes saved |",
            "|---|---:|---:|",
        ]
        for mode in dict.fromkeys(m for _, m in pairs):
            saved = [
                1 - by[key].mean("file_bpp") / first[key].mean("file_bpp")
                for key in pairs
                if key[1] == mode
            ]
            lines.append(
                f"| {mode} | {len(saved)} | {100 * min(saved):.2f}..{100 * max(saved):.2f} % |"
            )
    lines += [
        "",
        "## BD-rate over the tables' fronts against trellis (whole file, test images)",
        "",
        "| rd | top-1 | agreement |",
        "|---|---:|---:|",
    ]

    def front(choose) -> dict[str, Curve]:
        points = [
            _split(by[name, choose(name)], test)
            for name in names
            if choose(name) is not None and (name, choose(name)) in by
        ]
        return {
            metric: Curve.from_points(
                metric, [(p.mean("file_bpp"), p.mean(metric)) for p in points]
            ).frontier()
            for metric in ("correct", "agreement")
        }

    anchor = front(lambda name: "trellis")
    choices = {f"fixed lambda {m[4:]}": (lambda name, m=m: m) for m in sweeps["fixed"]}
    choices |= {f"mozjpeg's rule x {m[6:]}": (lambda name, m=m: m) for m in sweeps["moz"]}
    chosen_by = dict(chosen_rows)
    choices["lambda by objective"] = lambda name: chosen_by.get(name)
    for label, choose in choices.items():
        curves = front(choose)
        cells = []
        for metric in ("correct", "agreement"):
            try:
                value = bd_rate(anchor[metric], curves[metric])
            except InvalidInputError:  # a front of fewer than two points
                value = None
            cells.append("n/a" if value is None or math.isnan(value) else f"{value:+.1f} %")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return lines


if __name__ == "__main__":
    rows = measure() if "--report" not in sys.argv else read_rows()
    if OUT.exists():
        ARCHIVE.write_bytes(gzip.compress(OUT.read_bytes(), mtime=0))
    for writer, name in (
        (WRITER, "rd_operating_point.md"),
        ("first", "rd_operating_point_first.md"),
    ):
        text = "\n".join(report(rows, writer)) + "\n"
        (HERE / name).write_text(text)
    print(text)
