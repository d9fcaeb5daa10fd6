"""What a newcomer trusts j4d with: it never writes over an input unless asked, keeps the
photo's colour profile and EXIF unless asked, refuses options that would do nothing, and its
summary's bpp counts all bits over all pixels."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageCms

from conftest import smooth_image
from test_cli import assert_one_line_error, run

ORIENTATION, MAKE = 0x0112, 0x010F


@pytest.fixture
def photo(tmp_path, rng):
    """A JPEG with an sRGB ICC profile, EXIF (camera make, rotated 90 degrees by orientation 6)."""
    folder = tmp_path / "photos"
    folder.mkdir()
    image = Image.fromarray(smooth_image(rng, 24, 40))
    exif = image.getexif()
    exif[ORIENTATION] = 6
    exif[MAKE] = "TestCam"
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    path = folder / "a.jpg"
    image.save(path, quality=95, exif=exif.tobytes(), icc_profile=icc)
    return path, icc


def test_an_output_that_is_its_input_is_refused_and_nothing_changes(tmp_path, capsys, photo):
    path, _ = photo
    before = path.read_bytes()
    status, _, err = run(capsys, "encode", "--qf", 20, path.parent, "-o", path.parent)
    assert_one_line_error(status, err, "would replace this input", "--replace")
    assert path.read_bytes() == before and sorted(path.parent.iterdir()) == [path]
    status, _, _ = run(capsys, "encode", "--qf", 20, path, "-o", path.parent, "--replace")
    assert status == 0 and len(path.read_bytes()) < len(before)


def test_an_output_folder_inside_the_input_folder_is_not_read_back(tmp_path, capsys, photo):
    path, _ = photo
    nested = path.parent / "small"
    for _ in range(2):  # the second run must not encode small/a.jpg into small/small/
        status, out, _ = run(capsys, "encode", "--qf", 20, path.parent, "-o", nested)
        assert status == 0 and "1 file," in out
    assert sorted(p.relative_to(path.parent) for p in path.parent.rglob("*.jpg")) == [
        Path("a.jpg"),
        Path("small/a.jpg"),
    ]


def test_two_folders_with_equal_file_names_go_to_their_own_subfolders(tmp_path, capsys, photo):
    path, _ = photo
    other = tmp_path / "more"
    other.mkdir()
    (other / "a.jpg").write_bytes(path.read_bytes())
    status, out, _ = run(capsys, "encode", "--qf", 30, path.parent, other, "-o", tmp_path / "o")
    assert status == 0 and "2 files," in out
    assert sorted(p.relative_to(tmp_path / "o") for p in (tmp_path / "o").rglob("*.jpg")) == [
        Path("more/a.jpg"),
        Path("photos/a.jpg"),
    ]
    status, _, err = run(capsys, "encode", "--qf", 30, path, other / "a.jpg", "-o", tmp_path / "x")
    assert_one_line_error(status, err, "would both be written as a.jpg")  # files: named as given


def test_an_output_never_grows_its_input_unless_asked(tmp_path, capsys, photo):
    path, _ = photo
    small = tmp_path / "small.jpg"
    assert run(capsys, "encode", "--qf", 10, path, "-o", tmp_path)[0] == 0
    (tmp_path / "a.jpg").rename(small)
    status, out, _ = run(capsys, "encode", "--qf", 95, small, "-o", tmp_path / "kept")
    assert status == 0 and (tmp_path / "kept" / "small.jpg").read_bytes() == small.read_bytes()
    assert "1 of 1 inputs kept as they were" in out and "+0.0 %" in out
    status, out, _ = run(
        capsys, "encode", "--qf", 95, small, "-o", tmp_path / "grown", "--allow-larger"
    )
    grown = (tmp_path / "grown" / "small.jpg").stat().st_size
    assert status == 0 and grown > small.stat().st_size and "kept as they were" not in out
    change = 100 * (grown / small.stat().st_size - 1)
    assert f"inputs: {small.stat().st_size} bytes; outputs {change:+.1f} %" in out
    status, _, _ = run(capsys, "encode", "--qf", 95, small, "-o", tmp_path / "bare", "--strip")
    assert status == 0 and (tmp_path / "bare" / "small.jpg").read_bytes() != small.read_bytes()


def test_tables_are_not_written_over_the_jpeg_they_come_from(capsys, photo):
    path, _ = photo
    before = path.read_bytes()
    status, _, err = run(capsys, "tables", "--from-jpeg", path, "-o", path)
    assert_one_line_error(status, err, "over this input")
    assert path.read_bytes() == before


def test_icc_profile_and_exif_survive_and_strip_drops_them(tmp_path, capsys, photo):
    path, icc = photo
    assert run(capsys, "encode", "--qf", 50, path, "-o", tmp_path / "kept")[0] == 0
    assert run(capsys, "encode", "--qf", 50, path, "-o", tmp_path / "bare", "--strip")[0] == 0
    with Image.open(tmp_path / "kept" / "a.jpg") as kept:
        exif = kept.getexif()
        assert kept.info["icc_profile"] == icc
        assert exif[MAKE] == "TestCam" and exif[ORIENTATION] == 1
        assert kept.size == (24, 40)  # the pixels were turned upright: orientation 1 is right
        kept_pixels = np.asarray(kept.convert("RGB"))
    with Image.open(tmp_path / "bare" / "a.jpg") as bare:
        assert "icc_profile" not in bare.info and len(bare.getexif()) == 0
        assert np.array_equal(np.asarray(bare.convert("RGB")), kept_pixels)


def test_a_large_icc_profile_is_split_into_chunks_any_reader_joins(tmp_path, capsys, rng):
    from j4d.jpegio import insert_metadata

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    large = profile[:16] + b"RGB " + bytes(rng.integers(0, 256, 150_000, dtype=np.uint8))
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(rng, 16, 16)).save(buffer, format="JPEG")
    data = insert_metadata(buffer.getvalue(), large, None)
    with Image.open(io.BytesIO(data)) as image:
        assert image.info["icc_profile"] == large
        image.load()


def test_xmp_iptc_and_jfif_density_survive_and_strip_drops_them(tmp_path, capsys, rng):
    from j4d.jpegio.markers import insert_metadata

    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    iptc = b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x07\x1c\x02\x05\x00\x02Hi\x00"
    buffer = io.BytesIO()
    Image.fromarray(smooth_image(rng, 16, 24)).save(buffer, format="JPEG", dpi=(300, 300), xmp=xmp)
    source = tmp_path / "in" / "p.jpg"
    source.parent.mkdir()
    source.write_bytes(insert_metadata(buffer.getvalue(), None, None, [(0xED, iptc)]))
    assert run(capsys, "encode", "--qf", 50, source, "-o", tmp_path / "kept")[0] == 0
    assert run(capsys, "encode", "--qf", 50, source, "-o", tmp_path / "bare", "--strip")[0] == 0
    with Image.open(tmp_path / "kept" / "p.jpg") as kept:
        assert kept.info["dpi"] == (300, 300) and kept.info["xmp"] == xmp
        assert ("APP13", iptc) in kept.applist
        assert [name for name, _ in kept.applist].count("APP0") == 1  # the input's, not two
    with Image.open(tmp_path / "bare" / "p.jpg") as bare:
        assert "xmp" not in bare.info and "APP13" not in [name for name, _ in bare.applist]
        assert bare.info.get("dpi", (1, 1)) != (300, 300)


def test_a_jpeg_with_a_comment_is_read_with_its_metadata(tmp_path, capsys, rng):
    """Pillow lists COM segments among the APPn ones; the comment is not carried."""
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    source = tmp_path / "c.jpg"
    Image.fromarray(smooth_image(rng, 16, 24)).save(source, comment=b"made here", xmp=xmp)
    assert run(capsys, "encode", "--qf", 50, source, "-o", tmp_path / "o")[0] == 0
    with Image.open(tmp_path / "o" / "c.jpg") as kept:
        assert kept.info["xmp"] == xmp and "comment" not in kept.info


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--strength", "5"], "--strength applies"),
        (["--tolerance", "0.01"], "--tolerance applies with --ladder"),
    ],
)
def test_options_that_would_do_nothing_are_errors(tmp_path, capsys, photo, options, message):
    path, _ = photo
    status, _, err = run(capsys, "encode", "--qf", 50, path, "-o", tmp_path / "o", *options)
    assert_one_line_error(status, err, message)
    assert not (tmp_path / "o").exists()


def test_the_summary_counts_all_bits_over_all_pixels(tmp_path, capsys, rng):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(smooth_image(rng, 64, 64)).save(folder / "big.png")
    Image.fromarray(smooth_image(rng, 1, 1)).save(folder / "dot.png")
    status, out, _ = run(capsys, "encode", "--qf", 50, folder, "-o", tmp_path / "o")
    sizes = sum(p.stat().st_size for p in (tmp_path / "o").iterdir())
    assert status == 0 and f"{8 * sizes / (64 * 64 + 1):.3f} file bpp" in out


@pytest.mark.parametrize("damage", ["truncated", "text"])
@pytest.mark.parametrize("command", ["inspect", "tables", "encode"])
def test_damaged_jpegs_are_one_line_and_non_zero_with_no_library_chatter(
    tmp_path, capfd, photo, damage, command
):
    path, _ = photo
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(path.read_bytes()[:600] if damage == "truncated" else b"hello, not a JPEG\n")
    argv = {
        "inspect": ["inspect", bad],
        "tables": ["tables", "--from-jpeg", bad, "-o", tmp_path / "t.json"],
        "encode": ["encode", "--qf", 50, bad, "-o", tmp_path / "out"],
    }[command]
    from j4d.cli import main

    status = main([str(a) for a in argv])
    err = capfd.readouterr().err
    assert status == 2
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith("j4d: ") for line in lines), err
    assert str(bad) in lines[0]


def test_inspect_reads_a_folder_as_encode_writes_it(tmp_path, capsys, photo):
    path, _ = photo
    assert run(capsys, "encode", "--qf", 50, path.parent, "-o", tmp_path / "out")[0] == 0
    status, out, _ = run(capsys, "inspect", "--json", tmp_path / "out")
    assert status == 0 and json.loads(out)["files"][0]["file"].endswith("a.jpg")
    (tmp_path / "empty").mkdir()
    status, _, err = run(capsys, "inspect", tmp_path / "empty")
    assert_one_line_error(status, err, "holds no .jpg")


def test_inspect_reports_each_bad_file_and_goes_on_with_totals(tmp_path, capsys, photo):
    path, _ = photo
    out = tmp_path / "out"
    assert run(capsys, "encode", "--qf", 50, path, "-o", out)[0] == 0
    (out / "copy.jpg").write_bytes((out / "a.jpg").read_bytes())
    (out / "bad.jpg").write_bytes(b"not a JPEG")
    status, text, err = run(capsys, "inspect", out)
    assert status == 2 and text.count("natural order") == 4  # two files, two tables each
    size = (out / "a.jpg").stat().st_size
    assert f"2 files, {2 * size} bytes" in text
    assert_one_line_error(status, err, "bad.jpg", "not a JPEG")
    assert "1 of 3 files could not be read" in err
    status, text, _ = run(capsys, "inspect", "--json", out)
    report = json.loads(text)
    assert status == 2 and [e["file"] for e in report["errors"]] == [str(out / "bad.jpg")]
    assert report["total"]["files"] == 2 and report["total"]["file_bytes"] == 2 * size
    status, text, _ = run(capsys, "inspect", "--json", out / "a.jpg")
    assert status == 0 and len(json.loads(text)["files"]) == 1  # one shape for one file
