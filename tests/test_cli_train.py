"""``j4d train``, ``j4d sweep`` and ``j4d sensitivity`` end to end on a few CIFAR images."""

from __future__ import annotations

import json

import pytest

from j4d.cli import main
from j4d.tables import QuantTables
from j4d.utils.files import read_csv as _rows

SMALL = ["--limit", "48", "--batch-size", "16", "--epochs", "1", "-q"]


def test_train_writes_a_run_and_resumes(data_root, tmp_path, capsys):
    run = tmp_path / "run"
    args = ["train", "--data", str(data_root), "-o", str(run), "--val-size", "8", *SMALL]
    assert main(args) == 0
    assert "top-1" in capsys.readouterr().out
    assert [r["epoch"] for r in _rows(run / "history.csv")] == ["0", "1"]
    assert main(args) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*args, "--resume", "--epochs", "2"]) == 0
    assert [r["epoch"] for r in _rows(run / "history.csv")] == ["0", "1", "2"]
    tables = QuantTables.load(run / "tables.json")
    assert tables.meta["epochs"] == 2 and tables.meta["models"] == ["resnet20"]
    config = json.loads((run / "config.json").read_text())
    assert config["train_images"] == 40 and config["val_images"] == 8
    assert config["settings"]["batch_size"] == 16 and config["settings"]["epochs"] == 2


def test_train_learns_from_unlabeled_crops(data_root, tmp_path):
    run = tmp_path / "run"
    kodak = data_root / "kodak24"
    args = ["train", "--data", str(data_root), "-o", str(run), "--val-size", "8", *SMALL]
    assert main([*args, "--unlabeled", str(kodak), "--unlabeled-crops", "32"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["unlabeled"] == ["kodak24"] and config["unlabeled_images"] == 24  # no path
    assert config["train_images"] == 32 and config["val_images"] == 8
    (row,) = [r for r in _rows(run / "history.csv") if r["epoch"] == "1"]
    assert float(row["cross_entropy"]) > 0 and float(row["task_loss"]) > 0  # pseudo-labels


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "resnet99"], "unknown model 'resnet99'"),
        (["--model", "resnet20=/nonexistent/w.th"], "/nonexistent/w.th"),
        (["--init", "flat"], "initialization must be"),
        (["--init", "tables:/nonexistent/t.json"], "/nonexistent/t.json"),
        (["--lr", "-1"], "learning rate"),
        (["--val-size", "8", "--unlabeled", "/nonexistent/photos"], "/nonexistent/photos"),
        (["--val-size", "8", "--unlabeled", ".", "--crop-padding", "4"], "--crop-padding"),
    ],
)
def test_train_bad_settings_are_one_line_errors(data_root, tmp_path, capsys, extra, message):
    args = ["train", "--data", str(data_root), "-o", str(tmp_path / "r"), *SMALL, *extra]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith("j4d: error:") and len(err.splitlines()) == 1


def test_train_empty_dataset_is_a_clear_error(data_root, tmp_path, capsys):
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    args = [
        "train",
        "--data",
        str(data_root),
        "--train",
        str(tmp_path / "empty"),
        "-o",
        str(tmp_path / "r"),
        "-q",
    ]
    assert main(args) == 2
    assert "holds no images" in capsys.readouterr().err


def test_sensitivity_command(data_root, tmp_path, capsys):
    out = tmp_path / "s.json"
    assert (
        main(["sensitivity", "--data", str(data_root), "-o", str(out), "--images", "20", "-q"]) == 0
    )
    payload = json.loads(out.read_text())
    assert len(payload["Y"]) == 64 and payload["kind"] == "saliency"
    assert out.with_suffix(".png").stat().st_size > 0


