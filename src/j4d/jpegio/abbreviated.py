"""ISO 10918-1's abbreviated formats (ITU T.81 B.4, B.5): a data set's tables written once.

An ordinary JPEG file carries its quantization tables (DQT) and Huffman tables (DHT). When many
files share them, the *abbreviated format for table-specification data* holds the tables once
(SOI, DQT, DHT, EOI: :class:`SharedTables`, a file ``j4d-tables.jpg`` beside the images), and
each image is an *abbreviated format for compressed image data*: SOI, frame, scan, EOI, without
the tables. A decoder that has read the tables first decodes the image; :func:`restore` makes
the ordinary file back, the table segments spliced in, for any decoder. Restoring changes no
scan byte, so the pixels are the same in every decoder that reads the ordinary file.

Tables here are 8-bit, luma in slot 0 and chroma in slot 1; Huffman tables DC 0 and 1 (luma,
chroma) for every scan, AC 0 and 1 for a baseline scan and AC 2 and 3 for a progressive file's
AC bands (spectral selection, EOB runs): what j4d's writers use, so each file may take the
smaller frame. A shared Huffman table must code every symbol its scans can hold
(:data:`BASELINE_DC_SYMBOLS`, :data:`BASELINE_AC_SYMBOLS`, :data:`BAND_AC_SYMBOLS`), or some
image could not be written with it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from j4d.errors import InvalidInputError
from j4d.jpegio.markers import EOI, SOI, segments
from j4d.tables import QuantTables, zigzag_to_natural
from j4d.utils.files import atomic_write_bytes

DQT, DHT, COM = 0xDB, 0xC4, 0xFE
#: A comment segment of the tables file that carries the rd settings the files were written
#: with (``meta["rd"]`` of the tables, as JSON), so that a rerun writes files alike.
_RD_COMMENT = b"j4d rd "
_RD_KEY = "rd"
#: The name of the tables file ``j4d encode --abbreviated`` writes beside the images.
TABLES_FILE = "j4d-tables.jpg"
BASELINE_DC_SYMBOLS = tuple(range(12))
BASELINE_AC_SYMBOLS = (
    0x00,
    0xF0,
    *((run << 4) | size for run in range(16) for size in range(1, 11)),
)
#: A progressive AC band's symbols: a baseline scan's and the EOB runs' (EOB1..EOB14)
BAND_AC_SYMBOLS = tuple(sorted({*BASELINE_AC_SYMBOLS, *(r << 4 for r in range(1, 15))}))
#: The Huffman tables' (class, slot) bytes, in :attr:`SharedTables.huffman` order.
HUFFMAN_SLOTS = (0x00, 0x01, 0x10, 0x11, 0x12, 0x13)
_HUFFMAN_NAMES = (
    "DC luma",
    "DC chroma",
    "AC luma",
    "AC chroma",
    "progressive AC luma",
    "progressive AC chroma",
)
#: The symbols each shared table must code, in :attr:`SharedTables.huffman` order.
NEEDED_SYMBOLS = (BASELINE_DC_SYMBOLS,) * 2 + (BASELINE_AC_SYMBOLS,) * 2 + (BAND_AC_SYMBOLS,) * 2


@dataclass(frozen=True)
class HuffmanSpec:
    """One Huffman table as a DHT segment gives it: how many codes of each length 1..16
    (``counts``) and the symbols in code order (``symbols``)."""

    counts: tuple[int, ...]
    symbols: bytes

    @classmethod
    def from_payload(cls, payload: bytes, what: str = "Huffman table") -> HuffmanSpec:
        """From a DHT payload (16 counts, then the symbols); one-line errors."""
        if len(payload) < 16 or len(payload) != 16 + sum(payload[:16]):
            raise InvalidInputError(f"{what}: counts and symbols do not agree")
        return cls(tuple(payload[:16]), bytes(payload[16:])).checked(what)

    def checked(self, what: str = "Huffman table") -> HuffmanSpec:
        """``self`` if its codes fit 16 bits and no symbol repeats; a one-line error otherwise."""
        if len(self.counts) != 16 or len(self.symbols) != sum(self.counts):
            raise InvalidInputError(f"{what}: counts and symbols do not agree")
        if len(set(self.symbols)) != len(self.symbols):
            raise InvalidInputError(f"{what}: a symbol has two codes")
        room = 1
        for count in self.counts:  # codes left of each length (ITU T.81 C.2)
            room = 2 * room - count
            if room < 0:
                raise InvalidInputError(f"{what}: more codes than 16 bits hold")
        return self

    def payload(self) -> bytes:
        return bytes(self.counts) + self.symbols

    def lengths(self) -> dict[int, int]:
        """Code length of each symbol that has a code."""
        lengths, position = {}, 0
        for length, count in enumerate(self.counts, 1):
            for symbol in self.symbols[position : position + count]:
                lengths[symbol] = length
            position += count
        return lengths


@dataclass(frozen=True)
class SharedTables:
    """The tables a set of abbreviated files shares: quantization (``tables``) and Huffman
    (``huffman``: DC luma, DC chroma, AC luma, AC chroma of a baseline scan, then a progressive
    file's AC bands, luma and chroma), each coding every symbol its scans may hold."""

    tables: QuantTables
    huffman: tuple[HuffmanSpec, ...]

    def __post_init__(self) -> None:
        if len(self.huffman) != len(HUFFMAN_SLOTS):
            raise InvalidInputError(
                f"shared tables need {len(HUFFMAN_SLOTS)} Huffman tables, got {len(self.huffman)}"
            )
        for name, spec, needed in zip(_HUFFMAN_NAMES, self.huffman, NEEDED_SYMBOLS, strict=True):
            spec.checked(f"{name} Huffman table")
            missing = set(needed) - set(spec.symbols)
            if missing:
                raise InvalidInputError(
                    f"{name} Huffman table has no code for {len(missing)} symbols a baseline scan "
                    f"may need (e.g. 0x{min(missing):02x}): it cannot code every image"
                )

    def to_bytes(self) -> bytes:
        """The abbreviated format for table-specification data: SOI, DQT, DHT, EOI (and a COM
        segment with the tables' rd settings, if any)."""
        steps = self.tables.to_array("zigzag")
        dqt = b"".join(bytes([slot]) + bytes(steps[slot].tolist()) for slot in (0, 1))
        dht = b"".join(
            bytes([slot]) + spec.payload()
            for slot, spec in zip(HUFFMAN_SLOTS, self.huffman, strict=True)
        )
        settings = self.tables.meta.get(_RD_KEY)
        comment = b""
        if settings:
            text = json.dumps(settings, sort_keys=True, separators=(",", ":"))
            comment = _segment(COM, _RD_COMMENT + text.encode())
        return b"\xff\xd8" + _segment(DQT, dqt) + _segment(DHT, dht) + comment + b"\xff\xd9"

    @classmethod
    def from_bytes(cls, data: bytes, source: str | os.PathLike[str] | None = None) -> SharedTables:
        """Tables from a table-specification stream (any DQT and DHT segments between SOI and
        EOI, later definitions replacing earlier ones); one-line errors naming ``source``."""
        quant: dict[int, tuple[int, ...]] = {}
        huffman: dict[int, HuffmanSpec] = {}
        meta = {}
        try:
            for segment in segments(data, source):
                payload = data[segment.start : segment.end]
                if segment.marker == DQT:
                    quant.update(_quant_tables(payload))
                elif segment.marker == DHT:
                    huffman.update(_huffman_tables(payload))
                elif segment.marker == COM and payload.startswith(_RD_COMMENT):
                    meta[_RD_KEY] = _rd_settings(payload[len(_RD_COMMENT) :])
                elif segment.marker not in (SOI, EOI, COM):
                    raise InvalidInputError(
                        f"marker 0x{segment.marker:02X} in a tables file: it holds only DQT and DHT"
                    )
            missing = [name for slot, name in ((0, "luma"), (1, "chroma")) if slot not in quant]
            missing += [
                n for s, n in zip(HUFFMAN_SLOTS, _HUFFMAN_NAMES, strict=True) if s not in huffman
            ]
            if missing:
                raise InvalidInputError(f"tables file lacks the {', '.join(missing)} table(s)")
            luma, chroma = (zigzag_to_natural(np.array(quant[slot])) for slot in (0, 1))
            return cls(
                QuantTables(tuple(luma.tolist()), tuple(chroma.tolist()), meta),
                tuple(huffman[slot] for slot in HUFFMAN_SLOTS),
            )
        except InvalidInputError as error:
            if error.source is not None:
                raise
            raise InvalidInputError(error.problem, source) from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> SharedTables:
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise InvalidInputError("no such tables file", path) from None
        except OSError as error:
            raise InvalidInputError(f"cannot read tables file ({error.strerror})", path) from None
        return cls.from_bytes(data, path)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write :meth:`to_bytes` to ``path`` atomically."""
        return atomic_write_bytes(Path(path), self.to_bytes())

    def huffman_bytes(self) -> bytes:
        """The tables as rd's compiled writer takes them: 16 counts and 256 symbol bytes each."""
        return b"".join(
            bytes(spec.counts) + spec.symbols.ljust(256, b"\0") for spec in self.huffman
        )


def restore(
    abbreviated: bytes,
    shared: SharedTables | bytes,
    source: str | os.PathLike[str] | None = None,
) -> bytes:
    """The ordinary JPEG file of an abbreviated one: the shared tables' DQT and DHT segments
    after SOI (and the application segments that lead the file, JFIF and EXIF among them), so
    any tables the file itself defines still replace them, as when a decoder reads the tables
    stream first. The scan is untouched."""
    stream = shared.to_bytes() if isinstance(shared, SharedTables) else shared
    table_segments = b"".join(
        stream[segment.start - 4 : segment.end]
        for segment in segments(stream)
        if segment.marker in (DQT, DHT)
    )
    position = 2
    for segment in segments(abbreviated, source):
        if segment.marker == SOI:
            continue
        if not 0xE0 <= segment.marker <= 0xEF:  # the leading APPn run ends here
            break
        position = segment.end
    return abbreviated[:position] + table_segments + abbreviated[position:]


def is_abbreviated(data: bytes, source: str | os.PathLike[str] | None = None) -> bool:
    """Whether a JPEG byte string lacks quantization tables (needs shared tables to decode)."""
    return not any(segment.marker == DQT for segment in segments(data, source))


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def _rd_settings(text: bytes) -> dict:
    try:
        settings = json.loads(text.decode())
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise InvalidInputError("its rd settings comment is not JSON") from None
    if not isinstance(settings, dict):
        raise InvalidInputError("its rd settings comment is not a JSON object")
    return settings


def _quant_tables(payload: bytes) -> dict[int, tuple[int, ...]]:
    tables, position = {}, 0
    while position < len(payload):
        precision, slot = payload[position] >> 4, payload[position] & 15
        if precision != 0:
            raise InvalidInputError("16-bit quantization tables are not supported")
        if position + 65 > len(payload):
            raise InvalidInputError("truncated DQT segment")
        steps = tuple(payload[position + 1 : position + 65])
        if 0 in steps:
            raise InvalidInputError(f"quantization table {slot} has a zero step")
        tables[slot] = steps
        position += 65
    return tables


def _huffman_tables(payload: bytes) -> dict[int, HuffmanSpec]:
    tables, position = {}, 0
    while position < len(payload):
        if position + 17 > len(payload):
            raise InvalidInputError("truncated DHT segment")
        slot = payload[position]
        end = position + 17 + sum(payload[position + 1 : position + 17])
        if end > len(payload):
            raise InvalidInputError("truncated DHT segment")
        tables[slot] = HuffmanSpec.from_payload(
            payload[position + 1 : end], f"Huffman table {slot:#04x}"
        )
        position = end
    return tables
