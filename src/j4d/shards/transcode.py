"""The pure function a data pipeline maps: an image file's bytes in, a JPEG's bytes out.

:class:`Transcoder` holds one set of tables (a tables file, default tables at a quality, or the
zoo's per-scale choice) and the encoder that writes them; a call re-encodes one image's bytes
exactly as ``j4d encode`` writes a file of them (metadata kept unless ``strip``; a JPEG input
whose re-encoding is larger kept as it was unless ``allow_larger``). It holds only its options
until the first call, so it pickles small to a worker, which builds its tables and encoder once.

It serves any engine that maps batches of bytes: Ray Data's ``map_batches`` (:meth:`map_batch`,
a column of bytes in a dict of arrays or a pandas frame) and Spark's ``mapInPandas``
(:meth:`map_frames`, an iterator of pandas frames).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from j4d.errors import InvalidInputError
from j4d.jpegio import decode_image_with_metadata
from j4d.jpegio.images import shrink_to_short_side
from j4d.jpegio.markers import reencoded_file
from j4d.tables import QuantTables

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Transcoded:
    """One re-encoded image: the file's bytes, the image's (H, W, 3) shape as stored, and
    whether the input's own bytes were kept (its re-encoding was larger)."""

    data: bytes
    shape: tuple[int, ...]
    kept_input: bool = False


@dataclass(frozen=True)
class Transcoder:
    """``tables``: a tables file (JSON or cjpeg text) or ``zoo:MODEL@...`` (the zoo's tables
    for each image's scale, as ``j4d encode --tables``); or ``quality``: default JPEG tables.
    ``encoder``: the registry's encoder (default: the one the tables record). ``strip`` drops
    the inputs' metadata; ``short_side`` brings each image's short side down to it first;
    ``allow_larger`` writes a re-encoding larger than its JPEG input (else the input is kept,
    as it is where ``strip`` or ``short_side`` ask for another file anyway)."""

    tables: str | None = None
    quality: int | None = None
    encoder: str | None = None
    strip: bool = False
    short_side: int | None = None
    allow_larger: bool = False

    def __post_init__(self) -> None:
        if (self.tables is None) == (self.quality is None):
            raise InvalidInputError("give tables or a quality, not both or neither")
        if self.tables is not None:
            object.__setattr__(self, "tables", str(self.tables))

    @functools.cached_property
    def _writer(self) -> tuple[QuantTables, Any]:
        """The tables and their encoder (the zoo's per-scale choice: its encoder), built once."""
        from j4d.encoders.registry import encoder_of
        from j4d.zoo import PerScaleEncoder, is_zoo_choice, zoo_choice

        if self.tables is not None and is_zoo_choice(Path(self.tables)):
            per_scale = PerScaleEncoder(zoo_choice(self.tables), self.encoder)
            return per_scale.tables[0], per_scale
        if self.tables is not None:
            tables = QuantTables.load(self.tables)
        else:
            tables = QuantTables.from_quality(self.quality)
        return tables, encoder_of(tables, self.encoder)

    @property
    def keeps_smaller_input(self) -> bool:
        return not (self.allow_larger or self.strip or self.short_side is not None)

    def prepare(self) -> Transcoder:
        """Build the tables and the encoder now (bad tables: a one-line error here, not at
        the first image); returns itself."""
        self._writer  # noqa: B018 (the cached property is the work)
        return self

    def transcode(self, data: bytes, name: str = "<bytes>") -> Transcoded:
        """Re-encode one image file's ``data``; an unreadable one is an
        :class:`~j4d.errors.InvalidInputError` naming it ``name``."""
        image, metadata = decode_image_with_metadata(data, name)
        if self.short_side is not None:
            image = shrink_to_short_side(image, self.short_side)
        tables, encoder = self._writer
        if hasattr(encoder, "choose"):  # the zoo's per-scale choice
            out = encoder.choose([image])[0][0]
        else:
            out = encoder.encode(image, tables)
        out, kept = reencoded_file(
            out, None if self.strip else metadata, len(data), lambda: data, self.keeps_smaller_input
        )
        return Transcoded(out, image.shape, kept)

    def __call__(self, data: bytes, name: str = "<bytes>") -> bytes:
        """The JPEG bytes of :meth:`transcode`."""
        return self.transcode(data, name).data

    def map_batch(self, batch: Any, column: str = "image") -> Any:
        """A batch (a dict of columns, as Ray Data's ``map_batches`` gives with
        ``batch_format="numpy"``, or a pandas frame) with ``column``'s image bytes re-encoded;
        other columns as they were. A cell that is a struct with ``bytes`` (a Hugging Face
        ``Image`` feature) has its ``bytes`` re-encoded."""
        cells = batch[column]
        out = [_map_cell(self, cell) for cell in cells]
        if isinstance(batch, Mapping):
            return {**batch, column: np.asarray(out, dtype=object)}
        frame = batch.copy()
        frame[column] = out
        return frame

    def map_frames(
        self, frames: Iterable[pd.DataFrame], column: str = "image"
    ) -> Iterator[pd.DataFrame]:
        """Spark's ``mapInPandas`` form of :meth:`map_batch`: frames in, frames out."""
        for frame in frames:
            yield self.map_batch(frame, column)


def cell_image(cell: Any) -> tuple[bytes | None, str | None]:
    """A table cell's image file bytes and its path: a cell of bare bytes, or a struct with
    ``bytes`` (and ``path``: a Hugging Face ``Image`` feature); (None, None) for a null one."""
    if isinstance(cell, Mapping):
        data = cell.get("bytes")
        return (None if data is None else bytes(data)), cell.get("path") or None
    return (None if cell is None else bytes(cell)), None


def with_image(cell: Any, data: bytes) -> Any:
    """``cell`` holding ``data`` as its image bytes, its other fields as they were."""
    return {**cell, "bytes": data} if isinstance(cell, Mapping) else data


def _map_cell(transcoder: Transcoder, cell: Any) -> Any:
    data, path = cell_image(cell)
    return cell if data is None else with_image(cell, transcoder(data, str(path)))
