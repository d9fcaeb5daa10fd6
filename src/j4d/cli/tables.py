"""``j4d tables``: export standard or existing quantization tables."""

from __future__ import annotations

from pathlib import Path

import click

from j4d.errors import InvalidInputError
from j4d.jpegio import read_tables
from j4d.tables import QuantTables


@click.command("tables", short_help="Export standard or existing quantization tables.")
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
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Output: .json gives JSON, other suffixes cjpeg -qtables text [default: JSON on stdout].",
)
def command(quality: int | None, jpeg_path: Path | None, output: Path | None) -> None:
    """Export quantization tables (e.g. `j4d tables --qf 50 -o t.json`)."""
    if (quality is None) == (jpeg_path is None):
        raise InvalidInputError("give exactly one of --qf N or --from-jpeg FILE")
    if quality is not None:
        tables = QuantTables.from_quality(quality)
    else:
        tables = read_tables(jpeg_path).with_meta(source=str(jpeg_path))
    if output is None:
        click.echo(tables.to_json(), nl=False)
        return
    tables.save(output)
    click.echo(f"wrote {output}", err=True)
