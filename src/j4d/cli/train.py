"""``j4d train``: learn tables for frozen models; writes a resumable run directory."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from j4d.cli.options import model_options, sensitivity_option
from j4d.cli.training_options import Setup, make_config, make_setup, training_options

# torch and the heavy modules load when the command runs, not for --help
if TYPE_CHECKING:
    from j4d.train import TrainResult


@click.command("train", short_help="Learn quantization tables for a model.")
@model_options
@click.option(
    "-o",
    "--output",
    "run_dir",
    required=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Run directory (config, history.csv, checkpoint, tables).",
)
@click.option(
    "--lam",
    type=float,
    default=1.0,
    show_default=True,
    help="Rate weight: loss = task loss + LAM * estimated bpp.",
)
@click.option(
    "--init",
    default="qf:50",
    show_default=True,
    help="qf:Q (default tables at quality Q), mozjpeg:Q (mozjpeg's tables at quality Q), "
    "sensitivity:F (scale F, 5..50) or tables:PATH (the steps of a tables file).",
)
@sensitivity_option("Sensitivity JSON for sensitivity:F (else measured on the training data).")
@training_options
@click.option("--resume", is_flag=True, help="Continue the checkpoint in the run directory.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def command(
    run_dir: Path,
    lam: float,
    init: str,
    sensitivity_path: Path | None,
    resume: bool,
    quiet: bool,
    **options: Any,
) -> int:
    """Learn JPEG tables minimizing task loss + LAM * estimated bpp (Adam on the 128
    entries), measuring real files on a held-out slice after every epoch.

    Writes RUN_DIR/config.json, history.csv (per epoch: task loss, cross-entropy, estimated
    bpp, real scan bpp and the task's metrics on the validation slice), checkpoint.pt, and
    the final tables as tables.json, tables.txt (cjpeg -qtables) and tables.png. Ctrl-C keeps
    a checkpoint: rerun with --resume.
    """
    from j4d.models import models_device
    from j4d.train import Sensitivity, train_tables
    from j4d.train.distributed import Processes

    config = make_config(lam, init, options)  # settings first: their errors are cheap
    setup = make_setup(options)
    sensitivity = Sensitivity.load(sensitivity_path) if sensitivity_path else None
    processes = Processes.join(models_device(setup.models))
    try:
        result = train_tables(
            setup.models,
            setup.train,
            config,
            val_set=setup.val,
            run_dir=run_dir,
            resume=resume,
            sensitivity=sensitivity,
            progress=not quiet,
            workers=options["workers"],
            description=setup.description,
            processes=processes,
        )
    finally:
        processes.leave()
    if not processes.main:
        return 0
    _report(result, run_dir, setup)
    return 0


def _report(result: TrainResult, run_dir: Path, setup: Setup) -> None:
    from j4d.tasks import describe_metric, task_of

    click.echo(f"tables: {run_dir / 'tables.json'}")
    validation = result.tables.meta.get("validation")
    task = task_of(setup.models[0])
    if validation:
        click.echo(
            f"validation ({validation['images']} held-out images, real files, 4:4:4, optimized "
            f"Huffman): {describe_metric(task, validation[task.primary])}, "
            f"{validation['scan_bpp']:.3f} scan bpp"
        )
