"""``j4d encode``: write JPEG files with given tables, by the tables' encoder (or another),
model-aware (``-m``), or probabilistically."""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click
from tqdm import tqdm

from j4d.cli.options import (
    data_option,
    device_option,
    encoder_option,
    expand_inputs,
    make_softness,
    output_folder_option,
    place_models,
    resolve_tables,
    softness_options,
)
from j4d.encoders.registry import TablesEncoder, encoder_of
from j4d.errors import InvalidInputError
from j4d.jpegio import FileRate, file_rate, load_image_with_metadata
from j4d.jpegio.abbreviated import TABLES_FILE
from j4d.jpegio.images import shrink_to_short_side
from j4d.jpegio.markers import reencoded_file
from j4d.shards.run import is_shard
from j4d.tables import QuantTables
from j4d.utils.files import atomic_write_bytes, flush_to_disk
from j4d.utils.processes import worker_pool
from j4d.zoo import PerScaleEncoder, is_zoo_choice, zoo_choice

# torch and the models load only for model-aware or probabilistic encoding: a plain encode of a
# few files should not wait for them
if TYPE_CHECKING:
    from torch import nn

    from j4d.codec.quantize import Softness
    from j4d.encoders import GuidedEncoder, RateLadder

_LIST_LIMIT = 20


