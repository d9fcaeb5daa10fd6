"""Parquet shards: a table with a column of image bytes, as Hugging Face data sets store them.

The column holds each image file's bytes (``binary``), or a struct with a ``bytes`` field (the
``datasets.Image`` feature: ``{bytes, path}``). A shard is re-encoded row group by row group
(memory bounded by a row group): the column's bytes become the re-encoded JPEGs, every other
column and field, the schema and its metadata (a Hugging Face data set's features), the row
groups' sizes and each column's compression stay as they were.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

from j4d.errors import InvalidInputError
from j4d.shards.transcode import cell_image, with_image

if TYPE_CHECKING:
    import pyarrow as pa

    from j4d.shards.tar import Recode


def _pyarrow():
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InvalidInputError("Parquet shards need pyarrow: pip install 'j4d[shards]'") from None
    return pa, pq


def recode_parquet(
    path: Path, recode: Recode, column: str = "image"
) -> tuple[bytes, dict[str, int], list[str]]:
    """The shard at ``path`` with ``column``'s images re-encoded by ``recode``: the new file's
    bytes, counts (``samples``: rows, ``images``) and one line per
    image that could not be read (its row and the problem)."""
    pa, pq = _pyarrow()
    try:
        source = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as error:
        raise InvalidInputError(f"not a readable Parquet file ({error})", path) from None
    schema = source.schema_arrow
    if column not in schema.names:
        raise InvalidInputError(
            f"has no column {column!r} (its columns: {', '.join(schema.names)}; choose one with "
            "--column)",
            path,
        )
    kind = schema.field(column).type
    if not (
        pa.types.is_binary(kind) or pa.types.is_large_binary(kind) or _is_image_struct(pa, kind)
    ):
        raise InvalidInputError(
            f"column {column!r} holds {kind}, not image bytes (binary, or a struct with bytes)",
            path,
        )
    metadata = source.metadata
    compression = (
        {
            metadata.row_group(0).column(i).path_in_schema: metadata.row_group(0)
            .column(i)
            .compression
            for i in range(metadata.num_columns)
        }
        if metadata.num_row_groups
        else None
    )
    index = schema.get_field_index(column)
    out = io.BytesIO()
    counts = {"samples": 0, "images": 0}
    problems: list[str] = []
    with pq.ParquetWriter(out, schema, compression=_codecs(compression)) as writer:
        for group in range(metadata.num_row_groups):
            table = source.read_row_group(group)
            values = table.column(column).to_pylist()
            recoded = []
            for offset, cell in enumerate(values):
                row = counts["samples"] + offset
                recoded.append(_recode_cell(cell, row, recode, counts, problems))
            counts["samples"] += len(values)
            table = table.set_column(index, schema.field(column), pa.array(recoded, type=kind))
            writer.write_table(table, row_group_size=max(1, len(values)))
    return out.getvalue(), counts, problems


def _is_image_struct(pa, kind: pa.DataType) -> bool:
    if not pa.types.is_struct(kind):
        return False
    names = [kind.field(i).name for i in range(kind.num_fields)]
    return "bytes" in names and pa.types.is_binary(kind.field("bytes").type)


def _recode_cell(cell, row: int, recode: Recode, counts: dict[str, int], problems: list[str]):
    data, path = cell_image(cell)
    if data is None:
        return cell
    counts["images"] += 1
    name = f"row {row}" + (f" ({path})" if path else "")
    recoded, problem = recode(data, name)
    if problem is not None:
        problems.append(f"{name}: {problem}")
        return cell
    return with_image(cell, recoded)


def _codecs(compression: dict[str, str] | None) -> str | dict[str, str]:
    """Parquet's codec names as the writer takes them (the reader says ``SNAPPY``, ``ZSTD``;
    ``UNCOMPRESSED`` is ``none``)."""
    if not compression:
        return "snappy"
    return {
        column: "none" if codec.upper() == "UNCOMPRESSED" else codec.lower()
        for column, codec in compression.items()
    }
