"""Result tables of the README and docs/, generated from the committed ``results/*/summary.json``.

Each table sits in its page between ``<!-- results:NAME:start -->`` and
``<!-- results:NAME:end -->``. ``python scripts/results_tables.py`` prints them;
``--write`` rewrites them in place. ``tests/test_docs.py`` checks that every page holds what
this renders, so no figure in those tables is typed by hand and no two pages disagree.
"""

from __future__ import annotations

import argparse
import functools
import json
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@functools.cache
def _json(path: Path) -> dict:
    """A summary or comparison file, read once however many cells quote it."""
    return json.loads(path.read_text())


RESULTS = ROOT / "results"


@dataclass(frozen=True)
class Cell:
    """A BD-rate against default JPEG: ``folder``'s ``method``, by the primary metric or by
    agreement, on whole-file bpp (with scan bpp in brackets) or on scan bpp alone; by one
    ``model``'s metric where the evaluation measured several."""

    folder: str
    method: str
    by_agreement: bool = False
    rate: str = "file (scan)"  # or "scan", "file"
    model: str | None = None

    def render(self, results: Path) -> str:
        summary = _json(results / self.folder / "summary.json")
        if self.model is not None:
            summary = summary["per_model"][self.model]
        methods = (summary["by_agreement"] if self.by_agreement else summary)["methods"]
        method = methods[self.method]
        scan, file = f"{method['bd_rate']:+.1f} %", f"{method['bd_rate_file']:+.1f} %"
        return {"scan": scan, "file": file}.get(self.rate, f"{file} ({scan})")


@dataclass(frozen=True)
class FrontCell:
    """A BD-rate that ``scripts/plot_fronts.py`` measured: curve ``label`` against the overlay's
    first curve, from ``folder/<stem with {rate}>.json``, whole file (scan)."""

    folder: str
    stem: str  # e.g. "fronts_top1_{rate}_vs_trellis"
    label: str

    def render(self, results: Path) -> str:
        values = []
        for rate in ("file_bpp", "scan_bpp"):
            path = results / self.folder / (self.stem.format(rate=rate) + ".json")
            values.append(_json(path)["curves"][self.label]["bd_rate"])
        return f"{values[0]:+.1f} % ({values[1]:+.1f} %)"


@dataclass(frozen=True)
class Table:
    page: str  # relative to the repository root
    header: tuple[str, ...]
    rows: tuple[tuple[str | Cell | FrontCell, ...], ...]

    def render(self, name: str, results: Path = RESULTS) -> str:
        depth = "../" * self.page.count("/")
        lines = [f"<!-- results:{name}:start -->", "| " + " | ".join(self.header) + " |"]
        aligns = ("---:" if isinstance(c, (Cell, FrontCell)) else "---" for c in self.rows[0])
        lines.append("|" + "|".join(aligns) + "|")
        for row in self.rows:
            cells = []
            for cell in row:
                if isinstance(cell, (Cell, FrontCell)):
                    cells.append(cell.render(results))
                elif cell.startswith("@"):  # a link: @label@folder (its summary) or @label@x.md
                    label, target = cell[1:].split("@")
                    target = target if target.endswith(".md") else f"{target}/summary.md"
                    cells.append(f"[{label}]({depth}results/{target})")
                else:
                    cells.append(cell)
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join([*lines, f"<!-- results:{name}:end -->"])


