"""``j4d compare``: images beside their default-JPEG and learned-tables versions at the same
rate, with the model's prediction on each (the paper's Fig. 9)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click
import numpy as np

from j4d.cli.options import data_option
from j4d.errors import InvalidInputError
from j4d.jpegio import load_image
from j4d.tables import QuantTables

# torch and the heavy modules load when the command runs, not for --help
if TYPE_CHECKING:
    pass


def centre_crop(image: np.ndarray, size: int, path: Path) -> np.ndarray:
    """The (size, size) centre of an (H, W, 3) image; a one-line error if it is smaller."""
    import torch

    from j4d.data.folders import NO_RESIZE, preprocess

    try:
        tensor = preprocess(torch.as_tensor(np.array(image)).permute(2, 0, 1), size, NO_RESIZE)
    except InvalidInputError as error:
        raise InvalidInputError(error.problem, path) from None
    return tensor.permute(1, 2, 0).contiguous().numpy()


@click.command("compare", short_help="Images vs default JPEG at the same rate (figure).")
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--tables",
    "tables_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Learned tables (JSON).",
)
@click.option(
    "-m",
    "--model",
    "model_spec",
    default=None,
    help="Registry name or NAME=WEIGHTS_FILE [default: the model the tables were learned for].",
)
@data_option
@click.option(
    "-o",
    "--output",
    "out_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="Figure (.png, .svg or .pdf).",
)
@click.option("--label", default="j4d", show_default=True, help="Name of the tables.")
@click.option(
    "--crop/--no-crop",
    default=False,
    show_default=True,
    help="Centre-crop each image to the model's input size first (no resize), as eval reads "
    "crop-only test sets such as imagenet-val and cub50.",
)
def command(
    images: tuple[Path, ...],
    tables_path: Path,
    model_spec: str | None,
    data_root: Path | None,
    out_path: Path,
    label: str,
    crop: bool,
) -> int:
    """Each IMAGE (as it is, or centre-cropped to the model's input size with --crop; or whole
    CamVid frames) beside default JPEG (Pillow, 4:4:4, optimized Huffman) at the quality whose
    scan bpp on that image is closest to the tables' own, and the tables' version, with what
    the model predicts on each through its own view (a classifier's short-side resize and
    centre crop, as its data pipeline reads a photo; class maps for a segmentation model).
    The model defaults to the one the tables were learned for."""
    from j4d.evaluation.compare import compare
    from j4d.models import create_models
    from j4d.tasks import task_of
    from j4d.utils.plots import comparison

    tables = QuantTables.load(tables_path)
    if model_spec is None:
        learned_for = tables.meta.get("models") or []
        if len(learned_for) != 1:
            raise InvalidInputError(
                "the tables record no single model they were learned for: give -m MODEL",
                tables_path,
            )
        model_spec = str(learned_for[0])
    (model,) = create_models([model_spec], data_root)  # weights: see models.default_weights
    rows = []
    with click.progressbar(images, label="compare") as bar:
        for path in bar:
            image = load_image(path)
            if crop:
                image = centre_crop(image, model.input_size, path)
            rows.append(compare(model, image, tables, label))
    title = f"{model_spec}; {tables_path.name}"
    comparison(rows, [out_path], title, legend=task_of(model).legend())
    for path, versions in zip(images, rows, strict=True):
        line = "; ".join(
            f"{v.label}"
            + ("" if v.scan_bpp is None else f" {v.scan_bpp:.3f} bpp")
            + f": {v.caption}"
            for v in versions[1:]
        )
        click.echo(f"{path.name}: {line}")
    click.echo(f"compare: {out_path}")
    return 0
