"""Model-aware encoding: strength 0 is the plain file; the sensitivity finds the blocks a model
looks at; dropped coefficients follow the per-block dead zone; the files keep their tables;
the CLI's errors are one line."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from conftest import smooth_image
from j4d.cli import main
from j4d.codec import analyze, channel_steps, kernels
from j4d.encoders import (
    GuidedEncoder,
    LadderFiles,
    RateLadder,
    block_sensitivity,
    drop_coefficients,
)
from j4d.encoders.registry import encoder_of, get_encoder
from j4d.errors import InvalidInputError
from j4d.jpegio import decode, read_coefficients, read_tables
from j4d.models import create_model
from j4d.tables import QuantTables
from j4d.zoo import zoo_entries


class LeftHalfClassifier(nn.Module):
    """Two classes scored from the left half of the image only."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.tensor([[1.0, -1.0, 0.5], [-0.5, 1.0, -1.0]]) / 255)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        half = images[..., : images.shape[-1] // 2]
        texture = (half[..., 1:, :] - half[..., :-1, :]).abs().mean(dim=(2, 3))
        return 10 * (half.mean(dim=(2, 3)) + texture) @ self.weight.T


@pytest.fixture(scope="module")
def resnet20(data_root):
    return create_model("resnet20", data_root=data_root)


def _steps(tables: QuantTables) -> torch.Tensor:
    return channel_steps(torch.as_tensor(tables.to_array("zigzag"), dtype=torch.float32))


def _ac_nonzero(data: bytes) -> int:
    return int(np.count_nonzero(read_coefficients(data).stacked()[..., 1:]))


