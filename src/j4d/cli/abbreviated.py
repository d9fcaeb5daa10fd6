"""``j4d encode --abbreviated``: the tables a folder's files share, learned once and written
beside them (:mod:`j4d.jpegio.abbreviated`, :mod:`j4d.encoders.shared`)."""

from __future__ import annotations

from pathlib import Path

import click

from j4d.encoders.rd import rd_settings
from j4d.encoders.registry import TablesEncoder
from j4d.encoders.shared import learn_shared_tables, shared_encoder
from j4d.errors import InvalidInputError
from j4d.jpegio.abbreviated import TABLES_FILE, SharedTables
from j4d.jpegio.images import load_image, shrink_to_short_side
from j4d.tables import QuantTables


def abbreviated_encoder(
    pairs: list[tuple[Path, Path]],
    out_dir: Path,
    tables: QuantTables | None,
    shared_path: Path | None,
    learn_from: int,
    short_side: int | None,
) -> tuple[TablesEncoder, QuantTables]:
    """The encoder of a folder's abbreviated files, and their quantization tables.

    The shared tables are ``shared_path``'s, else those an earlier run left in ``out_dir`` (a
    rerun adds files that the first files' tables decode), else learned from ``learn_from``
    inputs spread over ``pairs`` and written to ``out_dir`` before any image."""
    if any(name == Path(TABLES_FILE) for _, name in pairs):
        raise InvalidInputError(f"an input would be written as {TABLES_FILE}, the tables file")
    settings = rd_settings(tables) if tables is not None else None
    target = out_dir / TABLES_FILE
    source = shared_path or (target if target.exists() else None)
    if source is not None:
        shared = SharedTables.load(source)
        if tables is not None and shared.tables != tables:
            raise InvalidInputError(
                "holds other quantization tables than --tables/--qf give (leave those out to "
                "use its own, or write to another folder)",
                source,
            )
        if shared_path is not None and target.exists() and SharedTables.load(target) != shared:
            raise InvalidInputError(
                f"the folder's files were written with other tables ({target})", shared_path
            )
    else:
        if tables is None:
            raise InvalidInputError("--abbreviated needs --tables or --qf (or --shared-tables)")
        step = max(1, len(pairs) // learn_from)
        sample = []
        for source_path, _ in pairs[::step][:learn_from]:
            try:
                image = load_image(source_path)
            except InvalidInputError:
                continue  # reported when the files are written
            sample.append(image if short_side is None else shrink_to_short_side(image, short_side))
        shared = learn_shared_tables(sample, tables, settings)
        click.echo(f"shared tables learned on {len(sample)} images: {target}", err=True)
    if not target.exists():  # learned here, or given: the folder carries what decodes it
        out_dir.mkdir(parents=True, exist_ok=True)
        shared.save(target)
    return shared_encoder(shared, settings or rd_settings(shared.tables)), shared.tables
