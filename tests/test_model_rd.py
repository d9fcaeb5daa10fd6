"""The model-aware trellis: the Fisher probe is unbiased; blocks a model ignores lose their
bits; strength 0 is the model-free file byte for byte; files depend on the image alone, never
on a label or on the batch; several guides average."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from conftest import smooth_image
from j4d.cli import main
from j4d.encoders import GuidedEncoder, LadderFiles
from j4d.encoders.model_rd import BlockCurvature, block_scores, fisher_diagonal
from j4d.encoders.rd import encode_rd
from j4d.encoders.registry import get_encoder
from j4d.errors import InvalidInputError
from j4d.jpegio import read_coefficients, read_tables
from j4d.models import create_model, model_view
from j4d.tables import QuantTables
from j4d.tasks import class_balanced_weights, fisher_probe_loss
from test_guided import LeftHalfClassifier


class RightHalfClassifier(nn.Module):
    """The left-half classifier on the mirrored image: it reads the right half only."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = LeftHalfClassifier()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.inner(images.flip(-1))


@pytest.mark.parametrize("temperature", [1.0, 3.0])
def test_the_fisher_probe_is_unbiased_for_a_linear_model(temperature):
    """E[g^2] of the probe's gradient = the diagonal of W^T F W, F = diag(p) - pp^T (at T),
    times T^2 / T^2: the Hessian of T^2 KL(p_T || p_T(x + e)) in e."""
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(5, 7, generator=generator, dtype=torch.float64)
    x = torch.randn(7, dtype=torch.float64)
    probes = 40000
    inputs = x.repeat(probes, 1).requires_grad_(True)
    logits = inputs @ weight.T
    signs = torch.randint(0, 2, logits.shape, generator=generator).double() * 2 - 1
    (gradient,) = torch.autograd.grad(fisher_probe_loss(logits, signs, temperature), inputs)
    estimate = gradient.square().mean(dim=0)
    p = torch.softmax(x @ weight.T / temperature, dim=0)
    fisher = torch.diag(p) - torch.outer(p, p)
    exact = torch.diagonal(weight.T @ fisher @ weight)
    hessian = torch.autograd.functional.hessian(
        lambda e: (
            temperature**2
            * torch.sum(p * (torch.log(p) - torch.log_softmax((x + e) @ weight.T / temperature, 0)))
        ),
        torch.zeros(7, dtype=torch.float64),
    )
    assert torch.allclose(torch.diagonal(hessian), exact, rtol=1e-6)
    assert torch.allclose(estimate, exact, rtol=0.05)


def test_the_blocks_the_model_ignores_score_nothing(rng):
    image = smooth_image(rng, 32, 64)
    curvature = fisher_diagonal(LeftHalfClassifier(), [image])[0]
    scores = block_scores([curvature], QuantTables.from_quality(50)).reshape(4, 8)
    assert np.isclose(scores.mean(), 1.0)
    assert (scores[:, :4] > 0).all()
    assert scores[:, 4:].max() == 0.0


def test_strength_zero_is_the_model_free_file(cifar_images):
    tables = QuantTables.from_quality(60)
    images = cifar_images[:4]
    guided = GuidedEncoder(LeftHalfClassifier(), tables, get_encoder("rd"), 0.0)
    assert guided.encode_batch(images) == [encode_rd(image, tables) for image in images]


def test_the_trellis_spends_the_bits_where_the_model_looks(rng):
    """The left half (read by the model) keeps more nonzero indices than the model-free file
    gives it; the right half (ignored) loses its AC indices; the tables stay."""
    image = np.clip(smooth_image(rng, 64, 128) + rng.normal(0, 20, (64, 128, 3)), 0, 255)
    image = image.round().astype(np.uint8)
    tables = QuantTables.from_quality(75)
    plain = encode_rd(image, tables)
    guided = GuidedEncoder(LeftHalfClassifier(), tables, get_encoder("rd"), 1.0).encode_batch(
        [image]
    )[0]
    assert read_tables(guided) == tables
    before, after = (read_coefficients(d).stacked()[..., 1:] for d in (plain, guided))
    left, right = (np.arange(before.shape[1]) % 16 < 8), (np.arange(before.shape[1]) % 16 >= 8)
    assert np.count_nonzero(after[:, left]) > np.count_nonzero(before[:, left])
    assert np.count_nonzero(before[:, right]) > 0 and np.count_nonzero(after[:, right]) == 0
    assert len(guided) < len(plain)


