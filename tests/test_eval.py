"""``j4d eval``: reference codecs, the point cache, worker processes, summaries, bad input and
a golden file of the whole output on a handful of images."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import jpeglib
import numpy as np
import pytest
import torch

from conftest import smooth_image
from j4d.cli import main
from j4d.data.testset import load_test_images
from j4d.encoders.reference import encode_jpegli, encode_mozjpeg
from j4d.errors import InvalidInputError
from j4d.evaluation import measure_points, quality_points, summarize, summary_markdown, tables_point
from j4d.evaluation.summary import parse_target
from j4d.jpegio import decode, file_rate, parse_layout
from j4d.models import create_model
from j4d.tables import QuantTables
from j4d.utils.files import read_csv

GOLDEN = Path(__file__).parent / "golden"
REGENERATE = os.environ.get("J4D_REGENERATE_GOLDEN") == "1"


def _sampling(data: bytes, tmp_path: Path) -> list[list[int]]:
    path = tmp_path / "probe.jpg"
    path.write_bytes(data)
    return jpeglib.read_dct(str(path)).samp_factor.tolist()


def test_mozjpeg_is_444_progressive_and_shrinks_with_quality(cifar_images, tmp_path):
    image = cifar_images[0]
    data = encode_mozjpeg(image, 50)
    assert _sampling(data, tmp_path) == [[1, 1], [1, 1], [1, 1]]
    assert parse_layout(data).frame == "progressive"
    assert np.abs(decode(data).astype(int) - image).mean() < 12
    sizes = [
        sum(file_rate(encode_mozjpeg(a, q), 32, 32).scan_bytes for a in cifar_images[:20])
        for q in (10, 50, 90)
    ]
    assert sizes == sorted(sizes)


def test_jpegli_files_are_420_baseline_and_shrink_with_quality(cifar_images, tmp_path):
    image = cifar_images[1]
    data = encode_jpegli(image, 75)
    assert _sampling(data, tmp_path) == [[2, 2], [1, 1], [1, 1]]
    assert parse_layout(data).frame == "baseline"
    assert np.abs(decode(data).astype(int) - image).mean() < 12
    sizes = [len(encode_jpegli(image, q)) for q in (10, 50, 90)]
    assert sizes == sorted(sizes)


def _test_images(data_root, count=20):
    return load_test_images(data_root / "cifar10" / "test", 32, count)


def test_points_are_cached_and_remeasured_when_tables_change(data_root, tmp_path, monkeypatch):
    test = _test_images(data_root)
    model = create_model("resnet20", data_root=data_root)
    path = QuantTables.from_quality(40).save(tmp_path / "t.json")
    points = [tables_point(path), *quality_points("jpeg", [40])]
    rows = measure_points(points, [model], test, tmp_path / "cache")
    # the same tables through both paths give the same file sizes and accuracy
    assert rows[0]["scan_bpp"] == rows[1]["scan_bpp"] and rows[0]["top1"] == rows[1]["top1"]
    assert rows[0]["psnr"] > 25 and 0.8 < rows[0]["ssim"] < 1

    def no_coding(*args, **kwargs):
        raise AssertionError("cached points must not be coded again")

    monkeypatch.setattr("j4d.evaluation.points.code_images", no_coding)
    assert measure_points(points, [model], test, tmp_path / "cache") == rows
    # the same point named otherwise (names depend on a run's other points) is not coded again
    renamed = measure_points(
        [tables_point(path, name="t.frontier_2")], [model], test, tmp_path / "cache"
    )
    assert renamed == [{**rows[0], "name": "t.frontier_2"}]
    # a sweep's run measured again from a copy (an evaluation of its frontier) is one measurement:
    # the row keeps what was measured and takes the copy's provenance
    swept = tables_point(path, name="run", init="qf:40", lam=1.0, tables="runs/run/tables.json")
    swept_row = measure_points([swept], [model], test, tmp_path / "cache")[0]
    assert swept_row["lam"] == 1.0 and swept_row["tables"] == "runs/run/tables.json"
    copy = path.with_name("frontier_copy.json")
    copy.write_bytes(path.read_bytes())
    [reused] = measure_points([tables_point(copy)], [model], test, tmp_path / "cache")
    assert reused == {**rows[0], "name": "frontier_copy", "tables": str(copy)}
    assert list(reused) == list(rows[0])  # no sweep columns (lam, init) carried over
    QuantTables.from_quality(80).save(path)  # same file name, new tables
    with pytest.raises(AssertionError, match="coded again"):
        measure_points([tables_point(path)], [model], test, tmp_path / "cache")


def test_caches_of_two_folders_merge_by_copying(data_root, tmp_path, monkeypatch):
    test = _test_images(data_root, count=8)
    model = create_model("resnet20", data_root=data_root)
    points = []
    for folder, quality in (("a", 30), ("b", 70)):  # one point name, other tables
        path = QuantTables.from_quality(quality).save(tmp_path / folder / "t.json")
        points.append(tables_point(path, name=f"{folder}.t"))
        measure_points([tables_point(path)], [model], test, tmp_path / folder / "cache")
    merged = tmp_path / "merged"
    merged.mkdir()
    for folder in ("a", "b"):
        for cached in (tmp_path / folder / "cache").glob("*.json"):
            assert not (merged / cached.name).exists()  # no file of one hides the other's
            shutil.copy(cached, merged)

    def no_coding(*args, **kwargs):
        raise AssertionError("cached points must not be coded again")

    monkeypatch.setattr("j4d.evaluation.points.code_images", no_coding)
    rows = measure_points(points, [model], test, merged)
    assert rows[0]["scan_bpp"] < rows[1]["scan_bpp"]


def test_worker_processes_give_the_same_rows(data_root):
    test = _test_images(data_root, 12)
    model = create_model("resnet20", data_root=data_root)
    points = quality_points("mozjpeg", [30]) + quality_points("jpegli", [30])
    assert measure_points(points, [model], test, workers=2) == measure_points(points, [model], test)


def test_summary_of_a_method_against_itself_and_at_half_the_rate():
    rates, accuracy = [0.5, 1.0, 2.0, 4.0], [0.4, 0.6, 0.8, 0.9]
    rows = [
        {"method": m, "scan_bpp": r * f, "top1": a, "psnr": 20 + 5 * a}
        for m, f in (("jpeg", 1.0), ("same", 1.0), ("half", 0.5))
        for r, a in zip(rates, accuracy, strict=True)
    ]
    summary = summarize(rows, rates=[1.0], accuracies=[0.8])
    methods = summary["methods"]
    assert methods["same"]["bd_rate"] == pytest.approx(0, abs=1e-9)
    assert methods["half"]["bd_rate"] == pytest.approx(-50, abs=1e-6)
    assert methods["half"]["bd_rate_psnr"] == pytest.approx(-50, abs=1e-6)
    assert methods["half"]["rate_at_accuracy"] == [pytest.approx(1.0)]
    assert methods["jpeg"]["accuracy_at_rate"] == [pytest.approx(0.6)]
    text = summary_markdown(summary)
    assert "| 80.00 | 2.000 | 2.000 (+0.0 %) | 1.000 (-50.0 %) |" in text
    assert "| half | -50.0 % | 100 % | -50.0 % |" in text


def test_read_offs_at_default_jpegs_own_accuracy_at_a_quality():
    rows = [
        {"method": m, "quality": q, "scan_bpp": r * f, "top1": a, "agreement": a + 0.05, "psnr": a}
        for m, f in (("jpeg", 1.0), ("half", 0.5))
        for q, r, a in ((50, 1.0, 0.6), (90, 2.0, 0.8), (100, 4.0, 0.9))
    ]
    summary = summarize(
        rows, rates=[parse_target("qf:90"), 1.0], accuracies=[parse_target("qf:90"), 0.7]
    )
    assert summary["accuracies"] == [0.8, 0.7] and summary["rates"] == [2.0, 1.0]
    assert summary["accuracy_labels"][0] == "80.00 (jpeg QF 90)"
    assert summary["rate_labels"] == ["2 (jpeg QF 90)", "1"]
    assert summary["methods"]["half"]["accuracy_at_rate"][0] == pytest.approx(0.9)
    assert summary["methods"]["half"]["rate_at_accuracy"][0] == pytest.approx(1.0)
    by_agreement = summarize(rows, rates=[1.0], accuracies=["qf:90"], metric="agreement")
    assert by_agreement["accuracies"] == [pytest.approx(0.85)]
    assert "Scan bpp to reach a given agreement" in summary_markdown(by_agreement)
    with pytest.raises(InvalidInputError, match="no jpeg point at quality 95"):
        summarize(rows, accuracies=["qf:95"])
    with pytest.raises(InvalidInputError, match="numbers or qf:Q"):
        parse_target("high")


def _eval_args(data_root, out, *extra):
    return ["eval", *extra, "--data", str(data_root), "-o", str(out), "-q"]


def test_eval_output_matches_the_golden_files(data_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative tables paths in the rows
    for quality in (35, 70):
        QuantTables.from_quality(quality).save(f"qf{quality}.json")
    args = _eval_args(data_root, "out", "qf35.json", "qf70.json", "-c", "mozjpeg", "-c", "jpegli")
    assert main([*args, "--test-size", "20", "--qualities", "20,50,90"]) == 0
    rows = json.loads(Path("out/points.json").read_text())["points"]
    # 4 decimals: float32 SSIM may differ in the last bits between CPUs
    rounded = [{k: round(v, 4) if isinstance(v, float) else v for k, v in r.items()} for r in rows]
    summary = Path("out/summary.md").read_text()
    summary = summary[summary.index("### Top-1") :]
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        (GOLDEN / "eval_points.json").write_text(json.dumps(rounded, indent=1) + "\n")
        (GOLDEN / "eval_summary.md").write_text(summary)
    assert rounded == json.loads((GOLDEN / "eval_points.json").read_text())
    assert summary == (GOLDEN / "eval_summary.md").read_text()
    drawn = ("rate_accuracy.png", "rate_distortion.png", "gain_accuracy.png", "gain_agreement.png")
    for name in (*drawn, "heatmaps/qf35.png", "frontier.csv"):
        assert Path("out", name).stat().st_size > 0
    assert read_csv("out/points.csv")[0]["name"] == "qf35"
    # `make plots` draws the same curves again from points.json alone, byte for byte
    before = {name: Path("out", name).read_bytes() for name in drawn}
    for name in drawn:
        Path("out", name).unlink()
    assert _redraw_plots().redraw(Path("out"))
    assert {name: Path("out", name).read_bytes() for name in drawn} == before


def _redraw_plots():
    spec = importlib.util.spec_from_file_location(
        "redraw_plots", Path(__file__).resolve().parent.parent / "scripts" / "redraw_plots.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_eval_with_two_models_reports_each(data_root, tmp_path):
    files = [str(QuantTables.from_quality(q).save(tmp_path / f"qf{q}.json")) for q in (15, 45, 80)]
    models = ["--model", "resnet20", "--model", "cifar_shufflenetv2_x0_5"]
    args = _eval_args(data_root, tmp_path / "e", *files, *models, "--test-size", "20")
    assert main([*args, "--qualities", "15,45,80"]) == 0
    row = read_csv(tmp_path / "e" / "points.csv")[0]
    mean = (float(row["top1[resnet20]"]) + float(row["top1[cifar_shufflenetv2_x0_5]"])) / 2
    assert float(row["top1"]) == pytest.approx(mean)
    summary = json.loads((tmp_path / "e" / "summary.json").read_text())
    own = summary["per_model"]["cifar_shufflenetv2_x0_5"]["methods"]["j4d"]
    assert own["bd_rate"] == pytest.approx(0, abs=1e-6)  # the same tables as default JPEG
    agreeing = summary["per_model"]["cifar_shufflenetv2_x0_5"]["by_agreement"]
    assert agreeing["metric"] == "agreement[cifar_shufflenetv2_x0_5]"
    assert agreeing["methods"]["j4d"]["bd_rate"] == pytest.approx(0, abs=1e-6)
    text = (tmp_path / "e" / "summary.md").read_text()
    assert "## cifar_shufflenetv2_x0_5 alone" in text
    assert "### cifar_shufflenetv2_x0_5 alone, by agreement" in text
    saved = sorted((tmp_path / "e" / "frontier").glob("*.json"))
    assert saved
    for path in saved:
        test = QuantTables.load(path).meta["test"]
        assert test["top1"] == pytest.approx(
            (test["top1[resnet20]"] + test["top1[cifar_shufflenetv2_x0_5]"]) / 2
        )


def test_one_unreadable_image_is_skipped_and_counted(data_root, tmp_path, capsys):
    split = tmp_path / "split"
    source = data_root / "cifar10" / "test"
    for folder in sorted(source.iterdir())[:2]:
        (split / folder.name).mkdir(parents=True)
        for image in sorted(folder.iterdir())[:3]:
            shutil.copy(image, split / folder.name / image.name)
    (split / "airplane" / "broken.png").write_bytes(b"\x89PNG not really")
    args = _eval_args(data_root, tmp_path / "e", "--test", str(split), "--qualities", "30,70")
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "skipped 1 unreadable image" in err and "broken.png" in err
    meta = json.loads((tmp_path / "e" / "points.json").read_text())["meta"]
    assert meta["skipped_unreadable"] == 1 and meta["images"].endswith("6 images")


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        (lambda tmp: ["--model", "resnet20=" + str(tmp / "missing.th")], "missing.th"),
        (lambda tmp: ["--test", str(_empty(tmp))], "holds no images"),
        (lambda tmp: [str(_bad_tables(tmp))], "bad.json"),
        (lambda tmp: ["--qualities", "0,50"], "quality must be in 1..100"),
    ],
)
def test_bad_input_is_a_one_line_error(data_root, tmp_path, capsys, setup, message):
    assert main(_eval_args(data_root, tmp_path / "e", *setup(tmp_path))) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("j4d: error:") and len(err.splitlines()) == 1


def _empty(tmp: Path) -> Path:
    (tmp / "empty" / "cat").mkdir(parents=True)
    return tmp / "empty"


def _bad_tables(tmp: Path) -> Path:
    path = tmp / "bad.json"
    path.write_text('{"luma": [1, 2], "chroma": [3]}')
    return path


def test_ssim_of_identical_images_is_one_and_drops_with_noise(rng):
    from j4d.evaluation.image_quality import ssim

    images = torch.stack(
        [torch.from_numpy(smooth_image(rng, 32, 32)).permute(2, 0, 1) for _ in range(3)]
    )
    noise = torch.from_numpy(rng.integers(-40, 41, images.shape))
    noisy = (images.int() + noise).clamp(0, 255).to(torch.uint8)
    assert np.allclose(ssim(images, images), 1.0)
    assert (ssim(images, noisy) < 0.8).all()


def test_probabilistic_points_sample_with_the_seed(data_root, tmp_path):
    path = str(QuantTables.from_quality(50).save(tmp_path / "t.json"))
    base = [path, "--test-size", "10", "--qualities", "50,90"]
    outs = {}
    for seed in ("0", "0", "1"):
        out = tmp_path / f"p{len(outs)}"
        args = _eval_args(data_root, out, *base, "--probabilistic", "--hardness", "10")
        assert main([*args, "--seed", seed]) == 0
        outs[len(outs)] = read_csv(out / "points.csv")[0]
    assert outs[0]["name"] == "t_prob_s0" and "seed 0" in outs[0]["sampling"]
    assert outs[0]["scan_bpp"] == outs[1]["scan_bpp"]  # same seed, same files
    assert outs[0]["scan_bpp"] != outs[2]["scan_bpp"]


def test_tables_files_with_one_stem_are_named_by_folder(tmp_path):
    from j4d.cli.evaluate import _tables_points

    paths = []
    for folder in ("qf50_lam1", "qf50_lam3", "other"):
        (tmp_path / folder).mkdir()
        paths.append(QuantTables.from_quality(50).save(tmp_path / folder / "tables.json"))
    paths.append(QuantTables.from_quality(50).save(tmp_path / "other" / "mine.json"))
    names = [p.name for p in _tables_points(tuple(paths), "j4d", None, None)]
    assert names == ["qf50_lam1", "qf50_lam3", "other", "mine"]
    # runs of two sweeps that share run names are told apart by their sweep's folder
    for sweep in ("ce", "distill"):
        for run in ("qf50_lam1", "qf50_lam3"):
            (tmp_path / sweep / "runs" / run).mkdir(parents=True)
            QuantTables.from_quality(50).save(tmp_path / sweep / "runs" / run / "tables.json")
    paths = sorted(tmp_path.glob("*/runs/*/tables.json"))
    (tmp_path / "solo" / "runs" / "qf90_lam0.01").mkdir(parents=True)
    paths.append(QuantTables.from_quality(90).save(tmp_path / "solo/runs/qf90_lam0.01/t.json"))
    paths += [paths[0]]  # the same file twice: numbered
    names = [p.name for p in _tables_points(tuple(paths), "j4d", None, None)]
    assert names == [
        "ce.qf50_lam1",
        "ce.qf50_lam3",
        "distill.qf50_lam1",
        "distill.qf50_lam3",
        "t",
        "ce.qf50_lam1_1",
    ]
    # two sweeps' frontier files: the sweep's folder and the run, not the shared "frontier"
    for sweep in ("cub", "imagenet"):
        (tmp_path / sweep / "frontier").mkdir(parents=True)
        for run in ("qf10_lam3", "qf50_lam1"):
            QuantTables.from_quality(30).save(tmp_path / sweep / "frontier" / f"{run}.json")
    paths = sorted(tmp_path.glob("*/frontier/*.json"))
    names = [p.name for p in _tables_points(tuple(paths), "j4d", None, None)]
    assert names == ["cub.qf10_lam3", "cub.qf50_lam1", "imagenet.qf10_lam3", "imagenet.qf50_lam1"]


def test_tables_of_several_methods_are_curves_of_their_own(data_root, tmp_path, capsys):
    QuantTables.from_quality(40).save(tmp_path / "mine.json")
    QuantTables.from_quality(60).with_meta(method="deepn").save(tmp_path / "peer.json")
    QuantTables.from_quality(80).with_meta(method="deepn").save(tmp_path / "peer2.json")
    files = [str(tmp_path / name) for name in ("mine.json", "peer.json", "peer2.json")]
    args = _eval_args(data_root, tmp_path / "out", *files, "--test-size", "20")
    assert main([*args, "--qualities", "50"]) == 0
    rows = {row["name"]: row["method"] for row in read_csv(tmp_path / "out" / "points.csv")}
    assert rows == {"mine": "j4d", "peer": "deepn", "peer2": "deepn", "jpeg_q50": "jpeg"}
    assert [p.name for p in (tmp_path / "out" / "frontier" / "j4d").glob("*.json")] == ["mine.json"]
    assert {p.name for p in (tmp_path / "out" / "frontier" / "deepn").glob("*.json")} <= {
        "peer.json",
        "peer2.json",
    }
    # --label names them all
    args = _eval_args(data_root, tmp_path / "one", *files, "--test-size", "20", "--label", "x")
    assert main([*args, "--qualities", "50"]) == 0
    assert len(list((tmp_path / "one" / "frontier").glob("*.json"))) >= 1
