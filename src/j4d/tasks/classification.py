"""Image classification: top-1, top-5 and agreement with the uncompressed image's top-1."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import torch

from j4d.tasks.base import Task


@dataclass(frozen=True)
class Classification(Task):
    """Logits (N, C). Agreement: the share of images whose top-1 class after compression is
    the model's top-1 on the uncompressed image (free of label noise)."""

    name = "classification"
    metrics = ("top1", "top5", "agreement")
    labels: ClassVar[dict[str, str]] = {
        "top1": "top-1 accuracy",
        "top5": "top-5 accuracy",
        "agreement": "agreement",
    }
    agreement_means = "top-1 class after compression = top-1 on the uncompressed image"
    # what each output is called (captions), like torchvision's weights.meta["categories"]
    class_names: tuple[str, ...] = ()

    def class_name(self, index: int) -> str:
        """The name of output ``index``, else ``class <index>``."""
        if 0 <= index < len(self.class_names):
            return self.class_names[index]
        return f"class {index}"

    def predict(self, logits: torch.Tensor) -> torch.Tensor:
        """The (N, 5) best classes, best first."""
        return logits.topk(min(5, logits.shape[1]), dim=1).indices.cpu()

    def decision(self, predictions: torch.Tensor) -> torch.Tensor:
        return predictions[:, 0]

    def label_metrics(self, predictions: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        top1 = float((predictions[:, 0] == labels).float().mean())
        top5 = float((predictions == labels[:, None]).any(dim=1).float().mean())
        return {"top1": top1, "top5": top5}

    def caption(self, prediction: torch.Tensor, reference: torch.Tensor) -> str:
        mine, theirs = int(prediction[0]), int(reference[0])
        same = mine == theirs
        return self.class_name(mine) + ("" if same else f" (original: {self.class_name(theirs)})")
