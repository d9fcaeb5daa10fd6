"""The README's headline results table, generated from the committed ``results/*/summary.json``.

``python scripts/headline_results.py`` prints the table; ``--write`` replaces the block between
``<!-- headline:start -->`` and ``<!-- headline:end -->`` in README.md. ``tests/test_docs.py``
checks that the README holds what this renders, so no figure there is typed by hand.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
START, END = "<!-- headline:start -->", "<!-- headline:end -->"

#: (setting, test images, model, [(method label, results folder, method key)])
ROWS = [
    (
        "ImageNet at 224",
        "imagenet-val, 1300",
        "MobileNetV2",
        [
            ("j4d, trellis", "imagenet-mobilenetv2-joint", "j4d-trellis"),
            ("j4d, own trellis (rd)", "imagenet-mobilenetv2-rd", "j4d-rd"),
            ("j4d, plain rounding", "imagenet-mobilenetv2-joint", "j4d"),
            ("mozjpeg", "imagenet-mobilenetv2-joint", "mozjpeg"),
            ("j4d, model-aware ladder", "imagenet-mobilenetv2-ladder-joint", "j4d-trellis-ladder"),
        ],
    ),
    (
        "ImageNet at 224",
        "imagenet-val, 1300",
        "EfficientNet-Lite0",
        [
            ("j4d, trellis", "imagenet-efficientnetlite0-all", "j4d-trellis"),
            ("mozjpeg", "imagenet-efficientnetlite0-all", "mozjpeg"),
        ],
    ),
    (
        "Birds (CUB-50)",
        "cub50/test, 1500",
        "MobileNetV2 (CUB)",
        [
            ("j4d, trellis", "cub50-mobilenetv2-joint", "j4d-trellis"),
            ("mozjpeg", "cub50-mobilenetv2-joint", "mozjpeg"),
        ],
    ),
    (
        "Road scenes (CamVid), by mIoU",
        "camvid/val, 101",
        "DeepLabV3-MobileNetV2",
        [
            ("j4d, trellis", "camvid-deeplabv3-joint", "j4d-trellis"),
            ("mozjpeg", "camvid-deeplabv3-joint", "mozjpeg"),
        ],
    ),
    (
        "CIFAR-10 (32x32)",
        "cifar10/test, 5000",
        "ResNet-20",
        [
            ("j4d, plain rounding", "cifar10-resnet20-encoders", "j4d"),
            ("mozjpeg", "cifar10-resnet20-encoders", "mozjpeg"),
        ],
    ),
]


def render(results: Path = ROOT / "results") -> str:
    """The table, between its markers."""
    lines = [
        START,
        "| setting | test images | model | method | BD-rate, whole file (scan) |",
        "|---|---|---|---|---:|",
    ]
    for setting, images, model, methods in ROWS:
        for index, (label, folder, key) in enumerate(methods):
            method = json.loads((results / folder / "summary.json").read_text())["methods"][key]
            cells = [setting, images, model] if index == 0 else ["", "", ""]
            link = f"[{label}](results/{folder}/summary.md)"
            rate = f"{method['bd_rate_file']:+.1f} % ({method['bd_rate']:+.1f} %)"
            lines.append("| " + " | ".join([*cells, link, rate]) + " |")
    return "\n".join([*lines, END])


def write(readme: Path = ROOT / "README.md") -> None:
    text = readme.read_text()
    head, rest = text.split(START, 1)
    tail = rest.split(END, 1)[1]
    readme.write_text(head + render() + tail)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    if parser.parse_args().write:
        write()
    else:
        print(render())
