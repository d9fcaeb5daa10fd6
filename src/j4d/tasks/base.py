"""The task interface: loss on a model's output, compact predictions, metrics of a split."""

from __future__ import annotations

import copy
from abc import ABC, abstractmethod
from typing import ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from j4d.tasks.names import TASK_LOSSES

#: Label of an image without one: the model's own prediction on the original stands in.
UNLABELED = -1


def kl_divergence(
    logits: torch.Tensor, reference_logits: torch.Tensor, temperature: float = 1.0
) -> torch.Tensor:
    """``KL(softmax(reference/T) || softmax(logits/T))`` over the class dimension (1), at every
    other position: (N,) for a classifier, (N, H, W) for dense outputs."""
    log_p = F.log_softmax(logits / temperature, dim=1)
    log_reference = F.log_softmax(reference_logits / temperature, dim=1)
    return (log_reference.exp() * (log_reference - log_p)).sum(dim=1)


def fisher_probe_loss(
    logits: torch.Tensor,
    signs: torch.Tensor,
    temperature: float = 1.0,
    weights: torch.Tensor | None = None,
) -> torch.Tensor:
    r"""A loss whose gradient :math:`g` (to anything upstream of ``logits``) has
    :math:`\mathrm{E}[g g^\top]` equal to the Hessian of ``T^2 KL(p_T || p̂_T)`` at
    :math:`\hat p = p`, i.e. the Fisher information pulled back, so that :math:`\mathrm{E}[g^2]`
    is its diagonal: :math:`T \sum_y \varepsilon_y \sqrt{p_T(y)} \log p_T(y)` with
    :math:`p_T` held fixed and ``signs`` :math:`\varepsilon = \pm 1` (Rademacher, the shape of
    ``logits``), summed over images and positions. Its logit gradient
    :math:`u = \sum_y \varepsilon_y \sqrt{p_y}(e_y - p)` has
    :math:`\mathrm{E}[uu^\top] = \mathrm{diag}(p) - pp^\top`. ``weights`` (the shape of
    ``logits`` without the class dimension) weigh each position's divergence:
    :math:`\mathrm{E}[g g^\top] = \sum_i w_i J_i^\top F_i J_i`."""
    log_p = F.log_softmax(logits / temperature, dim=1)
    coefficients = signs * log_p.detach().exp().sqrt()
    if weights is not None:
        coefficients = coefficients * weights.detach().sqrt().unsqueeze(1)
    return temperature * (coefficients * log_p).sum()


def class_balanced_weights(logits: torch.Tensor) -> torch.Tensor:
    r"""(N, *positions) weights of a dense output's positions under which each class the model
    predicts in an image weighs alike, as mIoU weighs them: :math:`w_i = 1 / (K\,s_{c_i})`
    with :math:`c_i` the class predicted at position i, :math:`s_c` its share of the image's
    positions and K the number of classes predicted there (mean weight 1 per image). A
    classifier's (N, C) output gets weight 1."""
    if logits.dim() <= 2:
        return torch.ones(logits.shape[:1], dtype=logits.dtype, device=logits.device)
    predicted = logits.detach().argmax(dim=1).flatten(1)  # (N, P)
    counts = torch.zeros(
        predicted.shape[0], logits.shape[1], dtype=logits.dtype, device=logits.device
    )
    counts.scatter_add_(1, predicted, torch.ones_like(predicted, dtype=logits.dtype))
    present = (counts > 0).sum(dim=1, keepdim=True).to(logits.dtype)
    shares = counts / predicted.shape[1]
    weights = 1.0 / (present * shares.gather(1, predicted))
    return weights.reshape(logits.shape[:1] + logits.shape[2:])


def distillation_loss(
    logits: torch.Tensor, reference_logits: torch.Tensor, temperature: float
) -> torch.Tensor:
    """``T^2 KL(softmax(reference/T) || softmax(logits/T))`` (:func:`kl_divergence`), mean over
    every position (images; images and pixels for dense outputs). The ``T^2`` keeps
    gradients of the size of cross-entropy's when T changes (Hinton et al. 2015)."""
    return kl_divergence(logits, reference_logits, temperature).mean() * temperature**2


