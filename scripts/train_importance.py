"""Distil the block-importance predictor (:mod:`j4d.encoders.predictor`) from guide models'
Fisher block scores.

Images: 224x224 crops (short side resized to 256, centre crop, as a classifier's pipeline) of
the photos under ``--photos`` folders (default: the data folder's imagenet-samples and kodak24,
and ``../photos/coco/train2017`` if present), never imagenet-val, which the probes measure on.
Targets: each guide's Fisher diagonal at the original (``--probes`` Rademacher probes, as
``j4d encode -m`` measures it), turned into block scores with the reference tables (``--tables``:
a zoo entry, the steps that weigh each frequency) and normalized to mean 1 per image, then
averaged over the guides; the network fits their logs (floored at 1e-3) up to a constant per
image. The last ``--holdout`` share of the images is left out of training and reported.

Usage: python scripts/train_importance.py [-m MODEL ...] [--probes 4] [--epochs 400]
           [-o src/j4d/encoders/data/importance_predictor.npz]
Targets are cached in ``--cache`` (default runs/importance/targets.npz): a rerun with the same
images and guides trains again without the models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

from j4d.data import require_data_root
from j4d.data.folders import preprocess
from j4d.data.root import data_set_name
from j4d.encoders.importance import MAPS
from j4d.encoders.model_rd import BlockCurvature, block_scores
from j4d.encoders.predictor import DEFAULT_WEIGHTS, ImportancePredictor, block_features
from j4d.errors import InvalidInputError
from j4d.jpegio.images import image_files, load_image_tensor
from j4d.models import create_model
from j4d.tables import QuantTables
from j4d.utils.files import atomic_write_json
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


def targets(images: list[np.ndarray], guides: list[str], probes: int, tables: QuantTables):
    """(N, B) pooled normalized block scores of the guides."""
    pooled = np.zeros((len(images), images[0].shape[0] // 8 * (images[0].shape[1] // 8)))
    for name in guides:
        model = create_model(name)
        curvature = BlockCurvature(model, probes=probes, keep=False)
        for start in range(0, len(images), 16):
            batch = images[start : start + 16]
            for offset, h in enumerate(curvature.measure(batch)):
                pooled[start + offset] += block_scores(h, tables) / len(guides)
        print(f"targets of {name}: {len(images)} images", flush=True)
    return pooled


def fit(features: np.ndarray, goals: np.ndarray, hidden: int, epochs: int, seed: int):
    """An MLP on (N, B, F) features fitting (N, B) log scores up to a constant per image."""
    torch.manual_seed(seed)
    x = torch.as_tensor(features, dtype=torch.float32)
    mean, std = x.reshape(-1, x.shape[-1]).mean(0), x.reshape(-1, x.shape[-1]).std(0) + 1e-6
    x = (x - mean) / std
    y = torch.as_tensor(goals, dtype=torch.float32)
    y = y - y.mean(dim=1, keepdim=True)
    network = torch.nn.Sequential(
        torch.nn.Linear(x.shape[-1], hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, hidden),
        torch.nn.ReLU(),
        torch.nn.Linear(hidden, 1),
    )
    optimizer = torch.optim.Adam(network.parameters(), lr=3e-3)
    generator = torch.Generator().manual_seed(seed)
    for epoch in range(epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), 32):
            index = order[start : start + 32]
            predicted = network(x[index])[..., 0]
            predicted = predicted - predicted.mean(dim=1, keepdim=True)
            loss = torch.mean((predicted - y[index]) ** 2)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        if epoch % 50 == 0 or epoch == epochs - 1:
            print(f"epoch {epoch}: loss {loss.item():.4f}", flush=True)
    layers = [m for m in network if isinstance(m, torch.nn.Linear)]
    arrays = {"mean": mean, "std": std}
    for n, layer in enumerate(layers, 1):
        arrays[f"w{n}"] = layer.weight.detach().T
        arrays[f"b{n}"] = layer.bias.detach()
    return ImportancePredictor(**{k: v.double().numpy() for k, v in arrays.items()})


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
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--holdout", type=float, default=0.15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("runs/importance/targets.npz"))
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_WEIGHTS)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    guides = args.guides or ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1"]
    root = require_data_root()
    folders = args.photos or [root / "imagenet-samples", root / "kodak24"]
    coco = root.parent.parent / "photos" / "coco" / "train2017"
    if not args.photos and coco.is_dir():
        folders.append(coco)
    images = crops(folders, args.limit)
    tables = nearest("mobilenet_v2", args.tables_bpp, "file_bpp").load()
    key = {
        "guides": guides,
        "images": len(images),
        "probes": args.probes,
        "folders": [data_set_name(f) for f in folders],
        "tables_bpp": args.tables_bpp,
    }
    if args.cache.is_file() and json.loads(str(np.load(args.cache)["key"])) == key:
        pooled = np.load(args.cache)["pooled"]
    else:
        pooled = targets(images, guides, args.probes, tables)
        args.cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.cache, pooled=pooled, key=json.dumps(key))
    features = np.stack([block_features(image) for image in images])
    goals = np.log(np.maximum(pooled, FLOOR))
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(images))
    held = order[: int(len(images) * args.holdout)]
    used = order[len(held) :]
    predictor = fit(features[used], goals[used], args.hidden, args.epochs, args.seed)
    report = {
        **key,
        "hidden": args.hidden,
        "epochs": args.epochs,
        "train": correlation([predictor.log_scores(f) for f in features[used]], goals[used]),
        "held_out": correlation([predictor.log_scores(f) for f in features[held]], goals[held]),
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
