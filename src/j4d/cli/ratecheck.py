"""``j4d rate-check``: the rate estimate against real files per (image, QF), the paper's Fig. 8."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np
from tqdm.auto import tqdm

from j4d.cli.options import data_option, parse_list
from j4d.data import require_data_root
from j4d.errors import InvalidInputError
from j4d.evaluation.defaults import FITTED_ESTIMATORS, RATE_ESTIMATORS
from j4d.jpegio.images import image_files, load_image_tensor
from j4d.utils.files import atomic_write_csv, atomic_write_text

# torch and the heavy modules load when the command runs, not for --help
if TYPE_CHECKING:
    pass


def parse_qualities(text: str) -> list[int]:
    """``"1-100"`` (a range) or ``"10,50,90"``; every value in 1..100."""
    if "-" in text and "," not in text:
        low, _, high = text.partition("-")
        values = parse_list(low, int, "--qualities") + parse_list(high, int, "--qualities")
        if len(values) != 2:
            raise InvalidInputError(f"--qualities: bad range {text!r}")
        values = list(range(values[0], values[1] + 1))
    else:
        values = parse_list(text, int, "--qualities")
    if not values or not all(1 <= v <= 100 for v in values):
        raise InvalidInputError(f"--qualities must be in 1..100, got {text!r}")
    return values


def load_folder(
    folder: Path, count: int, size: int
) -> tuple[list[np.ndarray], list[str], list[str]]:
    """The first ``count`` readable images of ``folder`` (sorted names) resized so the short side
    is ``size * 256 / 224`` and centre-cropped to ``size``; unreadable files are skipped."""
    from j4d.data.folders import preprocess

    if not folder.is_dir():
        raise InvalidInputError("image folder not found", folder)
    files = image_files(folder, recursive=False)
    if not files:
        raise InvalidInputError("folder holds no images", folder)
    images, names, skipped = [], [], []
    for path in files:
        if len(images) == count:
            break
        try:
            image = preprocess(load_image_tensor(path), size)
        except InvalidInputError as error:
            skipped.append(str(error))
            continue
        images.append(image.permute(1, 2, 0).contiguous().numpy())
        names.append(path.name)
    if not images:
        raise InvalidInputError("none of the images could be read", folder)
    return images, names, skipped


@click.command("rate-check", short_help="Estimated vs real bpp per image and quality.")
@data_option
@click.option(
    "--folder",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Images to use [default: DATA/imagenet-samples].",
)
@click.option("--images", "count", type=int, default=100, show_default=True)
@click.option(
    "--fit-images",
    "fit_count",
    type=int,
    default=100,
    show_default=True,
    help="Further images of the folder (after the measured ones) that fitted estimators "
    "(google: its density) learn from, at each quality.",
)
@click.option(
    "--size",
    type=int,
    default=224,
    show_default=True,
    help="Centre crop after resizing the short side to size * 256 / 224.",
)
@click.option(
    "--qualities",
    default="1-100",
    show_default=True,
    callback=lambda _ctx, _param, text: parse_qualities(text),
    help="Default JPEG quality factors: a range A-B or a list.",
)
@click.option(
    "-e",
    "--estimator",
    "estimators",
    multiple=True,
    type=click.Choice(sorted(RATE_ESTIMATORS)),
    default=("j4d",),
    show_default=True,
)
@click.option(
    "--alpha", type=float, default=100.0, show_default=True, help="CPMF scale of the estimate."
)
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False)
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(
    data_root: Path | None,
    folder: Path | None,
    count: int,
    fit_count: int,
    size: int,
    qualities: list[int],
    estimators: tuple[str, ...],
    alpha: float,
    out_dir: Path,
    quiet: bool,
) -> int:
    """Encode each image with default tables at every quality (Pillow, 4:4:4, optimized
    Huffman), measure its real scan and whole-file bpp, and compare with each estimator's
    per-image estimate. Writes pairs.csv, summary.json / .md (Pearson, MSE) and
    scatter.png."""
    from j4d.codec import kernels
    from j4d.evaluation.ratecheck import agreement, rate_pairs
    from j4d.utils.plots import estimate_scatter

    folder = folder or require_data_root(data_root) / "imagenet-samples"
    fitted = any(e in FITTED_ESTIMATORS for e in estimators)
    images, names, skipped = load_folder(folder, count + (fit_count if fitted else 0), size)
    fit_images = images[count:]
    images, names = images[:count], names[:count]
    if fitted and not fit_images:
        raise InvalidInputError(
            f"{', '.join(FITTED_ESTIMATORS)} needs images beyond the first {count} to fit on",
            folder,
        )
    for line in skipped:
        click.echo(f"rate-check: skipped unreadable image: {line}", err=True)
    progress = tqdm(qualities, desc="rate-check", unit="QF", disable=quiet)
    with kernels.eager_mode():  # one pass per QF: compiling would cost more than it saves
        rows = rate_pairs(images, progress, estimators, alpha, names, fit_images)
    out_dir.mkdir(parents=True, exist_ok=True)
    fit_note = f" ({len(fit_images)} further images to fit on)" if fit_images else ""
    settings = (
        f"{len(images)} images of {folder}{fit_note} (resized, centre-cropped to {size}x{size}), "
        f"default tables at {len(qualities)} qualities, Pillow 4:4:4, optimized Huffman, "
        f"alpha {alpha:g}"
    )
    atomic_write_csv(out_dir / "pairs.csv", rows, [settings])
    summary = {"settings": settings, "skipped_unreadable": len(skipped), "estimators": {}}
    lines = ["# Rate estimate vs real files", "", settings, ""]
    lines += ["| estimator | vs | Pearson | MSE (bpp^2) | pairs |", "|---|---|---:|---:|---:|"]
    for estimator in estimators:
        own = [r for r in rows if r["estimator"] == estimator]
        estimated = [r["estimated_bpp"] for r in own]
        entry = {k: agreement(estimated, [r[k] for r in own]) for k in ("scan_bpp", "file_bpp")}
        summary["estimators"][estimator] = entry
        for kind, values in entry.items():
            lines.append(
                f"| {estimator} | {kind} | {values['pearson']:.4f} | {values['mse']:.4f} "
                f"| {values['points']} |"
            )
        estimate_scatter(
            [r["scan_bpp"] for r in own],
            estimated,
            [r["quality"] for r in own],
            [out_dir / f"scatter_{estimator}.png"],
            title=f"{estimator}: {len(images)} images x {len(qualities)} QFs",
        )
    atomic_write_text(out_dir / "summary.json", json.dumps(summary, indent=1) + "\n")
    text = "\n".join(lines) + "\n"
    atomic_write_text(out_dir / "summary.md", text)
    click.echo(text + f"rate-check: {out_dir / 'summary.md'}")
    return 0
