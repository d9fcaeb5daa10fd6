"""Train the CUB-50 MobileNetV2 that ``create_model("cub50_mobilenet_v2")`` loads: the ImageNet
MobileNetV2 (folded BatchNorms, kept in eval mode) fine-tuned on ``cub50/train`` (1452 birds of
50 classes) on the CPU.

    python scripts/train_cub50_mobilenetv2.py --epochs 12 --work runs/cub50-mobilenetv2

Two stages. (1) A linear head on the frozen network's pooled features of the centre crops and
their mirror images: multinomial logistic regression by L-BFGS with weight decay, the probe
that reaches about 92 % alone. (2) From that head, the last backbone blocks and the head are
fine-tuned with AdamW, a cosine schedule, label smoothing 0.1, and augmentation: a random
rescale in [1, 1.3] of the 227x227 image, a random 224x224 crop and a horizontal flip. Test
images are centre crops of 224 (no resize), as ``j4d eval`` reads them; the test split only
reports, it selects nothing (the epoch count is fixed in advance).

Seeded (the same command gives the same weights on one machine); checkpoints every epoch into
``--work`` and resumes from there when run again. At the end it writes the weights as fp16 into
the package (``src/j4d/models/weights/``) with their sha256, and ``report.json`` in ``--work``.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
import torchvision
from _training import fine_tuning, resume, save_checkpoint, write_fp16_weights
from torch.nn import functional as F
from tqdm import tqdm

from j4d.data import require_data_root
from j4d.data.folders import ImageFolderDataset
from j4d.models.registry import CUB50_CLASSES, IMAGENET_MEAN, IMAGENET_STD
from j4d.utils.files import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "src/j4d/models/weights/cub50_mobilenet_v2.pt"
BACKBONE = "models/imagenet/mobilenet_v2-dq-8dd951e5.pth"
CROP = 224


def load_split(folder: Path, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image of an ImageFolder split as uint8 (N, 3, size, size), centre-cropped."""
    dataset = ImageFolderDataset(folder, size, resize="none")
    pairs = [dataset[i] for i in tqdm(range(len(dataset)), desc=folder.name)]
    return torch.stack([image for image, _ in pairs]), torch.tensor([label for _, label in pairs])


