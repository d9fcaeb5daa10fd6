"""``j4d sweep``: train a grid over (initialization, lambda), measure every run on real test
files, and write the Pareto frontier against default JPEG."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from j4d.cli.options import (
    load_test_split,
    model_options,
    output_folder_option,
    parse_list,
    read_off_options,
    test_split_options,
)
from j4d.cli.training_options import make_config, make_setup, training_options

# torch and the heavy modules load when the command runs, not for --help
if TYPE_CHECKING:
    pass


@click.command("sweep", short_help="Grid of training runs, their Pareto frontier vs JPEG.")
@model_options
@output_folder_option("Sweep folder (runs/, points, frontier, plot, summary).")
@click.option(
    "--init",
    "inits",
    multiple=True,
    default=("qf:50",),
    show_default=True,
    help="Initialization, repeatable: qf:Q, mozjpeg:Q, sensitivity:F or tables:PATH (a "
    "tables file's steps, e.g. from j4d tables --zoo).",
)
@click.option("--lams", default="0.3,1,3,10,30", show_default=True, help="Comma-separated lambdas.")
@test_split_options
@read_off_options
@training_options
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def command(
    out_dir: Path,
    inits: tuple[str, ...],
    lams: str,
    test_dir: Path | None,
    test_size: int | None,
    qualities: list[int],
    rates: list[float | str],
    accuracies: list[float | str] | None,
    quiet: bool,
    **options: Any,
) -> int:
    """Train tables for every (--init, --lams) pair, measure each on real files of the test
    split, and write points, the Pareto frontier (CSV, JSON, one tables file per point), default
    JPEG on the same images, an R-A plot and a BD-rate summary. Finished runs are reused."""
    from j4d.train.sweep import run_sweep

    lam_values = parse_list(lams, float, "--lams")
    for init in inits:
        make_config(lam_values[0], init, options)
    base = make_config(lam_values[0], inits[0], options)
    setup = make_setup(options)
    test = load_test_split(
        setup.data_root,
        test_dir,
        setup.models[0],
        test_size,
        options["resize"],
        options["classes_file"],
        own_size=base.scale > 1,  # tables for photos as stored: measured on whole photos
    )
    summary = run_sweep(
        setup.models,
        setup.train,
        test,
        base,
        list(inits),
        lam_values,
        out_dir,
        val_set=setup.val,
        qualities=qualities,
        rates=rates,
        accuracies=accuracies,
        progress=not quiet,
        workers=options["workers"],
        description=setup.description,
    )
    click.echo((out_dir / "summary.md").read_text())
    click.echo(f"sweep: {out_dir} (frontier.csv, rate_accuracy.png)")
    return 0 if summary else 1