@click.command("encode", short_help="Encode images as JPEG with given tables.")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@output_folder_option("Output folder.")
@click.option(
    "--tables",
    "tables_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Tables file (JSON or cjpeg text), or zoo:MODEL@<B>bpp / zoo:MODEL@within<P> / "
    "zoo:MODEL@lam<L>: each image by the zoo tables learned for the scale nearest its own "
    "(short side over the side the model resizes to), nearest B whole-file bpp, the smallest "
    "within P points of uncompressed, or learned with the training lambda nearest L (one "
    "slope at every scale) at that scale.",
)
@click.option(
    "--qf", "quality", type=int, default=None, help="Default JPEG tables at this quality instead."
)
@click.option(
    "--probabilistic", is_flag=True, help="Sample indices from the CPMF instead of rounding."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the probabilistic encoder."
)
@softness_options
@encoder_option("How the files are made [default: the one the tables record, else pillow].")
@click.option(
    "-j",
    "--jobs",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Worker processes (files are the same whatever the number).",
)
@click.option(
    "-m",
    "--model",
    "model_spec",
    default=None,
    help="Model-aware: spend each image's bits where this model (registry name or "
    "NAME=WEIGHTS_FILE) looks, block by block (see --strength; runs in this process).",
)
@click.option(
    "--strength",
    type=click.FloatRange(min=0),
    default=1.0,
    show_default=True,
    help="With -m: how far the model moves the bits (0: the plain files); with --encoder rd "
    "the exponent of the model's block weights in the trellis, else a dead zone per block. "
    "With --ladder (rd rungs only) each rung's files are model-aware too [default there: 0].",
)
@click.option(
    "--ladder",
    "ladder_paths",
    multiple=True,
    help="With -m: per-image rate control over these tables files (repeatable; 'zoo': the "
    "model's zoo tables): each image gets the coarsest whose file the model reads within "
    "--tolerance of the original.",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.3,
    show_default=True,
    help="With --ladder: the largest KL(model on original || model on the file) allowed.",
)
@data_option
@device_option
@click.option(
    "--resize-to",
    "short_side",
    type=click.IntRange(min=8),
    default=None,
    help="Store each photo with its short side brought down to this many pixels first (e.g. "
    "256, the side a 224-input classifier resizes to; Pillow's bilinear filter, as "
    "torchvision's Resize): for keeping only what the model reads. Photos no larger are kept "
    "at their size. [default: every photo at its own size]",
)
@click.option(
    "--strip",
    is_flag=True,
    help="Drop the inputs' metadata [default: kept: the ICC profile, EXIF (GPS position "
    "included; orientation reset to 1; its thumbnail dropped, since it shows the old pixels), "
    "XMP, IPTC and a JFIF pixel density].",
)
@click.option(
    "--replace",
    is_flag=True,
    help="Allow an output to replace its own input file (re-encoding in place).",
)
@click.option(
    "--allow-larger",
    is_flag=True,
    help="Write the re-encoded file even where it is larger than its input JPEG [default: such "
    "an input's own bytes are written instead, and counted in the summary; not with --strip or "
    "--resize-to, which ask for another file].",
)
@click.option(
    "--abbreviated",
    is_flag=True,
    help="Write a data set: files without their tables (ISO 10918-1's abbreviated format), by "
    "rd priced with Huffman tables learned on a sample of the inputs; the tables go once to "
    f"OUTDIR/{TABLES_FILE} (a rerun reuses them). `j4d restore` makes ordinary files back; "
    "j4d.data.abbreviated.AbbreviatedFolder reads them for torch.",
)
@click.option(
    "--shared-tables",
    "shared_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"With --abbreviated: these shared tables (a {TABLES_FILE} written before) instead of "
    "learning them; their quantization tables unless --tables/--qf give the same.",
)
@click.option(
    "--learn-from",
    type=click.IntRange(min=1),
    default=64,
    show_default=True,
    help="With --abbreviated: how many inputs (spread over them) the Huffman tables are learned "
    "on.",
)
@click.option(
    "--column",
    default="image",
    show_default=True,
    help="Parquet shards: the column of image bytes (binary, or a struct with bytes as a "
    "Hugging Face Image feature).",
)
@click.option(
    "--image-field",
    "image_fields",
    multiple=True,
    help="WebDataset shards: a sample field (the extension after the key) to re-encode "
    "(repeatable) [default: jpg, jpeg, png, webp, ppm, bmp, tif, tiff].",
)
@click.option(
    "--ray",
    "ray_address",
    is_flag=False,
    flag_value="local",
    default=None,
    help="Shards: run them as a Ray Data pipeline, on a local cluster of -j CPUs (--ray alone) "
    "or on the running cluster at this address (auto, ray://HOST:10001).",
)
@click.option("-v", "--verbose", is_flag=True, help="List every file, however many.")
@click.pass_context
def command(
    context: click.Context,
    inputs: tuple[Path, ...],
    out_dir: Path,
    tables_path: Path | None,
    quality: int | None,
    probabilistic: bool,
    seed: int,
    alpha: float | None,
    hardness: float | None,
    encoder: str | None,
    jobs: int,
    model_spec: str | None,
    strength: float,
    ladder_paths: tuple[str, ...],
    tolerance: float,
    data_root: Path | None,
    device: str | None,
    short_side: int | None,
    strip: bool,
    replace: bool,
    allow_larger: bool,
    abbreviated: bool,
    shared_path: Path | None,
    learn_from: int,
    column: str,
    image_fields: tuple[str, ...],
    ray_address: str | None,
    verbose: bool,
) -> int:
    """Encode images (files or folders) as 4:4:4 JPEG with optimized Huffman tables, by the
    encoder the tables record (pillow: plain rounding, baseline; progressive; trellis: mozjpeg
    trellis with the tables; deadzone: j4d's learned dead zones) or --encoder.

    With -m MODEL the encoding is model-aware: the model's output on each original is the
    reference and one backward pass finds the 8x8 blocks it leans on. With --encoder rd j4d's
    trellis weighs each block's distortion by the model's; with other encoders the small
    coefficients elsewhere are dropped before the tables' encoder writes the file (still an
    ordinary JPEG with the same tables). With -m MODEL --ladder T1 --ladder T2 ... (or --ladder zoo)
    each image is written with the coarsest of those tables whose file the model reads within
    --tolerance (KL) of the original. The model reads each image at its stored size.

    Shards (WebDataset .tar, Parquet .parquet) are re-encoded shard by shard: OUTDIR/<shard>
    with each sample's image re-encoded and everything else as it was, a manifest to resume
    from (OUTDIR/j4d-shards.jsonl), on -j processes or on Ray (--ray).

    Each output is OUTDIR/<name>.jpg (folders keep their layout; with several folders, each
    goes under its own name). Unreadable inputs are
    reported and skipped (the count at the end; the exit status is then 2). -j N codes in N
    processes. An output that would replace its own input is an error unless --replace; the
    inputs' ICC profile and EXIF are kept unless --strip.
    """
    _refuse_inert_options(context, model_spec, ladder_paths, abbreviated)
    if any(is_shard(path) for path in inputs):
        return _encode_shards(
            context,
            inputs,
            out_dir,
            tables_path,
            quality,
            encoder,
            jobs,
            strip,
            short_side,
            allow_larger,
            column,
            image_fields,
            ray_address,
        )
    shard_options = {"column": "--column", "image_fields": "--image-field", "ray_address": "--ray"}
    for name, option in shard_options.items():
        if _given(context, name):
            raise InvalidInputError(f"{option} applies to shards (.tar, .parquet inputs)")
    if abbreviated:
        _refuse_with_abbreviated(tables_path, model_spec, probabilistic, encoder)
    if ladder_paths and (tables_path is not None or quality is not None):
        raise InvalidInputError("give --ladder or --tables/--qf, not both")
    if ladder_paths and model_spec is None:
        raise InvalidInputError("--ladder needs the model that picks the rungs (-m MODEL)")
    per_scale = None
    if is_zoo_choice(tables_path):
        if quality is not None or model_spec is not None or probabilistic:
            raise InvalidInputError(
                "--tables zoo:... picks tables per image by its size; it does not combine with "
                "--qf, -m or --probabilistic"
            )
        per_scale = PerScaleEncoder(zoo_choice(str(tables_path)), encoder)
        tables = per_scale.tables[0]
    elif ladder_paths:
        tables = QuantTables.from_quality(100)
    elif abbreviated and shared_path is not None and tables_path is None and quality is None:
        tables = None  # the shared tables file's own
    else:
        tables = resolve_tables(tables_path, quality)
    softness = make_softness(alpha, hardness) if probabilistic else None
    if not probabilistic and (alpha is not None or hardness is not None):
        raise InvalidInputError("--alpha/--hardness only apply with --probabilistic")
    if probabilistic and encoder is not None:
        raise InvalidInputError("--encoder does not apply with --probabilistic")
    chosen = (
        None
        if probabilistic or tables is None
        else encoder_of(tables, "rd" if abbreviated else encoder)
    )
    guided = None
    if model_spec is not None:
        if probabilistic:
            raise InvalidInputError("-m (model-aware encoding) does not apply with --probabilistic")
        if jobs > 1:
            raise InvalidInputError("-m runs the model in this process; leave out -j")
        from j4d.encoders import GuidedEncoder, LadderFiles, RateLadder
        from j4d.models import create_models

        # the data folder is only one place the weights may be (see models.default_weights)
        model = place_models(create_models([model_spec], data_root), device)[0]
        if ladder_paths:
            rungs = [(t, encoder_of(t, encoder)) for t in _ladder_tables(ladder_paths, model)]
            # the rungs are model-aware only when asked (--strength, rd rungs)
            rung_strength = strength if _given(context, "strength") else 0.0
            files = LadderFiles(model, rungs, keep=False, strength=rung_strength)
            guided = RateLadder(files, tolerance)
        else:
            guided = GuidedEncoder(model, tables, chosen, strength)  # type: ignore[arg-type]
    pairs = expand_inputs(inputs, skip=out_dir)
    if not replace:
        _refuse_replacing_inputs(pairs, out_dir)
    if abbreviated:
        from j4d.cli.abbreviated import abbreviated_encoder

        chosen, tables = abbreviated_encoder(
            pairs, out_dir, tables, shared_path, learn_from, short_side
        )
    encode = functools.partial(
        _encode_file,
        out_dir=out_dir,
        strip=strip,
        tables=tables,
        encoder=guided or per_scale or chosen,
        softness=softness,
        seed=seed,
        short_side=short_side,
        keep_smaller_input=not (allow_larger or strip or abbreviated or short_side is not None),
    )
    rows, failures = [], 0
    with contextlib.ExitStack() as stack:
        if guided is not None:  # one-shot work: compiling j4d's kernels costs more than it saves
            from j4d.codec.kernels import eager_mode

            stack.enter_context(eager_mode())
        pool = stack.enter_context(worker_pool(jobs))
        results = map(encode, pairs) if pool is None else pool.map(encode, pairs, chunksize=8)
        for result in tqdm(results, total=len(pairs), desc="encode", unit="img", disable=None):
            if isinstance(result, str):
                click.echo(f"j4d: error: {result}", err=True)
                failures += 1
            else:
                rows.append(result)
    flush_to_disk()
    name = chosen.name if chosen else "probabilistic"
    if ladder_paths:
        name = f"ladder of {len(guided.ladder.rungs)} tables, {model_spec} within KL {tolerance:g}"
        if guided.ladder.strength:
            name += f", rungs guided at strength {guided.ladder.strength:g}"
    elif per_scale is not None:
        name = f"{tables_path}: each image by the tables of its scale"
        name += f", written by {encoder}" if encoder else ""
    elif guided is not None:
        name += f", guided by {model_spec} at strength {strength:g}"
    huffman = "optimized Huffman"
    if abbreviated:
        name, huffman = (
            "rd, abbreviated files",
            f"shared Huffman; tables in {out_dir / TABLES_FILE}",
        )
    _report(rows, verbose, name, huffman)
    if failures:
        click.echo(f"j4d: {failures} of {len(pairs)} inputs could not be read", err=True)
        return 2
    return 0


