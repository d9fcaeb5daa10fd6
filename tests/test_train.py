"""Training tables: objective decreases, exact resume (also after Ctrl-C), divergence stop,
sensitivity definition and initialization, clear errors for bad settings."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Subset

from j4d.codec import JPEGCodec, analyze, synthesize
from j4d.data.folders import ImageFolderDataset, holdout_split
from j4d.encoders.rd import rd_settings
from j4d.encoders.reference import mozjpeg_quant_tables
from j4d.errors import InvalidInputError
from j4d.models import create_model
from j4d.tables import QuantTables, natural_to_zigzag, zigzag_to_natural
from j4d.train import (
    Sensitivity,
    TrainConfig,
    TrainingDivergedError,
    compute_sensitivity,
    train_tables,
)
from j4d.train.sweep import run_name
from j4d.train.trainer import Trainer, data_fingerprint, initial_tables, saved_run


@pytest.fixture(scope="module")
def model(data_root: Path) -> nn.Module:
    return create_model("resnet20", data_root=data_root)


@pytest.fixture(scope="module")
def few_images(data_root: Path) -> ImageFolderDataset:
    dataset = ImageFolderDataset(data_root / "cifar10" / "train", 32)
    return dataset.select(range(0, len(dataset), len(dataset) // 48))  # 48 images, all classes


def _objective(model, dataset, tables: torch.Tensor, lam: float) -> float:
    codec = JPEGCodec(tables, TrainConfig().make_softness())
    trainer = Trainer([model], dataset, TrainConfig(lam=lam), QuantTables.from_quality(50))
    trainer.codec = codec
    images = torch.stack([dataset[i][0] for i in range(len(dataset))])
    labels = torch.tensor([dataset[i][1] for i in range(len(dataset))])
    with torch.no_grad():
        return trainer.objective(images, labels)[0].item()


def test_short_training_lowers_the_objective(model, few_images):
    config = TrainConfig(lam=0.3, init="qf:50", epochs=3, batch_size=16, lr=2.0)
    result = train_tables(model, few_images, config, progress=False)
    before = _objective(model, few_images, QuantTables.from_quality(50).to_tensor(), 0.3)
    after = _objective(model, few_images, result.tables.to_tensor("zigzag"), 0.3)
    assert after < before - 0.01
    assert result.tables != QuantTables.from_quality(50)
    assert [row["epoch"] for row in result.history] == [0, 1, 2, 3]


def _checkpoint_tables(run_dir: Path) -> torch.Tensor:
    return torch.load(run_dir / "checkpoint.pt", weights_only=False)["tables"]


def test_resume_after_interrupt_gives_the_same_tables(model, few_images, tmp_path, monkeypatch):
    config = TrainConfig(lam=0.1, epochs=2, batch_size=16, lr=1.0, checkpoint_every=100)
    val = Subset(few_images, range(8))
    straight = train_tables(model, few_images, config, val, tmp_path / "a", progress=False)

    original = Trainer._step
    calls = {"n": 0}

    def interrupted(self, *step):
        calls["n"] += 1
        if calls["n"] == 5:  # second epoch, second batch: a Ctrl-C mid-epoch
            raise KeyboardInterrupt
        original(self, *step)

    monkeypatch.setattr(Trainer, "_step", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_tables(model, few_images, config, val, tmp_path / "b", progress=False)
    monkeypatch.setattr(Trainer, "_step", original)
    assert torch.load(tmp_path / "b" / "checkpoint.pt", weights_only=False)["state"]["step"] == 4

    with pytest.raises(InvalidInputError, match="--resume"):
        train_tables(model, few_images, config, val, tmp_path / "b", progress=False)
    resumed = train_tables(
        model, few_images, config, val, tmp_path / "b", resume=True, progress=False
    )
    assert torch.equal(_checkpoint_tables(tmp_path / "a"), _checkpoint_tables(tmp_path / "b"))
    assert resumed.tables == straight.tables
    assert [r["epoch"] for r in resumed.history] == [0, 1, 2]
    for row_a, row_b in zip(straight.history, resumed.history, strict=True):
        assert row_a.get("val_top1") == row_b.get("val_top1")
        assert row_a.get("cross_entropy") == pytest.approx(row_b.get("cross_entropy"))

    # more epochs continue the finished run; other settings are refused
    longer = TrainConfig(**{**config.as_dict(), "epochs": 3})
    result = train_tables(
        model, few_images, longer, val, tmp_path / "b", resume=True, progress=False
    )
    assert [r["epoch"] for r in result.history] == [0, 1, 2, 3]
    other = TrainConfig(**{**config.as_dict(), "lam": 0.5})
    with pytest.raises(InvalidInputError, match="other settings"):
        train_tables(model, few_images, other, val, tmp_path / "b", resume=True, progress=False)


def test_run_directory_contents(model, few_images, tmp_path):
    config = TrainConfig(lam=0.1, epochs=1, batch_size=16)
    train_tables(model, few_images, config, Subset(few_images, range(8)), tmp_path, progress=False)
    names = {p.name for p in tmp_path.iterdir()}
    assert {
        "config.json",
        "history.csv",
        "checkpoint.pt",
        "tables.json",
        "tables.txt",
        "tables.png",
        "initial_tables.json",
    } <= names
    tables = QuantTables.load(tmp_path / "tables.json")
    assert QuantTables.load(tmp_path / "tables.txt") == tables
    assert tables.meta["lambda"] == 0.1 and tables.meta["init"] == "qf:50"
    assert tables.meta["validation"]["images"] == 8
    assert json.loads((tmp_path / "config.json").read_text())["settings"]["lam"] == 0.1
    header = (tmp_path / "history.csv").read_text().splitlines()[0].split(",")
    assert {"cross_entropy", "estimated_bpp", "val_scan_bpp", "val_top1"} <= set(header)


class _Exploding(nn.Module):
    """A classifier whose logits turn NaN from its third call with gradients on (the third
    training step: distillation's reference pass runs without gradients)."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += torch.is_grad_enabled()
        logits = self.inner(x)
        return logits * float("nan") if self.calls >= 3 else logits


def test_nan_loss_stops_with_a_clear_message_and_keeps_the_checkpoint(model, few_images, tmp_path):
    config = TrainConfig(epochs=1, batch_size=16, checkpoint_every=1)
    with pytest.raises(
        TrainingDivergedError,
        match=r"objective is nan at epoch 1, step 3.*"
        r"last good checkpoint",
    ):
        train_tables(_Exploding(model), few_images, config, run_dir=tmp_path, progress=False)
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=False)
    assert saved["state"]["step"] == 2
    assert torch.isfinite(saved["tables"]).all()


