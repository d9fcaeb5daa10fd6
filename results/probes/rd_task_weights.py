"""Probe: distortion the task defines for j4d's own trellis (``rd``).

MobileNetV2's curvature (``j4d sensitivity --kind curvature``: the Hessian diagonal of the
distillation loss at T = 10, 400 unlabeled ImageNet crops, ``curvature_mobilenet_v2.json``)
prices an error on each coefficient; each table's training lambda prices a bit, so the
trellis minimizes the tables' own training objective (``Sensitivity.rd_meta``):
``bits + P / (2 lambda) * sum h e^2``. ``curv_xK`` scales that lambda by K (K = 1: the objective
itself). Same images, tables and measurements as ``rd_lambda.py`` (whose ``trellis`` and
``pillow`` rows it reuses); ``rd``: the encoder's defaults (1 / q^2, lambda 32, one pass, the
smaller frame); ``rd_lX``: the same at lambda X. Rows go to ``rd_task_weights.jsonl``;
``rd_task_weights.md`` gives each front's BD-rate against the trellis and Pillow fronts.

Run from the repository root: ``.venv/bin/python results/probes/rd_task_weights.py``
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path

import numpy as np

from j4d.analysis.sensitivity import Sensitivity
from j4d.encoders.rd import encode_rd, rd_settings
from j4d.tables import QuantTables

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
from rd_lambda import IMAGES, front_table, measure_modes, write_report  # noqa: E402

CURVATURE = HERE / "curvature_mobilenet_v2.json"
MODES = ["rd", "rd_l64", "rd_l128", "curv_x1", "curv_x4", "curv_x16"]
REUSED = ["pillow", "trellis"]


def _rd(image: np.ndarray, index: int, tables: QuantTables) -> bytes:
    return encode_rd(image, tables, rd_settings(tables))


def with_settings(tables: QuantTables, mode: str, curvature: Sensitivity) -> QuantTables:
    """``tables`` whose meta["rd"] is ``mode``'s (none for ``rd``: the defaults)."""
    if mode == "rd":
        return tables
    if mode.startswith("rd_l"):
        meta = {"lambda": float(mode[4:])}
        return QuantTables(tables.luma, tables.chroma, {**tables.meta, "rd": meta})
    scale = float(mode.split("_x")[1])
    meta = curvature.rd_meta(float(tables.meta["lambda"]))
    meta["lambda"] *= scale
    return QuantTables(tables.luma, tables.chroma, {**tables.meta, "rd": meta})


def measure() -> list[dict]:
    reused = [json.loads(line) for line in (HERE / "rd_lambda.jsonl").read_text().splitlines()]
    curvature = Sensitivity.load(CURVATURE)

    def encoder_for(mode: str, tables: QuantTables):
        return functools.partial(_rd, tables=with_settings(tables, mode, curvature))

    done = measure_modes(HERE / "rd_task_weights.jsonl", MODES, encoder_for)
    return [r for r in reused if r["mode"] in REUSED] + done


def report(rows: list[dict]) -> None:
    lines = [
        "# Distortion the task defines, for j4d's own trellis (`rd`)",
        "",
        f"MobileNetV2, first {IMAGES} imagenet-val images (round-robin over classes, 224 crop), "
        "8 of the 16 plain frontier tables of `imagenet-mobilenetv2-joint` (every other by "
        "name); 4:4:4, optimized Huffman, decoded by Pillow. BD-rate (bjontegaard PCHIP) of each "
        "front against mozjpeg's trellis and plain rounding (Pillow) on the same tables. `rd`: "
        "weights 1/q^2, lambda 32 (the defaults); `rd_lX`: lambda X; `curv_xK`: weights from "
        "MobileNetV2's curvature, lambda K x P / (2 x the tables' training lambda) (K = 1: "
        "the training objective itself).",
        "",
        *front_table(rows, REUSED + MODES),
    ]
    write_report(HERE / "rd_task_weights.md", lines)


if __name__ == "__main__":
    report(measure())
