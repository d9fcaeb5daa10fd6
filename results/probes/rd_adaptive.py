"""Probe: mozjpeg's energy-adaptive lambda in j4d's own trellis (``rd``).

mozjpeg prices distortion per block by ``lambda = 2^14.75 / (2^16.5 + norm)`` with ``norm`` the
block's mean squared AC coefficient (libjpeg's DCT scale, 8x the orthonormal one): in ``rd``'s
units (orthonormal coefficients, weights 1 / q^2) that is ``K * 27554 / (1448 + s^2)`` per block,
``s^2`` the block's mean squared AC coefficient: about 19 for a flat block, falling in textured
ones. ``adaptive_xK`` hands ``rd`` those per-block weights (its compiled trellis takes weights
per block). Same images, tables and measurements as ``rd_lambda.py``; rows in
``rd_adaptive.jsonl``, BD-rates in ``rd_adaptive.md`` with ``rd`` (fixed lambda 32) beside.

Run from the repository root: ``.venv/bin/python results/probes/rd_adaptive.py``
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import numpy as np

from j4d.encoders.rd import RDSettings, analyze_rd, default_weights, rd_indices, write_indices_rd
from j4d.tables import QuantTables

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from rd_lambda import IMAGES, front_table, measure_modes, write_report  # noqa: E402

MODES = ["adaptive_x1", "adaptive_x2"]
REUSED = {"rd_lambda.jsonl": ["pillow", "trellis"], "rd_task_weights.jsonl": ["rd"]}


def _adaptive(image: np.ndarray, index: int, tables: QuantTables, scale: float) -> bytes:
    coefficients = analyze_rd(image)
    energy = np.square(coefficients[..., 1:]).mean(axis=-1, keepdims=True)  # (3, B, 1)
    lam = scale * 27554.0 / (1448.0 + energy)
    weights = default_weights(tables)[:, None, :] * lam  # lambda per block folded in
    indices = rd_indices(coefficients, tables, RDSettings(1.0, weights))
    return write_indices_rd(indices, tables, image.shape[0], image.shape[1], "smaller")


def measure() -> list[dict]:
    def encoder_for(mode: str, tables: QuantTables):
        return functools.partial(_adaptive, tables=tables, scale=float(mode.split("_x")[1]))

    reused = []
    for name, modes in REUSED.items():
        rows = [json.loads(line) for line in (HERE / name).read_text().splitlines()]
        reused += [r for r in rows if r["mode"] in modes]
    return reused + measure_modes(HERE / "rd_adaptive.jsonl", MODES, encoder_for)


def report(rows: list[dict]) -> None:
    lines = [
        "# mozjpeg's energy-adaptive lambda in j4d's own trellis (`rd`)",
        "",
        f"MobileNetV2, first {IMAGES} imagenet-val images, the 8 tables of `rd_lambda.md`; 4:4:4, "
        "optimized Huffman, decoded by Pillow; BD-rate (bjontegaard PCHIP) of each front against "
        "mozjpeg's trellis and Pillow on the same tables. `rd`: fixed lambda 32; "
        "`adaptive_xK`: lambda K x 27554 / (1448 + the block's mean squared AC coefficient) "
        "per block and component (K = 1: mozjpeg's own).",
        "",
        *front_table(rows, ["pillow", "trellis", "rd", *MODES]),
    ]
    write_report(HERE / "rd_adaptive.md", lines)


if __name__ == "__main__":
    report(measure())
