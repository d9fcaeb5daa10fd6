import json

import numpy as np
import pytest
from PIL import Image

from conftest import smooth_image
from j4d.cli import main
from j4d.jpegio import read_coefficients
from j4d.tables import QuantTables


@pytest.fixture
def images(tmp_path, rng):
    folder = tmp_path / "in"
    folder.mkdir()
    paths = []
    for name, size in (("a.png", (32, 32)), ("b.png", (13, 21))):
        Image.fromarray(smooth_image(rng, *size)).save(folder / name)
        paths.append(folder / name)
    return paths


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def assert_one_line_error(status, err, *fragments):
    assert status == 2
    lines = [line for line in err.splitlines() if line.startswith("j4d: error:")]
    assert lines, err
    assert "Traceback" not in err
    for fragment in fragments:
        assert any(fragment in line for line in lines), (fragment, err)


def test_tables_export_json_and_cjpeg(tmp_path, capsys):
    status, _, _ = run(capsys, "tables", "--qf", 50, "-o", tmp_path / "t.json")
    assert status == 0 and QuantTables.load(tmp_path / "t.json") == QuantTables.from_quality(50)
    status, _, _ = run(capsys, "tables", "--qf", 80, "-o", tmp_path / "t.txt")
    assert status == 0 and QuantTables.load(tmp_path / "t.txt") == QuantTables.from_quality(80)
    status, out, _ = run(capsys, "tables", "--qf", 10)
    assert status == 0 and json.loads(out)["luma"] == list(QuantTables.from_quality(10).luma)


def test_encode_then_inspect(tmp_path, capsys, images):
    run(capsys, "tables", "--qf", 60, "-o", tmp_path / "t.json")
    status, out, _ = run(
        capsys, "encode", "--tables", tmp_path / "t.json", *images, "-o", tmp_path / "out"
    )
    assert status == 0 and "scan bpp" in out
    written = tmp_path / "out" / "b.jpg"
    coefficients = read_coefficients(written)
    assert coefficients.tables == QuantTables.from_quality(60)
    assert (coefficients.height, coefficients.width) == (13, 21)
    status, out, _ = run(capsys, "inspect", written)
    assert status == 0 and "21x13" in out and "4:4:4" in out and "baseline" in out
    status, out, _ = run(capsys, "inspect", "--json", written)
    info = json.loads(out)["files"][0]
    assert info["subsampling"] == "4:4:4" and info["tables"]["slot0"] == list(
        QuantTables.from_quality(60).luma
    )
    assert info["scan_bpp"] < info["file_bpp"]


def test_encode_folder_probabilistic_is_deterministic(tmp_path, capsys, images):
    folder = images[0].parent
    outputs = []
    for name, seed in (("p1", 3), ("p2", 3), ("p3", 4)):
        argv = ["encode", "--qf", 50, folder, "-o", tmp_path / name, "--probabilistic"]
        status, _, _ = run(capsys, *argv, "--seed", seed, "--alpha", 0.05)
        assert status == 0
        outputs.append((tmp_path / name / "a.jpg").read_bytes())
    assert outputs[0] == outputs[1] != outputs[2]


def test_inspect_reports_chroma_subsampling(tmp_path, capsys, rng):
    path = tmp_path / "s.jpg"
    Image.fromarray(smooth_image(rng, 32, 32)).save(path, quality=75)  # Pillow default 4:2:0
    status, out, _ = run(capsys, "inspect", path)
    assert status == 0 and "4:2:0" in out


def test_grayscale_rgba_palette_cmyk_inputs_encode(tmp_path, capsys, rng):
    base = Image.fromarray(smooth_image(rng, 20, 28))
    paths = []
    for mode in ("L", "RGBA", "P", "CMYK"):
        path = tmp_path / f"{mode}.{'jpg' if mode == 'CMYK' else 'png'}"
        base.convert(mode).save(path)
        paths.append(path)
    status, _, err = run(capsys, "encode", "--qf", 75, *paths, "-o", tmp_path / "out")
    assert status == 0, err
    for path in paths:
        decoded = Image.open(tmp_path / "out" / f"{path.stem}.jpg")
        assert decoded.mode == "RGB" and decoded.size == (28, 20)


def write_tables(path, luma, chroma):
    path.write_text(json.dumps({"luma": luma, "chroma": chroma}))
    return path