def test_zeroed_frequency_has_zero_saliency(model, few_images):
    images = torch.stack([few_images[i][0] for i in range(16)]).double()
    labels = [few_images[i][1] for i in range(16)]
    coefficients = analyze(64 + 0.5 * images, integer_samples=False)  # no clamping below
    position = list(natural_to_zigzag(np.arange(64))).index(9)  # frequency (1, 1)
    coefficients[:, 0, :, position] = 0  # in Y
    pictures = synthesize(coefficients, 32, 32, integer_samples=False).float()
    dataset = list(zip(pictures, labels, strict=True))

    saliency = compute_sensitivity(model, dataset, kind="saliency", progress=False).values
    assert saliency[0, 9] < 1e-9 * saliency[0].max()
    assert np.all(np.delete(saliency[0], 9) > 0)
    # the plain mean squared gradient does not vanish there: the model still reacts to it
    gradient = compute_sensitivity(model, dataset, kind="gradient", progress=False).values
    assert gradient[0, 9] > 1e-3 * gradient[0].max()


def test_sensitivity_initial_tables_follow_inverse_square_root(tmp_path):
    values = np.tile(np.geomspace(1e-2, 1e2, 64), (3, 1))
    values[0, 5] = 0.0
    sensitivity = Sensitivity(values, "saliency")
    tables = sensitivity.initial_tables(20.0)
    luma = np.array(tables.luma, dtype=float)
    assert luma[5] == 255  # no sensitivity: the largest step
    expected = np.clip(np.rint(20 * (values[1] / np.exp(np.log(values[1]).mean())) ** -0.5), 1, 255)
    assert np.array_equal(np.array(tables.chroma), expected)
    assert tables.meta["init"] == "sensitivity:20"
    path = sensitivity.save(tmp_path / "s.json")
    assert np.allclose(Sensitivity.load(path).values, values)


