"""Encoders: each writes files any decoder reads with exactly the tables asked for; the dead
zone at theta = 0 is plain rounding; the encoder is recorded in and read from a tables file;
bad names and dead zones are one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import libjpeg_decode, smooth_image
from j4d.cli import main
from j4d.codec import JPEGCodec
from j4d.codec.quantize import uniform_indices
from j4d.encoders.registry import (
    ENCODERS,
    encode_with,
    encoder_of,
    get_encoder,
)
from j4d.errors import InvalidInputError
from j4d.jpegio import (
    decode,
    file_rate,
    load_image,
    parse_layout,
    read_coefficients,
    read_tables,
    to_batch,
)
from j4d.tables import QuantTables

FRAMES = {
    "pillow": ("baseline",),
    "progressive": ("progressive",),
    "trellis": ("progressive",),
    "rd": ("baseline", "progressive"),  # whichever file is smaller
    "rd-view": ("baseline", "progressive"),
}


@pytest.fixture(scope="module")
def photo(kodak_files) -> np.ndarray:
    return load_image(kodak_files[0])[:120, :152]  # not a multiple of 16 wide or high


@pytest.mark.parametrize("name", list(ENCODERS))
def test_each_encoder_writes_a_file_any_decoder_reads_with_the_tables_asked_for(photo, name):
    tables = QuantTables.from_quality(40)
    data = encode_with(photo, tables, name)
    assert read_tables(data) == tables
    pillow = decode(data)
    assert pillow.shape == photo.shape
    assert np.array_equal(libjpeg_decode(data), pillow)
    assert 20 * np.log10(255 / np.sqrt(np.mean((pillow - photo.astype(float)) ** 2))) > 25
    assert parse_layout(data).frame in FRAMES.get(name, ("baseline",))


def test_the_dead_zone_at_zero_is_plain_rounding(photo, rng):
    coefficients = torch.as_tensor(rng.normal(0, 40, (3, 50, 64)), dtype=torch.float32)
    coefficients[0, 0, :4] = torch.tensor([7.5, -7.5, 2.5, -22.5])  # ties at step 5
    steps = torch.full((3, 1, 64), 5.0)
    rounded = uniform_indices(coefficients, steps, torch.zeros(64))
    assert torch.equal(rounded, uniform_indices(coefficients, steps))
    assert rounded[0, 0, :4].tolist() == [2, -2, 1, -5]  # half away from zero, as libjpeg
    # on libjpeg's grid of 1/8 (where the DCT output lies) the rule is exactly the formula
    on_grid = torch.round(coefficients * 8) / 8
    ratio = on_grid / steps
    wide = uniform_indices(on_grid, steps, 0.25)
    assert torch.equal(wide, (torch.sign(ratio) * (ratio.abs() + 0.25).floor()).long())
    assert (wide.abs() <= rounded.abs()).all() and (wide.abs() < rounded.abs()).any()
    # and the files: dead zone 0 writes the indices of the codec's plain rounding
    tables = QuantTables.from_quality(60)
    data = encode_with(photo, tables.with_deadzone(torch.zeros(2, 64)))
    with torch.no_grad():
        plain = JPEGCodec(tables, mode="uniform")(to_batch(photo)).indices[0].numpy()
    assert np.array_equal(read_coefficients(data).stacked(), plain)


def test_a_wider_dead_zone_writes_fewer_bits_and_never_larger_indices(photo):
    tables = QuantTables.from_quality(60)
    rates, errors = [], []
    for theta in (0.0, 0.2, 0.4):
        data = encode_with(photo, tables.with_deadzone(torch.full((2, 64), theta)))
        rates.append(file_rate(data, *photo.shape[:2]).scan_bpp)
        errors.append(np.mean((decode(data) - photo.astype(float)) ** 2))
    assert rates[0] > rates[1] > rates[2]
    assert errors[0] < errors[1] < errors[2]


def test_trellis_with_tables_keeps_them_and_spends_fewer_bits(photo):
    tables = QuantTables.from_quality(50)
    plain = file_rate(encode_with(photo, tables, "pillow"), *photo.shape[:2]).scan_bpp
    trellis = file_rate(encode_with(photo, tables, "trellis"), *photo.shape[:2]).scan_bpp
    assert trellis < 0.97 * plain


def test_the_encoder_is_recorded_in_and_read_from_the_tables_file(tmp_path, photo):
    thetas = torch.linspace(0, 0.5, 128).reshape(2, 64)
    path = QuantTables.from_quality(30).with_deadzone(thetas).save(tmp_path / "t.json")
    loaded = QuantTables.load(path)
    assert loaded.meta["encoder"] == "deadzone"
    assert encoder_of(loaded).name == "deadzone"
    assert encoder_of(loaded, "trellis").name == "trellis"  # an override wins
    assert encoder_of(QuantTables.from_quality(30)).name == "pillow"  # none recorded
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(photo).save(folder / "a.png")
    assert main(["encode", "--tables", str(path), str(folder), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "a.jpg").read_bytes() == encode_with(photo, loaded)
    args = ["encode", "--tables", str(path), str(folder), "-o", str(tmp_path / "o2")]
    assert main([*args, "--encoder", "progressive"]) == 0
    assert (tmp_path / "o2" / "a.jpg").read_bytes() == encode_with(photo, loaded, "progressive")


def test_bad_encoder_names_and_dead_zones_are_one_line_errors(tmp_path, capsys, rng):
    with pytest.raises(InvalidInputError, match=r"unknown encoder 'fast'.*known: pillow"):
        get_encoder("fast")
    image = tmp_path / "a.png"
    Image.fromarray(smooth_image(rng, 16, 16)).save(image)
    bad = [
        ({"encoder": "fast"}, "unknown encoder 'fast'"),
        ({"encoder": "deadzone", "deadzone": {"luma": [0.7] * 64, "chroma": [0] * 64}}, "[0, 0.5]"),
        ({"encoder": "deadzone", "deadzone": [1, 2]}, "meta 'deadzone' must be"),
    ]
    for meta, message in bad:
        path = tmp_path / "t.json"
        document = json.loads(QuantTables.from_quality(50).to_json())
        path.write_text(json.dumps({**document, "meta": meta}))
        assert main(["encode", "--tables", str(path), str(image), "-o", str(tmp_path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], err
    args = ["encode", "--qf", "50", str(image), "-o", str(tmp_path), "--encoder", "fast"]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown encoder 'fast' (known: pillow," in err[0], err


def test_eval_measures_each_encoder_as_a_curve_and_its_frontier_files_record_it(
    data_root, tmp_path
):
    path = QuantTables.from_quality(50).save(tmp_path / "t50.json")
    out = tmp_path / "eval"
    args = ["eval", str(path), "--data", str(data_root), "--test-size", "20", "-q", "-o", str(out)]
    assert main([*args, "--qualities", "30,70", "--encoder", "pillow", "--encoder", "trellis"]) == 0
    rows = json.loads((out / "points.json").read_text())["points"]
    by_name = {row["name"]: row for row in rows}
    assert by_name["t50"]["method"] == "j4d" and by_name["t50_trellis"]["method"] == "j4d-trellis"
    assert by_name["t50_trellis"]["scan_bpp"] < by_name["t50"]["scan_bpp"]
    assert by_name["t50_trellis"]["frame"].startswith("progressive")
    for method, encoder in (("j4d", "pillow"), ("j4d-trellis", "trellis")):
        (saved,) = (out / "frontier" / method).glob("*.json")
        tables = QuantTables.load(saved)
        assert tables.meta["encoder"] == encoder
        assert tables.meta["test"]["frame"] == by_name[saved.stem]["frame"]