def test_an_images_file_does_not_depend_on_its_batch(cifar_images):
    tables = QuantTables.from_quality(50)
    model = LeftHalfClassifier()
    together = GuidedEncoder(model, tables, get_encoder("rd"), 1.0).encode_batch(cifar_images[:6])
    alone = [
        GuidedEncoder(model, tables, get_encoder("rd"), 1.0).encode_batch([image])[0]
        for image in cifar_images[:6]
    ]
    assert together == alone


def test_several_guides_average_their_normalized_scores(cifar_images):
    tables = QuantTables.from_quality(50)
    left, right = LeftHalfClassifier(), RightHalfClassifier()
    both = BlockCurvature([left, right]).measure(cifar_images[:1])[0]
    scores = block_scores(both, tables)
    alone = [block_scores([h], tables) for h in both]
    assert np.allclose(scores, (alone[0] + alone[1]) / 2)
    assert np.isclose(scores.mean(), 1.0)
    with pytest.raises(InvalidInputError, match="rd encoder"):
        GuidedEncoder(left, tables, get_encoder("pillow"), 1.0, BlockCurvature([left, right]))


def _labeled_folder(root, images, classes) -> None:
    for n, image in enumerate(images):
        folder = root / classes[n % 2]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"{n}.png")


def test_eval_guides_the_rd_trellis_by_several_models_and_never_reads_a_label(
    data_root, tmp_path, cifar_images
):
    """The same images under true and swapped labels give the same files (rates and PSNR, up
    to the order the folders list them in), while top-1 sees the labels; the row names both
    guides."""
    path = QuantTables.from_quality(70).save(tmp_path / "t70.json")
    args = ["eval", str(path), "--data", str(data_root), "-q", "--encoder", "rd", "--guided"]
    args += ["1", "--qualities", "30,90", "--guide", "resnet20", "--guide", "resnet56"]
    rows = []
    for name, classes in (("true", ["airplane", "cat"]), ("swapped", ["cat", "airplane"])):
        _labeled_folder(tmp_path / name, cifar_images[:12], classes)
        out = tmp_path / f"eval_{name}"
        assert main([*args, "--test", str(tmp_path / name), "-o", str(out)]) == 0
        points = json.loads((out / "points.json").read_text())["points"]
        rows.append({row["name"]: row for row in points})
    true, swapped = (r["t70_rd_guided1"] for r in rows)
    assert true["guide"] == "resnet20 + resnet56, strength 1"
    assert true["scan_bpp"] != rows[0]["t70_rd"]["scan_bpp"]
    for column in ("scan_bpp", "file_bpp", "psnr", "agreement"):
        assert true[column] == pytest.approx(swapped[column], rel=1e-12)
    assert true["top1"] != swapped["top1"]


def test_a_full_size_photo_is_judged_as_the_models_pipeline_sees_it(data_root, rng):
    """ResNet-20's pipeline resizes the short side to 32 and crops the centre: of a 32x64
    image it reads the middle 32 columns, so only those blocks score, while the file keeps
    all 64 columns."""
    model = create_model("resnet20", data_root=data_root)
    image = smooth_image(rng, 32, 64)
    view = model_view(model, torch.from_numpy(image).permute(2, 0, 1)[None].float())
    assert view.shape == (1, 3, 32, 32)
    scores = block_scores([fisher_diagonal(model, [image])[0]], QuantTables.from_quality(50))
    columns = scores.reshape(4, 8)
    assert columns[:, 2:6].min() > 0 and columns[:, [0, 1, 6, 7]].max() == 0
    tables = QuantTables.from_quality(50)
    data = GuidedEncoder(model, tables, get_encoder("rd"), 1.0).encode_batch([image])[0]
    assert read_coefficients(data).stacked().shape[1] == 32  # 4 x 8 blocks: the whole image
    same = torch.rand(2, 3, 32, 32)
    assert model_view(model, same) is same
    assert model_view(LeftHalfClassifier(), torch.rand(1, 3, 32, 64)).shape[-1] == 64


