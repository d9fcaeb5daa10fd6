"""``j4d eval``: rate-accuracy (and PSNR / SSIM) of tables files and named codecs on real files."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import click

from j4d.cli.options import (
    data_option,
    device_option,
    encoder_option,
    labeled_folder_options,
    load_test_split,
    make_softness,
    model_option,
    place_models,
    read_off_options,
    softness_options,
    test_split_options,
)
from j4d.data import require_data_root
from j4d.encoders import QUALITY_CODECS
from j4d.errors import InvalidInputError
from j4d.zoo import PerScaleEncoder, is_zoo_choice, zoo_choice

# torch and the heavy modules load when the command runs, not for --help
if TYPE_CHECKING:
    from torch import nn

    from j4d.codec.quantize import Softness
    from j4d.encoders.model_rd import BlockCurvature
    from j4d.evaluation.codecs import (
        CodecPoint,
    )

ANCHOR = "jpeg"


@click.command("eval", short_help="Rate-accuracy of tables and codecs on real files.")
@click.argument("tables_files", nargs=-1, type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "-c",
    "--codec",
    "codecs",
    multiple=True,
    type=click.Choice(list(QUALITY_CODECS)),
    default=(ANCHOR,),
    show_default=True,
    help="Quality-swept codec to compare (repeatable); jpeg, the anchor, is always measured.",
)
@model_option("repeat to measure every model on the same decoded images.")
@data_option
@test_split_options
@labeled_folder_options
@click.option(
    "--label",
    default=None,
    help="Name of the tables' method [default: each file's meta 'method' (j4d tables "
    "--method), else j4d].",
)
@click.option(
    "--probabilistic",
    is_flag=True,
    help="Encode tables by sampling indices from the CPMF (jpeglib) instead of rounding.",
)
@click.option(
    "--seed",
    type=int,
    default=0,
    show_default=True,
    help="Seed of the probabilistic encoder (image i uses seed + i).",
)
@softness_options
@encoder_option(
    "Encoder of the tables files (repeatable: each file with each; a curve per encoder) "
    "[default: the one each file records, else pillow].",
    multiple=True,
)
@click.option(
    "--guided",
    "strengths",
    multiple=True,
    type=click.FloatRange(min=0),
    help="Also measure each tables file's model-aware files at this strength (repeatable: a "
    "curve per strength; see j4d encode -m).",
)
@click.option(
    "--ladder",
    "tolerances",
    multiple=True,
    type=click.FloatRange(min=0),
    help="Also measure per-image rate control: the tables files as one ladder, each image at "
    "the coarsest rung whose file the guide model reads within this KL of the original "
    "(repeatable: a point per tolerance, on one curve).",
)
@click.option(
    "--ladder-strength",
    "ladder_strengths",
    multiple=True,
    type=click.FloatRange(min=0),
    help="With --ladder and --encoder rd: each rung's files model-aware at this strength too "
    "(see --guided; repeatable: a ladder curve per strength) [default: 0].",
)
@click.option(
    "--guide",
    "guide_specs",
    multiple=True,
    help="The model that guides --guided and --ladder files [default: the first --model]; "
    "another model shows whether the files serve models that did not guide them. "
    "Repeatable: the ladder asks every guide to read a file within its tolerance, and with "
    "--encoder rd the guides' block weights are averaged.",
)
@click.option(
    "--class-balanced",
    is_flag=True,
    help="With --guided and --encoder rd, a segmenting guide weighs each class it predicts "
    "in an image alike (as mIoU does) in the divergence its block weights come from, "
    "instead of each pixel alike.",
)
@click.option(
    "--own-size",
    is_flag=True,
    help="Measure the photos of --test at their own size: each file holds the whole photo "
    "(bpp per pixel of the photo) and each model reads the decoded photo through its own view "
    "(short-side resize, centre crop), as its data pipeline does. Labels come from ImageNet "
    "file names (nXXXXXXXX_...) or class folders; a photo without one is a miss in top-1 and "
    "top-5, and a folder where no photo has one is read by agreement (its curves, fronts and "
    "BD-rates).",
)
@click.option(
    "--resize-first",
    is_flag=True,
    help="With --own-size, also measure each --codec on the photo resized first to the side "
    "the model resizes to (256 for a 224 input), bits counted per pixel of the photo: what "
    "keeping only the model's input costs.",
)
@read_off_options
@click.option(
    "-j", "--jobs", "workers", type=int, default=1, show_default=True, help="Encoding processes."
)
@device_option
@click.option(
    "-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False)
)
@click.option("-q", "--quiet", is_flag=True, help="No progress bars.")
def command(
    tables_files: tuple[Path, ...],
    codecs: tuple[str, ...],
    model_specs: tuple[str, ...],
    data_root: Path | None,
    test_dir: Path | None,
    test_size: int | None,
    qualities: list[int],
    classes_file: Path | None,
    resize: int | str | None,
    label: str,
    probabilistic: bool,
    seed: int,
    alpha: float | None,
    hardness: float | None,
    encoders: tuple[str, ...],
    strengths: tuple[float, ...],
    tolerances: tuple[float, ...],
    ladder_strengths: tuple[float, ...],
    guide_specs: tuple[str, ...],
    class_balanced: bool,
    own_size: bool,
    resize_first: bool,
    rates: list[float | str],
    accuracies: list[float | str] | None,
    workers: int,
    device: str | None,
    out_dir: Path,
    quiet: bool,
) -> int:
    """Measure every TABLES_FILE (by the encoder it records or each --encoder, model-aware too
    with --guided, or --probabilistic) and every
    --codec quality sweep on the test images: real files (whole-file and scan bpp), decoded by
    Pillow, classified by each --model; PSNR and SSIM. Writes points.csv/.json, frontier.csv,
    summary.md/.json (top-1 at fixed rates, rate at fixed top-1, BD-rate vs default JPEG),
    rate_accuracy and rate_distortion plots, heatmaps/ of learned vs default tables. Measured
    points are cached in OUT/cache, so an interrupted run resumes."""
    from j4d.codec.kernels import compiling
    from j4d.data.folders import resize_side
    from j4d.encoders.model_rd import BlockCurvature
    from j4d.evaluation.codecs import ladder_points, quality_points, resized_points
    from j4d.evaluation.points import measure_points
    from j4d.evaluation.report import (
        measurement_meta,
        reading_task,
        save_frontiers,
        write_eval_report,
    )
    from j4d.evaluation.summary import summary_markdown
    from j4d.models import create_models

    softness = make_softness(alpha, hardness) if probabilistic else None
    if probabilistic and (encoders or strengths or tolerances):
        raise InvalidInputError(
            "--encoder, --guided and --ladder do not apply with --probabilistic"
        )
    if tolerances and not tables_files:
        raise InvalidInputError("--ladder needs tables files (the rungs)")
    if ladder_strengths and not tolerances:
        raise InvalidInputError("--ladder-strength applies with --ladder")
    if resize_first and not own_size:
        raise InvalidInputError("--resize-first applies with --own-size")
    root = require_data_root(data_root)
    models = place_models(create_models(model_specs, root), device)
    guide_models = models[:1]
    if guide_specs:
        guide_models = place_models(create_models(guide_specs, root), device)
    guide = guide_models[0]
    if class_balanced and not strengths:
        raise InvalidInputError("--class-balanced applies with --guided")
    curvature = BlockCurvature(guide_models, balanced=class_balanced) if strengths else None
    guides = [(None, 0.0)] + [(guide, strength) for strength in strengths]
    points = [
        point
        for guide, strength in guides
        for encoder in encoders or (None,)
        for point in _tables_points(
            tables_files,
            label,
            seed if probabilistic else None,
            softness,
            encoder,
            guide,
            strength,
            curvature,
        )
    ]
    if tolerances:
        for encoder in encoders or (None,):
            for strength in ladder_strengths or (0.0,):
                points += ladder_points(
                    tables_files, tolerances, guide_models, label, encoder, strength
                )
    codec_points = [
        point
        for codec in dict.fromkeys((ANCHOR, *codecs))
        for point in quality_points(codec, qualities)
    ]
    points += codec_points
    if resize_first:
        points += resized_points(codec_points, resize_side(models[0].input_size))
    test = load_test_split(
        root, test_dir, models[0], test_size, resize, classes_file, own_size=own_size
    )
    if test.skipped:
        click.echo(f"eval: skipped {len(test.skipped)} unreadable image(s):", err=True)
        for line in test.skipped:
            click.echo(f"  {line}", err=True)
    out_dir.mkdir(parents=True, exist_ok=True)
    with compiling():  # a loop over every point: compiling the codec's kernels pays
        rows = measure_points(
            points, models, test, out_dir / "cache", workers, progress=not quiet, description="eval"
        )
    task = reading_task(models[0], test)
    meta = measurement_meta(", ".join(model_specs), test, task)
    summary = write_eval_report(out_dir, rows, points, meta, ANCHOR, rates, accuracies, task)
    save_frontiers(out_dir / "frontier", rows, points, summary, test, task, ANCHOR)
    click.echo(summary_markdown(summary))
    click.echo(f"eval: {out_dir / 'summary.md'}")
    return 0


def _tables_points(
    paths: tuple[Path, ...],
    label: str | None,
    seed: int | None,
    softness: Softness | None,
    encoder: str | None = None,
    guide: nn.Module | None = None,
    strength: float = 0.0,
    curvature: BlockCurvature | None = None,
) -> list[CodecPoint]:
    """Points named by file stem; where stems repeat, prefixed by the fewest enclosing folder
    names that tell them apart, leaving out folders all of them share
    (``a/frontier/qf50_lam1.json`` -> ``a.qf50_lam1``) and the layout names of a sweep
    (``sweep/runs/qf50_lam1/tables.json`` -> ``sweep.qf50_lam1``); numbered where even that
    repeats."""
    from j4d.evaluation.codecs import tables_point
    from j4d.train.trainer import TABLES

    folders = {path: _folders(path) for path in paths if not is_zoo_choice(path)}
    seen: Counter[str] = Counter()
    points = []
    for path in paths:
        if is_zoo_choice(path):
            points.append(_zoo_point(str(path), encoder))
            continue
        namesakes = [folders[o] for o in paths if o.stem == path.stem and not is_zoo_choice(o)]
        name = path.stem
        if len(namesakes) > 1:
            prefix = _distinct_name(folders[path], namesakes)
            name = prefix if path.name == TABLES else f"{prefix}.{path.stem}"  # names no run
        seen[name] += 1
        if seen[name] > 1:
            name = f"{name}_{seen[name] - 1}"
        points.append(
            tables_point(
                path,
                label,
                seed,
                softness,
                name=name,
                encoder=encoder,
                guide=guide,
                strength=strength,
                curvature=curvature,
            )
        )
    return points


def _zoo_point(spec: str, encoder: str | None = None) -> CodecPoint:
    """``zoo:MODEL@TARGET`` as one point: each image written with the zoo tables of the scale
    nearest its own (:class:`~j4d.zoo.PerScaleEncoder`), on the curve ``j4d-zoo-scales``."""
    from j4d.evaluation.codecs import CodecPoint

    per_scale = PerScaleEncoder(zoo_choice(spec), encoder)
    settings = {"tables": spec, "zoo": per_scale.choice.describe()}
    names = {chosen.name for chosen in per_scale.encoders}
    settings.update(
        per_scale.encoders[0].settings if len(names) == 1 else {"encoder": "+".join(sorted(names))}
    )
    name = spec[len("zoo:") :].replace("@", "_").replace("/", "_")
    return CodecPoint("j4d-zoo-scales", f"zoo_{name}", per_scale, settings)


def _folders(path: Path) -> list[str]:
    """Enclosing folder names, innermost first, without ``runs`` (a sweep's layout)."""
    from j4d.train.sweep import RUNS

    return [part for part in reversed(path.resolve().parent.parts[1:]) if part != RUNS]


def _distinct_name(mine: list[str], namesakes: list[list[str]]) -> str:
    """The fewest of ``mine`` (innermost first) that no other of ``namesakes`` shares, without
    the folders every one of them has at that depth (``frontier``)."""
    others = [folders for folders in namesakes if folders != mine]
    kept = []
    for depth in range(1, len(mine) + 1):
        if any(folders[depth - 1 : depth] != mine[depth - 1 : depth] for folders in namesakes):
            kept.append(mine[depth - 1])
        if all(other[:depth] != mine[:depth] for other in others):
            break
    return ".".join(reversed(kept or mine))
