"""scripts/plot_fronts.py: fronts of several evaluations overlaid, with read-offs and BD-rates
against the first."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "plot_fronts.py"


@pytest.fixture(scope="module")
def plot_fronts():
    spec = importlib.util.spec_from_file_location("plot_fronts", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _evaluation(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True)
    (folder / "points.json").write_text(json.dumps({"meta": {}, "points": rows}))
    return folder


def test_overlay_reads_gains_and_bd_rate_against_the_first_curve(plot_fronts, tmp_path, capsys):
    curve = [(0.5, 0.2), (1.0, 0.4), (2.0, 0.6), (4.0, 0.7)]
    jpeg = [{"method": "jpeg", "scan_bpp": r, "top1": a} for r, a in curve]
    # the same accuracies at half the rate: BD-rate -50 %, and an off-front point that is dropped
    learned = [{"method": "j4d", "scan_bpp": r / 2, "top1": a} for r, a in curve]
    learned.append({"method": "j4d", "scan_bpp": 3.0, "top1": 0.1})
    a = _evaluation(tmp_path / "a", jpeg)
    b = _evaluation(tmp_path / "b", learned)
    out = tmp_path / "fig" / "overlay"
    assert (
        plot_fronts.main(
            ["--rates", "1", "-o", str(out), f"jpeg={a}:jpeg:top1", f"j4d={b}:j4d:top1"]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "| jpeg | 40.00 |  |  |  |" in text
    # its lowest gain: +10 points at 2 bpp, where its front ends (0.7) and jpeg reaches 0.6
    assert "| j4d | 60.00 (+20.00) | -50.0 % | 20.00-70.00 | +10.00 at 2 |" in text
    assert out.with_suffix(".png").stat().st_size > 0 and out.with_suffix(".md").read_text() == text
    assert (out.parent / "overlay_gain.png").stat().st_size > 0
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["reference"] == "jpeg" and saved["curves"]["j4d"]["bd_rate"] == pytest.approx(-50)
    assert saved["curves"]["j4d"]["lowest_gain"] == pytest.approx([0.1, 2.0])


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("x={folder}", "expected LABEL=EVAL_DIR:METHOD:METRIC"),
        ("x={folder}:mozjpeg:top1", "no points of method 'mozjpeg'"),
        ("x={folder}:jpeg:miou", "no column 'miou'"),
        ("x={folder}/none:jpeg:top1", "no such file"),
    ],
)
def test_bad_curve_is_a_one_line_error(plot_fronts, tmp_path, capsys, spec, message):
    folder = _evaluation(tmp_path / "a", [{"method": "jpeg", "scan_bpp": 1.0, "top1": 0.5}])
    assert plot_fronts.main(["-o", str(tmp_path / "o"), spec.format(folder=folder)]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.splitlines()) == 1
