"""What the model-training scripts share: a checkpoint per epoch that resumes a run, and the
fp16 weights they write into the package with their sha256."""

from __future__ import annotations

import hashlib
import io
import math
from pathlib import Path
from typing import Any

import torch

from j4d.utils.files import atomic_write_bytes, atomic_write_text


def save_checkpoint(path: Path, model, optimizer, schedule, **state: Any) -> None:
    """Model, optimizer and schedule states plus ``state`` (history, epoch, ...), atomically."""
    buffer = io.BytesIO()
    torch.save(
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "schedule": schedule.state_dict(),
            **state,
        },
        buffer,
    )
    atomic_write_bytes(path, buffer.getvalue())


def resume(path: Path, model, optimizer, schedule) -> dict[str, Any] | None:
    """Load a checkpoint into the three objects and return it, or None if there is none."""
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=False)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    schedule.load_state_dict(state["schedule"])
    print(f"resumed after epoch {state['epoch']}")
    return state


def write_fp16_weights(model: torch.nn.Module, path: Path) -> str:
    """The state dict in fp16 at ``path`` and ``<path>.sha256`` beside it; returns the digest."""
    buffer = io.BytesIO()
    torch.save(
        {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}, buffer
    )
    atomic_write_bytes(path, buffer.getvalue())
    digest = hashlib.sha256(buffer.getvalue()).hexdigest()
    atomic_write_text(path.with_suffix(".sha256"), f"{digest}  {path.name}\n")
    return digest


def cosine_schedule(optimizer, total_steps: int):
    """Each group's learning rate decays from its own to 0 over ``total_steps`` (cosine)."""
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer,
        lambda step: 0.5 * (1 + math.cos(math.pi * min(step, total_steps) / total_steps)),
    )


def fine_tuning(model, head, frozen_blocks: int, lr: float, backbone_lr: float, total_steps: int):
    """AdamW over ``model.features`` after its first ``frozen_blocks`` (no backward through
    those) at ``backbone_lr`` and over ``head`` at ``lr``, weight decay 1e-4, with a cosine
    schedule over ``total_steps``: (optimizer, schedule)."""
    model.features[:frozen_blocks].requires_grad_(False)
    trained = [p for p in model.features.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        [{"params": trained, "lr": backbone_lr}, {"params": head.parameters(), "lr": lr}],
        weight_decay=1e-4,
    )
    return optimizer, cosine_schedule(optimizer, total_steps)
