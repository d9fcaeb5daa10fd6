"""The rate of a JPEG file in bits per pixel: the whole file, and the entropy-coded scan data
only (headers, tables and metadata excluded)."""

from __future__ import annotations

from dataclasses import dataclass

from j4d.jpegio.markers import JpegLayout, parse_layout


@dataclass(frozen=True)
class FileRate:
    """Size of a JPEG file in bits per pixel: whole file, and entropy-coded scan data only."""

    file_bytes: int
    scan_bytes: int
    height: int
    width: int

    @property
    def pixels(self) -> int:
        return self.height * self.width

    @property
    def file_bpp(self) -> float:
        return 8.0 * self.file_bytes / self.pixels

    @property
    def scan_bpp(self) -> float:
        return 8.0 * self.scan_bytes / self.pixels


def file_rate(data: bytes, height: int, width: int, source: str | None = None) -> FileRate:
    layout: JpegLayout = parse_layout(data, source)
    return FileRate(layout.file_bytes, layout.scan_bytes, height, width)
