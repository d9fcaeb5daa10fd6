"""Result tables of the README and docs/, generated from the committed ``results/*/summary.json``.

Each table sits in its page between ``<!-- results:NAME:start -->`` and
``<!-- results:NAME:end -->``. ``python scripts/results_tables.py`` prints them;
``--write`` rewrites them in place. ``tests/test_docs.py`` checks that every page holds what
this renders, so no figure in those tables is typed by hand and no two pages disagree.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "results"


@dataclass(frozen=True)
class Cell:
    """A BD-rate against default JPEG: ``folder``'s ``method``, by the primary metric or by
    agreement, on whole-file bpp (with scan bpp in brackets) or on scan bpp alone."""

    folder: str
    method: str
    by_agreement: bool = False
    rate: str = "file (scan)"  # or "scan", "file"

    def render(self, results: Path) -> str:
        summary = json.loads((results / self.folder / "summary.json").read_text())
        methods = (summary["by_agreement"] if self.by_agreement else summary)["methods"]
        method = methods[self.method]
        scan, file = f"{method['bd_rate']:+.1f} %", f"{method['bd_rate_file']:+.1f} %"
        return {"scan": scan, "file": file}.get(self.rate, f"{file} ({scan})")


@dataclass(frozen=True)
class Table:
    page: str  # relative to the repository root
    header: tuple[str, ...]
    rows: tuple[tuple[str | Cell, ...], ...]

    def render(self, name: str, results: Path = RESULTS) -> str:
        depth = "../" * self.page.count("/")
        lines = [f"<!-- results:{name}:start -->", "| " + " | ".join(self.header) + " |"]
        aligns = ("---:" if isinstance(cell, Cell) else "---" for cell in self.rows[0])
        lines.append("|" + "|".join(aligns) + "|")
        for row in self.rows:
            cells = []
            for cell in row:
                if isinstance(cell, Cell):
                    cells.append(cell.render(results))
                elif cell.startswith("@"):  # a link to a folder's summary: @label@folder
                    label, folder = cell[1:].split("@")
                    cells.append(f"[{label}]({depth}results/{folder}/summary.md)")
                else:
                    cells.append(cell)
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join([*lines, f"<!-- results:{name}:end -->"])


def _headline(setting: str, images: str, model: str, label: str, folder: str, method: str):
    return (setting, images, model, f"@{label}@{folder}", Cell(folder, method))


IMAGENET = ("ImageNet at 224", "imagenet-val, 1300")
ENC, CV = "imagenet-mobilenetv2-encoders", "camvid-deeplabv3-encoders"
TABLES = {
    "headline": Table(
        "README.md",
        ("setting", "test images", "model", "method", "BD-rate, whole file (scan)"),
        (
            _headline(
                *IMAGENET,
                "MobileNetV2",
                "j4d, trellis",
                "imagenet-mobilenetv2-joint",
                "j4d-trellis",
            ),
            _headline("", "", "", "j4d, own trellis (rd)", "imagenet-mobilenetv2-rd", "j4d-rd"),
            _headline("", "", "", "j4d, plain rounding", "imagenet-mobilenetv2-joint", "j4d"),
            _headline("", "", "", "mozjpeg", "imagenet-mobilenetv2-joint", "mozjpeg"),
            _headline(
                "",
                "",
                "",
                "j4d, model-aware ladder",
                "imagenet-mobilenetv2-ladder-joint",
                "j4d-trellis-ladder",
            ),
            _headline(
                *IMAGENET,
                "EfficientNet-Lite0",
                "j4d, trellis",
                "imagenet-efficientnetlite0-all",
                "j4d-trellis",
            ),
            _headline("", "", "", "mozjpeg", "imagenet-efficientnetlite0-all", "mozjpeg"),
            _headline(
                "Birds (CUB-50)",
                "cub50/test, 1500",
                "MobileNetV2 (CUB)",
                "j4d, trellis",
                "cub50-mobilenetv2-joint",
                "j4d-trellis",
            ),
            _headline("", "", "", "mozjpeg", "cub50-mobilenetv2-joint", "mozjpeg"),
            _headline(
                "Road scenes (CamVid), by mIoU",
                "camvid/val, 101",
                "DeepLabV3-MobileNetV2",
                "j4d, trellis",
                "camvid-deeplabv3-joint",
                "j4d-trellis",
            ),
            _headline("", "", "", "mozjpeg", "camvid-deeplabv3-joint", "mozjpeg"),
            _headline(
                "CIFAR-10 (32x32)",
                "cifar10/test, 5000",
                "ResNet-20",
                "j4d, plain rounding",
                "cifar10-resnet20-encoders",
                "j4d",
            ),
            _headline("", "", "", "mozjpeg", "cifar10-resnet20-encoders", "mozjpeg"),
        ),
    ),
    "encoders": Table(
        "docs/encoders.md",
        (
            "BD-rate vs default JPEG",
            "rate",
            "measured in",
            "j4d, plain rounding",
            "j4d tables + trellis",
            "mozjpeg",
        ),
        tuple(
            (
                label,
                rate,
                f"@{folder}@{folder}",
                *(Cell(folder, m, agreement, rate) for m in ("j4d", "j4d-trellis", "mozjpeg")),
            )
            for label, folder, agreement in (
                ("ImageNet (1300 imagenet-val, MobileNetV2), by top-1", ENC, False),
                ("... by agreement", ENC, True),
                ("CamVid (101 val frames, DeepLabV3-MobileNetV2), by mIoU", CV, False),
            )
            for rate in ("scan", "file")
        ),
    ),
}


def replace_block(text: str, name: str, block: str) -> str:
    start, end = f"<!-- results:{name}:start -->", f"<!-- results:{name}:end -->"
    head, rest = text.split(start, 1)
    return head + block + rest.split(end, 1)[1]


def write() -> None:
    for name, table in TABLES.items():
        page = ROOT / table.page
        page.write_text(replace_block(page.read_text(), name, table.render(name)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the pages in place")
    if parser.parse_args().write:
        write()
    else:
        print("\n\n".join(table.render(name) for name, table in TABLES.items()))
