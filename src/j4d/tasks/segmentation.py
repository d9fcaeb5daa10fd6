"""Semantic segmentation: mIoU over the classes, pixel accuracy, agreement per pixel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from j4d.tasks.base import Task
from j4d.tasks.segmentation_metrics import confusion_matrix, mean_iou, pixel_accuracy


@dataclass(frozen=True)
class Segmentation(Task):
    """Logits (N, C, H, W) for label maps (N, H, W) whose ``ignore_index`` pixels (void) count
    in neither loss nor metrics. mIoU is over the whole split (one confusion matrix), the mean
    over classes present in labels or predictions. Agreement: the share of pixels whose class
    after compression is the model's class on the uncompressed image."""

    name = "segmentation"
    metrics = ("miou", "pixel_accuracy", "agreement")
    labels: ClassVar[dict[str, str]] = {
        "miou": "mIoU",
        "pixel_accuracy": "pixel accuracy",
        "agreement": "agreement",
    }
    agreement_means = "class of a pixel after compression = its class on the uncompressed image"

    num_classes: int
    ignore_index: int | None = None
    # what each output channel is (the figures' legend), like torchvision's meta["categories"]
    class_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.class_names and len(self.class_names) != self.num_classes:
            raise ValueError(f"{len(self.class_names)} class names for {self.num_classes} classes")

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """The (N, H, W) class maps (uint8 when the classes fit)."""
        dtype = torch.uint8 if self.num_classes <= 256 else torch.int64
        return logits.argmax(dim=1).to(torch.device("cpu"), dtype)

    def decision(self, predictions: torch.Tensor) -> torch.Tensor:
        return predictions

    def label_metrics(self, predictions: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        confusion = confusion_matrix(predictions, labels, self.num_classes, self.ignore_index)
        return {"miou": mean_iou(confusion), "pixel_accuracy": pixel_accuracy(confusion)}

    def show(self, prediction: torch.Tensor) -> np.ndarray:
        """Class maps in a fixed palette (tab20: one colour per class)."""
        palette = _palette()
        return palette[prediction.long().numpy() % len(palette)]

    def legend(self) -> list[tuple[str, np.ndarray]]:
        names = self.class_names or tuple(f"class {k}" for k in range(self.num_classes))
        palette = _palette()
        return [(name, palette[k % len(palette)]) for k, name in enumerate(names)]

    def caption(self, prediction: torch.Tensor, reference: torch.Tensor) -> str:
        return f"{100 * self.agreement(prediction, reference):.1f} % of pixels as uncompressed"


def _palette() -> np.ndarray:
    from matplotlib import colormaps

    return (colormaps["tab20"](np.arange(20))[:, :3] * 255).astype(np.uint8)
