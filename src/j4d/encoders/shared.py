r"""Files that share their tables: rd with one set of Huffman tables for a whole data set.

Every ordinary JPEG carries its quantization tables and the Huffman tables optimal for its own
symbols: on a 224x224 crop about 340 bytes of headers, 5 % of a 1 bpp file. A data set written
with one tables file needs them once (:mod:`j4d.jpegio.abbreviated`): :func:`learn_shared_tables`
derives Huffman tables from a sample of the data set (libjpeg's optimal tables for the summed
symbol counts of rd's indices, every baseline symbol counted at least once so that any image can
be coded), and :func:`encode_shared` writes an image with them: the trellis prices each symbol
by its shared code length (a baseline scan's; the file is the smaller of the baseline and the
progressive one, each with its shared tables), abbreviated (no DQT, no DHT) unless asked
otherwise.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from j4d.encoders.rd import (
    PASSES,
    RDSettings,
    _compiled,
    analyze_rd,
    encode_rd,
    rd_indices,
    rd_settings,
)
from j4d.encoders.registry import TablesEncoder
from j4d.errors import InvalidInputError
from j4d.jpegio.abbreviated import NEEDED_SYMBOLS, HuffmanSpec, SharedTables
from j4d.tables import QuantTables


def symbol_counts(indices: np.ndarray) -> np.ndarray:
    """(6, 256) int64 symbol counts of (3, B, 64) zig-zag indices: a baseline scan's DC luma,
    DC chroma, AC luma, AC chroma (DC: the size of each DPCM difference; AC: run/size, ZRL and
    EOB), then a progressive file's AC bands, luma and chroma (EOB runs instead of EOBs)."""
    indices = np.ascontiguousarray(indices, dtype=np.int16)
    data = _compiled().count_symbols(indices, indices.shape[1])
    return np.frombuffer(data, dtype=np.int64).reshape(6, 256).copy()


def huffman_from_counts(counts: np.ndarray) -> tuple[HuffmanSpec, ...]:
    """The optimal tables (libjpeg's, ITU T.81 K.2) of (6, 256) counts (:func:`symbol_counts`),
    every symbol their scans may hold counted at least once."""
    counts = np.array(counts, dtype=np.int64)
    for row, symbols in enumerate(NEEDED_SYMBOLS):
        counts[row, list(symbols)] = np.maximum(counts[row, list(symbols)], 1)
    compiled = _compiled()
    return tuple(
        HuffmanSpec.from_payload(compiled.huffman_spec(np.ascontiguousarray(row))) for row in counts
    )


def learn_shared_tables(
    images: Iterable[np.ndarray], tables: QuantTables, settings: RDSettings | None = None
) -> SharedTables:
    """Shared tables for ``tables``: Huffman tables from the symbols rd writes for ``images`` (a
    sample of the data set)."""
    settings = settings or rd_settings(tables)
    counts = [symbol_counts(rd_indices(analyze_rd(i), tables, settings, PASSES)) for i in images]
    if not counts:
        raise InvalidInputError("shared tables need at least one image to learn from")
    return SharedTables(tables, huffman_from_counts(sum(counts)))


def encode_shared(
    image: np.ndarray,
    shared: SharedTables,
    settings: RDSettings | None = None,
    abbreviated: bool = True,
) -> bytes:
    """``image`` by rd with ``shared`` tables: an abbreviated file (or, ``abbreviated=False``,
    the ordinary one with the same scan, its tables included)."""
    settings = settings or rd_settings(shared.tables)
    return encode_rd(image, shared.tables, settings, shared=shared, abbreviated=abbreviated)


def shared_encoder(shared: SharedTables, settings: RDSettings | None = None) -> TablesEncoder:
    """rd with ``shared`` tables as a registry encoder: abbreviated files whatever tables it is
    handed (they are ``shared.tables``)."""
    settings = settings or rd_settings(shared.tables)

    def write(image: np.ndarray, tables: QuantTables) -> bytes:
        return encode_shared(image, shared, settings)

    description = {
        "encoder": "j4d rate-distortion trellis priced by shared Huffman tables",
        "subsampling": "4:4:4",
        "huffman": "shared (learned on a sample of the data set)",
        "frame": "baseline or progressive (spectral selection), whichever is smaller; "
        "abbreviated (no DQT, no DHT: see the tables file)",
    }
    return TablesEncoder("rd-abbreviated", description, write)
