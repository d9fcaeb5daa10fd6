"""Tasks: the loss and metrics of classification and segmentation outputs, shared by the
trainer, sweep, sensitivity and eval."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from j4d.tasks import Classification, Segmentation, distillation_loss, task_of
from j4d.tasks.base import UNLABELED

VOID = 3


def test_distillation_is_the_mean_per_position_kl() -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 3, 4, 5, generator=generator)
    reference = torch.randn(2, 3, 4, 5, generator=generator)
    per_pixel = [
        F.kl_div(
            F.log_softmax(logits[n, :, i, j] / 2, 0),
            F.log_softmax(reference[n, :, i, j] / 2, 0),
            reduction="sum",
            log_target=True,
        )
        for n in range(2)
        for i in range(4)
        for j in range(5)
    ]
    expected = 4 * torch.stack(per_pixel).mean()
    assert distillation_loss(logits, reference, 2.0).item() == pytest.approx(expected.item())


def test_segmentation_cross_entropy_ignores_void() -> None:
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(1, 3, 2, 2, generator=generator)
    labels = torch.tensor([[[0, 2], [VOID, 1]]])
    _, ce = Segmentation(3, VOID).loss(logits, labels, None, "cross_entropy", 1.0)
    kept = [(0, 0, 0), (2, 0, 1), (1, 1, 1)]  # (class, row, column); (1, 0) is void
    expected = -sum(F.log_softmax(logits[0, :, i, j], 0)[c] for c, i, j in kept) / 3
    assert ce.item() == pytest.approx(expected.item())


def test_unlabeled_images_take_the_models_own_prediction() -> None:
    generator = torch.Generator().manual_seed(2)
    reference = torch.randn(2, 3, 4, 4, generator=generator)
    labels = torch.tensor([UNLABELED, UNLABELED])  # one per image, as UnlabeledCrops gives
    targets = Segmentation(3, VOID).targets(labels, reference)
    assert torch.equal(targets, reference.argmax(1))
    classes = torch.tensor([1, UNLABELED])
    scores = torch.tensor([[0.0, 5.0, 1.0], [3.0, 0.0, 9.0]])
    assert Classification().targets(classes, scores).tolist() == [1, 2]
    with pytest.raises(ValueError, match="originals"):
        Classification().targets(classes, None)


def test_segmentation_scores() -> None:
    labels = torch.tensor([[[0, 0, 1], [1, 2, VOID]]])
    predicted = torch.tensor([[[0, 1, 1], [1, 2, 0]]], dtype=torch.uint8)
    reference = torch.tensor([[[0, 1, 1], [0, 2, 0]]], dtype=torch.uint8)
    scores = Segmentation(3, VOID).score(predicted, labels, reference)
    # class 0: TP 1, FP 0, FN 1 -> 1/2; class 1: TP 2, FP 1 -> 2/3; class 2: 1
    assert scores["miou"] == pytest.approx((1 / 2 + 2 / 3 + 1) / 3)
    assert scores["pixel_accuracy"] == pytest.approx(4 / 5)
    assert scores["agreement"] == pytest.approx(5 / 6)  # every pixel, void too
    assert Segmentation(3, VOID).predict(torch.randn(1, 3, 2, 2)).dtype == torch.uint8


def test_classification_scores() -> None:
    best = torch.tensor([[1, 0, 2, 3, 4], [2, 1, 0, 3, 4], [4, 3, 2, 1, 0]])
    labels = torch.tensor([1, 1, 9])
    scores = Classification().score(best, labels, best.flip(0))
    assert scores["top1"] == pytest.approx(1 / 3)
    assert scores["top5"] == pytest.approx(2 / 3)
    assert scores["agreement"] == pytest.approx(1 / 3)  # only the middle row agrees


def test_models_without_a_task_are_classifiers() -> None:
    assert task_of(torch.nn.Linear(2, 2)) == Classification()
    assert Segmentation(11, 11) == Segmentation(11, 11) != Segmentation(11, None)
    with pytest.raises(ValueError, match="task loss must be one of"):
        Classification().loss(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), None, "x", 1)


def test_two_steps_of_segmentation_training_lower_the_objective(tmp_path) -> None:
    from PIL import Image

    from j4d.data.paired import PairedFolderDataset, read_segmentation_classes
    from j4d.models.registry import IMAGENET_MEAN, IMAGENET_STD, FrozenModel
    from j4d.tables import QuantTables
    from j4d.train import TrainConfig, train_tables
    from j4d.train.trainer import Trainer

    rng = torch.Generator().manual_seed(3)
    for folder in ("images", "labels"):
        (tmp_path / "split" / folder).mkdir(parents=True)
    for k in range(4):
        image = torch.randint(0, 256, (16, 24, 3), generator=rng, dtype=torch.uint8)
        Image.fromarray(image.numpy()).save(tmp_path / "split" / "images" / f"{k}.png")
        label = torch.randint(0, 4, (16, 24), generator=rng, dtype=torch.uint8)
        Image.fromarray(label.numpy()).save(tmp_path / "split" / "labels" / f"{k}.png")
    (tmp_path / "classes.txt").write_text("0\ta\n1\tb\n2\tc\n3\tvoid\n")
    classes = read_segmentation_classes(tmp_path / "classes.txt")
    dataset = PairedFolderDataset(tmp_path / "split", classes)
    torch.manual_seed(0)
    network = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(8, 3, 3, padding=1)
    )
    model = FrozenModel(
        network, IMAGENET_MEAN, IMAGENET_STD, 16, "tiny", task=Segmentation(3, 3)
    ).freeze()
    config = TrainConfig(
        lam=1.0, init="qf:50", epochs=2, batch_size=4, lr=3.0, task_loss="cross_entropy"
    )
    images = torch.stack([dataset[i][0] for i in range(4)]).float()
    labels = torch.stack([dataset[i][1] for i in range(4)])

    def objective(tables: QuantTables) -> float:
        with torch.no_grad():
            return Trainer([model], dataset, config, tables).objective(images, labels)[0].item()

    result = train_tables(model, dataset, config, val_set=dataset, progress=False)
    assert result.history[-1]["step"] == 2
    assert 0 <= result.history[-1]["val_miou"] <= 1  # measured on real files, per epoch
    assert objective(result.tables) < objective(QuantTables.from_quality(50))


def test_segmentation_legend_keys_the_colours_of_its_class_maps():
    task = Segmentation(3, ignore_index=3, class_names=("sky", "road", "car"))
    legend = task.legend()
    assert [name for name, _ in legend] == ["sky", "road", "car"]
    picture = task.show(torch.tensor([[0, 1, 2]], dtype=torch.uint8))
    for k, (_, colour) in enumerate(legend):
        np.testing.assert_array_equal(picture[0, k], colour)
    assert [name for name, _ in Segmentation(2).legend()] == ["class 0", "class 1"]
    assert Classification().legend() == []
    with pytest.raises(ValueError, match="2 class names for 3 classes"):
        Segmentation(3, class_names=("a", "b"))
