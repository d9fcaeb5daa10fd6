"""A data set's shards re-encoded (``j4d encode SHARD.tar|SHARD.parquet``): WebDataset and Parquet
shards keep every other member and column byte for byte, the images equal ``j4d encode`` of the
same files, one or two processes write the same bytes, a kill resumes to an uninterrupted run's
shards with each written once, and bad inputs are one-line errors. Ray: test_shards_ray.py."""

from __future__ import annotations

import functools
import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import webdataset as wds
from PIL import Image

from conftest import smooth_image
from j4d.cli import main
from j4d.errors import InvalidInputError
from j4d.shards import MANIFEST, Transcoder
from j4d.shards.tar import split_member


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg(image: np.ndarray, quality: int = 95) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def make_tar(
    path: Path, rng: np.random.Generator, samples: int = 4, broken: bool = False, fmt: int = 0
) -> None:
    """A WebDataset shard (tar format ``fmt``): samples with an image (png or jpg), a class, a
    json and a segmentation png that is not the image; optionally one sample whose jpg is not
    an image."""
    with tarfile.open(path, "w", format=fmt) as archive:

        def add(name: str, data: bytes) -> None:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.uname = len(data), 1_700_000_000 + len(name), "maker"
            archive.addfile(info, io.BytesIO(data))

        for index in range(samples):
            image = smooth_image(rng, 40 + 8 * index, 56)
            key = f"part/{path.stem}_{index:04d}"
            add(
                f"{key}.png" if index % 2 else f"{key}.jpg",
                _png(image) if index % 2 else _jpeg(image),
            )
            add(f"{key}.cls", str(index).encode())
            add(f"{key}.json", json.dumps({"index": index}).encode())
            add(f"{key}.seg.png", _png((image // 64).astype(np.uint8)))
        if broken:
            add(f"part/{path.stem}_broken.jpg", b"\xff\xd8 not really a JPEG")
            add(f"part/{path.stem}_broken.cls", b"7")


def make_parquet(path: Path, rng: np.random.Generator, struct: bool = True) -> None:
    """A Hugging Face style shard: an image column (struct of bytes and path, or bare bytes), a
    label, a null image, two row groups and schema metadata."""
    images = [_png(smooth_image(rng, 32, 48 + 8 * i)) for i in range(5)]
    cells = (
        [{"bytes": data, "path": f"{i}.png"} for i, data in enumerate(images)] if struct else images
    )
    cells[2] = None
    table = pa.table({"image": cells, "label": list(range(5))})
    table = table.replace_schema_metadata({"huggingface": '{"info": "kept"}'})
    pq.write_table(table, path, row_group_size=3, compression="zstd")


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    rng = np.random.default_rng(5)
    paths = [tmp_path / "in" / "a.tar", tmp_path / "in" / "b.tar", tmp_path / "in" / "c.parquet"]
    paths[0].parent.mkdir()
    make_tar(paths[0], rng, broken=True)
    make_tar(paths[1], rng, fmt=tarfile.GNU_FORMAT)
    make_parquet(paths[2], rng)
    return paths


def _encode(inputs: list[Path], out: Path, *extra: str) -> int:
    return main(["encode", *map(str, inputs), "-o", str(out), "--qf", "40", *extra])


def _members(path: Path) -> list[tuple[str, bytes | None]]:
    with tarfile.open(path) as archive:
        return [(m.name, archive.extractfile(m).read() if m.isfile() else None) for m in archive]


def _headers(path: Path) -> dict[str, bytes]:
    """Each member's raw 512-byte header block, by name."""
    data = path.read_bytes()
    with tarfile.open(path) as archive:
        return {m.name: data[m.offset : m.offset + tarfile.BLOCKSIZE] for m in archive}


def test_a_webdataset_shard_keeps_its_samples_and_every_other_member(shards, tmp_path, capsys):
    out = tmp_path / "out"
    assert _encode(shards[:1], out) == 2  # the broken image is reported
    error = capsys.readouterr().err
    assert "a.tar: part/a_broken.jpg: not an image file Pillow can read (carried over" in error
    before, after = _members(shards[0]), _members(out / "a.tar")
    assert len(before) == len(after)
    transcoder = Transcoder(quality=40)
    for (name, data), (new_name, new_data) in zip(before, after, strict=True):
        key, field = split_member(name)
        if field in ("jpg", "png") and "broken" not in key:
            assert new_name == f"{key}.jpg"
            assert new_data == transcoder(data) and new_data[:2] == b"\xff\xd8"
        else:  # the class, json, the segmentation png and the unreadable image, as they were
            assert (new_name, new_data) == (name, data)
    with tarfile.open(shards[0]) as a, tarfile.open(out / "a.tar") as b:
        for x, y in zip(a.getmembers(), b.getmembers(), strict=True):
            assert (x.mtime, x.uname, x.mode) == (y.mtime, y.uname, y.mode)
    # WebDataset reads the same samples back, with the same keys
    read = {s["__key__"]: s for s in wds.WebDataset(str(out / "a.tar"), shardshuffle=False)}
    assert sorted(read) == sorted({split_member(n)[0] for n, _ in before})
    decoded = Image.open(io.BytesIO(read["part/a_0001"]["jpg"]))
    assert decoded.format == "JPEG" and decoded.size == (56, 48)


@pytest.mark.parametrize("shard", [0, 1])
def test_other_members_keep_their_headers_byte_for_byte(shards, tmp_path, shard):
    """ustar (a.tar) and GNU (b.tar) headers alike."""
    _encode(shards[shard : shard + 1], tmp_path / "out")
    before, after = _headers(shards[shard]), _headers(tmp_path / "out" / shards[shard].name)
    carried = [
        name for name in before if not name.endswith((".jpg", "0.png", "1.png", "2.png", "3.png"))
    ]
    assert carried and all(before[name] == after[name] for name in carried)


def test_an_image_equals_j4d_encode_of_its_file(tmp_path):
    image = smooth_image(np.random.default_rng(2), 64, 80)
    (tmp_path / "one.png").write_bytes(_png(image))
    assert main(["encode", str(tmp_path / "one.png"), "-o", str(tmp_path / "o"), "--qf", "40"]) == 0
    assert Transcoder(quality=40)(_png(image)) == (tmp_path / "o" / "one.jpg").read_bytes()


def test_a_parquet_shard_keeps_its_columns_schema_and_row_groups(shards, tmp_path):
    out = tmp_path / "out"
    assert _encode(shards[2:], out) == 0
    before, after = pq.ParquetFile(shards[2]), pq.ParquetFile(out / "c.parquet")
    assert after.schema_arrow == before.schema_arrow
    assert after.schema_arrow.metadata[b"huggingface"] == b'{"info": "kept"}'
    assert [after.metadata.row_group(i).num_rows for i in range(2)] == [3, 2]
    assert after.metadata.row_group(0).column(0).compression == "ZSTD"
    old, new = before.read().to_pylist(), after.read().to_pylist()
    assert [r["label"] for r in new] == [r["label"] for r in old]
    assert new[2]["image"] is None
    for a, b in zip(old, new, strict=True):
        if a["image"] is not None:
            assert b["image"]["path"] == a["image"]["path"]
            assert b["image"]["bytes"] == Transcoder(quality=40)(a["image"]["bytes"])


def test_a_binary_column_and_a_missing_one(tmp_path, capsys):
    path = tmp_path / "d.parquet"
    make_parquet(path, np.random.default_rng(1), struct=False)
    assert _encode([path], tmp_path / "out") == 0
    cells = pq.read_table(tmp_path / "out" / "d.parquet").column("image").to_pylist()
    assert all(cell is None or cell[:2] == b"\xff\xd8" for cell in cells)
    assert _encode([path], tmp_path / "out2", "--column", "pixels") == 2
    assert "d.parquet: has no column 'pixels' (its columns: image, label" in capsys.readouterr().err


def test_one_or_two_processes_write_the_same_shards(shards, tmp_path):
    _encode(shards, tmp_path / "one")
    _encode(shards, tmp_path / "two", "-j", "2")
    for shard in shards:
        assert (tmp_path / "one" / shard.name).read_bytes() == (
            tmp_path / "two" / shard.name
        ).read_bytes()


def _run(argv: list[str], **env: str) -> int:
    command = [sys.executable, "-m", "j4d", *argv]
    return subprocess.run(command, env={**os.environ, **env}, capture_output=True).returncode


def test_a_killed_run_resumes_and_writes_each_shard_once(shards, tmp_path):
    reference, out = tmp_path / "reference", tmp_path / "out"
    _encode(shards, reference)
    argv = ["encode", *map(str, shards), "-o", str(out), "--qf", "40"]
    # killed after the first shard was written, while the second is made (before its write)
    assert _run(argv, J4D_FAULT="shard:b.tar") == -9
    first = (out / "a.tar").stat()
    assert not (out / "b.tar").exists()
    assert _run(argv) == 2  # a.tar's broken image is still reported
    assert (out / "a.tar").stat().st_mtime_ns == first.st_mtime_ns  # not written again
    lines = [json.loads(line) for line in (out / MANIFEST).read_text().splitlines()]
    assert sorted(line["shard"] for line in lines) == ["a.tar", "b.tar", "c.parquet"]
    for shard in shards:
        assert (out / shard.name).read_bytes() == (reference / shard.name).read_bytes()
    # other settings into the same folder: refused
    assert _encode(shards, out, "--strip") == 2


def test_bad_shard_inputs_are_one_line_errors(shards, tmp_path, capsys):
    (tmp_path / "x.tar").write_bytes(b"not a tar at all" * 40)
    assert _encode([tmp_path / "x.tar"], tmp_path / "out") == 2
    assert "x.tar: not a readable tar shard" in capsys.readouterr().err
    assert _encode([shards[0], tmp_path / "photo.png"], tmp_path / "out") == 2
    assert "photo.png: no such shard file" in capsys.readouterr().err
    assert main(["encode", str(shards[0]), "-o", str(tmp_path / "o"), "--qf", "40", "-m", "x"]) == 2
    assert "-m does not apply to shards" in capsys.readouterr().err
    image = tmp_path / "i.png"
    image.write_bytes(_png(smooth_image(np.random.default_rng(0), 16, 16)))
    assert main(["encode", str(image), "-o", str(tmp_path / "o"), "--qf", "40", "--ray"]) == 2
    assert "--ray applies to shards" in capsys.readouterr().err
    with pytest.raises(InvalidInputError, match="<bytes>: not an image file"):
        Transcoder(quality=40)(b"nothing")


def test_the_pure_function_maps_ray_and_spark_batches(shards):
    import pandas as pd

    transcoder = Transcoder(quality=40)
    table = pq.read_table(shards[2])
    frame = table.to_pandas()
    mapped = transcoder.map_batch(frame)
    assert list(mapped["label"]) == list(frame["label"])
    assert mapped["image"][0]["bytes"] == transcoder(frame["image"][0]["bytes"])
    assert mapped["image"][2] is None
    binary = {"image": np.array([_png(smooth_image(np.random.default_rng(3), 24, 24))], object)}
    assert transcoder.map_batch(binary)["image"][0] == transcoder(binary["image"][0])
    frames = list(transcoder.map_frames(iter([frame.iloc[:2], frame.iloc[2:]])))
    assert pd.concat(frames)["label"].tolist() == frame["label"].tolist()


def test_a_worker_builds_the_tables_and_the_predictor_once(shards, tmp_path, monkeypatch):
    """The zoo's per-scale tables and rd-aware's predictor: loaded once per process, whatever
    the number of shards and images."""
    from j4d.encoders import predictor
    from j4d.shards import ShardSettings, encode_shards, shard_jobs
    from j4d.shards.run import _worker_transcoder
    from j4d.tables import QuantTables

    loads = {"tables": 0, "predictor": 0}
    load_tables, load_predictor = QuantTables.load, predictor._load.__wrapped__

    def counted_tables(path):
        loads["tables"] += 1
        return load_tables(path)

    def counted_predictor(path):
        loads["predictor"] += 1
        return load_predictor(path)

    monkeypatch.setattr(QuantTables, "load", staticmethod(counted_tables))
    # the shipped predictor's cache, counting what reaches the file
    monkeypatch.setattr(predictor, "_load", functools.cache(counted_predictor))
    settings = ShardSettings(Transcoder("zoo:mobilenet_v2@1bpp", encoder="rd-aware"))
    counts = []
    for inputs in (shards[:1], shards[:2]):
        _worker_transcoder.cache_clear()
        predictor._load.cache_clear()
        loads.update(tables=0, predictor=0)
        out = tmp_path / f"out{len(inputs)}"
        entries = [entry for entry, _ in encode_shards(shard_jobs(inputs), out, settings)]
        assert sum(entry["images"] for entry in entries) >= 4 * len(inputs)
        counts.append(dict(loads))
    assert counts[0] == counts[1] and counts[0]["predictor"] == 1