def test_pooled_sensitivity_weighs_each_model_alike():
    rising = np.tile(np.linspace(1.0, 2.0, 64), (3, 1))
    falling = rising[:, ::-1].copy()
    # the second model's loss is 1000x steeper: alone it would set the shape of the average
    pooled = Sensitivity.pool(
        [Sensitivity(rising, "gradient", {"models": ["a"]}),
         Sensitivity(1000 * falling, "gradient", {"models": ["b"]})]
    )  # fmt: skip
    expected = (rising / rising.sum() + falling / falling.sum()) / 2
    assert np.allclose(pooled.values, expected) and np.isclose(pooled.values.sum(), 1.0)
    assert np.allclose(pooled.values, pooled.values[:, ::-1])  # the two shapes count alike
    assert pooled.kind == "gradient" and pooled.meta["models"] == ["a", "b"]
    with pytest.raises(InvalidInputError, match="kinds"):
        Sensitivity.pool([pooled, Sensitivity(rising, "saliency")])
    with pytest.raises(InvalidInputError, match="0 everywhere"):
        Sensitivity.pool([pooled, Sensitivity(np.zeros((3, 64)), "gradient")])


def test_bad_settings_are_clear_errors(data_root, tmp_path):
    with pytest.raises(InvalidInputError, match="initialization must be"):
        TrainConfig(init="flat:3")
    with pytest.raises(InvalidInputError, match=r"integer 1\.\.100"):
        TrainConfig(init="qf:0")
    with pytest.raises(InvalidInputError, match=r"integer 1\.\.100"):
        TrainConfig(init="mozjpeg:101")
    with pytest.raises(InvalidInputError, match="learning rate"):
        TrainConfig(lr=0)
    with pytest.raises(InvalidInputError, match="softness"):
        TrainConfig(softness="soft")
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match="holds no images"):
        ImageFolderDataset(tmp_path / "empty", 32)
    dataset = ImageFolderDataset(data_root / "cifar10" / "test", 32, limit=10)
    with pytest.raises(InvalidInputError, match="leaves none"):
        holdout_split(dataset, 10)
    with pytest.raises(InvalidInputError, match="training set is empty"):
        train_tables(create_model("resnet20", weights=None), [], TrainConfig())


def test_cosine_schedule_decays_from_lr_to_zero():
    config = TrainConfig(lr=2.0, lr_schedule="cosine")
    rates = [config.learning_rate(step, 11) for step in range(11)]
    assert rates[0] == pytest.approx(2.0) and rates[5] == pytest.approx(1.0)
    assert rates[-1] == pytest.approx(0.0, abs=1e-12)
    assert all(a >= b for a, b in itertools.pairwise(rates))
    assert TrainConfig(lr=2.0, lr_schedule="constant").learning_rate(7, 11) == 2.0
    with pytest.raises(InvalidInputError, match="lr schedule"):
        TrainConfig(lr_schedule="step")


