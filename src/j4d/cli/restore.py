"""``j4d restore``: abbreviated files (``j4d encode --abbreviated``) back to ordinary JPEGs."""

from __future__ import annotations

from pathlib import Path

import click
from tqdm import tqdm

from j4d.cli.options import output_folder_option
from j4d.errors import InvalidInputError
from j4d.jpegio import read_bytes
from j4d.jpegio.abbreviated import TABLES_FILE, SharedTables, is_abbreviated, restore
from j4d.utils.files import atomic_write_bytes


@click.command("restore", short_help="Turn abbreviated JPEG files back into ordinary ones.")
@click.argument("folder", type=click.Path(path_type=Path, exists=True, file_okay=False))
@output_folder_option("Output folder (the folder's layout is kept).")
@click.option(
    "--shared-tables",
    "shared_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help=f"The tables file [default: FOLDER/{TABLES_FILE}].",
)
def command(folder: Path, out_dir: Path, shared_path: Path | None) -> int:
    """Write every abbreviated JPEG of FOLDER (files without their tables, as `j4d encode
    --abbreviated` writes them) as an ordinary JPEG under OUTDIR, the shared tables put back in:
    the same scan, so the same pixels in every decoder. Files that carry their own tables are
    copied as they are; unreadable ones are reported and skipped (exit status 2)."""
    shared = SharedTables.load(shared_path or folder / TABLES_FILE)
    paths = sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in (".jpg", ".jpeg") and p.is_file()
    )
    paths = [p for p in paths if p.name != TABLES_FILE]
    if not paths:
        raise InvalidInputError("folder holds no JPEG files", folder)
    restored = copied = failures = 0
    for path in tqdm(paths, desc="restore", unit="file", disable=None):
        try:
            data, _ = read_bytes(path)
            if is_abbreviated(data, path):
                data = restore(data, shared, path)
                restored += 1
            else:
                copied += 1
        except InvalidInputError as error:
            click.echo(f"j4d: error: {error}", err=True)
            failures += 1
            continue
        atomic_write_bytes(out_dir / path.relative_to(folder), data)
    click.echo(
        f"{restored} files restored, {copied} copied as they were (their own tables) in {out_dir}"
    )
    if failures:
        click.echo(f"j4d: {failures} of {len(paths)} files could not be read", err=True)
        return 2
    return 0