def normalize(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255
    return ((images.float() - mean) / std).contiguous(memory_format=torch.channels_last)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Per image: rescale by s in [1, 1.3], a random 224x224 crop, a flip with probability 1/2."""
    out = []
    for image in images.float():
        scale = 1 + 0.3 * float(torch.rand((), generator=generator))
        side = round(image.shape[-1] * scale)
        image = F.interpolate(image[None], (side, side), mode="bilinear", antialias=True)[0]
        top, left = (int(torch.randint(side - CROP + 1, (), generator=generator)) for _ in "tl")
        image = image[:, top : top + CROP, left : left + CROP]
        if torch.rand((), generator=generator) < 0.5:
            image = image.flip(-1)
        out.append(image)
    return torch.stack(out)


def centre(images: torch.Tensor) -> torch.Tensor:
    offset = (images.shape[-1] - CROP) // 2
    return images[..., offset : offset + CROP, offset : offset + CROP]


def build(data: Path) -> torch.nn.Module:
    model = torchvision.models.mobilenet_v2(weights=None)
    state = torch.load(data / BACKBONE, map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.classifier[1] = torch.nn.Linear(model.last_channel, CUB50_CLASSES)
    return model.to(memory_format=torch.channels_last)


@torch.no_grad()
def pooled(model: torch.nn.Module, images: torch.Tensor, batch: int = 50) -> torch.Tensor:
    model.eval()
    rows = []
    for start in tqdm(range(0, len(images), batch), desc="features", leave=False):
        features = model.features(normalize(images[start : start + batch]))
        rows.append(features.mean((2, 3)))
    return torch.cat(rows)


def fit_linear_head(
    features: torch.Tensor, labels: torch.Tensor, classes: int, weight_decay: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Multinomial logistic regression by L-BFGS: mean cross-entropy + wd/2 * |W|^2."""
    weight = torch.zeros(classes, features.shape[1], requires_grad=True)
    bias = torch.zeros(classes, requires_grad=True)
    optimizer = torch.optim.LBFGS(
        [weight, bias], lr=1, max_iter=500, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(features @ weight.T + bias, labels)
        loss = loss + 0.5 * weight_decay * weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    return weight.detach(), bias.detach()


@torch.no_grad()
def top1(model: torch.nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    model.eval()
    correct = 0
    for start in range(0, len(images), 50):
        logits = model(normalize(images[start : start + 50]))
        correct += int((logits.argmax(1) == labels[start : start + 50]).sum())
    return correct / len(images)


def set_mode(model: torch.nn.Module) -> None:
    model.train()
    model.features.eval()  # folded BatchNorms: their statistics are not real ones


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=Path("runs/cub50-mobilenetv2"))
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3, help="head")
    parser.add_argument("--backbone-lr", type=float, default=2e-4)
    parser.add_argument("--probe-decay", type=float, default=0.01, help="L-BFGS head's")
    parser.add_argument(
        "--frozen-blocks", type=int, default=7, help="first backbone blocks kept as on ImageNet"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="fp16 weights out")
    parser.add_argument("--limit", type=int, default=None, help="images per split (smoke runs)")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    data = require_data_root(args.data)
    train_images, train_labels = load_split(data / "cub50/train", 227)
    test_images, test_labels = load_split(data / "cub50/test", CROP)
    if args.limit:
        keep = torch.randperm(len(train_images), generator=torch.Generator().manual_seed(0))
        train_images, train_labels = (
            train_images[keep[: args.limit]],
            train_labels[keep[: args.limit]],
        )
        test_images, test_labels = test_images[: args.limit], test_labels[: args.limit]
    model = build(data)
    checkpoint = args.work / "checkpoint.pt"
    head = model.classifier[1]
    probe = {}
    if not checkpoint.is_file():
        crops = centre(train_images)
        features = torch.cat([pooled(model, crops), pooled(model, crops.flip(-1))])
        weight, bias = fit_linear_head(
            features, train_labels.repeat(2), CUB50_CLASSES, args.probe_decay
        )
        head.weight.data.copy_(weight)
        head.bias.data.copy_(bias)
        probe = {"probe_test_top1": top1(model, test_images, test_labels)}
        print(json.dumps(probe))
    steps_per_epoch = math.ceil(len(train_images) / args.batch_size)
    total = args.epochs * steps_per_epoch
    optimizer, schedule = fine_tuning(
        model, model.classifier, args.frozen_blocks, args.lr, args.backbone_lr, total
    )
    history, start = [], 0
    if state := resume(checkpoint, model, optimizer, schedule):
        history, start, probe = state["history"], state["epoch"], state["probe"]
    for epoch in range(start, args.epochs):
        set_mode(model)
        generator = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        torch.manual_seed(args.seed * 1000 + epoch)  # dropout
        order = torch.randperm(len(train_images), generator=generator)
        began, losses = time.time(), []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}")
        for step in bar:
            batch = order[step * args.batch_size : (step + 1) * args.batch_size]
            logits = model(normalize(augment(train_images[batch], generator)))
            loss = F.cross_entropy(logits, train_labels[batch], label_smoothing=0.1)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        row = {
            "epoch": epoch + 1,
            "loss": sum(losses) / len(losses),
            "seconds": time.time() - began,
        }
        if (epoch + 1) % 4 == 0 and epoch + 1 != args.epochs:
            row["test_top1"] = top1(model, test_images, test_labels)
        history.append(row)
        print(json.dumps(row))
        save_checkpoint(
            checkpoint, model, optimizer, schedule, history=history, epoch=epoch + 1, probe=probe
        )
    final = top1(model, test_images, test_labels)
    digest = write_fp16_weights(model, args.weights)
    report = {
        "test_top1": final,
        **probe,
        "history": history,
        "args": {k: str(v) for k, v in vars(args).items()},
        "sha256": digest,
    }
    atomic_write_text(args.work / "report.json", json.dumps(report, indent=1))
    print(json.dumps({"test_top1": final, **probe, "sha256": digest}))


if __name__ == "__main__":
    main()