def test_distillation_training_lowers_its_objective(model, few_images):
    config = TrainConfig(
        lam=0.3, epochs=2, batch_size=16, lr=2.0, task_loss="distillation", temperature=4.0
    )
    result = train_tables(model, few_images, config, progress=False)
    first, last = result.history[1], result.history[-1]
    assert last["objective"] < first["objective"]
    assert result.tables.meta["task_loss"] == "distillation"
    # the history keeps the cross-entropy beside the loss that was minimized
    assert first["task_loss"] != first["cross_entropy"] > 0


def test_saved_run_records(tmp_path):
    description = {
        "models": ["resnet20"],
        "train": "/data/a/cifar10/train",
        "train_images": 9500,
        "unlabeled": ["/x/kodak24"],
        "unlabeled_images": 24,
    }
    moved = {**description, "train": "../b/cifar10/train", "unlabeled": ["/y/kodak24"]}
    assert data_fingerprint(moved) == data_fingerprint(description)  # folders by name
    assert data_fingerprint({**description, "train_images": 100}) != data_fingerprint(description)
    assert data_fingerprint({**description, "unlabeled": ["/x/other"]}) != data_fingerprint(
        description
    )
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.json").write_text(json.dumps({**description, "settings": {"lam": 2.0}}))
    settings, data = saved_run(run)
    assert settings.lam == 2.0 and data == data_fingerprint(description)
    (run / "config.json").write_text(json.dumps(description))  # before settings were kept
    assert saved_run(run) is None
    for broken in ("{", json.dumps({"settings": {"lr": -1}})):
        (run / "config.json").write_text(broken)
        with pytest.raises(InvalidInputError, match=r"config\.json"):
            saved_run(run)


def test_a_learned_dead_zone_moves_is_written_and_resumes_exactly(model, few_images, tmp_path):
    config = TrainConfig(
        lam=3.0, epochs=2, batch_size=16, deadzone=True, deadzone_lr=0.05, checkpoint_every=100
    )
    val = Subset(few_images, range(8))
    straight = train_tables(model, few_images, config, val, tmp_path / "a", progress=False)
    thetas = straight.tables.deadzone()
    assert straight.tables.meta["encoder"] == "deadzone"
    assert thetas.max() > 0.01 and thetas.min() >= 0 and thetas.max() <= 0.5
    assert QuantTables.load(tmp_path / "a" / "tables.json").deadzone().equal(thetas)
    # validation measured files of the deadzone encoder: the rate of the learned dead zone
    # is below that of the same tables without it
    from j4d.evaluation.realfile import evaluate_tables, load_split

    images, labels = load_split(val)
    plain = straight.tables.with_meta(encoder="pillow")
    rates = [
        evaluate_tables([model], images, labels, t)[0].scan_bpp for t in (plain, straight.tables)
    ]
    assert rates[1] < rates[0]
    assert straight.history[-1]["val_scan_bpp"] == pytest.approx(rates[1])

    original = Trainer._step
    calls = {"n": 0}

    def interrupted(self, *step):
        calls["n"] += 1
        if calls["n"] == 4:
            raise KeyboardInterrupt
        original(self, *step)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Trainer, "_step", interrupted)
        with pytest.raises(KeyboardInterrupt):
            train_tables(model, few_images, config, val, tmp_path / "b", progress=False)
    resumed = train_tables(
        model, few_images, config, val, tmp_path / "b", resume=True, progress=False
    )
    assert resumed.tables.deadzone().equal(thetas) and resumed.tables == straight.tables


def test_a_dead_zone_needs_the_j4d_method():
    with pytest.raises(InvalidInputError, match="--deadzone needs --method j4d"):
        TrainConfig(deadzone=True, method="autojpeg")


def test_mozjpeg_init_starts_from_mozjpegs_tables():
    config = TrainConfig(init="mozjpeg:60")
    tables = initial_tables(config, [], [])
    assert tables.luma == mozjpeg_quant_tables(60).luma
    assert tables.meta["init"] == "mozjpeg:60"


