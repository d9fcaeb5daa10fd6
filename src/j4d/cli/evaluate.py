"""``j4d eval``: rate-accuracy of tables files on real files against default JPEG."""

from __future__ import annotations

from pathlib import Path

import click

from j4d.cli.options import (
    data_option,
    load_test_split,
    make_softness,
    model_option,
    softness_options,
    test_split_options,
)
from j4d.data import require_data_root
from j4d.evaluation.realfile import evaluate_tables
from j4d.evaluation.report import default_jpeg_rows, point_row, write_comparison
from j4d.fileutil import atomic_write_csv
from j4d.models import create_models
from j4d.tables import QuantTables


@click.command("eval", short_help="Rate-accuracy of tables files vs default JPEG.")
@click.argument(
    "tables_files", nargs=-1, required=True, type=click.Path(path_type=Path, dir_okay=False)
)
@model_option("repeat to average top-1 over models.")
@data_option
@test_split_options
@click.option("--label", default="j4d", show_default=True, help="Name of the tables' curve.")
@click.option(
    "--probabilistic",
    is_flag=True,
    help="Encode by sampling indices from the CPMF (jpeglib) instead of rounding (Pillow).",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the probabilistic encoder (image i uses seed + i).",
)
@softness_options
@click.option(
    "-o", "--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False)
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def command(
    tables_files: tuple[Path, ...],
    model_specs: tuple[str, ...],
    data_root: Path | None,
    test_dir: Path | None,
    test_size: int | None,
    qualities: list[int],
    label: str,
    probabilistic: bool,
    seed: int,
    alpha: float | None,
    hardness: float | None,
    out_dir: Path,
    quiet: bool,
) -> int:
    """Encode the test images with each TABLES_FILE (uniform rounding with Pillow, or
    --probabilistic; 4:4:4, optimized Huffman), decode, classify; the same for default JPEG at
    each quality. Writes points.csv, jpeg.csv, frontier.csv, rate_accuracy.png/.svg and
    summary.md (BD-rate)."""
    softness = make_softness(alpha, hardness) if probabilistic else None
    tables = [QuantTables.load(path) for path in tables_files]
    root = require_data_root(data_root)
    models = create_models(model_specs, root)
    test = load_test_split(root, test_dir, models[0].input_size, test_size)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for path, table in zip(tables_files, tables, strict=True):
        points = evaluate_tables(
            models,
            test.images,
            test.labels,
            table,
            probabilistic_seed=seed if probabilistic else None,
            softness=softness,
        )
        encoder = (
            f"probabilistic ({softness.describe()}, seed {seed})" if probabilistic else "uniform"
        )
        rows.append(point_row(path.stem, points, models, tables=str(path), encoder=encoder))
    atomic_write_csv(out_dir / "points.csv", rows)
    jpeg_rows = default_jpeg_rows(models, test, qualities, out_dir, progress=not quiet)
    title = f"{', '.join(model_specs)}; {test.describe()}; 4:4:4, optimized Huffman"
    write_comparison(out_dir, rows, jpeg_rows, title, label)
    click.echo((out_dir / "summary.md").read_text())
    click.echo(f"eval: {out_dir}")
    return 0
