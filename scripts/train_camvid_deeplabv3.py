"""Train the CamVid DeepLabV3-MobileNetV2 that ``create_model("camvid_deeplabv3_mobilenet_v2")``
loads: ImageNet MobileNetV2 features (folded BatchNorms, kept in eval mode) + an ASPP head,
trained on CamVid train (367 pairs, full 360x480) on the CPU.

    python scripts/train_camvid_deeplabv3.py --epochs 30 --work runs/camvid-deeplabv3

Seeded (the same command gives the same weights on one machine); checkpoints every epoch into
``--work`` and resumes from there when run again. At the end it measures val mIoU, writes the
weights as fp16 into the package (``src/j4d/models/weights/``) and prints their sha256.
Loss: cross-entropy with median-frequency class weights (SegNet's), void ignored. The first 4
backbone blocks (full resolution, costly to backpropagate) stay as on ImageNet. Augmentation:
horizontal flip, a random scale in [0.75, 1.5] and a random 360x480 crop (void padding).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import torch
from _training import fine_tuning, resume, save_checkpoint, write_fp16_weights
from torch.nn import functional as F
from tqdm import tqdm

from j4d.data import require_data_root
from j4d.data.paired import PairedFolderDataset, read_segmentation_classes
from j4d.evaluation.realfile import load_split
from j4d.models.deeplab import DeepLabV3MobileNetV2
from j4d.models.registry import IMAGENET_MEAN, IMAGENET_STD
from j4d.tasks.segmentation_metrics import class_iou, confusion_matrix, mean_iou, pixel_accuracy
from j4d.utils.files import atomic_write_text

REPO = Path(__file__).resolve().parents[1]
WEIGHTS = REPO / "src/j4d/models/weights/camvid_deeplabv3_mobilenet_v2.pt"
BACKBONE = "models/imagenet/mobilenet_v2-dq-8dd951e5.pth"


def normalize(images: torch.Tensor) -> torch.Tensor:
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255
    return ((images.float() - mean) / std).contiguous(memory_format=torch.channels_last)


def augment(images, labels, generator, ignore):
    """Per image: flip, rescale by s in [0.75, 1.5], random crop back to the size (pad void)."""
    height, width = images.shape[-2:]
    out_images, out_labels = [], []
    for image, label in zip(images.float(), labels, strict=True):
        if torch.rand((), generator=generator) < 0.5:
            image, label = image.flip(-1), label.flip(-1)
        scale = 0.75 + 0.75 * float(torch.rand((), generator=generator))
        size = (round(height * scale), round(width * scale))
        image = F.interpolate(image[None], size, mode="bilinear", align_corners=False)[0]
        label = F.interpolate(label[None, None].float(), size, mode="nearest")[0, 0].long()
        pad_h, pad_w = max(height - size[0], 0), max(width - size[1], 0)
        if pad_h or pad_w:
            mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1) * 255
            image = F.pad(image - mean, (0, pad_w, 0, pad_h)) + mean
            label = F.pad(label, (0, pad_w, 0, pad_h), value=ignore)
        top = int(torch.randint(image.shape[1] - height + 1, (), generator=generator))
        left = int(torch.randint(image.shape[2] - width + 1, (), generator=generator))
        out_images.append(image[:, top : top + height, left : left + width])
        out_labels.append(label[top : top + height, left : left + width])
    return torch.stack(out_images), torch.stack(out_labels)


def median_frequency_weights(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    counts = torch.bincount(labels.reshape(-1), minlength=num_classes + 1)[:num_classes]
    frequency = counts.double() / counts.sum()
    return (frequency.median() / frequency).float()


def build(data: Path, num_classes: int) -> DeepLabV3MobileNetV2:
    model = DeepLabV3MobileNetV2(num_classes)
    state = torch.load(data / BACKBONE, map_location="cpu", weights_only=True)
    own = model.state_dict()
    features = {k: v for k, v in state.items() if k.startswith("features.") and k in own}
    missing, unexpected = model.load_state_dict(features, strict=False)
    assert not unexpected and all(k.startswith("head.") for k in missing), (missing, unexpected)
    return model.to(memory_format=torch.channels_last)


def set_mode(model: DeepLabV3MobileNetV2) -> None:
    model.train()
    model.features.eval()  # folded BatchNorms: their statistics are not real ones


@torch.no_grad()
def evaluate(model, images, labels, classes) -> dict:
    model.eval()
    confusion = torch.zeros(classes.num_classes, classes.num_classes, dtype=torch.long)
    for start in range(0, len(images), 4):
        logits = model(normalize(images[start : start + 4]))
        confusion += confusion_matrix(
            logits.argmax(1), labels[start : start + 4], classes.num_classes, classes.ignore_index
        )
    iou = class_iou(confusion)
    return {
        "miou": mean_iou(confusion),
        "pixel_accuracy": pixel_accuracy(confusion),
        "class_iou": dict(zip(classes.names[: classes.num_classes], iou.tolist(), strict=True)),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--work", type=Path, default=Path("runs/camvid-deeplabv3"))
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--backbone-lr", type=float, default=3e-4)
    parser.add_argument(
        "--frozen-blocks", type=int, default=4, help="first backbone blocks kept as on ImageNet"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--weights", type=Path, default=WEIGHTS, help="fp16 weights out")
    parser.add_argument("--limit", type=int, default=None, help="train images (smoke runs)")
    args = parser.parse_args(argv)
    torch.manual_seed(args.seed)
    data = require_data_root(args.data)
    classes = read_segmentation_classes(data / "camvid/classes.txt")
    train_images, train_labels = load_split(PairedFolderDataset(data / "camvid/train", classes))
    val_images, val_labels = load_split(PairedFolderDataset(data / "camvid/val", classes))
    if args.limit:
        train_images, train_labels = train_images[: args.limit], train_labels[: args.limit]
        val_images, val_labels = val_images[: args.limit], val_labels[: args.limit]
    weights = median_frequency_weights(train_labels, classes.num_classes)
    model = build(data, classes.num_classes)
    steps_per_epoch = math.ceil(len(train_images) / args.batch_size)
    total = args.epochs * steps_per_epoch
    optimizer, schedule = fine_tuning(
        model, model.head, args.frozen_blocks, args.lr, args.backbone_lr, total
    )
    checkpoint = args.work / "checkpoint.pt"
    history, start = [], 0
    if state := resume(checkpoint, model, optimizer, schedule):
        history, start = state["history"], state["epoch"]
    for epoch in range(start, args.epochs):
        set_mode(model)
        generator = torch.Generator().manual_seed(args.seed * 1000 + epoch)
        order = torch.randperm(len(train_images), generator=generator)
        began, losses = time.time(), []
        bar = tqdm(range(steps_per_epoch), desc=f"epoch {epoch + 1}/{args.epochs}")
        for step in bar:
            batch = order[step * args.batch_size : (step + 1) * args.batch_size]
            images, labels = augment(
                train_images[batch], train_labels[batch], generator, classes.ignore_index
            )
            logits = model(normalize(images))
            loss = F.cross_entropy(logits, labels, weights, ignore_index=classes.ignore_index)
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
        if (epoch + 1) % 5 == 0 or epoch + 1 == args.epochs:
            measured = evaluate(model, val_images, val_labels, classes)
            row |= {"val_miou": measured["miou"], "val_pixel_accuracy": measured["pixel_accuracy"]}
        history.append(row)
        print(json.dumps(row))
        save_checkpoint(checkpoint, model, optimizer, schedule, history=history, epoch=epoch + 1)
    final = evaluate(model, val_images, val_labels, classes)
    digest = write_fp16_weights(model, args.weights)
    report = {
        "val": final,
        "history": history,
        "args": {k: str(v) for k, v in vars(args).items()},
        "sha256": digest,
    }
    atomic_write_text(args.work / "report.json", json.dumps(report, indent=1))
    print(
        json.dumps(
            {"val_miou": final["miou"], "pixel_accuracy": final["pixel_accuracy"], "sha256": digest}
        )
    )


if __name__ == "__main__":
    main()