def test_sweep_writes_frontier_and_skips_finished_runs(data_root, tmp_path, capsys, monkeypatch):
    out = tmp_path / "sweep"
    args = [
        "sweep",
        "--data",
        str(data_root),
        "-o",
        str(out),
        "--lams",
        "0.05,1",
        "--init",
        "qf:50",
        "--val-size",
        "0",
        "--test-size",
        "30",
        "--qualities",
        "10,50,90",
        *SMALL,
    ]
    assert main(args) == 0
    assert "BD-rate" in capsys.readouterr().out
    points = _rows(out / "points.csv")
    runs = [p for p in points if p["method"] == "j4d"]
    assert [p["name"] for p in runs] == ["qf50_lam0.05", "qf50_lam1"]
    # recorded relative to the sweep folder, so the folder can be moved or committed
    assert [p["tables"] for p in runs] == [f"runs/{p['name']}/tables.json" for p in runs]
    assert [int(p["quality"]) for p in points if p["method"] == "jpeg"] == [10, 50, 90]
    frontier = [r for r in _rows(out / "frontier.csv") if r["method"] == "j4d"]
    assert 1 <= len(frontier) <= 2
    for row in frontier:
        tables = QuantTables.load(out / "frontier" / f"{row['name']}.json")
        assert tables.meta["test"]["images"] == 30
        assert tables.meta["test"]["scan_bpp"] == pytest.approx(float(row["scan_bpp"]))
        assert tables.meta["lambda"] == float(row["lam"])
    for name in ("rate_accuracy.png", "summary.md"):
        assert (out / name).stat().st_size > 0

    def no_training(*args, **kwargs):
        raise AssertionError("finished runs must not be trained again")

    monkeypatch.setattr("j4d.train.sweep.train_tables", no_training)
    assert main([*args, "--rates", "0.5", "--accuracies", "0.25"]) == 0
    assert _rows(out / "points.csv") == points
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rates"] == [0.5] and summary["accuracies"] == [0.25]
    capsys.readouterr()
    assert main([*args, "--task-loss", "cross_entropy"]) == 2
    err = capsys.readouterr().err
    assert "qf50_lam0.05" in err and "other settings" in err and len(err.splitlines()) == 1
    assert main([*args, "--unlabeled", str(data_root / "kodak24")]) == 2
    err = capsys.readouterr().err
    assert "qf50_lam0.05" in err and "or data" in err and len(err.splitlines()) == 1


def test_a_sweep_checks_its_init_tables_before_the_first_run(data_root, tmp_path, capsys):
    start = QuantTables.from_quality(40).save(tmp_path / "a" / "start.json")
    QuantTables.from_quality(60).save(tmp_path / "b" / "start.json")
    args = ["sweep", "--data", str(data_root), "-o", str(tmp_path / "s"), "--lams", "1", *SMALL]
    missing = tmp_path / "none.json"
    assert main([*args, "--init", "qf:50", "--init", f"tables:{missing}"]) == 2
    err = capsys.readouterr().err
    assert str(missing) in err and "not found" in err and len(err.splitlines()) == 1
    same = ["--init", f"tables:{start}", "--init", f"tables:{tmp_path / 'b' / 'start.json'}"]
    assert main([*args, *same]) == 2
    err = capsys.readouterr().err
    assert "same run names" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "s" / "runs").exists()  # nothing trained


def test_a_dead_zone_sweep_measures_and_ships_files_of_the_deadzone_encoder(data_root, tmp_path):
    out = tmp_path / "sweep"
    args = ["sweep", "--data", str(data_root), "-o", str(out), "--lams", "3", "--deadzone"]
    args += ["--val-size", "0", "--test-size", "30", "--qualities", "20,80", *SMALL]
    assert main(args) == 0
    runs = [p for p in _rows(out / "points.csv") if p["method"] == "j4d-deadzone"]
    assert [p["name"] for p in runs] == ["qf50_lam3_deadzone"]
    assert runs[0]["encoder"].startswith("j4d dead-zone rounding")
    (front,) = (out / "frontier").glob("*.json")
    tables = QuantTables.load(front)
    assert tables.meta["encoder"] == "deadzone" and tables.deadzone().max() > 0
