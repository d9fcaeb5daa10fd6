"""WebDataset shards: tar files whose members group into samples by key.

A member ``dir/000123.jpg`` belongs to the sample ``dir/000123`` and is its ``jpg`` field
(WebDataset's rule: the key is the path up to the first dot of the file name). A shard is
re-encoded member by member in its own order: each sample's image field (by its extension, e.g.
``jpg``, ``png``: never ``seg.png``, another field) becomes the re-encoded JPEG, named ``.jpg``
unless it was ``.jpeg``; every other member, its header included (owner, mode, time), is copied
byte for byte. The result reads back with ``webdataset.WebDataset`` with the same keys.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from j4d.errors import InvalidInputError

#: Sample fields (the whole extension after the key, lower case) re-encoded by default.
IMAGE_FIELDS = ("jpg", "jpeg", "png", "webp", "ppm", "bmp", "tif", "tiff")


def split_member(name: str) -> tuple[str, str]:
    """(key, field) of a member name: ``a/b.seg.png`` -> (``a/b``, ``seg.png``)."""
    folder, _, file = name.rpartition("/")
    stem, dot, field = file.partition(".")
    return (f"{folder}/{stem}" if folder else stem), (field if dot else "")


@dataclass(frozen=True)
class Member:
    """One tar member: its header and, for a regular file, its bytes."""

    info: tarfile.TarInfo
    data: bytes | None


def _unreadable(path: Path, error: Exception) -> InvalidInputError:
    return InvalidInputError(f"not a readable tar shard ({error})", path)


#: The magic and version of a GNU tar header (POSIX ustar and pax have ``ustar\x0000``).
_GNU_MAGIC = b"ustar  \x00"


def _format(path: Path) -> int:
    """The shard's header format as tarfile writes it: GNU, else pax (whose headers are plain
    ustar ones where no field needs more)."""
    try:
        with path.open("rb") as handle:
            first = handle.read(tarfile.BLOCKSIZE)
    except OSError as error:
        raise _unreadable(path, error) from None
    return tarfile.GNU_FORMAT if first[257:265] == _GNU_MAGIC else tarfile.PAX_FORMAT


def read_members(path: Path) -> Iterator[Member]:
    """The members of a tar shard in order; a file that is not a tar: a one-line error."""
    try:
        with tarfile.open(path, mode="r:") as archive:
            for info in archive:
                data = archive.extractfile(info).read() if info.isfile() else None
                yield Member(info, data)
    except (tarfile.TarError, EOFError, OSError) as error:
        raise _unreadable(path, error) from None


#: ``transcode(data, sample key) -> (bytes, error or None)``: re-encodes one image or gives
#: the problem (the member then stays as it was).
Recode = Callable[[bytes, str], "tuple[bytes, str | None]"]


def recode_tar(
    path: Path, recode: Recode, fields: tuple[str, ...] = IMAGE_FIELDS
) -> tuple[bytes, dict[str, int], list[str]]:
    """The shard at ``path`` with each sample's image fields re-encoded by ``recode``: the new
    tar's bytes, counts (``samples``, ``images``) and one
    line per image that could not be read (its key and the problem)."""
    out = io.BytesIO()
    keys: set[str] = set()
    counts = {"samples": 0, "images": 0}
    problems: list[str] = []
    # the input's own format (ustar, GNU or pax) so that copied headers stay the same bytes
    with tarfile.open(fileobj=out, mode="w:", format=_format(path)) as archive:
        for member in read_members(path):
            info, data = member.info, member.data
            key, field = split_member(info.name)
            if info.isfile():
                keys.add(key)
            if data is not None and field.lower() in fields:
                counts["images"] += 1
                recoded, problem = recode(data, key)
                if problem is None:
                    info = _renamed(info, key, field, len(recoded))
                    data = recoded
                else:
                    problems.append(f"{key}.{field}: {problem}")
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    counts["samples"] = len(keys)
    return out.getvalue(), counts, problems


def _renamed(info: tarfile.TarInfo, key: str, field: str, size: int) -> tarfile.TarInfo:
    """The header of a re-encoded image: its size, and ``.jpg`` unless it was a JPEG name."""
    new = tarfile.TarInfo(info.name)
    for attribute in ("mode", "uid", "gid", "uname", "gname", "mtime", "type"):
        setattr(new, attribute, getattr(info, attribute))
    # a pax header's own name and size would contradict the new ones
    new.pax_headers = {k: v for k, v in info.pax_headers.items() if k not in ("path", "size")}
    if field.lower() not in ("jpg", "jpeg"):
        new.name = f"{key}.jpg"
    new.size = size
    return new
