"""``j4d inspect``: what is inside a JPEG file (tables, subsampling, size, rates)."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import click
from PIL import Image, UnidentifiedImageError

from j4d.errors import InvalidInputError
from j4d.jpegio import parse_layout, read_bytes

_SUBSAMPLING = {(1, 1): "4:4:4", (2, 1): "4:2:2", (2, 2): "4:2:0", (1, 2): "4:4:0", (4, 1): "4:1:1"}


def describe_jpeg(path: Path) -> dict[str, Any]:
    """Facts about a JPEG file as plain data (what ``j4d inspect`` prints)."""
    data, _ = read_bytes(path)
    layout = parse_layout(data, source=str(path))
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            components = [(h, v, table) for _, h, v, table in image.layer]
            quantization = {int(k): list(v) for k, v in image.quantization.items()}
            mode = image.mode
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise InvalidInputError(f"cannot decode JPEG header ({error})", path) from None
    if len(components) == 3:
        y_factors = components[0][:2]
        chroma_factors = {c[:2] for c in components[1:]}
        ratio = tuple(y // c for y, c in zip(y_factors, next(iter(chroma_factors)), strict=True))
        subsampling = _SUBSAMPLING.get(ratio, "other") if len(chroma_factors) == 1 else "other"
    else:
        subsampling = "grayscale" if len(components) == 1 else "other"
    pixels = width * height
    return {
        "file": str(path),
        "width": width,
        "height": height,
        "mode": mode,
        "frame": layout.frame,
        "scans": layout.num_scans,
        "subsampling": subsampling,
        "file_bytes": layout.file_bytes,
        "scan_bytes": layout.scan_bytes,
        "file_bpp": 8 * layout.file_bytes / pixels,
        "scan_bpp": 8 * layout.scan_bytes / pixels,
        "tables": {f"slot{slot}": table for slot, table in sorted(quantization.items())},
        "component_tables": [c[2] for c in components],
    }


def _format(info: dict[str, Any]) -> str:
    lines = [
        f"{info['file']}: {info['width']}x{info['height']} {info['mode']}, {info['frame']} "
        f"({info['scans']} scan{'s' if info['scans'] > 1 else ''}), {info['subsampling']}",
        f"  size      {info['file_bytes']} bytes, scan data {info['scan_bytes']} bytes",
        f"  rate      {info['file_bpp']:.4f} bpp whole file, {info['scan_bpp']:.4f} bpp scan data",
    ]
    names = {0: "luma", 1: "chroma"}
    used = info["component_tables"]
    for slot_name, table in info["tables"].items():
        slot = int(slot_name[4:])
        users = [("Y", "Cb", "Cr", "K")[i] for i, t in enumerate(used) if t == slot]
        label = f"{slot_name} ({names.get(slot, '?') if users else 'unused'}: {'/'.join(users)})"
        lines.append(f"  table {label}, natural order:")
        lines += ["    " + " ".join(f"{v:3d}" for v in table[r * 8 : r * 8 + 8]) for r in range(8)]
    return "\n".join(lines)


@click.command("inspect", short_help="Show tables, subsampling, size and bpp of JPEG files.")
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print JSON instead of text: {"files": [...], "errors": [...], "total": {...}}, '
    "whatever the number of files.",
)
def command(files: tuple[Path, ...], as_json: bool) -> int:
    """Show a JPEG's tables, subsampling, size, and whole-file and scan-data bpp (FILES may be
    folders: their .jpg / .jpeg files, recursively), then the totals. A file that cannot be
    read is reported in one line and the others still shown (exit status 2 at the end)."""
    infos, errors = [], []
    for path in _jpeg_files(files):
        try:
            infos.append(describe_jpeg(path))
        except InvalidInputError as error:
            errors.append({"file": str(path), "error": error.problem})
            click.echo(f"j4d: error: {error}", err=True)
    total = _total(infos)
    if as_json:
        click.echo(json.dumps({"files": infos, "errors": errors, "total": total}, indent=2))
    else:
        click.echo("\n".join(_format(info) for info in infos))
        if len(infos) > 1:
            click.echo(
                f"{total['files']} files, {total['file_bytes']} bytes, scan data "
                f"{total['scan_bytes']} bytes; {total['file_bpp']:.4f} bpp whole file, "
                f"{total['scan_bpp']:.4f} bpp scan data over all pixels"
            )
    if errors:
        count = len(errors) + len(infos)
        click.echo(f"j4d: {len(errors)} of {count} files could not be read", err=True)
        return 2
    return 0


def _total(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """Files, bytes and bpp over all pixels of the files read."""
    pixels = sum(info["width"] * info["height"] for info in infos)
    whole = sum(info["file_bytes"] for info in infos)
    scan = sum(info["scan_bytes"] for info in infos)
    return {
        "files": len(infos),
        "file_bytes": whole,
        "scan_bytes": scan,
        "file_bpp": 8 * whole / pixels if pixels else None,
        "scan_bpp": 8 * scan / pixels if pixels else None,
    }


def _jpeg_files(paths: tuple[Path, ...]) -> list[Path]:
    found = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg"))
            if not inside:
                raise InvalidInputError("folder holds no .jpg / .jpeg files", path)
            found += inside
        else:
            found.append(path)
    return found