def _encode_shards(
    context: click.Context,
    inputs: tuple[Path, ...],
    out_dir: Path,
    tables_path: Path | None,
    quality: int | None,
    encoder: str | None,
    jobs: int,
    strip: bool,
    short_side: int | None,
    allow_larger: bool,
    column: str,
    image_fields: tuple[str, ...],
    ray_address: str | None,
) -> int:
    """Shards in, shards out (:mod:`j4d.cli.shards`): one set of tables (a file, --qf, or the
    zoo's per-scale choice) and a registry encoder; nothing that runs a model per image."""
    if _given(context, "model_spec"):
        raise InvalidInputError(
            "-m does not apply to shards (for model-aware files of any model, use "
            "--encoder rd-aware)"
        )
    per_image = {
        "ladder_paths": "--ladder",
        "probabilistic": "--probabilistic",
        "abbreviated": "--abbreviated",
        "replace": "--replace",
    }
    for name, option in per_image.items():
        if _given(context, name):
            raise InvalidInputError(f"{option} does not apply to shards")
    from j4d.cli.shards import encode_shard_files
    from j4d.shards import Transcoder

    if (tables_path is None) == (quality is None):
        raise InvalidInputError(
            "give --tables FILE or --qf N" if quality is None else "give --tables or --qf, not both"
        )
    transcoder = Transcoder(
        None if tables_path is None else str(tables_path),
        quality,
        encoder,
        strip,
        short_side,
        allow_larger,
    )
    return encode_shard_files(inputs, out_dir, transcoder, column, image_fields, jobs, ray_address)