class Task(ABC):
    """Loss and metrics of one kind of model output. ``metrics[0]`` is the primary metric:
    the one frontiers are drawn with and read-offs use."""

    name: ClassVar[str]
    metrics: ClassVar[tuple[str, ...]]
    #: metric -> how reports name it
    labels: ClassVar[dict[str, str]]
    #: what the agreement metric compares, for reports
    agreement_means: ClassVar[str]
    ignore_index: int | None = None
    _read_by: str | None = None

    @property
    def primary(self) -> str:
        return self._read_by or self.metrics[0]

    def read_by(self, metric: str) -> Task:
        """This task with ``metric`` as its primary one (e.g. agreement, where no test image
        carries a label and every top-1 would be a miss)."""
        if metric not in self.metrics:
            raise ValueError(f"{self.name} has no metric {metric!r} ({', '.join(self.metrics)})")
        copied = copy.copy(self)
        object.__setattr__(copied, "_read_by", metric)  # tasks are frozen dataclasses
        return copied

    def targets(self, labels: torch.Tensor, reference_logits: torch.Tensor | None) -> torch.Tensor:
        """``labels`` with :data:`UNLABELED` entries replaced by the model's prediction on the
        original (``reference_logits``); a per-image UNLABELED stands for a whole label map."""
        unlabeled = labels == UNLABELED
        if not bool(unlabeled.any()):
            return labels
        if reference_logits is None:
            raise ValueError("unlabeled images need the model's output on the originals")
        own = reference_logits.argmax(dim=1)
        unlabeled = unlabeled.reshape(unlabeled.shape + (1,) * (own.dim() - unlabeled.dim()))
        labels = labels.reshape(unlabeled.shape)
        return torch.where(unlabeled, own, labels)

    def loss(
        self,
        logits: torch.Tensor,
        labels: torch.Tensor,
        reference_logits: torch.Tensor | None,
        kind: str,
        temperature: float,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(task loss, cross-entropy) of ``logits`` of the compressed images; the cross-entropy
        (against the labels, unlabeled ones replaced) is returned whatever ``kind`` is."""
        if kind not in TASK_LOSSES:
            raise ValueError(f"task loss must be one of {', '.join(TASK_LOSSES)}, got {kind!r}")
        targets = self.targets(labels, reference_logits)
        ignore = -100 if self.ignore_index is None else self.ignore_index
        ce = F.cross_entropy(logits, targets, ignore_index=ignore)
        if kind == "cross_entropy":
            return ce, ce
        if reference_logits is None:
            raise ValueError("distillation needs the model's output on the originals")
        return distillation_loss(logits, reference_logits, temperature), ce

    @abstractmethod
    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """What the metrics need of a batch's output, compact and on the CPU."""

    @abstractmethod
    def decision(self, predictions: torch.Tensor) -> torch.Tensor:
        """What agreement compares in ``predictions``: the top-1 class per image, or the class
        per pixel."""

    @abstractmethod
    def label_metrics(self, predictions: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        """The metrics against the labels (every metric but agreement)."""

    def score(
        self,
        predictions: torch.Tensor,
        labels: torch.Tensor,
        references: torch.Tensor | None = None,
    ) -> dict[str, float]:
        """Every metric (fractions) of a split's ``predictions`` against its ``labels``;
        agreement against ``references`` (predictions on the uncompressed images; NaN
        without them)."""
        agree = float("nan") if references is None else self.agreement(predictions, references)
        return {**self.label_metrics(predictions, labels), "agreement": agree}

    def agreement(self, predictions: torch.Tensor, references: torch.Tensor) -> float:
        """The share of decisions (images, or pixels) that are the same in both."""
        return float((self.decision(predictions) == self.decision(references)).float().mean())

    def show(self, prediction: torch.Tensor) -> np.ndarray | None:
        """One image's prediction as an RGB picture, or None where it is not one."""
        return None

    def legend(self) -> list[tuple[str, np.ndarray]]:
        """(name, RGB uint8 colour) of what :meth:`show` draws; empty where it draws nothing."""
        return []

    @abstractmethod
    def caption(self, prediction: torch.Tensor, reference: torch.Tensor) -> str:
        """One image's prediction in a few words, beside its ``reference`` (the prediction on
        the uncompressed image)."""


def describe_metric(task: Task, value: float, metric: str | None = None) -> str:
    """``top-1 accuracy 91.20%``: a metric (the primary one by default) for a report line."""
    metric = metric or task.primary
    return f"{task.labels[metric]} {100 * value:.2f}%"


def task_of(model: nn.Module) -> Task:
    """The task a model carries (``model.task``); models without one are classifiers."""
    from j4d.tasks.classification import Classification

    return getattr(model, "task", None) or Classification()