@dataclass(frozen=True)
class SummaryTable:
    """One evaluation's summary as a page shows it: each method's accuracy at the summary's
    rates (gain over default JPEG in points), the rate to reach default JPEG's accuracies, and
    BD-rates by the primary metric and by agreement."""

    page: str
    folder: str
    methods: tuple[tuple[str, str], ...]  # (column label, method key)

    def render(self, name: str, results: Path = RESULTS) -> str:
        summary = _json(results / self.folder / "summary.json")
        anchor = summary["methods"]["jpeg"]
        labels = ["default JPEG", *(label for label, _ in self.methods)]
        lines = [
            f"<!-- results:{name}:start -->",
            "| scan bpp | " + " | ".join(labels) + " |",
            "|---:|" + "---:|" * len(labels),
        ]
        for i, rate in enumerate(summary["rate_labels"]):
            base = anchor["accuracy_at_rate"][i]
            cells = ["n/a" if base is None else f"{100 * base:.2f}"]
            for _, key in self.methods:
                value = summary["methods"][key]["accuracy_at_rate"][i]
                if value is None:
                    cells.append("n/a")
                else:
                    gain = "" if base is None else f" ({100 * (value - base):+.2f})"
                    cells.append(f"{100 * value:.2f}{gain}")
            lines.append(f"| {rate.replace('jpeg ', '')} | " + " | ".join(cells) + " |")
        for i, target in enumerate(summary["accuracy_labels"]):
            base = anchor["rate_at_accuracy"][i]
            cells = ["n/a" if base is None else f"{base:.3f}"]
            for _, key in self.methods:
                value = summary["methods"][key]["rate_at_accuracy"][i]
                change = (
                    "" if value is None or base is None else f" ({100 * (value / base - 1):+.1f} %)"
                )
                cells.append("n/a" if value is None else f"{value:.3f}{change}")
            lines.append(
                f"| scan bpp to {target.replace('jpeg ', '')} | " + " | ".join(cells) + " |"
            )
        for title, by_agreement in (("BD-rate by top-1", False), ("BD-rate by agreement", True)):
            if by_agreement and "by_agreement" not in summary:
                continue
            cells = [""] + [
                Cell(self.folder, key, by_agreement).render(results) for _, key in self.methods
            ]
            lines.append(f"| {title}, whole file (scan) | " + " | ".join(cells) + " |")
        return "\n".join([*lines, f"<!-- results:{name}:end -->"])


@dataclass(frozen=True)
class Excerpt:
    """The ``index``-th Markdown table of a report a probe script writes (``results/...md``),
    quoted as it is: the page cannot drift from the report."""

    page: str
    source: str  # relative to results/
    index: int = 0

    def render(self, name: str, results: Path = RESULTS) -> str:
        tables, current = [], []
        for line in (results / self.source).read_text().splitlines():
            if line.startswith("|"):
                current.append(line)
            elif current:
                tables.append(current)
                current = []
        if current:
            tables.append(current)
        return "\n".join(
            [f"<!-- results:{name}:start -->", *tables[self.index], f"<!-- results:{name}:end -->"]
        )


def _headline(
    setting: str,
    images: str,
    model: str,
    label: str,
    folder: str,
    method: str,
    reader: str | None = None,  # one model of an evaluation that measured several
):
    return (setting, images, model, f"@{label}@{folder}", Cell(folder, method, model=reader))


def _model_aware_files(with_model_free_ladder: bool) -> list[tuple[str, str]]:
    """(label, method) of each kind of file a model-aware evaluation measures, in table order:
    model-free and per-block files first, then the ladders."""
    return [
        ("model-free (rd)", "j4d-rd"),
        ("per block, strength 1", "j4d-rd-guided1"),
        *([("ladder, model-free rungs", "j4d-rd-ladder")] * with_model_free_ladder),
        ("ladder, per-block rungs", "j4d-rd-ladder-guided1"),
    ]


def _model_aware_rows(
    task: str,
    joint: str,
    aware: str,
    with_model_free_ladder: bool = False,
    variants: tuple[tuple[str, str, str], ...] = (),
) -> tuple[tuple[str | Cell, ...], ...]:
    """One model's model-aware files beside its model-free fronts (``joint``: the zoo's,
    ``aware``: the model-aware evaluation), by its metric and by agreement; ``variants``:
    more per-block rows (label, folder, method)."""
    kinds = [(label, aware, method) for label, method in _model_aware_files(with_model_free_ladder)]
    files = [
        ("model-free, mozjpeg's trellis (the zoo's front)", joint, "j4d-trellis"),
        *kinds[:2],  # model-free and per block
        *variants,
        *kinds[2:],  # the ladders
    ]
    return tuple(
        (
            task if n == 0 else "",
            f"@{label}@{folder}",
            Cell(folder, method),
            Cell(folder, method, by_agreement=True),
        )
        for n, (label, folder, method) in enumerate(files)
    )


