"""Probe (issue 45): does pricing bits as the progressive frame codes them pay?

rd writes the smaller of a baseline and a progressive (spectral selection) file of the same
indices. Its trellis priced every block's end of block as a baseline scan codes it (one EOB
symbol per block), while a progressive AC band codes runs of all-zero blocks as one EOB-run
symbol. ``pricing="smaller"`` (:func:`j4d.encoders.rd.encode_rd`): where the previous indices'
progressive file would be the smaller, each component's band is priced as that frame codes it:
its own run/size code lengths, a block with a nonzero coefficient paying about one EOB-run
symbol (it ends the run before it and starts one), an all-zero block its share of the runs'
length bits.

MobileNetV2; imagenet-val, the first 400 images (round-robin over classes, 224 centre crop);
every other of the zoo's 14 MobileNetV2 tables by rate; rd with mozjpeg's per-block lambda rule
(the default) at scales 0.7, 1 and 1.4, priced ``baseline`` (the default) or by ``frame``;
4:4:4, decoded by Pillow. Rows go to ``rd_eob_runs.jsonl`` as measured (a rerun skips them);
``rd_eob_runs.md`` gives, per table, the paired change of bytes at scale 1 and the bytes at the
baseline-priced files' divergence, agreement and top-1 (the frame-priced sweep read there), with
95 % bootstrap intervals over the images.

Run from the repository root: ``.venv/bin/python results/probes/rd_eob_runs.py``
"""

from __future__ import annotations

import dataclasses
import functools
import json
from pathlib import Path

import numpy as np
from common import imagenet_crops, zoo_tables

from j4d.encoders.rd import encode_rd, rd_settings
from j4d.evaluation.matched import PerImage, matched_difference, paired_difference, per_image
from j4d.evaluation.realfile import code_images, outputs
from j4d.models import create_model
from j4d.tables import QuantTables

HERE = Path(__file__).parent
OUT = HERE / "rd_eob_runs.jsonl"
IMAGES = 400
TEMPERATURE = 10.0  # the zoo tables' distillation temperature
SCALES = [0.7, 1.0, 1.4]
PRICINGS = ["baseline", "frame"]


def _encode(
    image: np.ndarray, index: int, tables: QuantTables, scale: float, pricing: str
) -> bytes:
    settings = rd_settings(tables)
    settings = dataclasses.replace(settings, lam=settings.lam * scale)
    return encode_rd(image, tables, settings, pricing="smaller" if pricing == "frame" else pricing)


def measure() -> list[dict]:
    done = [json.loads(line) for line in OUT.read_text().splitlines()] if OUT.exists() else []
    seen = {(row["tables"], row["pricing"], row["scale"]) for row in done}
    test = imagenet_crops(IMAGES)
    model = create_model("mobilenet_v2")
    reference = outputs(model, test.images)
    for path in zoo_tables():
        tables = QuantTables.load(path)
        for pricing in PRICINGS:
            for scale in SCALES:
                if (path.stem, pricing, scale) in seen:
                    continue
                encode = functools.partial(_encode, tables=tables, scale=scale, pricing=pricing)
                coded = code_images(test.images, encode)
                outcomes = per_image(model, coded, test.labels, reference, TEMPERATURE)
                row = {"tables": path.stem, "pricing": pricing, "scale": scale}
                row["outcomes"] = outcomes.to_json()
                done.append(row)
                with OUT.open("a") as handle:
                    handle.write(json.dumps(row) + "\n")
                print(path.stem, pricing, scale, f"{outcomes.mean('file_bpp'):.4f}", flush=True)
    return done


def _cell(paired, scale: float = 100) -> str:
    if paired is None:
        return "n/a"
    return (
        f"{scale * paired.difference:+.2f} [{scale * paired.low:+.2f}, {scale * paired.high:+.2f}]"
    )


def _at(reference: PerImage, sweep: list[PerImage], key: str):
    try:
        return matched_difference(reference, sweep, key, "file_bpp", relative=True)
    except ValueError:
        return None


def report(rows: list[dict]) -> list[str]:
    by = {(r["tables"], r["pricing"], r["scale"]): PerImage.from_json(r["outcomes"]) for r in rows}
    names = list(dict.fromkeys(r["tables"] for r in rows))
    lines = [
        "# Pricing end-of-block runs as the progressive frame codes them (issue 45)",
        "",
        f"MobileNetV2; imagenet-val, the first {IMAGES} images (224 centre crop); every other "
        "zoo MobileNetV2 table; rd, mozjpeg's per-block lambda rule, files the smaller of "
        "baseline and progressive (spectral selection), 4:4:4, decoded by Pillow; bpp is the "
        "whole file. `baseline`: the trellis prices bits as a baseline scan codes them (rd's "
        "default); "
        "`frame`: as the frame the file will likely take. Differences are frame minus "
        "baseline pricing, paired over the images, 95 % bootstrap intervals; bytes in %, "
        "accuracy in points.",
        "",
        "| tables | bpp | bytes at scale 1 | top-1 at scale 1 | bytes at equal divergence | "
        "at equal agreement | at equal top-1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name in names:
        if not all((name, p, s) in by for p in PRICINGS for s in SCALES):
            continue
        before, after = by[name, "baseline", 1.0], by[name, "frame", 1.0]
        sweep = [by[name, "frame", s] for s in SCALES]
        bytes_change = paired_difference(before, after, "file_bpp", relative=True)
        top1 = paired_difference(before, after, "correct")
        cells = [_cell(bytes_change), _cell(top1)] + [
            _cell(_at(before, sweep, key)) for key in ("divergence", "agreement", "correct")
        ]
        lines.append(f"| {name} | {before.mean('file_bpp'):.3f} | " + " | ".join(cells) + " |")
    return lines


def main() -> None:
    rows = measure()
    (HERE / "rd_eob_runs.md").write_text("\n".join(report(rows)) + "\n")
    print("\n".join(report(rows)))


if __name__ == "__main__":
    main()