def _given(context: click.Context, name: str) -> bool:
    """Whether option ``name`` came from the command line (not its default)."""
    return context.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE


def _refuse_inert_options(
    context: click.Context,
    model_spec: str | None,
    ladder_paths: tuple[str, ...],
    abbreviated: bool = False,
) -> None:
    """Options given on the command line that the other options make do nothing: an error, not
    a silent plain encode."""

    def given(name: str) -> bool:
        return _given(context, name)

    if given("strength") and model_spec is None:
        raise InvalidInputError("--strength applies to model-aware encoding (-m MODEL)")
    if given("tolerance") and not ladder_paths:
        raise InvalidInputError("--tolerance applies with --ladder")
    for name in ("shared_path", "learn_from"):
        if given(name) and not abbreviated:
            raise InvalidInputError(
                f"--{name.replace('_path', '-tables').replace('_', '-')} applies with --abbreviated"
            )


def _refuse_with_abbreviated(
    tables_path: Path | None, model_spec: str | None, probabilistic: bool, encoder: str | None
) -> None:
    """--abbreviated writes rd files with one set of tables: nothing that changes them per image."""
    if is_zoo_choice(tables_path) or model_spec is not None or probabilistic:
        raise InvalidInputError(
            "--abbreviated shares one set of tables: it does not combine with zoo:..., -m or "
            "--probabilistic"
        )
    if encoder not in (None, "rd"):
        raise InvalidInputError(f"--abbreviated files are written by rd, not {encoder}")


def _refuse_replacing_inputs(pairs: list[tuple[Path, Path]], out_dir: Path) -> None:
    for source, name in pairs:
        target = out_dir / name
        if target.exists() and target.samefile(source):
            raise InvalidInputError(
                f"the output {target} would replace this input (pass --replace to re-encode in "
                "place, or choose another -o folder)",
                source,
            )


@dataclass(frozen=True)
class Written:
    """One output: its path, the image's size as stored, the file's rate, the model's choice
    (the ladder's rung name, the share of the blocks the model leans on, or None), the input
    file's bytes, and whether the input's own bytes were kept (its re-encoding was larger)."""

    target: Path
    shape: tuple[int, ...]
    rate: FileRate
    choice: str | float | None
    input_bytes: int
    kept_input: bool = False