def _guide_and_reader_table(
    folder: str,
    guide: tuple[str, str],
    reader: tuple[str, str],
    with_model_free_ladder: bool = False,
) -> Table:
    """A two-model model-aware evaluation: each kind of file, read by the model that guided it
    and by one that did not, by top-1 and by agreement; ``guide``/``reader``: (label, key)."""
    header = ["files"]
    for (name, _), role in ((guide, "guide"), (reader, "unguided")):
        header += [f"{name} ({role}), top-1", f"{name}, agreement"]
    return Table(
        "docs/results/model-aware.md",
        tuple(header),
        tuple(
            (
                f"@{label}@{folder}",
                *(
                    Cell(folder, method, by_agreement, model=model)
                    for _, model in (guide, reader)
                    for by_agreement in (False, True)
                ),
            )
            for label, method in _model_aware_files(with_model_free_ladder)
        ),
    )


IMAGENET = ("ImageNet at 224", "imagenet-val, 1300")
ENC, CV = "imagenet-mobilenetv2-encoders", "camvid-deeplabv3-encoders"
RD, TRELLIS = "imagenet-mobilenetv2-rd", "j4d trellis (mozjpeg)"
RE = "imagenet-mobilenetv2-rd-energy"
UR = "imagenet-universal-rd-energy"
AB = "imagenet-mobilenetv2-abbreviated"
LADDER = "imagenet-mobilenetv2-ladder"
MODEL_AWARE = "imagenet-mobilenetv2-model-aware"
MNV2_WEIGHTS = "rd, MobileNetV2's Fisher weights (lambda 32)"
LITE0_WEIGHTS = "rd, EfficientNet-Lite0's Fisher weights (lambda 32)"
SWAPPED = "imagenet-efficientnetlite0-model-aware"
UNIVERSAL = "imagenet-universal-opts"
OWN_SIZE = "imagenet-mobilenetv2-own-size"
SCALE15 = "imagenet-mobilenetv2-scale1.5"
TABLES: dict[str, Table | SummaryTable | Excerpt] = {
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
            _headline("", "", "", "j4d, own trellis (rd)", RE, "j4d-rd"),
            (
                "",
                "",
                "",
                f"[j4d, rd, abbreviated files (tables once per data set)]"
                f"(results/{AB}/fronts_top1_file_bpp.md)",
                FrontCell(AB, "fronts_top1_{rate}", "rd, abbreviated files"),
            ),
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
                "",
                "",
                "",
                "j4d, model-aware per block (rd)",
                MODEL_AWARE,
                "j4d-rd-guided1",
                "mobilenet_v2",
            ),
            _headline(
                "",
                "",
                "",
                "j4d, model-aware ladder, per-block rungs (rd)",
                MODEL_AWARE,
                "j4d-rd-ladder-guided1",
                "mobilenet_v2",
            ),
            _headline(
                "ImageNet photos at their own size",
                "imagenet-samples, 334",
                "MobileNetV2",
                "j4d, tables for scale 1.5, rd",
                SCALE15,
                "j4d@1.5-rd",
                "mobilenet_v2",
            ),
            _headline(
                "",
                "",
                "",
                "j4d, tables for scale 1.5, rd-view (the view's blocks)",
                SCALE15,
                "j4d@1.5-rd-view",
                "mobilenet_v2",
            ),
            _headline(
                "", "", "", "j4d, 224 tables, trellis", OWN_SIZE, "j4d-trellis", "mobilenet_v2"
            ),
            _headline("", "", "", "mozjpeg", OWN_SIZE, "mozjpeg", "mobilenet_v2"),
            _headline(
                "",
                "",
                "",
                "resize to 256 first, default JPEG",
                OWN_SIZE,
                "jpeg-resized256",
                "mobilenet_v2",
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
    "ladder": Table(
        "docs/encoders.md",
        (
            "BD-rate vs default JPEG, whole file (scan)",
            "measured in",
            "the front",
            "ladder over it",
            "read by a model that did not guide it",
            "... the front alone, read by it",
        ),
        (
            (
                "ImageNet 1300, MobileNetV2 guiding, by top-1",
                f"@{LADDER}@{LADDER}",
                Cell(LADDER, "j4d-trellis"),
                Cell(LADDER, "j4d-trellis-ladder"),
                Cell("imagenet-efficientnetlite0-ladder", "j4d-trellis-ladder"),
                Cell("imagenet-efficientnetlite0-ladder", "j4d-trellis"),
            ),
            (
                "... by agreement",
                f"@{LADDER}@{LADDER}",
                Cell(LADDER, "j4d-trellis", by_agreement=True),
                Cell(LADDER, "j4d-trellis-ladder", by_agreement=True),
                Cell("imagenet-efficientnetlite0-ladder", "j4d-trellis-ladder", by_agreement=True),
                Cell("imagenet-efficientnetlite0-ladder", "j4d-trellis", by_agreement=True),
            ),
            (
                "CIFAR-10 1000 test images, ResNet-20 guiding, plain rounding, by top-1",
                "@cifar10-resnet20-ladder@cifar10-resnet20-ladder",
                Cell("cifar10-resnet20-ladder", "j4d"),
                Cell("cifar10-resnet20-ladder", "j4d-ladder"),
                Cell("cifar10-resnet56-ladder-from-resnet20", "j4d-ladder"),
                Cell("cifar10-resnet56-ladder-from-resnet20", "j4d"),
            ),
            (
                "CamVid 101, DeepLabV3 guiding, by mIoU",
                "@camvid-deeplabv3-ladder@camvid-deeplabv3-ladder",
                Cell("camvid-deeplabv3-ladder", "j4d-trellis"),
                Cell("camvid-deeplabv3-ladder", "j4d-trellis-ladder"),
                "",
                "",
            ),
        ),
    ),
    "cub": SummaryTable(
        "docs/results/cub.md",
        "cub50-mobilenetv2-all",
        (
            ("j4d tables, plain rounding", "j4d"),
            ("j4d tables + trellis", "j4d-trellis"),
            ("mozjpeg", "mozjpeg"),
            ("jpegli", "jpegli"),
        ),
    ),
    "second-model": SummaryTable(
        "docs/results/second-model.md",
        "imagenet-efficientnetlite0-all",
        (
            ("j4d tables, plain rounding", "j4d"),
            ("j4d tables + trellis", "j4d-trellis"),
            ("mozjpeg", "mozjpeg"),
        ),
    ),
    "rd": Table(
        "docs/encoders.md",
        (
            "BD-rate, whole file (scan)",
            "test images",
            "rd vs mozjpeg's trellis, same tables",
            "rd vs default JPEG",
            "trellis vs default JPEG",
        ),
        (
            *(
                (
                    label,
                    f"@imagenet-val, 1300@{RE}/fronts_{metric}_file_bpp.md",
                    FrontCell(RE, f"fronts_{metric}_{{rate}}", "j4d rd, energy rule"),
                    Cell(RE, "j4d-rd", by_agreement=metric == "agreement"),
                    Cell("imagenet-mobilenetv2-joint", "j4d-trellis", metric == "agreement"),
                )
                for label, metric in (
                    ("ImageNet, MobileNetV2, by top-1", "top1"),
                    ("... by agreement", "agreement"),
                )
            ),
            *(
                (
                    label,
                    f"@{images}@{folder}/fronts_{metric}_file_bpp_vs_trellis.md",
                    FrontCell(folder, f"fronts_{metric}_{{rate}}_vs_trellis", "j4d rd"),
                    FrontCell(folder, f"fronts_{metric}_{{rate}}_vs_jpeg", "j4d rd"),
                    FrontCell(folder, f"fronts_{metric}_{{rate}}_vs_jpeg", TRELLIS),
                )
                for label, images, folder, metric in (
                    (
                        "ImageNet, EfficientNet-Lite0, by top-1",
                        "imagenet-val, 1300",
                        "imagenet-efficientnetlite0-rd-energy",
                        "top1",
                    ),
                    (
                        "... by agreement",
                        "imagenet-val, 1300",
                        "imagenet-efficientnetlite0-rd-energy",
                        "agreement",
                    ),
                    (
                        "CUB-50, MobileNetV2 (CUB), by top-1",
                        "cub50/test, 1500",
                        "cub50-mobilenetv2-rd-energy",
                        "top1",
                    ),
                    (
                        "CamVid, DeepLabV3-MobileNetV2, by mIoU",
                        "camvid/val, 101",
                        "camvid-deeplabv3-rd-energy",
                        "miou",
                    ),
                    (
                        "CIFAR-10, ResNet-20, by top-1",
                        "cifar10/test, 5000",
                        "cifar10-resnet20-rd-energy",
                        "top1",
                    ),
                )
            ),
            *(
                (
                    f"ImageNet, the universal tables, by {label}'s top-1",
                    f"@imagenet-val, 1300@{UR}/fronts_top1_{model}_file_bpp_vs_trellis.md",
                    FrontCell(UR, f"fronts_top1_{model}_{{rate}}_vs_trellis", "j4d rd"),
                    FrontCell(UR, f"fronts_top1_{model}_{{rate}}_vs_jpeg", "j4d rd"),
                    FrontCell(UR, f"fronts_top1_{model}_{{rate}}_vs_jpeg", TRELLIS),
                )
                for label, model in (
                    ("MobileNetV2", "mobilenet_v2"),
                    ("EfficientNet-Lite0", "efficientnet_lite0"),
                    ("EfficientNet-Lite1", "efficientnet_lite1"),
                    ("EfficientNet-Lite2", "efficientnet_lite2"),
                )
            ),
            (
                "ImageNet, MobileNetV2, by top-1: abbreviated files (their tables once per data "
                "set)",
                f"@imagenet-val, 1300@{AB}/fronts_top1_file_bpp.md",
                "",
                FrontCell(AB, "fronts_top1_{rate}", "rd, abbreviated files"),
                "",
            ),
            (
                "... by agreement",
                f"@imagenet-val, 1300@{AB}/fronts_agreement_file_bpp.md",
                "",
                FrontCell(AB, "fronts_agreement_{rate}", "rd, abbreviated files"),
                "",
            ),
        ),
    ),
    "image-maps": Excerpt("docs/results/model-aware.md", "probes/image_maps.md", 1),
    "aware-tasks": Table(
        "docs/results/model-aware.md",
        (
            "BD-rate, whole file (scan)",
            "test images",
            "rd-aware vs rd",
            "rd-aware vs default JPEG",
            "rd vs default JPEG",
            "own guide (lambda 32) vs default JPEG",
            "the other guide (lambda 32) vs default JPEG",
        ),
        tuple(
            (
                label,
                f"@{images}@{folder}/fronts_{stem.format(rate='file_bpp')}_vs_rd.md",
                FrontCell(folder, f"fronts_{stem}_vs_rd", "rd-aware (predictor)"),
                FrontCell(folder, f"fronts_{stem}_vs_jpeg", "rd-aware (predictor)"),
                FrontCell(folder, f"fronts_{stem}_vs_jpeg", "rd"),
                *(
                    FrontCell(folder, f"fronts_{stem}_vs_jpeg", curve) if curve else ""
                    for curve in guides
                ),
            )
            for label, images, folder, stem, guides in (
                *(
                    (
                        f"ImageNet, {name} ({role}), by top-1",
                        "imagenet-val, 1300",
                        "imagenet-mobilenetv2-rd-aware",
                        f"top1_{model}_{{rate}}",
                        guides,
                    )
                    for name, model, role, guides in (
                        (
                            "MobileNetV2",
                            "mobilenet_v2",
                            "distilled",
                            (MNV2_WEIGHTS, LITE0_WEIGHTS),
                        ),
                        (
                            "EfficientNet-Lite0",
                            "efficientnet_lite0",
                            "distilled",
                            (LITE0_WEIGHTS, MNV2_WEIGHTS),
                        ),
                        ("EfficientNet-Lite2", "efficientnet_lite2", "held out", ("", "")),
                    )
                ),
                (
                    "CUB-50, MobileNetV2 (CUB), by top-1",
                    "cub50/test, 1500",
                    "cub50-mobilenetv2-rd-aware",
                    "top1_{rate}",
                    ("rd, the model's own Fisher weights (lambda 32)", ""),
                ),
                (
                    "CamVid, DeepLabV3-MobileNetV2, by mIoU",
                    "camvid/val, 101",
                    "camvid-deeplabv3-rd-aware",
                    "miou_{rate}",
                    ("rd, the model's own Fisher weights (lambda 32)", ""),
                ),
            )
        ),
    ),
    "universal-heldout": Excerpt("docs/results/universal.md", "probes/universal_heldout.md"),
    "universal-heldout-gains": Excerpt(
        "docs/results/universal.md", "probes/universal_heldout.md", 1
    ),
    "universal-zoo": SummaryTable(
        "docs/results/universal.md", UNIVERSAL, (("universal (trellis)", "opts-trellis"),)
    ),
    "universal-heldout-mobilenetv2": SummaryTable(
        "docs/results/universal.md",
        "imagenet-universal-heldout-mobilenetv2",
        (("OptS pooled over Lite0/1/2 (trellis)", "opts-trellis"), ("mozjpeg", "mozjpeg")),
    ),
    "universal-own": Table(
        "docs/results/universal.md",
        ("model, by top-1", "own front (trellis)", "universal (trellis)", "mozjpeg"),
        tuple(
            (
                f"@{label}@{UNIVERSAL}/own_vs_universal_{model}_file_bpp.md",
                *(
                    FrontCell(UNIVERSAL, f"own_vs_universal_{model}_{{rate}}", curve)
                    for curve in ("own front (trellis)", "universal (trellis)", "mozjpeg")
                ),
            )
            for label, model in (
                ("MobileNetV2", "mobilenet_v2"),
                ("EfficientNet-Lite0", "efficientnet_lite0"),
            )
        ),
    ),
    "model-aware": _guide_and_reader_table(
        MODEL_AWARE,
        ("MobileNetV2", "mobilenet_v2"),
        ("EfficientNet-Lite0", "efficientnet_lite0"),
        with_model_free_ladder=True,
    ),
    "model-aware-swapped": _guide_and_reader_table(
        SWAPPED, ("EfficientNet-Lite0", "efficientnet_lite0"), ("MobileNetV2", "mobilenet_v2")
    ),
    "model-aware-tasks": Table(
        "docs/results/model-aware.md",
        ("task, model (guide and reader)", "files", "by its metric", "by agreement"),
        (
            *_model_aware_rows(
                "Birds (CUB-50 test, 1500), MobileNetV2 (CUB); top-1",
                "cub50-mobilenetv2-joint",
                "cub50-mobilenetv2-model-aware",
                with_model_free_ladder=True,
            ),
            *_model_aware_rows(
                "Road scenes (CamVid val, 101), DeepLabV3-MobileNetV2; mIoU",
                "camvid-deeplabv3-joint",
                "camvid-deeplabv3-model-aware",
                variants=(
                    (
                        "per block, strength 1, classes balanced",
                        "camvid-deeplabv3-model-aware-balanced",
                        "j4d-rd-guided1",
                    ),
                ),
            ),
        ),
    ),
}

