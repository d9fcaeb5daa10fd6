"""``j4d sensitivity``: a model's sensitivity to each DCT frequency (JSON + heatmap)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from j4d.cli.options import device_option, model_options
from j4d.cli.training_options import make_setup

# torch and the heavy modules load when the command runs, not for --help
if TYPE_CHECKING:
    pass


@click.command("sensitivity", short_help="Measure a model's per-frequency sensitivity.")
@model_options
@click.option(
    "-o",
    "--output",
    "out_path",
    required=True,
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON file; the heatmap is written beside it as .png.",
)
@click.option("--images", type=int, default=1000, show_default=True)
@click.option(
    "--kind",
    type=click.Choice(["saliency", "gradient", "curvature"]),
    default="saliency",
    show_default=True,
    help="E[(y dL/dy)^2], E[(dL/dy)^2], or the Hessian diagonal of the distillation loss at "
    "T = 10 (distortion in the training objective's units).",
)
@click.option("--seed", type=int, default=0, show_default=True)
@device_option
@click.option("-q", "--quiet", is_flag=True, help="No progress bar.")
def command(out_path: Path, images: int, kind: str, quiet: bool, **options: Any) -> int:
    """Mean squared (coefficient x) gradient of the loss per channel and DCT frequency over
    training images; initializes tables with --init sensitivity:F."""
    from j4d.train import compute_sensitivity

    setup = make_setup({**options, "val_size": 0, "hflip": False})
    result = compute_sensitivity(
        setup.models,
        setup.train,
        images,
        kind=kind,  # type: ignore[arg-type]
        progress=not quiet,
        seed=options["seed"],
    )
    result.save(out_path)
    result.plot([out_path.with_suffix(".png")])
    click.echo(f"sensitivity: {out_path} (heatmap {out_path.with_suffix('.png')})")
    return 0
