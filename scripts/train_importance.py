"""Distil the block-importance predictor (:mod:`j4d.encoders.predictor`) from guide models'
Fisher block scores.

Images: 224x224 crops (short side resized to 256, centre crop, as a classifier's pipeline) of
the photos under ``--photos`` folders (default: the data folder's imagenet-samples, kodak24,
``cub50/train`` and ``camvid/train/images``, and ``../photos/coco/train2017`` if present), never
imagenet-val, which the probes and evaluations measure on.
Targets: each guide's Fisher diagonal at the original (``--probes`` Rademacher probes, as
``j4d encode -m`` measures it), turned into block scores with the reference tables (the zoo's
MobileNetV2 table nearest ``--tables-bpp``: the steps that weigh each frequency), normalized to
mean 1 per image, then averaged over the guides; the network (``--layers``: convolutions over
the block grid, 1x1 by default) fits their logs (floored at 1e-3) up to a constant per image. A
random ``--holdout`` share of the images is left out of training and reported. The shipped
predictor adds ``--centre-prior`` times the centre map's log to the network's output: chosen on
imagenet-samples with EfficientNet-Lite2's scores (a model that guided nothing), where the
network alone, trained on the other folders, carries less of the centre than ImageNet photos do.

Usage: python scripts/train_importance.py [-m MODEL ...] [--probes 4] [--epochs 60]
           [--layers 1:32,1:32] [--centre-prior 1] [-o runs/importance/predictor.npz]
Targets are cached per folder and guide in ``--cache`` (default runs/importance): a rerun, or
one with a folder or guide added, measures only what is new.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import sys
from pathlib import Path

import numpy as np
import torch

from j4d.data import require_data_root
from j4d.data.folders import preprocess
from j4d.data.root import data_set_name
from j4d.encoders.importance import MAPS
from j4d.encoders.model_rd import model_block_scores
from j4d.encoders.predictor import DEFAULT_WEIGHTS, ImportancePredictor, block_features
from j4d.errors import InvalidInputError
from j4d.jpegio.images import image_files, load_image_tensor
from j4d.models import create_model
from j4d.utils.files import atomic_write_bytes, atomic_write_json
from j4d.zoo import nearest

FLOOR = 1e-3


def crops(folders: list[Path], limit: int | None) -> list[np.ndarray]:
    paths = [path for folder in folders for path in image_files(folder)]
    images = []
    for path in paths[:limit]:
        try:
            tensor = load_image_tensor(path)
        except InvalidInputError:  # an unreadable photo is skipped
            continue
        images.append(preprocess(tensor, 224).permute(1, 2, 0).contiguous().numpy())
    return images


def cached_targets(folder: Path, images, guides, probes, tables, tables_bpp, cache: Path):
    """(G, N, B) each guide's normalized block scores of one folder's crops, cached per folder
    and guide in ``cache``: adding a folder or a guide measures only what is new."""
    per_guide = []
    for guide in guides:
        key = {
            "guide": guide,
            "folder": data_set_name(folder),
            "images": len(images),
            "probes": probes,
            "tables_bpp": tables_bpp,
        }
        path = cache / f"{data_set_name(folder).replace('/', '_')}-{guide}-p{probes}.npz"
        if path.is_file() and json.loads(str(np.load(path)["key"])) == key:
            per_guide.append(np.load(path)["scores"])
            continue
        scores = model_block_scores(create_model(guide), images, tables, probes)
        print(f"targets of {guide}: {len(images)} images of {data_set_name(folder)}", flush=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO()
        np.savez(buffer, scores=scores, key=json.dumps(key))
        atomic_write_bytes(path, buffer.getvalue())
        per_guide.append(scores)
    return np.stack(per_guide)


def parse_layers(text: str) -> list[tuple[int, int]]:
    """``"1:32,3:16"`` -> [(kernel 1, 32 channels), (kernel 3, 16 channels)]: the hidden layers
    (a last 1x1 layer to one channel follows)."""
    layers = [tuple(int(v) for v in part.split(":")) for part in text.split(",") if part]
    if not all(len(layer) == 2 and layer[0] % 2 == 1 and layer[1] > 0 for layer in layers):
        raise SystemExit(f"--layers: expected KERNEL:CHANNELS,... with odd kernels, got {text!r}")
    return layers


def fit(features: np.ndarray, goals: np.ndarray, grid, layers, epochs: int, seed: int):
    """Convolutions over the block grid on (N, B, F) features fitting (N, B) log scores up to
    a constant per image."""
    torch.manual_seed(seed)
    x = torch.as_tensor(features, dtype=torch.float32)
    mean, std = x.reshape(-1, x.shape[-1]).mean(0), x.reshape(-1, x.shape[-1]).std(0) + 1e-6
    x = ((x - mean) / std).reshape(len(x), *grid, -1).permute(0, 3, 1, 2).contiguous()
    y = torch.as_tensor(goals, dtype=torch.float32)
    y = y - y.mean(dim=1, keepdim=True)
    convolutions, channels = [], x.shape[1]
    for kernel, width in [*layers, (1, 1)]:
        convolutions.append(
            torch.nn.Conv2d(channels, width, kernel, padding=kernel // 2, padding_mode="replicate")
        )
        channels = width
    modules = [m for c in convolutions for m in (c, torch.nn.ReLU())][:-1]
    network = torch.nn.Sequential(*modules)
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 32):
            index = order[start : start + 32]
            predicted = network(x[index]).flatten(1)
            predicted = predicted - predicted.mean(dim=1, keepdim=True)
            loss = torch.mean((predicted - y[index]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
        if epoch % 20 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch}: loss {loss.item():.4f}", flush=True)
    return ImportancePredictor(
        mean=mean.double().numpy(),
        std=std.double().numpy(),
        weights=tuple(c.weight.detach().permute(2, 3, 1, 0).double().numpy() for c in convolutions),
        biases=tuple(c.bias.detach().double().numpy() for c in convolutions),
    )


def correlation(predicted: list[np.ndarray], goals: np.ndarray) -> dict:
    """Mean per-image Pearson correlation of predicted and target log scores, and the share of
    the target's top-quarter blocks the prediction also puts in its top quarter."""
    pearson, overlap = [], []
    for p, g in zip(predicted, goals, strict=True):
        pearson.append(float(np.corrcoef(p, g)[0, 1]))
        quarter = len(g) // 4
        top_p, top_g = set(np.argsort(p)[-quarter:]), set(np.argsort(g)[-quarter:])
        overlap.append(len(top_p & top_g) / quarter)
    return {"pearson": float(np.mean(pearson)), "top_quarter_overlap": float(np.mean(overlap))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-m", "--model", dest="guides", action="append")
    parser.add_argument("--photos", type=Path, action="append")
    parser.add_argument("--limit", type=int, default=None, help="photos per run (all: none)")
    parser.add_argument("--probes", type=int, default=4)
    parser.add_argument("--tables-bpp", type=float, default=1.0)
    parser.add_argument("--layers", default="1:32,1:32", help="hidden KERNEL:CHANNELS,...")
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--holdout", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--centre-prior", type=float, default=1.0, help="weight of the centre map's log (added)"
    )
    parser.add_argument("--cache", type=Path, default=Path("runs/importance"))
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_WEIGHTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    guides = args.guides or ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1"]
    root = require_data_root()
    folders = args.photos or [root / "imagenet-samples", root / "kodak24"]
    coco = root.parent.parent / "photos" / "coco" / "train2017"
    if not args.photos:
        folders += [coco] if coco.is_dir() else []
        folders += [root / "cub50" / "train", root / "camvid" / "train" / "images"]
    tables = nearest("mobilenet_v2", args.tables_bpp, "file_bpp").load()
    per_folder = [(folder, crops([folder], args.limit)) for folder in folders]
    images = [image for _, found in per_folder for image in found]
    scores = np.concatenate(
        [
            cached_targets(folder, found, guides, args.probes, tables, args.tables_bpp, args.cache)
            for folder, found in per_folder
        ],
        axis=1,
    )
    pooled = scores.mean(axis=0)
    key = {
        "guides": guides,
        "images": len(images),
        "probes": args.probes,
        "folders": [data_set_name(f) for f in folders],
        "tables_bpp": args.tables_bpp,
    }
    features = np.stack([block_features(image) for image in images])
    goals = np.log(np.maximum(pooled, FLOOR))
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(images))
    held = order[: int(len(images) * args.holdout)]
    used = order[len(held) :]
    grid = (images[0].shape[0] // 8, images[0].shape[1] // 8)
    predictor = fit(
        features[used], goals[used], grid, parse_layers(args.layers), args.epochs, args.seed
    )
    predictor = dataclasses.replace(predictor, centre_prior=args.centre_prior)
    report = {
        **key,
        "layers": args.layers,
        "centre_prior": args.centre_prior,
        "epochs": args.epochs,
        "train": correlation([predictor.log_scores(f, grid) for f in features[used]], goals[used]),
        "held_out": correlation(
            [predictor.log_scores(f, grid) for f in features[held]], goals[held]
        ),
        # what the image-only maps alone give on the same held-out images
        "held_out_maps": {
            name: correlation([np.log(MAPS[name](images[i])) for i in held], goals[held])
            for name in MAPS
        },
    }
    predictor.save(args.out)
    atomic_write_json(args.out.with_suffix(".json"), report)
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
