"""Segmentation metrics from a confusion matrix accumulated over a whole test set.

``confusion[t, p]`` counts pixels of true class ``t`` predicted as ``p`` (pixels labeled with the
ignore index are left out). Per class, IoU = TP / (TP + FP + FN); mIoU is the mean over the
classes whose union is not empty (a class absent from both the labels and the predictions of
every image says nothing), as in the Pascal VOC and CamVid benchmarks.
"""

from __future__ import annotations

import torch


def confusion_matrix(
    predicted: torch.Tensor, target: torch.Tensor, num_classes: int, ignore_index: int | None
) -> torch.Tensor:
    """(C, C) int64 counts of (true, predicted) class pairs over the pixels of two label maps
    of one shape; pixels whose target is ``ignore_index`` (or outside 0..C-1) are skipped."""
    if predicted.shape != target.shape:
        raise ValueError(f"shapes differ: {tuple(predicted.shape)} vs {tuple(target.shape)}")
    target, predicted = target.reshape(-1).long(), predicted.reshape(-1).long()
    keep = (target >= 0) & (target < num_classes)
    if ignore_index is not None:
        keep &= target != ignore_index
    pairs = target[keep] * num_classes + predicted[keep]
    counts = torch.bincount(pairs, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes).cpu()


def class_iou(confusion: torch.Tensor) -> torch.Tensor:
    """Per-class IoU (float64); NaN where the class is in neither labels nor predictions."""
    confusion = confusion.double()
    true_positive = confusion.diagonal()
    union = confusion.sum(0) + confusion.sum(1) - true_positive
    return torch.where(union > 0, true_positive / union.clamp_min(1), torch.nan)


def mean_iou(confusion: torch.Tensor) -> float:
    """Mean IoU over the classes present in the labels or the predictions."""
    iou = class_iou(confusion)
    present = ~iou.isnan()
    return float(iou[present].mean()) if bool(present.any()) else float("nan")


def pixel_accuracy(confusion: torch.Tensor) -> float:
    """Share of the counted (non-ignored) pixels predicted as their true class."""
    total = int(confusion.sum())
    return float(confusion.diagonal().sum()) / total if total else float("nan")
