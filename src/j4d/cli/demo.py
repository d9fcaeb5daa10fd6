"""``j4d demo``: the whole method end to end on ../shared/data in a few minutes, offline.

It runs the public commands in this process, exactly as a user would type them: a small
``j4d sweep`` on CIFAR-10 / ResNet-20, then ``j4d eval`` of the sweep's frontier tables
against default JPEG, mozjpeg and jpegli on held-out test images, and writes ``report.md``
with the commands, the comparison tables, BD-rates and plots. Re-running reuses finished
runs and measured points.
"""

from __future__ import annotations

import shlex
import time
from pathlib import Path

import click

from j4d.cli.options import data_option
from j4d.data import require_data_root
from j4d.errors import InvalidInputError
from j4d.utils.files import atomic_write_text

DEMO_QUALITIES = "5,10,20,30,40,50,60,70,80,90,95"


@click.command("demo", short_help="End-to-end demo on ../shared/data (minutes).")
@data_option
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-out"),
    show_default=True,
)
@click.option(
    "--train-images", type=int, default=4000, show_default=True, help="CIFAR-10 images to learn."
)
@click.option(
    "--test-images", type=int, default=1000, show_default=True, help="CIFAR-10 test images."
)
@click.option("--epochs", type=int, default=3, show_default=True)
@click.option("--lams", default="1,10,100", show_default=True, help="Lambdas of the sweep.")
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def command(
    data_root: Path | None,
    out_dir: Path,
    train_images: int,
    test_images: int,
    epochs: int,
    lams: str,
    quiet: bool,
) -> int:
    """Learn tables for ResNet-20 on CIFAR-10 (small sweep), measure every run's tables on real
    files against default JPEG, mozjpeg and jpegli, and write OUTPUT/report.md."""
    from j4d.cli import main
    from j4d.train.sweep import RUNS
    from j4d.train.trainer import TABLES

    start = time.perf_counter()
    root = require_data_root(data_root)
    common = ["--data", str(root), "--test-size", str(test_images)] + (["-q"] if quiet else [])
    sweep_dir, eval_dir = out_dir / "sweep", out_dir / "eval"
    sweep = [
        "sweep",
        "--lams",
        lams,
        "--init",
        "qf:50",
        "--limit",
        str(train_images),
        "--val-size",
        str(min(200, train_images // 10)),
        "--epochs",
        str(epochs),
        "--qualities",
        DEMO_QUALITIES,
        "-o",
        str(sweep_dir),
        *common,
    ]
    _run(main, sweep)
    learned = sorted((sweep_dir / RUNS).glob(f"*/{TABLES}"))
    if not learned:
        raise InvalidInputError("the sweep produced no tables", sweep_dir)
    evaluate = [
        "eval",
        *map(str, learned),
        "-c",
        "mozjpeg",
        "-c",
        "jpegli",
        "--qualities",
        DEMO_QUALITIES,
        "-j",
        "2",
        "-o",
        str(eval_dir),
        *common,
    ]
    _run(main, evaluate)
    elapsed = time.perf_counter() - start
    report = _report(out_dir, [sweep, evaluate], eval_dir, elapsed)
    click.echo(f"\ndemo finished in {elapsed / 60:.1f} min; report: {report}")
    return 0


def _run(main, argv: list[str]) -> None:
    click.echo(f"\n$ j4d {shlex.join(argv)}")
    status = main(argv)
    if status != 0:
        raise click.ClickException(f"'j4d {argv[0]}' failed (exit status {status})")


def _report(out_dir: Path, commands: list[list[str]], eval_dir: Path, elapsed: float) -> Path:
    summary = (eval_dir / "summary.md").read_text()
    body = summary.split("\n", 1)[1]  # without its title
    heatmaps = sorted((eval_dir / "heatmaps").glob("*.png"))
    lines = [
        "# j4d demo: tables learned for ResNet-20 vs default JPEG, mozjpeg and jpegli",
        "",
        "Every number below comes from real JPEG files decoded by Pillow (libjpeg-turbo); "
        "rates are mean scan-data bpp (whole-file bpp in `eval/points.csv`). The learned "
        "tables come from a deliberately small sweep (minutes on 2 CPU cores), so they are "
        "weaker than the full results in the repository's `results/` folder.",
        "",
        "Commands run:",
        "",
        "```",
        *(f"j4d {shlex.join(argv)}" for argv in commands),
        "```",
        "",
        body.strip(),
        "",
        "## Plots",
        "",
        "![top-1 gain over default JPEG](eval/gain_accuracy.png)",
        "",
        "![rate-accuracy](eval/rate_accuracy.png)",
        "",
        "![rate-distortion](eval/rate_distortion.png)",
        "",
        *(f"![{p.stem}](eval/heatmaps/{p.name})\n" for p in heatmaps),
        f"Wall time: {elapsed / 60:.1f} min.",
    ]
    return atomic_write_text(out_dir / "report.md", "\n".join(lines) + "\n")