def test_tables_init_starts_from_a_files_steps_without_its_provenance(tmp_path):
    source = QuantTables.from_quality(30).with_meta(
        encoder="trellis", **{"lambda": 3.0}, deadzone={"luma": [0.1] * 64, "chroma": [0.1] * 64}
    )
    path = source.save(tmp_path / "zoo entry.json")
    config = TrainConfig(init=f"tables:{path}")
    tables = initial_tables(config, [], [])
    assert (tables.luma, tables.chroma) == (source.luma, source.chroma)
    assert tables.meta == {"init": f"tables:{path}"}  # no encoder, lambda or dead zones
    assert run_name(f"tables:{path}", 0.3) == "tables-zoo entry_lam0.3"
    with pytest.raises(InvalidInputError, match="needs a path"):
        TrainConfig(init="tables:")
    missing = TrainConfig(init=f"tables:{tmp_path / 'none.json'}")  # read when the run starts
    with pytest.raises(InvalidInputError, match="tables file not found"):
        initial_tables(missing, [], [])


def _linear_classifier(classes: int = 5) -> nn.Module:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, classes))
    with torch.no_grad():
        model[1].weight.mul_(0.05)  # logits of a few units: no class is negligible
    return model.eval()


def test_curvature_is_the_hessian_diagonal_of_the_distillation_loss():
    # one 8x8 image (one block) repeated: the mean of the sampled squared gradients converges
    # to the Hessian diagonal of T^2 KL(p_T || p_hat_T) at the original, exact for a linear model
    model, temperature = _linear_classifier(), 4.0
    image = 64 + 127 * torch.rand(3, 8, 8, generator=torch.Generator().manual_seed(1))  # unclamped
    dataset = [(image, 0)] * 4000
    measured = compute_sensitivity(
        model, dataset, kind="curvature", progress=False, temperature=temperature, seed=2
    )
    original = analyze(image[None].double(), integer_samples=False)
    with torch.no_grad():
        reference = torch.softmax(model(image[None]).double() / temperature, dim=1)

    def divergence(flat: torch.Tensor) -> torch.Tensor:
        picture = synthesize(flat.reshape(original.shape), 8, 8, integer_samples=False)
        log_q = torch.log_softmax(model.double()(picture) / temperature, dim=1)
        return temperature**2 * (reference * (reference.log() - log_q)).sum()

    hessian = torch.autograd.functional.hessian(divergence, original.flatten())
    model.float()
    exact = zigzag_to_natural(torch.diagonal(hessian).reshape(3, 64)).numpy()
    assert measured.meta["pixels"] == 64 and measured.kind == "curvature"
    np.testing.assert_allclose(measured.values.sum(), exact.sum(), rtol=0.08)
    np.testing.assert_allclose(measured.values, exact, rtol=0.2, atol=0.02 * exact.max())


def test_curvature_prices_the_rd_encoder_in_training_units():
    values = np.tile(np.arange(1.0, 65.0), (3, 1))
    curvature = Sensitivity(values, "curvature", {"pixels": 1000, "models": ["m"]})
    meta = curvature.rd_meta(0.5)
    assert meta["lambda"] == 1000.0  # P / (2 lambda)
    assert np.array_equal(np.array(meta["weights"]), natural_to_zigzag(values))
    tables = QuantTables.from_quality(50)
    settings = rd_settings(QuantTables(tables.luma, tables.chroma, {"rd": meta}))
    assert settings.lam == 1000.0 and settings.weights.shape == (3, 64)
    with pytest.raises(InvalidInputError, match="need a curvature"):
        Sensitivity(values, "saliency").rd_meta(1.0)
    with pytest.raises(InvalidInputError, match="image size"):
        Sensitivity(values, "curvature").rd_meta(1.0)
    with pytest.raises(InvalidInputError, match="lambda must be > 0"):
        curvature.rd_meta(0.0)
