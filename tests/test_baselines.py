"""The closed-form peer methods: DeepN-JPEG's map and tables, OptS's rate-constrained design,
the coefficient statistics they read, and `j4d tables --method`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from j4d.analysis.sensitivity import Sensitivity
from j4d.cli import main
from j4d.codec import analyze
from j4d.errors import InvalidInputError
from j4d.peers import (
    CoefficientStatistics,
    DeepNMap,
    RateDistortion,
    coefficient_statistics,
    deepn_tables,
    opts_tables,
)
from j4d.tables import QuantTables, zigzag_to_natural


def _statistics(std: np.ndarray, images: int = 2) -> CoefficientStatistics:
    empty = torch.zeros(images, 3, 4)
    return CoefficientStatistics(std, empty, torch.zeros(8, 3, 63), 1 / 64, images)


def _random_images(count: int, seed: int = 0) -> list[tuple[torch.Tensor, int]]:
    generator = torch.Generator().manual_seed(seed)
    base = torch.rand(count, 3, 4, 4, generator=generator) * 255
    smooth = torch.nn.functional.interpolate(base, size=(32, 32), mode="bilinear")
    noise = torch.randn(count, 3, 32, 32, generator=generator) * 12
    images = (smooth + noise).clamp(0, 255).round()
    return [(image, 0) for image in images]


def test_deepn_map_against_hand_computed_values():
    std = np.array([0.0, 10.0, 20.0, 30.0, 60.0, 61.0, 70.0, 100.0])
    # a - k1 d (d <= 20), b - k2 d (20 < d <= 60), c - k3 d (d > 60), at least 5
    expected = [255.0, 157.5, 60.0, 50.0, 20.0, 57.0, 30.0, 5.0]
    np.testing.assert_allclose(DeepNMap()(std), expected)


def test_deepn_tables_luma_from_y_and_chroma_from_pooled_cb_cr():
    std = np.zeros((3, 64))
    std[0] = 30.0  # -> 80 - 30 = 50
    std[2] = 20.0 * np.sqrt(2.0)  # pooled with Cb = 0: sqrt((0 + 800) / 2) = 20 -> 60
    tables = deepn_tables(_statistics(std))
    assert tables.luma == (50,) * 64 and tables.chroma == (60,) * 64
    scaled = deepn_tables(_statistics(std), scale=2.0)
    assert scaled.luma == (100,) * 64 and scaled.chroma == (120,) * 64
    assert deepn_tables(_statistics(std), scale=10.0).chroma == (255,) * 64  # clipped
    assert deepn_tables(_statistics(std), scale=0.01).luma == (1,) * 64
    with pytest.raises(InvalidInputError, match="scale"):
        deepn_tables(_statistics(std), scale=0.0)


def test_coefficient_statistics_match_a_direct_computation():
    dataset = _random_images(6)
    statistics = coefficient_statistics(dataset, blocks_per_image=5, progress=False)
    coefficients = analyze(torch.stack([image for image, _ in dataset])).double()
    direct = coefficients.permute(0, 2, 3, 1).reshape(-1, 64, 3).std(dim=0).T  # (3, 64) zig-zag
    np.testing.assert_allclose(statistics.std, zigzag_to_natural(direct).numpy(), rtol=1e-6)
    assert statistics.dc.shape == (6, 3, 16) and statistics.ac.shape == (30, 3, 63)
    assert statistics.blocks_per_pixel == pytest.approx(1 / 64)
    torch.testing.assert_close(statistics.dc, coefficients[..., 0].float())


@pytest.fixture(scope="module")
def rate_distortion() -> RateDistortion:
    return RateDistortion.measure(
        coefficient_statistics(_random_images(40, seed=1), blocks_per_image=16, progress=False)
    )


def test_rate_and_distortion_per_step(rate_distortion):
    # step 1 keeps every integer-sample coefficient to within 1/2: error <= 1/4 per coefficient
    assert float(rate_distortion.distortion[..., 0].max()) <= 0.25
    # coarser steps lose more and (over a wide range) cost fewer bits
    assert torch.all(rate_distortion.distortion[..., 200] >= rate_distortion.distortion[..., 0])
    assert torch.all(rate_distortion.bits[..., 200] <= rate_distortion.bits[..., 0])


def test_opts_meets_its_rate_targets_and_rate_falls_with_the_target(rate_distortion):
    sensitivity = Sensitivity(np.full((3, 64), 1.0), kind="gradient")
    targets = [0.5, 1.0, 2.0]
    tables = opts_tables(sensitivity, rate_distortion, targets)
    estimates = [t.meta["estimated_bpp"] for t in tables]
    assert estimates == sorted(estimates)
    for target, estimate in zip(targets, estimates, strict=True):
        assert estimate == pytest.approx(target, rel=0.05)
    assert np.mean(tables[0].luma) > np.mean(tables[-1].luma)


def test_opts_gives_a_more_sensitive_frequency_no_more_distortion(rate_distortion):
    # cost w D(q) + mu H(q): the optima for w1 > w2 satisfy (w1 - w2)(D1 - D2) <= 0
    values = np.ones((3, 64))
    values[0, 1] = 1000.0  # Y, natural (0, 1) = zig-zag 1
    weighted = opts_tables(Sensitivity(values, kind="gradient"), rate_distortion, [1.0])[0]
    plain = opts_tables(Sensitivity(np.ones((3, 64)), kind="gradient"), rate_distortion, [1.0])[0]
    step = weighted.luma[1]
    distortion = rate_distortion.distortion[0, 1]
    assert distortion[step - 1] <= distortion[plain.luma[1] - 1]
    assert step <= plain.luma[1]


def test_opts_needs_the_gradient_sensitivity(rate_distortion):
    with pytest.raises(InvalidInputError, match="gradient"):
        opts_tables(Sensitivity(np.ones((3, 64))), rate_distortion, [1.0])
    with pytest.raises(InvalidInputError, match="target"):
        opts_tables(Sensitivity(np.ones((3, 64)), kind="gradient"), rate_distortion, [0.0])


@pytest.mark.parametrize("method", ["deepn", "opts"])
def test_tables_method_writes_tables_that_pillow_encodes_and_decodes(
    method, data_root, tmp_path, pillow_round_trip
):
    out = tmp_path / method
    option = ["--scales", "0.5,2"] if method == "deepn" else ["--targets", "1,3"]
    argv = ["tables", "--method", method, "--data", str(data_root), "--images", "30", "-q"]
    assert main([*argv, *option, "-o", str(out)]) == 0
    files = sorted(out.glob("*.json"))
    assert len(files) == 2
    for path in files:
        tables = QuantTables.load(path)
        assert tables.meta["method"] == method and tables.meta["models"] == ["resnet20"]
        pillow_round_trip(tables)
    coarse, fine = (QuantTables.load(p) for p in files)  # deepn_x0.5 < deepn_x2; opts_bpp1, 3
    if method == "deepn":
        coarse, fine = fine, coarse
    assert np.mean(coarse.luma) > np.mean(fine.luma)


def test_opts_pools_the_sensitivity_files_it_is_given(data_root, tmp_path):
    luma_only = np.zeros((3, 64))
    luma_only[0] = 1.0
    chroma_only = np.zeros((3, 64))
    chroma_only[1:] = 1.0
    paths = []
    for name, values in (("a", luma_only), ("b", 1e6 * chroma_only)):
        paths += ["--sensitivity", str(Sensitivity(values, "gradient").save(tmp_path / name))]
    argv = ["tables", "--method", "opts", "--data", str(data_root), "--images", "30", "-q"]
    assert main([*argv, "--targets", "1", *paths, "-o", str(tmp_path / "pooled")]) == 0
    assert main([*argv, "--targets", "1", *paths[:2], "-o", str(tmp_path / "one")]) == 0
    pooled = QuantTables.load(tmp_path / "pooled" / "opts_bpp1.json")
    one = QuantTables.load(tmp_path / "one" / "opts_bpp1.json")
    # alone, the luma-only model leaves chroma unweighted: the coarsest chroma steps; pooled,
    # the chroma-only model (however steep its loss) gets chroma steps finer than that
    assert np.mean(pooled.chroma) < np.mean(one.chroma) == 255
    assert np.mean(pooled.luma) > np.mean(one.luma)


def test_tables_method_wants_a_folder(data_root, tmp_path, capsys):
    argv = ["tables", "--method", "deepn", "--data", str(data_root), "-o", str(tmp_path / "t.json")]
    assert main(argv) == 2
    assert "give -o FOLDER" in capsys.readouterr().err
