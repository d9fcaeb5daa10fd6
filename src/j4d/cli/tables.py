"""``j4d tables``: export standard, existing or zoo quantization tables, or design them with a
closed-form peer method (DeepN-JPEG, OptS)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from j4d.cli.options import model_options, parse_list, sensitivity_option
from j4d.errors import InvalidInputError, warn
from j4d.jpegio import read_tables
from j4d.tables import QuantTables
from j4d.zoo import far_below_uncompressed, nearest, smallest_within, zoo_listing

METHODS = ("deepn", "opts")
_DEFAULT_SCALES = "0.1,0.2,0.3,0.5,0.7,1,1.5,2,3"
_DEFAULT_TARGETS = "0.3,0.5,0.75,1,1.5,2,3,4"


@click.command("tables", short_help="Export standard, existing or learned (zoo) tables.")
@click.option(
    "--qf", "quality", type=int, default=None, help="IJG quality factor 1..100 (Annex K scaled)."
)
@click.option(
    "--from-jpeg",
    "jpeg_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Take the tables of an existing JPEG file.",
)
@click.option(
    "--zoo",
    "zoo_model",
    default=None,
    help="Learned tables shipped with j4d for this model: with --bpp the nearest in rate, "
    "without it the model's list; 'list' shows every model's.",
)
@click.option(
    "--bpp",
    type=float,
    default=None,
    help="With --zoo: the tables whose measured whole-file bpp (what `j4d encode` reports as "
    "file bpp) is closest to this.",
)
@click.option(
    "--within",
    type=float,
    default=None,
    help="With --zoo: the smallest tables whose measured metric (top-1 for a classifier, mIoU "
    "for a segmenter) is within this many points of the model's on uncompressed images.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Output: .json gives JSON, other suffixes cjpeg -qtables text [default: JSON on stdout]; "
    "with --method: a folder, one JSON per scale or target.",
)
@click.option(
    "--method",
    type=click.Choice(METHODS),
    default=None,
    help="Design tables with a peer method: deepn (DeepN-JPEG, from the DCT statistics of the "
    "model's training images) or opts (OptS, from the model's sensitivity and those statistics).",
)
@click.option(
    "--scales",
    default=_DEFAULT_SCALES,
    show_default=True,
    help="deepn: factors on the DeepN-JPEG steps, one tables file each.",
)
@click.option(
    "--targets",
    default=_DEFAULT_TARGETS,
    show_default=True,
    help="opts: target rates (estimated scan bpp), one tables file each.",
)
@click.option(
    "--images", type=int, default=1000, show_default=True, help="--method: training images read."
)
@sensitivity_option(
    "opts: a `j4d sensitivity --kind gradient` file; repeat to pool several models' "
    "[default: measured on each --model, pooled].",
    multiple=True,
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
@model_options
def command(
    quality: int | None,
    jpeg_path: Path | None,
    zoo_model: str | None,
    bpp: float | None,
    within: float | None,
    output: Path | None,
    method: str | None,
    **options: Any,
) -> None:
    """Export quantization tables (e.g. `j4d tables --qf 50 -o t.json`, or learned ones:
    `j4d tables --zoo mobilenet_v2 --bpp 2 -o t.json`; `j4d tables --zoo list`), or design
    them with a peer method for a model: `j4d tables --method deepn -m resnet20 -o DIR`."""
    if [quality, jpeg_path, zoo_model, method].count(None) != 3:
        raise InvalidInputError(
            "give exactly one of --qf N, --from-jpeg FILE, --zoo MODEL or --method NAME"
        )
    if method is not None:
        _design(method, output, options)
        return
    if zoo_model == "list":
        click.echo(zoo_listing())
        return
    if bpp is not None and within is not None:
        raise InvalidInputError("give --bpp or --within, not both")
    if zoo_model is not None and bpp is None and within is None:
        click.echo(zoo_listing(zoo_model))  # pick a rate, then ask with --bpp or --within
        return
    if zoo_model is None and (bpp is not None or within is not None):
        raise InvalidInputError("--bpp and --within pick zoo tables: give --zoo MODEL with them")
    if quality is not None:
        tables = QuantTables.from_quality(quality)
    elif zoo_model is not None:
        if within is not None:
            entry = smallest_within(zoo_model, within)
        else:
            entry = nearest(zoo_model, bpp, "file_bpp")  # type: ignore[arg-type]
        tables = entry.load()
        click.echo(
            f"zoo {zoo_model}/{entry.name}: measured {entry.file_bpp:.3f} bpp whole file "
            f"({entry.scan_bpp:.3f} scan data), {entry.metric} {100 * entry.value:.2f} % on "
            f"{entry.images} test images",
            err=True,
        )
        lost = far_below_uncompressed(entry)
        if lost is not None:
            warn(
                f"{entry.name} measured {lost:.1f} points of {entry.metric} below the model on "
                "uncompressed images: files this small lose much of what the model sees"
            )
    else:
        if output is not None and output.exists() and output.samefile(jpeg_path):
            raise InvalidInputError("-o would write the tables over this input", jpeg_path)
        tables = read_tables(jpeg_path).with_meta(source=str(jpeg_path))
    if output is None:
        click.echo(tables.to_json(), nl=False)
        return
    tables.save(output)
    click.echo(f"wrote {output}", err=True)


def _design(method: str, output: Path | None, options: dict[str, Any]) -> None:
    """``--method``: one tables file per scale (deepn) or target rate (opts) in ``output``."""
    from j4d.analysis.sensitivity import Sensitivity
    from j4d.peers import coefficient_statistics, deepn_tables, opts_tables
    from j4d.train import compute_sensitivity

    if output is None or output.suffix:
        raise InvalidInputError("--method writes several tables: give -o FOLDER")
    progress = not options["quiet"]
    from j4d.cli.training_options import make_setup  # torch and the model: only here

    setup = make_setup({**options, "val_size": 0, "hflip": False, "limit": None})
    statistics = coefficient_statistics(
        setup.train, options["images"], seed=options["seed"], progress=progress
    )
    if method == "deepn":
        scales = parse_list(options["scales"], float, "--scales")
        named = {f"deepn_x{scale:g}": deepn_tables(statistics, scale) for scale in scales}
    else:
        targets = parse_list(options["targets"], float, "--targets")
        paths = options["sensitivity_paths"]
        if paths:
            measured = [Sensitivity.load(path) for path in paths]
        else:  # one per model: pooling weighs the models alike (Sensitivity.pool)
            measured = [
                compute_sensitivity(
                    model, setup.train, options["images"], kind="gradient", progress=progress
                )
                for model in setup.models
            ]
        sensitivity = measured[0] if len(measured) == 1 else Sensitivity.pool(measured)
        designed = opts_tables(sensitivity, statistics, targets)
        named = {
            f"opts_bpp{target:g}": tables for target, tables in zip(targets, designed, strict=True)
        }
    output.mkdir(parents=True, exist_ok=True)
    models = list(options["model_specs"])
    for name, tables in named.items():
        tables.with_meta(models=models, images=statistics.images).save(output / f"{name}.json")
        detail = tables.meta.get("estimated_bpp")
        estimate = "" if detail is None else f" (estimated {detail:.3f} scan bpp)"
        click.echo(f"wrote {output / name}.json{estimate}")
