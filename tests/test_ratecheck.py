"""``j4d rate-check``: estimated vs real bpp per (image, QF), pluggable estimators."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from conftest import smooth_image
from j4d.cli import main
from j4d.evaluation.ratecheck import ESTIMATORS, agreement, rate_pairs, register_estimator
from j4d.utils.files import read_csv


def test_rate_check_on_a_few_imagenet_images_correlates(data_root, tmp_path, capsys):
    out = tmp_path / "rc"
    args = ["rate-check", "--data", str(data_root), "--images", "4", "-o", str(out), "-q"]
    assert main([*args, "--qualities", "5,20,50,80,95"]) == 0
    rows = read_csv(out / "pairs.csv")
    assert len(rows) == 4 * 5 and {r["estimator"] for r in rows} == {"j4d"}
    summary = json.loads((out / "summary.json").read_text())
    assert summary["estimators"]["j4d"]["scan_bpp"]["pearson"] > 0.99
    assert (out / "scatter_j4d.png").stat().st_size > 0
    assert "Pearson" in capsys.readouterr().out


def test_a_registered_estimator_is_measured_beside_ours(cifar_images):
    @register_estimator("half-of-entropy")
    def half(coefficients, tables, pixels, alpha, fitting):
        return ESTIMATORS["j4d"](coefficients, tables, pixels, alpha, fitting) / 2

    try:
        rows = rate_pairs(cifar_images[:6], [30, 70], ["j4d", "half-of-entropy"])
    finally:
        del ESTIMATORS["half-of-entropy"]
    ours = [r["estimated_bpp"] for r in rows if r["estimator"] == "j4d"]
    halves = [r["estimated_bpp"] for r in rows if r["estimator"] == "half-of-entropy"]
    assert torch.allclose(torch.tensor(halves), torch.tensor(ours) / 2)
    real = [r["scan_bpp"] for r in rows if r["estimator"] == "j4d"]
    assert agreement(ours, real)["pearson"] > 0.9


def test_bad_quality_range_and_missing_folder_are_clear_errors(data_root, tmp_path, capsys):
    base = ["rate-check", "--data", str(data_root), "-o", str(tmp_path / "rc"), "-q"]
    assert main([*base, "--qualities", "0-100"]) == 2
    assert "--qualities must be in 1..100" in capsys.readouterr().err
    assert main([*base, "--folder", str(tmp_path / "nowhere")]) == 2
    assert "image folder not found" in capsys.readouterr().err


def test_the_google_estimator_fits_on_images_beyond_the_measured_ones(tmp_path, capsys):
    pytest.importorskip("compressai")
    folder = tmp_path / "photos"
    folder.mkdir()
    for seed in range(5):
        Image.fromarray(smooth_image(np.random.default_rng(seed), 40, 40)).save(
            folder / f"{seed}.png"
        )
    out = tmp_path / "check"
    args = ["rate-check", "--folder", str(folder), "--size", "32", "--qualities", "20,80"]
    assert main([*args, "--images", "3", "-e", "google", "-q", "-o", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert "2 further images to fit on" in summary["settings"]
    assert summary["estimators"]["google"]["scan_bpp"]["points"] == 6
    assert main([*args, "--images", "5", "-e", "google", "-q", "-o", str(out)]) == 2
    assert "needs images beyond the first 5" in capsys.readouterr().err