def _rd_rungs(qualities=(20, 60)):
    return [(QuantTables.from_quality(q), get_encoder("rd")) for q in qualities]


def test_a_ladder_of_model_aware_rungs_writes_each_rung_by_the_guided_trellis(cifar_images):
    model = LeftHalfClassifier()
    images = cifar_images[:3]
    guided = LadderFiles(model, _rd_rungs(), strength=1.0).measure(images)
    plain = LadderFiles(model, _rd_rungs()).measure(images)
    for rung, (tables, _) in enumerate(LadderFiles(model, _rd_rungs()).rungs):
        encoder = GuidedEncoder(model, tables, get_encoder("rd"), 1.0)
        assert [files[rung] for files, _ in guided] == encoder.encode_batch(images)
        assert [files[rung] for files, _ in plain] == [encode_rd(i, tables) for i in images]
    with pytest.raises(InvalidInputError, match="rd encoder"):
        LadderFiles(model, [(QuantTables.from_quality(50), get_encoder("pillow"))], strength=1.0)


def test_a_ladder_with_several_guides_takes_the_largest_divergence(cifar_images):
    left, right = LeftHalfClassifier(), RightHalfClassifier()
    images = cifar_images[:4]
    both = LadderFiles([left, right], _rd_rungs()).measure(images)
    alone = [LadderFiles(m, _rd_rungs()).measure(images) for m in (left, right)]
    for n, (_, divergences) in enumerate(both):
        expected = np.maximum(alone[0][n][1], alone[1][n][1])
        assert np.allclose(divergences, expected, rtol=1e-6, atol=1e-12)


def test_eval_measures_a_ladder_of_model_aware_rungs(data_root, tmp_path):
    paths = [QuantTables.from_quality(q).save(tmp_path / f"t{q}.json") for q in (30, 80)]
    out = tmp_path / "eval"
    args = ["eval", *map(str, paths), "--data", str(data_root), "--test-size", "8", "-q"]
    args += ["--encoder", "rd", "--ladder", "0.1", "--ladder-strength", "1", "-o", str(out)]
    assert main([*args, "--qualities", "30,90"]) == 0
    rows = json.loads((out / "points.json").read_text())["points"]
    ladder = next(row for row in rows if row["name"] == "ladder_tol0.1_rd_guided1")
    assert ladder["method"] == "j4d-rd-ladder-guided1"
    assert ladder["guide"].endswith("rungs model-aware at strength 1")


def test_more_probes_give_steadier_block_scores(rng):
    """Two seeds' block scores differ less with 32 probes per image than with one; one probe
    is the default and gives the default's estimate."""
    image = smooth_image(rng, 32, 64)
    model, tables = LeftHalfClassifier(), QuantTables.from_quality(50)

    def spread(probes: int) -> float:
        scores = [
            block_scores([fisher_diagonal(model, [image], seed=seed, probes=probes)[0]], tables)
            for seed in (1, 2)
        ]
        return float(np.abs(scores[0] - scores[1]).mean())

    assert spread(32) < 0.5 * spread(1)
    assert np.array_equal(
        fisher_diagonal(model, [image]), fisher_diagonal(model, [image], probes=1)
    )
    with pytest.raises(InvalidInputError, match="probes"):
        BlockCurvature(model, probes=0)


def test_encode_reports_the_share_of_blocks_the_model_leans_on(
    data_root, tmp_path, cifar_images, capsys
):
    for i, image in enumerate(cifar_images[:3]):
        Image.fromarray(image).save(tmp_path / f"{i}.png")
    args = ["encode", *(str(tmp_path / f"{i}.png") for i in range(3)), "--qf", "60"]
    args += ["--encoder", "rd", "-m", "resnet20", "--data", str(data_root)]
    assert main([*args, "-o", str(tmp_path / "out")]) == 0
    out = capsys.readouterr().out
    model = create_model("resnet20", data_root=data_root)
    encoder = GuidedEncoder(model, QuantTables.from_quality(60), get_encoder("rd"), 1.0)
    for i, image in enumerate(cifar_images[:3]):
        data, share = encoder.choose([image])[0]
        assert (tmp_path / "out" / f"{i}.jpg").read_bytes() == data
        line = next(
            row for row in out.splitlines() if row.startswith(str(tmp_path / "out" / f"{i}"))
        )
        assert line.endswith(f"{share:.0%}") and 0 < share < 1
    assert "model's blocks" in out.splitlines()[0]
    assert "score above its mean" in out.splitlines()[-1]


