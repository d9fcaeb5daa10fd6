"""JPEG marker parsing: frame type, and the size of the entropy-coded scan data.

Scan bytes are the bytes of every entropy-coded segment (after each SOS header, up to the next
marker other than RST; stuffed 0x00 bytes included): the file minus all headers and markers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from j4d.errors import InvalidInputError

if TYPE_CHECKING:
    from j4d.jpegio.images import Metadata

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0..7 have no length field
_FRAME_NAMES = {
    0xC0: "baseline",
    0xC1: "extended sequential",
    0xC2: "progressive",
    0xC3: "lossless",
    0xC9: "extended sequential, arithmetic",
    0xCA: "progressive, arithmetic",
}


@dataclass(frozen=True)
class JpegLayout:
    file_bytes: int
    scan_bytes: int
    num_scans: int
    frame: str  # "baseline", "progressive", ...
    sof_marker: int

    @property
    def header_bytes(self) -> int:
        return self.file_bytes - self.scan_bytes


@dataclass(frozen=True)
class Segment:
    """One marker of a JPEG file: ``data[start:end]`` is its payload (after the length field;
    empty for SOI, EOI, RST); a scan's entropy-coded data (SOS only) runs on to ``data_end``."""

    marker: int
    start: int
    end: int
    data_end: int


def segments(data: bytes, source: str | None = None) -> Iterator[Segment]:
    """The marker segments of a JPEG byte string, in order, from SOI to EOI; InvalidInputError
    if the bytes are not a JPEG file or end before EOI."""
    if len(data) < 4 or data[0] != 0xFF or data[1] != SOI:
        raise InvalidInputError("not a JPEG file (no SOI marker)", source)
    yield Segment(SOI, 2, 2, 2)
    position, size = 2, len(data)
    while position < size:
        if data[position] != 0xFF:
            raise InvalidInputError(f"corrupt JPEG: expected a marker at byte {position}", source)
        while position < size and data[position] == 0xFF:  # fill bytes
            position += 1
        if position >= size:
            break
        marker = data[position]
        position += 1
        if marker == EOI or marker in _STANDALONE:
            yield Segment(marker, position, position, position)
            if marker == EOI:
                return
            continue
        if position + 2 > size:
            raise InvalidInputError("corrupt JPEG: truncated marker segment", source)
        start, position = (
            position + 2,
            position + int.from_bytes(data[position : position + 2], "big"),
        )
        end = position
        if marker == SOS:
            position = _end_of_entropy_segment(data, position)
        yield Segment(marker, start, end, position)
    raise InvalidInputError("truncated JPEG: the file ends before its EOI marker", source)


def parse_layout(data: bytes, source: str | None = None) -> JpegLayout:
    """Walk the markers of a JPEG byte string; raise InvalidInputError if it is not one."""
    scan_bytes, num_scans, sof = 0, 0, None
    for segment in segments(data, source):
        if 0xC0 <= segment.marker <= 0xCF and segment.marker not in (0xC4, 0xC8, 0xCC):
            sof = segment.marker
        if segment.marker == SOS:
            num_scans += 1
            scan_bytes += segment.data_end - segment.end
    if sof is None or num_scans == 0:
        raise InvalidInputError("corrupt JPEG: no frame or no scan", source)
    return JpegLayout(len(data), scan_bytes, num_scans, _FRAME_NAMES.get(sof, hex(sof)), sof)


def _end_of_entropy_segment(data: bytes, position: int) -> int:
    """Index of the first marker (other than RSTn) after entropy-coded data at ``position``."""
    size = len(data)
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= size:
            return size
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:
            position += 2
        else:
            return position


_APP0, _APP1, _APP2 = 0xE0, 0xE1, 0xE2
_ICC_TAG = b"ICC_PROFILE\0"
_MAX_SEGMENT = 65533  # payload bytes after the 2-byte length


def insert_metadata(
    data: bytes,
    icc_profile: bytes | None,
    exif: bytes | None,
    segments: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """``data`` (a JPEG file) with an EXIF APP1 segment, the ICC profile in APP2 segments
    (split into numbered chunks, as ICC.1 Annex B says) and ``segments`` ((marker, payload):
    XMP, IPTC, ...) after SOI and a JFIF APP0 if any; a JFIF APP0 among ``segments`` replaces
    the file's own. The scan data is untouched."""
    if data[:2] != bytes((0xFF, SOI)):
        raise InvalidInputError("not a JPEG file (no SOI marker)")
    position = 2
    jfif = [payload for marker, payload in segments if marker == _APP0]
    if data[2:4] == bytes((0xFF, _APP0)):
        position += 2 + int.from_bytes(data[4:6], "big")
    head = data[:position] if not jfif else data[:2] + _segment(_APP0, jfif[0])
    parts = []
    if exif:
        if len(exif) > _MAX_SEGMENT:
            raise InvalidInputError(f"EXIF block of {len(exif)} bytes does not fit one segment")
        parts.append(_segment(_APP1, exif))
    parts += [_segment(marker, payload) for marker, payload in segments if marker == _APP1]
    if icc_profile:
        size = _MAX_SEGMENT - len(_ICC_TAG) - 2
        chunks = [icc_profile[i : i + size] for i in range(0, len(icc_profile), size)]
        if len(chunks) > 255:
            raise InvalidInputError(f"ICC profile of {len(icc_profile)} bytes is too large")
        for number, chunk in enumerate(chunks, 1):
            parts.append(_segment(_APP2, _ICC_TAG + bytes((number, len(chunks))) + chunk))
    parts += [_segment(m, payload) for m, payload in segments if m not in (_APP0, _APP1)]
    return head + b"".join(parts) + data[position:]


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + (len(payload) + 2).to_bytes(2, "big") + payload


def reencoded_file(
    data: bytes,
    metadata: Metadata | None,
    input_size: int,
    read_input: Callable[[], bytes],
    keep_smaller_input: bool = False,
) -> tuple[bytes, bool]:
    """The file a re-encoding writes: ``data`` (a JPEG) with the input's ``metadata`` inserted
    (None: stripped); with ``keep_smaller_input``, where that comes out larger than the
    ``input_size``-byte input and the input is a JPEG, the input's own bytes instead
    (``read_input`` reads them, only then). Also whether the input was kept."""
    if metadata is not None:
        data = insert_metadata(data, metadata.icc_profile, metadata.exif, metadata.segments)
    if keep_smaller_input and len(data) > input_size:
        original = read_input()
        if original[:2] == bytes((0xFF, SOI)):
            return original, True
    return data, False