def _save(image: np.ndarray, path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def test_the_sensitivity_lies_in_the_blocks_the_model_reads(rng):
    image = smooth_image(rng, 32, 64)
    originals = torch.from_numpy(image).permute(2, 0, 1)[None]
    decoded = (originals.float() + torch.randn(originals.shape) * 8).clamp(0, 255)
    tables = QuantTables.from_quality(50)
    sensitivity = block_sensitivity(LeftHalfClassifier(), originals, decoded, _steps(tables))
    by_block = sensitivity.view(4, 8)  # 4 block rows, 8 block columns
    assert torch.allclose(sensitivity.mean(), torch.tensor(1.0))
    assert bool((by_block[:, :4] > 0).all())
    assert float(by_block[:, 4:].abs().max()) == 0.0  # the right half does not move the output


def test_the_dead_zone_per_block_drops_what_it_rounds_to_zero_and_keeps_the_dc():
    steps = torch.full((3, 64), 10.0)
    coefficients = torch.zeros(1, 3, 2, 64)
    coefficients[0, :, :, 0] = 3.0  # DC below one step: never dropped
    coefficients[0, :, :, 1] = 9.0  # 0.9 steps
    coefficients[0, :, :, 2] = 12.0  # 1.2 steps
    coefficients[0, :, :, 3] = -16.0  # -1.6 steps
    sensitivity = torch.tensor([[1.0, 0.5]])  # block 1: theta twice block 0's
    kept = drop_coefficients(coefficients, steps, sensitivity, 0.5)
    # block 0, theta 0.5: |y|/q + 1/2 - 1/2 < 1 drops 0.9 only
    assert kept[0, :, 0, :4].tolist() == [[3.0, 0.0, 12.0, -16.0]] * 3
    # block 1, theta 1: drops 0.9 and 1.2, keeps 1.6
    assert kept[0, :, 1, :4].tolist() == [[3.0, 0.0, 0.0, -16.0]] * 3
    assert torch.equal(drop_coefficients(coefficients, steps, sensitivity, 0.0), coefficients)
    more = drop_coefficients(coefficients, steps, sensitivity, 2.0)
    assert bool(((more == 0) | (more == coefficients)).all())
    assert int((more == 0).sum()) >= int((kept == 0).sum())


@pytest.mark.parametrize("encoder", ["pillow", "trellis"])
def test_strength_zero_gives_the_plain_file(resnet20, cifar_images, encoder):
    tables = QuantTables.from_quality(60)
    chosen = get_encoder(encoder)
    images = cifar_images[:4]
    guided = GuidedEncoder(resnet20, tables, chosen, 0.0).encode_batch(images)
    assert guided == [chosen.encode(image, tables) for image in images]


def test_guided_files_keep_their_tables_and_drop_coefficients(resnet20, cifar_images):
    tables = QuantTables.from_quality(80)
    images = cifar_images[:8]
    encoder = get_encoder("pillow")
    plain = [encoder.encode(image, tables) for image in images]
    counts = []
    for strength in (0.5, 2.0):
        files = GuidedEncoder(resnet20, tables, encoder, strength).encode_batch(images)
        assert all(read_tables(data) == tables for data in files)
        counts.append(sum(_ac_nonzero(d) for d in files))
        assert sum(map(len, files)) < sum(map(len, plain))
    plain_count = sum(_ac_nonzero(d) for d in plain)
    assert plain_count > counts[0] > counts[1]


def test_guided_encoding_rejects_a_negative_strength(resnet20):
    with pytest.raises(InvalidInputError, match="strength"):
        GuidedEncoder(resnet20, QuantTables.from_quality(50), get_encoder("pillow"), -1.0)


def test_encode_with_a_model_writes_the_plain_files_at_strength_zero(
    tmp_path, data_root, cifar_images, monkeypatch
):
    def no_compiler(*args, **kwargs):
        raise AssertionError("one-shot encoding must not wait on torch.compile")

    monkeypatch.setattr(torch, "compile", no_compiler)
    monkeypatch.setenv(kernels.COMPILE_ENV, "1")  # compiling allowed: encode must still not
    for i, image in enumerate(cifar_images[:3]):
        _save(image, tmp_path / "in" / f"{i}.png")
    args = ["encode", str(tmp_path / "in"), "--qf", "70", "--encoder", "trellis"]
    assert main([*args, "-o", str(tmp_path / "plain")]) == 0
    model = ["-m", "resnet20", "--data", str(data_root)]
    assert main([*args, *model, "--strength", "0", "-o", str(tmp_path / "zero")]) == 0
    assert main([*args, *model, "--strength", "1", "-o", str(tmp_path / "one")]) == 0
    for i in range(3):
        plain = (tmp_path / "plain" / f"{i}.jpg").read_bytes()
        assert (tmp_path / "zero" / f"{i}.jpg").read_bytes() == plain
        assert len((tmp_path / "one" / f"{i}.jpg").read_bytes()) <= len(plain)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-m", "no_such_model"], "no_such_model"),
        (["-m", "resnet20", "--probabilistic"], "does not apply with --probabilistic"),
        (["-m", "resnet20", "-j", "2"], "leave out -j"),
        (["-m", "resnet20", "--strength", "-1"], "strength"),
    ],
)
def test_model_aware_encode_errors_are_one_line(
    tmp_path, capsys, data_root, cifar_images, extra, message
):
    _save(cifar_images[0], tmp_path / "in.png")
    args = ["encode", str(tmp_path / "in.png"), "--qf", "50", "--data", str(data_root)]
    assert main([*args, *extra, "-o", str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err.strip()
    assert message in error and len(error.splitlines()) == 1


def test_eval_measures_guided_curves_with_their_settings(data_root, tmp_path):
    path = QuantTables.from_quality(70).save(tmp_path / "t70.json")
    out = tmp_path / "eval"
    args = ["eval", str(path), "--data", str(data_root), "--test-size", "20", "-q", "-o", str(out)]
    assert main([*args, "--qualities", "30,90", "--guided", "1"]) == 0
    rows = {row["name"]: row for row in json.loads((out / "points.json").read_text())["points"]}
    assert rows["t70_guided1"]["method"] == "j4d-guided1"
    assert rows["t70_guided1"]["guide"] == "resnet20, strength 1"
    assert rows["t70_guided1"]["scan_bpp"] < rows["t70"]["scan_bpp"]
    assert "guide" not in rows["t70"] or not rows["t70"]["guide"]
    # another model guides; the row (and its cache key) says which
    assert main([*args, "--qualities", "30,90", "--guided", "1", "--guide", "resnet56"]) == 0
    rows = {row["name"]: row for row in json.loads((out / "points.json").read_text())["points"]}
    assert rows["t70_guided1"]["guide"] == "resnet56, strength 1"


def test_the_guided_file_holds_zeros_where_coefficients_were_dropped(resnet20, cifar_images):
    """Dropped coefficients are 0 in the file and the others keep their plain indices, up to
    the 8-bit pixels in between (rounded and clamped), which move a few of either by one."""
    tables = QuantTables.from_quality(30)
    encoder = get_encoder("pillow")
    images = cifar_images[:6]
    plain = [encoder.encode(image, tables) for image in images]
    files = GuidedEncoder(resnet20, tables, encoder, 1.0).encode_batch(images)
    originals = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2)
    decoded = torch.stack([torch.from_numpy(decode(d).copy()).permute(2, 0, 1) for d in plain])
    steps = _steps(tables)
    sensitivity = block_sensitivity(resnet20, originals, decoded, steps)
    coefficients = analyze(originals.float())
    kept = drop_coefficients(coefficients, steps, sensitivity, 1.0)
    dropped = (kept == 0) & (coefficients != 0)
    written = torch.from_numpy(np.stack([read_coefficients(d).stacked() for d in files]))
    before = torch.from_numpy(np.stack([read_coefficients(d).stacked() for d in plain]))
    assert int((dropped & (before != 0)).sum()) > 0
    assert float((written[dropped] == 0).float().mean()) > 0.999
    same = (written == before)[~dropped].float().mean()
    assert float(same) > 0.95


def _ladder(resnet20, qualities=(20, 50, 90)) -> LadderFiles:
    encoder = get_encoder("pillow")
    return LadderFiles(resnet20, [(QuantTables.from_quality(q), encoder) for q in qualities])


def test_the_ladder_orders_its_rungs_coarsest_first(resnet20):
    ladder = _ladder(resnet20, (90, 20, 50))
    assert [t for t, _ in ladder.rungs] == [QuantTables.from_quality(q) for q in (20, 50, 90)]


def test_each_image_gets_the_coarsest_rung_within_the_tolerance(resnet20, cifar_images):
    ladder = _ladder(resnet20)
    images = cifar_images[:12]
    measured = ladder.measure(images)
    plain = [[e.encode(image, t) for t, e in ladder.rungs] for image in images]
    assert [files for files, _ in measured] == plain  # each rung's own plain file
    chosen_rungs = []
    for tolerance in (0.0, 0.01, 0.1, 1.0, float("inf")):
        files = RateLadder(ladder, tolerance).encode_batch(images)
        rungs = []
        for image_files, (rung_files, divergences), data in zip(
            plain, measured, files, strict=True
        ):
            rung = image_files.index(data)
            assert all(kl > tolerance for kl in divergences[:rung])  # none coarser fits
            assert divergences[rung] <= tolerance or rung == len(rung_files) - 1
            rungs.append(rung)
        chosen_rungs.append(rungs)
    assert chosen_rungs[-1] == [0] * len(images)  # any divergence: the coarsest rung
    for finer, coarser in itertools.pairwise(chosen_rungs):  # more tolerance, coarser rungs
        assert all(c <= f for f, c in zip(finer, coarser, strict=True))
    assert chosen_rungs[0] != chosen_rungs[-1]


def test_a_stream_stops_at_the_first_rung_within_and_chooses_as_the_full_ladder(
    resnet20, cifar_images
):
    images = cifar_images[:12]
    full = _ladder(resnet20)
    for tolerance in (0.0, 0.01, 0.1, 1.0):
        stream = LadderFiles(resnet20, full.rungs, keep=False)
        assert RateLadder(stream, tolerance).choose(images) == RateLadder(full, tolerance).choose(
            images
        )
        made = [files for files, _ in stream.measure(images, tolerance)]
        for files, (chosen, rung) in zip(
            made, RateLadder(full, tolerance).choose(images), strict=True
        ):
            assert files[rung] == chosen and all(f is None for f in files[rung + 1 :])
    loose = LadderFiles(resnet20, full.rungs, keep=False).measure(images, 1.0)
    assert sum(f is not None for files, _ in loose for f in files) < 3 * len(images)


def test_the_ladder_rejects_bad_settings(resnet20):
    with pytest.raises(InvalidInputError, match="tolerance"):
        RateLadder(_ladder(resnet20), -0.1)
    with pytest.raises(InvalidInputError, match="at least one"):
        LadderFiles(resnet20, [])


def test_eval_measures_a_ladder_curve(data_root, tmp_path, capsys):
    paths = [QuantTables.from_quality(q).save(tmp_path / f"t{q}.json") for q in (20, 80)]
    out = tmp_path / "eval"
    args = ["eval", *map(str, paths), "--data", str(data_root), "--test-size", "20", "-q"]
    assert main([*args, "--qualities", "30,90", "--ladder", "0.05", "-o", str(out)]) == 0
    rows = {row["name"]: row for row in json.loads((out / "points.json").read_text())["points"]}
    ladder = rows["ladder_tol0.05"]
    assert ladder["method"] == "j4d-ladder"
    assert "resnet20" in ladder["guide"] and "0.05" in ladder["guide"]
    assert rows["t20"]["scan_bpp"] <= ladder["scan_bpp"] <= rows["t80"]["scan_bpp"]
    assert not (out / "frontier" / "j4d-ladder").exists()
    assert main(["eval", "--data", str(data_root), "--ladder", "1", "-o", str(out)]) == 2
    assert "--ladder needs tables files" in capsys.readouterr().err


def test_encode_with_a_ladder_writes_each_image_with_one_of_its_rungs(
    tmp_path, data_root, cifar_images, capsys
):
    for i, image in enumerate(cifar_images[:4]):
        _save(image, tmp_path / "in" / f"{i}.png")
    model = ["-m", "resnet20", "--data", str(data_root)]
    args = ["encode", str(tmp_path / "in"), *model]
    assert main([*args, "--ladder", "zoo", "--tolerance", "inf", "-o", str(tmp_path / "z")]) == 0
    coarsest = min(zoo_entries("resnet20"), key=lambda e: e.scan_bpp).load()
    for i, image in enumerate(cifar_images[:4]):
        written = (tmp_path / "z" / f"{i}.jpg").read_bytes()
        assert written == get_encoder(encoder_of(coarsest).name).encode(image, coarsest)
    paths = [QuantTables.from_quality(q).save(tmp_path / f"t{q}.json") for q in (30, 90)]
    rungs = [arg for path in paths for arg in ("--ladder", str(path))]
    capsys.readouterr()
    assert main([*args, *rungs, "--tolerance", "0.01", "-o", str(tmp_path / "l")]) == 0
    out = capsys.readouterr().out
    assert "ladder of 2 tables" in out
    # each file's line names its rung, and the summary gives the spread
    spread = {}
    for i in range(4):
        tables = read_tables((tmp_path / "l" / f"{i}.jpg").read_bytes())
        rung = {QuantTables.from_quality(q): f"t{q}" for q in (30, 90)}[tables]
        assert any(
            line.split()[0].endswith(f"{i}.jpg") and line.endswith(rung)
            for line in out.splitlines()
        )
        spread[rung] = spread.get(rung, 0) + 1
    summary = next(line for line in out.splitlines() if line.startswith("rungs: "))
    assert all(f"{rung} x{count}" in summary for rung, count in spread.items())
    assert main([*args, *rungs, "--qf", "50", "-o", str(tmp_path / "x")]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["encode", str(tmp_path / "in"), *rungs, "-o", str(tmp_path / "x")]) == 2
    assert "-m MODEL" in capsys.readouterr().err


def test_the_ladder_measures_images_of_any_size_once(rng):
    ladder = LadderFiles(
        LeftHalfClassifier(),
        [(QuantTables.from_quality(q), get_encoder("pillow")) for q in (20, 80)],
    )
    image = smooth_image(rng, 16, 300)  # a side over 255
    first = ladder.measure([image])
    assert ladder.measure([image]) == first and len(ladder._measured) == 1
    assert len(first[0][0]) == 2 and len(first[0][1]) == 2