def test_bad_inputs_give_one_line_errors(tmp_path, capsys, images):
    not_image = tmp_path / "notes.png"
    not_image.write_text("hello")
    short = write_tables(tmp_path / "short.json", [1] * 63, [1] * 64)
    zero = write_tables(tmp_path / "zero.json", [0] + [1] * 63, [1] * 64)
    big = write_tables(tmp_path / "big.json", [1] * 64, [256] * 64)
    good = write_tables(tmp_path / "good.json", [2] * 64, [3] * 64)
    out = tmp_path / "out"
    cases = [
        (("encode", "--tables", short, images[0], "-o", out), (str(short), "64 entries")),
        (("encode", "--tables", zero, images[0], "-o", out), (str(zero), "outside [1, 255]")),
        (("encode", "--tables", big, images[0], "-o", out), (str(big), "outside [1, 255]")),
        (
            ("encode", "--tables", tmp_path / "none.json", images[0], "-o", out),
            ("none.json", "not found"),
        ),
        (("encode", "--tables", good, not_image, "-o", out), (str(not_image), "not an image")),
        (
            ("encode", "--tables", good, tmp_path / "gone.png", "-o", out),
            ("gone.png", "no such file"),
        ),
        (
            ("encode", "--tables", good, images[0], "-o", out, "--probabilistic", "--alpha", 0),
            ("alpha must be > 0",),
        ),
        (
            ("encode", "--tables", good, images[0], "-o", out, "--probabilistic", "--alpha", -3),
            ("alpha must be > 0",),
        ),
        (
            ("encode", "--tables", good, images[0], "-o", out, "--probabilistic", "--hardness", 0),
            ("hardness must be > 0",),
        ),
        (("inspect", not_image), (str(not_image), "not a JPEG")),
        (("inspect", images[0]), (str(images[0]), "not a JPEG")),
        (("tables", "--qf", 0), ("1..100",)),
        (("encode", "--bogus"), ("No such option",)),
    ]
    for argv, fragments in cases:
        status, _, err = run(capsys, *argv)
        assert_one_line_error(status, err, *fragments)


def test_one_bad_image_among_good_ones_is_skipped_and_reported(tmp_path, capsys, images):
    bad = images[0].parent / "broken.png"
    bad.write_bytes(b"\x89PNG garbage")
    status, _out, err = run(capsys, "encode", "--qf", 50, images[0].parent, "-o", tmp_path / "out")
    assert_one_line_error(status, err, "broken.png")
    assert (tmp_path / "out" / "a.jpg").exists() and (tmp_path / "out" / "b.jpg").exists()
    assert "1 of 3 inputs" in err


def test_demo_requires_data(tmp_path, capsys):
    status, _, err = run(capsys, "demo", "--data", tmp_path / "nowhere", "-o", tmp_path / "d")
    assert_one_line_error(status, err, "data folder not found")


def test_demo_runs_on_small_data(data_root, tmp_path, capsys):
    small = ["--train-images", 40, "--test-images", 20, "--epochs", 1, "--lams", "1,10", "-q"]
    status, out, _ = run(capsys, "demo", "--data", data_root, "-o", tmp_path / "d", *small)
    assert status == 0
    report = (tmp_path / "d" / "report.md").read_text()
    assert "j4d sweep --lams 1,10" in report and "BD-rate vs jpeg" in report
    for method in ("mozjpeg", "jpegli", "j4d"):
        assert f"| {method} |" in report
    assert (tmp_path / "d" / "eval" / "rate_accuracy.png").stat().st_size > 0
    report = (tmp_path / "d" / "report.md").read_text()
    for image in ("eval/gain_accuracy.png", "eval/rate_accuracy.png"):  # the report's plots exist
        assert image in report and (tmp_path / "d" / image).stat().st_size > 0
    assert "report:" in out and str(tmp_path / "d" / "report.md") in out


