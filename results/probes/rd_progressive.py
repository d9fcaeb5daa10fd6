"""Probe: how much would progressive scans give j4d's own trellis (``rd``)?

mozjpeg's trellis files (the ``trellis`` encoder) are progressive: at low rates most blocks'
AC bands are all zero, which progressive scans code as EOB runs where a baseline scan spends an
EOB per block. Transcoding a file to progressive is lossless (same indices, same pixels), so the
accuracy of each ``rd_lambda.jsonl`` point stays and only its size changes: this probe rewrites
the same images' ``rd`` files (and Pillow's) with libjpeg-turbo's ``jpegtran -progressive
-optimize`` (its default scan script; Debian's libjpeg-turbo-progs, a tool of this probe only)
and reports each front's BD-rate against mozjpeg's trellis by whole-file bpp. Writes
``rd_progressive.json`` and ``rd_progressive.md``.

Run from the repository root after ``rd_lambda.py``:
``.venv/bin/python results/probes/rd_progressive.py``
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
from rd_lambda import HERE, IMAGES, MODES, TABLES, encoder

from j4d.data import IMAGENET, read_class_list, require_data_root
from j4d.data.testset import load_test_images
from j4d.evaluation.curves import Curve, bd_rate
from j4d.tables import QuantTables

#: jpegtran's scan scripts: libjpeg's default (spectral selection and successive approximation)
#: and spectral selection alone (``spectral.scans``: DC, then each component's AC in one scan)
SCRIPTS = {"default": [], "spectral": ["-scans", str(HERE / "spectral.scans")]}


def progressive_bpp(data: bytes, pixels: int, script: str) -> float:
    out = subprocess.run(
        ["jpegtran", "-progressive", "-optimize", "-copy", "none", *SCRIPTS[script]],
        input=data,
        capture_output=True,
        check=True,
    ).stdout
    return 8 * len(out) / pixels


def main() -> None:
    names = {path.stem for path in TABLES}
    rows = [json.loads(line) for line in (HERE / "rd_lambda.jsonl").read_text().splitlines()]
    rows = [row for row in rows if row["tables"] in names]
    root = require_data_root()
    test = load_test_images(
        root / IMAGENET.test, 224, IMAGES, IMAGENET.resize, read_class_list(root / IMAGENET.classes)
    )
    arrays = list(test.images.permute(0, 2, 3, 1).contiguous().numpy())
    pixels = arrays[0].shape[0] * arrays[0].shape[1]
    sizes = {}
    for path in TABLES:
        tables = QuantTables.load(path)
        for mode in MODES:
            if mode == "trellis":
                continue
            encode = encoder(mode, tables)
            files = [encode(a, i) for i, a in enumerate(arrays)]
            for script in SCRIPTS:
                key = f"{path.stem}/{mode}/{script}"
                sizes[key] = float(np.mean([progressive_bpp(f, pixels, script) for f in files]))
                print(key, sizes[key], flush=True)
            if mode.startswith("rd_"):  # j4d's own: the smaller of its baseline and progressive
                smaller = encoder(mode, tables, frame="smaller")
                key = f"{path.stem}/{mode}/j4d"
                sizes[key] = float(
                    np.mean([8 * len(smaller(a, i)) / pixels for i, a in enumerate(arrays)])
                )
                print(key, sizes[key], flush=True)
    (HERE / "rd_progressive.json").write_text(json.dumps(sizes, indent=1) + "\n")

    def front(mode: str, metric: str, script: str | None) -> Curve:
        points = [
            (sizes[f"{r['tables']}/{mode}/{script}"] if script else r["file_bpp"], r[metric])
            for r in rows
            if r["mode"] == mode
        ]
        return Curve.from_points(mode, points).frontier()

    lines = [
        "# Progressive scans for j4d's own trellis",
        "",
        f"The points of `rd_lambda.md` (MobileNetV2, {IMAGES} imagenet-val images, 8 frontier "
        "tables): the same files transcoded losslessly to progressive (`jpegtran -progressive "
        "-optimize`, libjpeg-turbo 2.1's default script, or `spectral.scans`: spectral selection "
        "only), so each point keeps its accuracy; `j4d's smaller`: the `rd` encoder's own choice "
        "between its baseline file and its progressive one (spectral selection). "
        "BD-rate by whole-file bpp against mozjpeg's trellis front (progressive, as it writes).",
        "",
        "| encoder | baseline, top-1 | progressive | spectral only | j4d's smaller "
        "| baseline, agreement | progressive | spectral only | j4d's smaller |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        if mode == "trellis":
            continue
        cells = []
        for metric in ("top1", "agreement"):
            for script in (None, *SCRIPTS, "j4d"):
                if script == "j4d" and not mode.startswith("rd_"):
                    cells.append("")
                    continue
                value = bd_rate(front("trellis", metric, None), front(mode, metric, script))
                cells.append(f"{value:+.1f} %")
        lines.append(f"| {mode} | " + " | ".join(cells) + " |")
    (HERE / "rd_progressive.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