#: (label, folder, method) of each kind of file measured on photos at their own size
OWN_SIZE_FILES = (
    ("zoo tables (learned on 224 crops), trellis", OWN_SIZE, "j4d-trellis"),
    ("tables learned at scale 1.5, trellis", SCALE15, "j4d@1.5-trellis"),
    ("tables learned at scale 1.5, rd", SCALE15, "j4d@1.5-rd"),
    ("tables learned at scale 1.5, rd-view (the view's blocks)", SCALE15, "j4d@1.5-rd-view"),
    ("mozjpeg", OWN_SIZE, "mozjpeg"),
    ("resize to 256 first, default JPEG", OWN_SIZE, "jpeg-resized256"),
    ("resize to 256 first, mozjpeg", OWN_SIZE, "mozjpeg-resized256"),
)
TABLES["own-size"] = Table(
    "docs/results/own-size.md",
    (
        "files (334 imagenet-samples photos at their own size)",
        "MobileNetV2, top-1",
        "MobileNetV2, agreement",
        "EfficientNet-Lite0, top-1",
        "EfficientNet-Lite0, agreement",
    ),
    tuple(
        (
            f"@{label}@{folder}",
            *(
                Cell(folder, method, by_agreement, model=model)
                for model in ("mobilenet_v2", "efficientnet_lite0")
                for by_agreement in (False, True)
            ),
        )
        for label, folder, method in OWN_SIZE_FILES
    ),
)


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
