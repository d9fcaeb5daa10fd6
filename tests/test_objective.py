"""Task losses: known values, zero where the output is unchanged, gradients, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.nn import functional as F

from j4d.data.folders import UNLABELED
from j4d.errors import InvalidInputError
from j4d.tasks.objective import distillation_loss, task_loss
from j4d.train import TrainConfig


def test_distillation_known_value():
    logits = torch.tensor([[0.0, 0.0]])
    reference = torch.tensor([[math.log(3.0), 0.0]])  # softmax (3/4, 1/4) at T = 1
    expected = 0.75 * math.log(0.75 / 0.5) + 0.25 * math.log(0.25 / 0.5)
    assert distillation_loss(logits, reference, 1.0).item() == pytest.approx(expected)
    # at T = 2 the reference is softmax(log(3) / 2, 0) = (sqrt 3, 1) / (sqrt 3 + 1), times T^2
    p = math.sqrt(3) / (math.sqrt(3) + 1)
    expected_t2 = 4 * (p * math.log(2 * p) + (1 - p) * math.log(2 * (1 - p)))
    assert distillation_loss(logits, reference, 2.0).item() == pytest.approx(expected_t2)


def test_distillation_is_zero_at_the_reference_and_positive_elsewhere():
    torch.manual_seed(0)
    reference = torch.randn(5, 10)
    assert distillation_loss(reference, reference, 4.0).item() == pytest.approx(0.0, abs=1e-6)
    assert distillation_loss(reference + torch.randn(5, 10), reference, 4.0).item() > 0


def test_distillation_gradcheck():
    torch.manual_seed(0)
    logits = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    reference = torch.randn(3, 4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda z: distillation_loss(z, reference, 3.0), (logits,))


def test_task_loss_kinds_and_averaging():
    torch.manual_seed(0)
    models = [nn.Linear(6, 3).double(), nn.Linear(6, 3).double()]
    originals = torch.randn(4, 6, dtype=torch.float64)
    decoded = originals + 0.1 * torch.randn(4, 6, dtype=torch.float64)
    labels = torch.tensor([0, 1, 2, 1])
    ce_loss, ce = task_loss(models, decoded, originals, labels)
    expected = sum(F.cross_entropy(m(decoded), labels) for m in models) / 2
    assert ce_loss.item() == pytest.approx(expected.item()) and ce.item() == ce_loss.item()
    kd, ce_again = task_loss(models, decoded, originals, labels, "distillation", 2.0)
    expected = sum(distillation_loss(m(decoded), m(originals), 2.0) for m in models) / 2
    assert kd.item() == pytest.approx(expected.item()) and ce_again.item() == ce.item()
    same, _ = task_loss(models, originals, originals, labels, "distillation", 2.0)
    assert same.item() == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="task loss"):
        task_loss(models, decoded, originals, labels, "mse")


def test_unlabeled_images_take_each_models_top_class_on_the_original():
    torch.manual_seed(0)
    models = [nn.Linear(6, 3).double(), nn.Linear(6, 3).double()]
    originals = torch.randn(4, 6, dtype=torch.float64)
    decoded = originals + 0.1 * torch.randn(4, 6, dtype=torch.float64)
    labels = torch.tensor([0, UNLABELED, 2, UNLABELED])
    _, ce = task_loss(models, decoded, originals, labels)
    expected = 0.0
    for model in models:
        own = torch.where(labels == UNLABELED, model(originals).argmax(1), labels)
        expected += F.cross_entropy(model(decoded), own).item() / 2
    assert ce.item() == pytest.approx(expected)
    # distillation does not look at labels at all
    labelled, _ = task_loss(models, decoded, originals, torch.tensor([0, 1, 2, 1]), "distillation")
    unlabelled, _ = task_loss(models, decoded, originals, labels, "distillation")
    assert unlabelled.item() == pytest.approx(labelled.item())


def test_worst_pooling_takes_the_largest_models_loss_and_its_gradient():
    torch.manual_seed(1)
    models = [nn.Linear(6, 3).double(), nn.Linear(6, 3).double()]
    originals = torch.randn(5, 6, dtype=torch.float64)
    decoded = (originals + 0.3 * torch.randn(5, 6, dtype=torch.float64)).requires_grad_()
    labels = torch.full((5,), UNLABELED)
    alone = [task_loss([m], decoded, originals, labels, "distillation")[0] for m in models]
    mean, ce_mean = task_loss(models, decoded, originals, labels, "distillation")
    worst, ce_worst = task_loss(models, decoded, originals, labels, "distillation", 4.0, "worst")
    assert mean.item() == pytest.approx((alone[0].item() + alone[1].item()) / 2)
    assert worst.item() == pytest.approx(max(a.item() for a in alone))
    assert alone[0].item() != pytest.approx(alone[1].item())  # the max picks one model
    # the cross-entropy in the history is averaged either way
    assert ce_worst.item() == pytest.approx(ce_mean.item())
    # the gradient is the worst model's alone
    largest = max(alone, key=lambda a: a.item())
    (expected,) = torch.autograd.grad(largest, decoded, retain_graph=True)
    (got,) = torch.autograd.grad(worst, decoded)
    assert torch.allclose(got, expected)


def test_task_loss_settings_are_checked():
    with pytest.raises(InvalidInputError, match="task loss must be one of"):
        TrainConfig(task_loss="mse")
    with pytest.raises(InvalidInputError, match="model pooling must be one of"):
        TrainConfig(model_pooling="median")
    assert TrainConfig.from_dict({"lam": 1.0}).model_pooling == "mean"
    with pytest.raises(InvalidInputError, match="temperature"):
        TrainConfig(task_loss="distillation", temperature=0)
    # runs saved before the setting existed trained with cross-entropy
    assert TrainConfig.from_dict({"lam": 1.0}).task_loss == "cross_entropy"
