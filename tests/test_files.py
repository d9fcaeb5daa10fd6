"""Atomic outputs get the permissions a user expects: 0666 less the umask for a new file, the
old file's own mode for one written over."""

from __future__ import annotations

import os
import stat

import pytest

from j4d.tables import QuantTables
from j4d.utils.files import atomic_write_bytes


@pytest.fixture
def umask():
    def set_umask(value: int) -> None:
        os.umask(value)

    old = os.umask(0o022)
    yield set_umask
    os.umask(old)


@pytest.mark.parametrize(("mask", "mode"), [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_new_files_follow_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    written = atomic_write_bytes(tmp_path / "a.jpg", b"data")
    tables = QuantTables.from_quality(50).save(tmp_path / "t.json")
    assert stat.S_IMODE(written.stat().st_mode) == mode
    assert stat.S_IMODE(tables.stat().st_mode) == mode


def test_a_file_written_over_keeps_its_mode(tmp_path, umask):
    umask(0o077)
    path = tmp_path / "a.jpg"
    path.write_bytes(b"old")
    path.chmod(0o640)
    atomic_write_bytes(path, b"new")
    assert path.read_bytes() == b"new" and stat.S_IMODE(path.stat().st_mode) == 0o640


def test_a_write_removes_what_a_killed_write_of_that_file_left_and_nothing_else(tmp_path):
    (tmp_path / "a.jpg").write_bytes(b"old")
    killed = tmp_path / ".a.jpg.k1ll3d00.tmp"  # a write of a.jpg that was killed
    other = tmp_path / ".b.jpg.w0rk1ng0.tmp"  # another process writing b.jpg meanwhile
    for leftover in (killed, other):
        leftover.write_bytes(b"partial")
    atomic_write_bytes(tmp_path / "a.jpg", b"new")
    assert (tmp_path / "a.jpg").read_bytes() == b"new"
    assert not killed.exists() and other.exists()
    for index in range(50):  # a folder of many outputs leaves nothing else behind
        atomic_write_bytes(tmp_path / f"{index}.jpg", bytes([index]))
    assert sorted(p.name for p in tmp_path.glob(".*")) == [other.name]