def test_zoo_picks_the_tables_nearest_in_rate(tmp_path, capsys):
    from j4d.zoo import far_below_uncompressed, nearest, zoo_entries

    entries = zoo_entries("resnet20")
    rates = [e.scan_bpp for e in entries]
    assert rates == sorted(rates) and len(entries) >= 2
    for target in (0.1, 1.2, 2.0, 3.3, 50.0):
        picked = nearest("resnet20", target)
        assert all(
            abs(np.log(picked.scan_bpp / target)) <= abs(np.log(e.scan_bpp / target))
            for e in entries
        )
    low, high = entries[0], entries[-1]
    assert nearest("resnet20", low.scan_bpp * 0.5) == low
    assert nearest("resnet20", high.scan_bpp * 2) == high
    status, _, err = run(
        capsys, "tables", "--zoo", "resnet20", "--bpp", 2, "-o", tmp_path / "z.json"
    )
    assert status == 0 and "measured" in err and "bpp whole file" in err
    # --bpp reads the whole-file rate, the figure `j4d encode` reports
    assert QuantTables.load(tmp_path / "z.json") == nearest("resnet20", 2.0, "file_bpp").load()
    lowest = min(entries, key=lambda e: e.file_bpp)
    status, _, err = run(capsys, "tables", "--zoo", "resnet20", "--bpp", 0.01)
    assert status == 0 and ("warning" in err) == (far_below_uncompressed(lowest) is not None)
    status, out, _ = run(capsys, "tables", "--zoo", "list")
    assert status == 0 and all(e.name in out for e in entries)
    universal = [line for line in out.splitlines() if line.startswith("imagenet-universal ")]
    models = ("mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
    assert len(universal) >= 8 and all(
        "(means of 4 models; top1: " in line and all(m in line for m in models)
        for line in universal
    )  # and the listing says whom the universal tables are for
    assert "imagenet-universal: for ImageNet classifiers not in the zoo" in out
    status, _, err = run(capsys, "tables", "--zoo", "alexnet", "--bpp", 1)
    assert_one_line_error(status, err, "no zoo tables for model 'alexnet'")
    status, out, _ = run(capsys, "tables", "--zoo", "resnet20")  # no --bpp: the model's list
    listed = out.splitlines()[1:-1]  # between the header and the legend
    assert status == 0 and len(listed) == len(entries)
    assert all(line.startswith("resnet20 ") for line in listed)
    status, _, err = run(capsys, "tables", "--bpp", 1)
    assert_one_line_error(status, err, "--zoo MODEL")


def test_zoo_tables_are_the_committed_frontiers():
    """The zoo ships copies of committed frontiers (run_all.sh copies them)."""
    from pathlib import Path

    from j4d.zoo import ZOO_DIR, zoo_models

    results = Path(__file__).resolve().parents[1] / "results"
    sources = {
        "resnet20": "cifar10-resnet20-rd-energy/frontier",
        "mobilenet_v2": "imagenet-mobilenetv2-rd-energy/frontier",  # rd, energy rule
        "camvid_deeplabv3_mobilenet_v2": "camvid-deeplabv3-rd-energy/frontier",
        "cub50_mobilenet_v2": "cub50-mobilenetv2-rd-energy/frontier",
        "imagenet-universal": "imagenet-universal-rd-energy/frontier",  # rd, energy rule
        "efficientnet_lite0": "imagenet-efficientnetlite0-rd-energy/frontier",
        "mobilenet_v2@1.5": "imagenet-mobilenetv2-scale1.5-zoo/frontier",
    }
    for model in zoo_models():
        frontier = results / sources[model]
        shipped = sorted(p.name for p in (ZOO_DIR / model).glob("*.json"))
        assert shipped == sorted(p.name for p in frontier.glob("*.json"))
        for name in shipped:
            assert (ZOO_DIR / model / name).read_bytes() == (frontier / name).read_bytes()


def test_zoo_tables_reproduce_the_files_they_measured(tmp_path, capsys, data_root):
    """Each zoo entry records the encoder of its measured files; `j4d tables --zoo` then
    `j4d encode --tables` writes the files of that encoder."""
    from j4d.encoders.registry import ENCODERS, encode_with, encoder_of
    from j4d.jpegio import load_image, parse_layout
    from j4d.zoo import nearest, zoo_entries

    for entry in zoo_entries():
        tables = entry.load()
        assert encoder_of(tables).name == entry.encoder
        assert tables.meta["test"]["frame"] == ENCODERS[entry.encoder].settings["frame"]
    image_file = sorted((data_root / "imagenet-val").glob("*/*"))[0]
    status, _, _ = run(
        capsys, "tables", "--zoo", "mobilenet_v2", "--bpp", 1, "-o", tmp_path / "t.json"
    )
    assert status == 0
    status, _, _ = run(
        capsys, "encode", image_file, "--tables", tmp_path / "t.json", "-o", tmp_path / "out"
    )
    assert status == 0
    written = (tmp_path / "out" / f"{image_file.stem}.jpg").read_bytes()
    expected = nearest("mobilenet_v2", 1.0, "file_bpp")
    assert written == encode_with(load_image(image_file), expected.load(), expected.encoder)
    assert (parse_layout(written).frame == "progressive") == (expected.encoder == "trellis")


def test_compare_puts_default_jpeg_at_the_tables_rate(tmp_path, capsys, cifar_test_files):
    from j4d.encoders import encode_quality, encode_uniform
    from j4d.evaluation.compare import same_rate_jpeg
    from j4d.jpegio import file_rate, load_image
    from j4d.models.registry import CIFAR10_CLASS_NAMES

    image = load_image(cifar_test_files[0])
    tables = QuantTables.from_quality(37)
    target = file_rate(encode_uniform(image, tables), 32, 32).scan_bpp
    quality, decoded, rate = same_rate_jpeg(image, target)
    assert rate == target and decoded.shape == image.shape  # QF 37's own tables: the same file
    assert QuantTables.from_quality(quality) == tables
    # the bisection finds what trying every quality finds
    rates = {q: file_rate(encode_quality(image, q), 32, 32).scan_bpp for q in range(1, 101)}
    for wanted in (0.3, 1.7, target, 6.0, 100.0):
        best = min(rates, key=lambda q: (abs(np.log(rates[q] / wanted)), q))
        assert same_rate_jpeg(image, wanted)[0] == best
    tables.save(tmp_path / "t.json")
    files = [cifar_test_files[0], cifar_test_files[1]]
    status, _, err = run(
        capsys, "compare", *files, "--tables", tmp_path / "t.json", "-o", tmp_path / "f.png"
    )
    assert_one_line_error(status, err, "t.json", "give -m MODEL")
    tables.with_meta(models=["resnet20"]).save(tmp_path / "t.json")  # the model it was learned for
    status, out, _ = run(
        capsys, "compare", *files, "--tables", tmp_path / "t.json", "-o", tmp_path / "f.png"
    )
    assert status == 0 and (tmp_path / "f.png").stat().st_size > 0
    assert f"{files[0].name}: JPEG QF" in out
    assert any(name in out for name in CIFAR10_CLASS_NAMES) and "class " not in out
    status, _, err = run(
        capsys,
        "compare",
        tmp_path / "none.png",
        "--tables",
        tmp_path / "t.json",
        "-o",
        tmp_path / "g.png",
    )
    assert_one_line_error(status, err, "none.png", "no such file")


def test_encode_in_worker_processes_writes_the_same_files(tmp_path, capsys, images):
    folder = images[0].parent
    (folder / "broken.png").write_bytes(b"not an image")
    outputs = {}
    for jobs in (1, 2):
        argv = ["encode", "--qf", 50, folder, "-o", tmp_path / f"j{jobs}", "--probabilistic"]
        status, out, err = run(capsys, *argv, "-j", jobs)
        assert status == 2 and "1 of 3 inputs could not be read" in err
        assert "broken.png" in err and "2 files" in out
        outputs[jobs] = {p.name: p.read_bytes() for p in (tmp_path / f"j{jobs}").glob("*.jpg")}
    assert sorted(outputs[1]) == ["a.jpg", "b.jpg"] and outputs[1] == outputs[2]


def test_zoo_lists_default_jpeg_and_uncompressed_beside_each_entry_and_picks_within(
    tmp_path, capsys
):
    from j4d.zoo import jpeg_at, references, smallest_within, zoo_entries

    known = references()
    entries = zoo_entries("mobilenet_v2")
    uncompressed = known["mobilenet_v2"]["uncompressed"]
    status, out, _ = run(capsys, "tables", "--zoo", "mobilenet_v2")
    assert status == 0 and "JPEG %" in out.splitlines()[0]
    listed = zoo_entries("mobilenet_v2", scales=True)  # its tables for photos at a scale too
    assert listed[: len(entries)] == entries
    for entry, line in zip(listed, out.splitlines()[1 : 1 + len(listed)], strict=True):
        jpeg = jpeg_at(entry.model, entry.scan_bpp)
        assert line.startswith(entry.model + " ")
        assert (f"{100 * jpeg:.2f}" if jpeg is not None else "n/a") in line
        assert f"{100 * known[entry.model]['uncompressed']:.2f}" in line
    # the smallest rate within 2 points of uncompressed: every cheaper entry is further off
    chosen = smallest_within("mobilenet_v2", 2.0)
    assert 100 * (uncompressed - chosen.value) <= 2.0
    assert all(
        100 * (uncompressed - e.value) > 2.0 for e in entries if e.file_bpp < chosen.file_bpp
    )
    status, _, err = run(
        capsys, "tables", "--zoo", "mobilenet_v2", "--within", 2, "-o", tmp_path / "w.json"
    )
    assert status == 0 and chosen.name in err
    status, _, err = run(capsys, "tables", "--zoo", "camvid_deeplabv3_mobilenet_v2", "--within", 0)
    assert_one_line_error(status, err, "no camvid_deeplabv3_mobilenet_v2 zoo tables come within")


def test_zoo_references_hold_the_measured_default_jpeg_points():
    """references.json (scripts/zoo_references.py) copies default JPEG's points of the
    evaluation each zoo model's tables come from."""
    from pathlib import Path

    from j4d.zoo import references

    root = Path(__file__).resolve().parents[1]
    for model, reference in references().items():
        metric = reference["metric"]
        points = json.loads((root / reference["source"] / "points.json").read_text())["points"]
        measured = sorted((r["scan_bpp"], r[metric]) for r in points if r["method"] == "jpeg")
        assert [(p["scan_bpp"], p[metric]) for p in reference["jpeg"]] == measured, model
        assert 0 < reference["uncompressed"] <= 1