def _encode_file(
    pair: tuple[Path, Path],
    out_dir: Path,
    strip: bool,
    tables: QuantTables,
    encoder: TablesEncoder | GuidedEncoder | RateLadder | PerScaleEncoder | None,
    softness: Softness | None,
    seed: int,
    short_side: int | None = None,
    keep_smaller_input: bool = False,
) -> Written | str:
    """Encode one input (its short side brought down to ``short_side`` first, if given) to
    OUTDIR/name by ``encoder`` (None: probabilistically with ``softness``); with
    ``keep_smaller_input``, a JPEG input whose re-encoding is larger is written as it was. The
    problem as one line if it cannot be read."""
    source, name = pair
    rung: str | float | None = None
    try:
        image, metadata = load_image_with_metadata(source)
        input_bytes = source.stat().st_size
    except InvalidInputError as error:
        return str(error)
    if short_side is not None:
        image = shrink_to_short_side(image, short_side)
    if encoder is None:
        # A per-file seed derived from the run seed and the name: files are independent of the
        # order and number of inputs (and of the worker that codes them).
        file_seed = zlib.crc32(f"{seed}:{name}".encode())
        from j4d.encoders import encode_probabilistic

        data = encode_probabilistic(image, tables, softness, seed=file_seed)
    elif isinstance(encoder, TablesEncoder):
        data = encoder.encode(image, tables)
    elif hasattr(encoder, "rung_name"):  # the ladder: which rung each image got is reported
        data, index = encoder.choose([image])[0]
        rung = encoder.rung_name(index)
    else:  # model-aware, per block: the share of blocks the model leans on is reported
        data, share = encoder.choose([image])[0]
        rung = None if math.isnan(share) else share
    # the input is read again only where its bytes may be kept: a JPEG, larger output
    data, kept = reencoded_file(
        data, None if strip else metadata, input_bytes, source.read_bytes, keep_smaller_input
    )
    # one flush for the whole folder at the end (command): a fsync per file cost about as much
    # as coding a 224x224 photo
    target = atomic_write_bytes(out_dir / name, data, sync=False)
    rate = file_rate(data, image.shape[0], image.shape[1])
    return Written(target, image.shape, rate, rung, input_bytes, kept)


def _choice(rung: str | float | None) -> str:
    """A row's model-aware choice: the ladder's rung, or the share of the model's blocks."""
    if rung is None:
        return ""
    return f"  {rung}" if isinstance(rung, str) else f"  {rung:.0%}"


def _report(
    rows: list[Written], verbose: bool, encoder: str, huffman: str = "optimized Huffman"
) -> None:
    if not rows:
        return
    rungs = [row.choice for row in rows if isinstance(row.choice, str) and row.choice]
    shares = [row.choice for row in rows if isinstance(row.choice, float)]
    if verbose or len(rows) <= _LIST_LIMIT:
        width = max(40, *(len(str(row.target)) for row in rows))
        head = f"{'file':{width}s} {'size':>11s} {'bytes':>9s} {'file bpp':>9s} {'scan bpp':>9s}"
        click.echo(head + ("  rung" if rungs else "  model's blocks" if shares else ""))
        for row in rows:
            size = f"{row.shape[1]}x{row.shape[0]}"
            kept = "  input kept (smaller)" if row.kept_input else ""
            click.echo(
                f"{row.target!s:{width}s} {size:>11s} {row.rate.file_bytes:9d} "
                f"{row.rate.file_bpp:9.3f} {row.rate.scan_bpp:9.3f}" + _choice(row.choice) + kept
            )
    total = sum(row.rate.file_bytes for row in rows)
    before = sum(row.input_bytes for row in rows)
    pixels = sum(row.shape[0] * row.shape[1] for row in rows)
    scan = sum(row.rate.scan_bytes for row in rows)
    files = f"{len(rows)} file{'s' if len(rows) != 1 else ''}"
    click.echo(
        f"{files}, {total} bytes; {8 * total / pixels:.3f} file bpp, "
        f"{8 * scan / pixels:.3f} scan bpp over all pixels (encoder {encoder}, 4:4:4, {huffman})"
    )
    change = f"{100 * (total / before - 1):+.1f} %" if before else "n/a"
    click.echo(f"inputs: {before} bytes; outputs {change} against them")
    kept = sum(row.kept_input for row in rows)
    if kept:
        click.echo(
            f"{kept} of {len(rows)} inputs kept as they were: their re-encoding was larger "
            "(--allow-larger writes it anyway)"
        )
    if shares:  # the share of each image's blocks above its mean score, on average
        click.echo(
            f"model's blocks: {100 * sum(shares) / len(shares):.0f} % of an image's blocks on "
            f"average (from {100 * min(shares):.0f} to {100 * max(shares):.0f} %) score above "
            "its mean"
        )
    elif rungs:  # the spread of the ladder's choices, the most common first
        spread = collections.Counter(rungs).most_common()
        click.echo("rungs: " + ", ".join(f"{rung} x{count}" for rung, count in spread))


def _ladder_tables(paths: tuple[str, ...], model: nn.Module) -> list[QuantTables]:
    """The rungs: tables files, and 'zoo' for the zoo tables of ``model``."""
    from j4d.models import model_name
    from j4d.zoo import zoo_entries

    tables = []
    for path in paths:
        if path == "zoo":
            entries = zoo_entries(model_name(model))
            tables += [entry.load().with_meta(name=entry.name) for entry in entries]
        else:
            tables.append(QuantTables.load(path).with_meta(name=Path(path).stem))
    return tables
