"""``j4d tables``: export standard, existing or zoo quantization tables."""

from __future__ import annotations

from pathlib import Path

import click

from j4d.errors import InvalidInputError
from j4d.jpegio import read_tables
from j4d.tables import QuantTables
from j4d.zoo import nearest, zoo_listing


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
    help="Learned tables shipped with j4d for this model (with --bpp); 'list' shows them all.",
)
@click.option(
    "--bpp",
    type=float,
    default=None,
    help="With --zoo: the tables whose measured scan bpp is closest to this.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Output: .json gives JSON, other suffixes cjpeg -qtables text [default: JSON on stdout].",
)
def command(
    quality: int | None,
    jpeg_path: Path | None,
    zoo_model: str | None,
    bpp: float | None,
    output: Path | None,
) -> None:
    """Export quantization tables (e.g. `j4d tables --qf 50 -o t.json`, or learned ones:
    `j4d tables --zoo mobilenet_v2 --bpp 2 -o t.json`; `j4d tables --zoo list`)."""
    if [quality, jpeg_path, zoo_model].count(None) != 2:
        raise InvalidInputError("give exactly one of --qf N, --from-jpeg FILE or --zoo MODEL")
    if zoo_model == "list":
        click.echo(zoo_listing())
        return
    if (zoo_model is None) != (bpp is None):
        raise InvalidInputError("--zoo MODEL and --bpp B go together")
    if quality is not None:
        tables = QuantTables.from_quality(quality)
    elif zoo_model is not None:
        entry = nearest(zoo_model, bpp)  # type: ignore[arg-type]
        tables = entry.load()
        click.echo(
            f"zoo {zoo_model}/{entry.name}: measured {entry.scan_bpp:.3f} scan bpp, "
            f"{entry.metric} {100 * entry.value:.2f} % on {entry.images} test images",
            err=True,
        )
    else:
        tables = read_tables(jpeg_path).with_meta(source=str(jpeg_path))
    if output is None:
        click.echo(tables.to_json(), nl=False)
        return
    tables.save(output)
    click.echo(f"wrote {output}", err=True)
