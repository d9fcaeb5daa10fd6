"""Files that share their tables (ISO 10918-1's abbreviated formats): the tables file's round
trip and errors, rd priced by shared Huffman tables against a brute force, restored files against
the ordinary ones in two decoders, and a folder through ``j4d encode --abbreviated``,
``j4d restore`` and the torch dataset."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from PIL import Image

from conftest import libjpeg_decode, smooth_image
from j4d.cli import main
from j4d.data.abbreviated import AbbreviatedFolder
from j4d.encoders.rd import (
    RDSettings,
    analyze_rd,
    default_weights,
    encode_rd,
    rd_indices,
    rd_settings,
)
from j4d.encoders.shared import (
    encode_shared,
    huffman_from_counts,
    learn_shared_tables,
    symbol_counts,
)
from j4d.errors import InvalidInputError
from j4d.jpegio import decode, insert_metadata, load_image, parse_layout, read_coefficients
from j4d.jpegio.abbreviated import (
    TABLES_FILE,
    HuffmanSpec,
    SharedTables,
    is_abbreviated,
    restore,
)
from j4d.jpegio.markers import segments
from j4d.tables import QuantTables
from test_rd import _band_counts, _candidates, _cost, _one_block_problem, _symbol_counts

DQT, DHT = 0xDB, 0xC4


@pytest.fixture(scope="module")
def photos(kodak_files) -> list[np.ndarray]:
    return [load_image(path)[:64, :88] for path in kodak_files[:6]]


@pytest.fixture(scope="module")
def shared(photos) -> SharedTables:
    tables = QuantTables.from_quality(50).with_meta(rd={"lambda": 1.0, "rule": "energy"})
    return learn_shared_tables(photos[:3], tables)


def test_the_tables_file_round_trips_with_its_rd_settings(shared):
    data = shared.to_bytes()
    markers = [segment.marker for segment in segments(data)]
    assert markers == [0xD8, DQT, DHT, 0xFE, 0xD9]
    again = SharedTables.from_bytes(data)
    assert again == shared
    assert again.tables.meta["rd"] == {"lambda": 1.0, "rule": "energy"}
    assert again.to_bytes() == data


def test_learned_tables_are_the_optimal_ones_of_the_samples_symbols(photos, shared):
    settings = rd_settings(shared.tables)
    counts = sum(
        symbol_counts(rd_indices(analyze_rd(p), shared.tables, settings)) for p in photos[:3]
    )
    # the AC counts against an independent count of the same indices
    indices = rd_indices(analyze_rd(photos[0]), shared.tables, settings)
    got = symbol_counts(indices)
    assert np.array_equal(got[2:4], _symbol_counts(indices.astype(np.int64)))
    bands = [_band_counts(indices[0]), _band_counts(indices[1]) + _band_counts(indices[2])]
    assert np.array_equal(got[4:], np.stack(bands))
    assert huffman_from_counts(counts) == shared.huffman
    # a symbol seen more often never gets a longer code (where counts are distinct)
    lengths = shared.huffman[2].lengths()
    seen = [(counts[2, s], lengths[s]) for s in lengths if counts[2, s] > 0]
    for (a, la), (b, lb) in itertools.combinations(seen, 2):
        if a > b:
            assert la <= lb


@pytest.mark.parametrize("seed", range(8))
def test_with_shared_tables_the_trellis_finds_the_brute_force_optimum(seed):
    rng = np.random.default_rng(100 + seed)
    coefficients, tables = _one_block_problem(rng, int(rng.integers(1, 7)))
    # Huffman tables of random counts: code lengths unlike any this block's own would give
    counts = rng.integers(0, 1000, (6, 256))
    shared = SharedTables(tables, huffman_from_counts(counts))
    settings = RDSettings(float(rng.choice([0.3, 1.0, 3.0])), default_weights(tables))
    lengths = np.zeros(256)
    for symbol, length in shared.huffman[2].lengths().items():
        lengths[symbol] = length
    y, q, w = coefficients[0, 0], tables.to_array("zigzag")[0], settings.weights[0]
    got = rd_indices(coefficients, tables, settings, shared=shared)[0, 0].astype(np.int64)
    plain = np.sign(y) * np.floor(np.abs(y) / q + 0.5)
    positions = np.flatnonzero(plain[1:]) + 1
    best = math.inf
    for magnitudes in itertools.product(
        *[[0, *_candidates(abs(int(plain[k])))] for k in positions]
    ):
        block = np.zeros(64, np.int64)
        block[positions] = np.array(magnitudes) * np.sign(y[positions]).astype(np.int64)
        best = min(best, _cost(block, y, q, w, settings.mu, lengths))
    assert _cost(got, y, q, w, settings.mu, lengths) == pytest.approx(best, rel=1e-12, abs=1e-9)


def test_a_restored_file_decodes_as_the_ordinary_one_in_both_decoders(photos, shared):
    for image in photos[3:]:
        abbreviated = encode_shared(image, shared)
        ordinary = encode_shared(image, shared, abbreviated=False)
        assert is_abbreviated(abbreviated) and not is_abbreviated(ordinary)
        markers = {segment.marker for segment in segments(abbreviated)}
        assert DQT not in markers and DHT not in markers
        restored = restore(abbreviated, shared)
        assert parse_layout(restored).scan_bytes == parse_layout(abbreviated).scan_bytes
        pixels = decode(ordinary)
        assert np.array_equal(decode(restored), pixels)  # Pillow
        assert np.array_equal(libjpeg_decode(restored), pixels)  # libjpeg-turbo via jpeglib
        assert read_coefficients(restored).tables == shared.tables
        # the tables file's bytes are what the ordinary file spends on tables
        assert len(abbreviated) < len(ordinary)


def test_a_restored_file_keeps_leading_metadata_first_and_the_files_own_tables_win(shared):
    image = smooth_image(np.random.default_rng(3), 24, 32)

    abbreviated = insert_metadata(
        encode_shared(image, shared), None, b"Exif\0\0MM\0*\0\0\0\x08\0\0"
    )
    restored = restore(abbreviated, shared)
    assert [s.marker for s in segments(restored)][:4] == [0xD8, 0xE1, DQT, DHT]
    # an ordinary file (its own tables after the shared ones) decodes by its own
    own = encode_rd(image, QuantTables.from_quality(90))
    assert np.array_equal(decode(restore(own, shared)), decode(own))


def test_shared_tables_code_any_image_even_one_unlike_the_sample(shared):
    noise = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    restored = restore(encode_shared(noise, shared), shared)
    assert np.array_equal(decode(restored), decode(encode_shared(noise, shared, abbreviated=False)))


def test_bad_tables_files_are_one_line_errors(tmp_path, shared):
    data = shared.to_bytes()
    cases = {
        "missing.jpg": None,
        "text.jpg": b"not a jpeg",
        "truncated.jpg": data[:300],
        "no-dht.jpg": data[:136] + b"\xff\xd9",  # SOI and the DQT segment only
    }
    for name, content in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(InvalidInputError) as error:
            SharedTables.load(tmp_path / name)
        assert name in str(error.value) and "\n" not in str(error.value)
    incomplete = HuffmanSpec((0, 2) + (0,) * 14, bytes([0x00, 0x01]))
    with pytest.raises(InvalidInputError, match="no code for"):
        SharedTables(shared.tables, (*shared.huffman[:2], incomplete, *shared.huffman[3:]))
    with pytest.raises(InvalidInputError, match="more codes than"):
        HuffmanSpec((3,) + (0,) * 15, bytes([1, 2, 3])).checked()


def test_a_folder_through_encode_restore_and_the_dataset(tmp_path, photos, capsys):
    source = tmp_path / "in"
    for index, image in enumerate(photos):
        folder = source / ("birds" if index % 2 else "cars")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"p{index}.png")
    tables = tmp_path / "tables.json"
    QuantTables.from_quality(40).with_meta(encoder="rd", rd={"lambda": 1.0, "rule": "energy"}).save(
        tables
    )
    out = tmp_path / "out"
    assert (
        main(["encode", str(source), "--tables", str(tables), "--abbreviated", "-o", str(out)]) == 0
    )
    shared = SharedTables.load(out / TABLES_FILE)
    assert shared.tables.meta["rd"]["rule"] == "energy"
    files = sorted(out.rglob("p*.jpg"))
    assert len(files) == len(photos) and all(is_abbreviated(f.read_bytes()) for f in files)
    # a rerun reuses the folder's tables, and writes the same bytes
    first = [f.read_bytes() for f in files]
    assert (
        main(
            [
                "encode",
                str(source),
                "--abbreviated",
                "--shared-tables",
                str(out / TABLES_FILE),
                "-o",
                str(out),
            ]
        )
        == 0
    )
    assert [f.read_bytes() for f in files] == first
    # other tables into the same folder: refused
    capsys.readouterr()
    assert main(["encode", str(source), "--qf", "80", "--abbreviated", "-o", str(out)]) == 2
    assert "holds other quantization tables" in capsys.readouterr().err
    # restore: ordinary files with the same pixels
    restored = tmp_path / "restored"
    assert main(["restore", str(out), "-o", str(restored)]) == 0
    dataset = AbbreviatedFolder(out)
    assert dataset.classes == ["birds", "cars"]
    for index, path in enumerate(dataset.files):
        ordinary = restored / path.relative_to(out)
        assert not is_abbreviated(ordinary.read_bytes())
        image, target = dataset[index]
        assert np.array_equal(np.asarray(image), decode(ordinary))
        assert np.array_equal(np.asarray(image), libjpeg_decode(ordinary.read_bytes()))
        assert target == dataset.classes.index(path.parent.name)
    # and the pixels are those of rd's ordinary file with the shared tables
    original = load_image(source / "cars" / "p0.png")
    expected = decode(encode_shared(original, shared, abbreviated=False))
    assert np.array_equal(
        np.asarray(dataset[dataset.files.index(out / "cars" / "p0.jpg")][0]), expected
    )


def test_abbreviated_options_that_do_not_combine_are_errors(tmp_path, photos, capsys):
    source = tmp_path / "p.png"
    Image.fromarray(photos[0]).save(source)
    out = str(tmp_path / "out")
    for extra, message in [
        (["--qf", "50", "--abbreviated", "--encoder", "trellis"], "written by rd"),
        (["--tables", "zoo:mobilenet_v2@1bpp", "--abbreviated"], "shares one set of tables"),
        (["--qf", "50", "--learn-from", "3"], "applies with --abbreviated"),
        (["--abbreviated", "--shared-tables", str(tmp_path / "none.jpg")], "no such tables file"),
        (["--abbreviated"], "give --tables FILE or --qf N"),
    ]:
        capsys.readouterr()
        assert main(["encode", str(source), *extra, "-o", out]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1
    assert main(["restore", str(tmp_path), "-o", out]) == 2
    assert TABLES_FILE in capsys.readouterr().err