def test_class_balanced_weights_make_each_predicted_class_count_alike():
    """Six of eight pixels predict class 0, two class 1: weights 1/(2 * 3/4) and 1/(2 * 1/4),
    each class's total 4, mean 1; a classifier's output weighs 1."""
    logits = torch.zeros(1, 3, 2, 4)
    logits[0, 0] = 1.0
    logits[0, 1, 1, 2:] = 2.0
    weights = class_balanced_weights(logits)
    assert weights.shape == (1, 2, 4)
    assert torch.allclose(weights[0, 1, 2:], torch.tensor([2.0, 2.0]))
    assert torch.allclose(weights[0, 0], torch.full((4,), 2 / 3))
    assert torch.isclose(weights.mean(), torch.tensor(1.0))
    assert torch.equal(class_balanced_weights(torch.randn(5, 10)), torch.ones(5))


def test_the_weighted_fisher_probe_is_unbiased_for_a_linear_dense_model():
    """Two positions of a linear dense output, weighed 0.5 and 3: E[g^2] is the weighted sum
    of each position's W^T F W diagonal."""
    generator = torch.Generator().manual_seed(1)
    weight = torch.randn(2, 4, 6, generator=generator, dtype=torch.float64)  # position, class
    x = torch.randn(6, dtype=torch.float64)
    probes = 40000
    inputs = x.repeat(probes, 1).requires_grad_(True)
    logits = torch.einsum("pci,ni->ncp", weight, inputs)  # (N, classes, positions)
    signs = torch.randint(0, 2, logits.shape, generator=generator).double() * 2 - 1
    position_weights = torch.tensor([0.5, 3.0], dtype=torch.float64).expand(probes, 2)
    loss = fisher_probe_loss(logits, signs, 1.0, position_weights)
    (gradient,) = torch.autograd.grad(loss, inputs)
    exact = torch.zeros(6, dtype=torch.float64)
    for position, w in enumerate((0.5, 3.0)):
        p = torch.softmax(weight[position] @ x, dim=0)
        fisher = torch.diag(p) - torch.outer(p, p)
        exact += w * torch.diagonal(weight[position].T @ fisher @ weight[position])
    assert torch.allclose(gradient.square().mean(dim=0), exact, rtol=0.05)


class PixelSegmenter(nn.Module):
    """Two classes per pixel from its own brightness: bright pixels are class 1."""

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        brightness = images.mean(dim=1, keepdim=True) / 255.0
        return torch.cat([torch.zeros_like(brightness), 8.0 * (brightness - 0.5)], dim=1)


def test_a_class_balanced_guide_weighs_a_small_class_up(rng):
    """One bright 8x8 block among 32 dark ones: with each class counting alike, the bright
    block's share of the image's curvature grows."""
    image = np.full((32, 64, 3), 100, np.uint8) + rng.integers(0, 20, (32, 64, 3), np.uint8)
    image[8:16, 8:16] += 120
    segmenter = PixelSegmenter()
    plain, balanced = (
        fisher_diagonal(segmenter, [image], balanced=b)[0].sum(axis=(0, 2)) for b in (False, True)
    )
    bright = 1 * 8 + 1  # block row 1, column 1 of 8 per row
    assert balanced[bright] / balanced.sum() > 4 * plain[bright] / plain.sum()


def test_class_balanced_needs_a_guided_curve(data_root, tmp_path, capsys):
    args = ["eval", "--data", str(data_root), "--class-balanced", "-o", str(tmp_path / "out")]
    assert main(args) == 2
    assert "--class-balanced applies with --guided" in capsys.readouterr().err
