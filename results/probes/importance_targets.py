"""Probe (issue 46): how well does each block-importance map agree with a model's own?

The Fisher block scores (:mod:`j4d.encoders.model_rd`, 4 probes, weighed by the zoo's
MobileNetV2 table nearest 1 bpp, as ``scripts/train_importance.py`` measures its targets) of
MobileNetV2, EfficientNet-Lite0/1 (the predictor's guides) and EfficientNet-Lite2 (held out)
on the first 200 imagenet-val images (224 centre crops), against each other, the pooled score
of the three guides (the predictor's target), the ``centre`` map and the shipped predictor
(with and without its centre prior). The figure is the mean over the images of the Pearson
correlation of the log scores (floored at 1e-3) across the image's 784 blocks; ``spread`` is
the mean standard deviation of a map's log scores within an image (what strength 1 applies).

Writes ``importance_targets.json`` and ``importance_targets.md``. The scores are cached in
``runs/importance/imagenet-val-200-targets.npz``. Run from the repository root:
``.venv/bin/python results/probes/importance_targets.py``
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
from common import imagenet_crops

from j4d.encoders.importance import importance_map
from j4d.encoders.model_rd import model_block_scores
from j4d.encoders.predictor import load_predictor
from j4d.models import create_model
from j4d.utils.files import atomic_write_json
from j4d.zoo import nearest

HERE = Path(__file__).parent
CACHE = HERE.parents[1] / "runs" / "importance" / "imagenet-val-200-targets.npz"
IMAGES = 200
MODELS = ["mobilenet_v2", "efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
GUIDES = MODELS[:3]
FLOOR = 1e-3


def model_scores(images: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Each model's (N, B) normalized Fisher block scores, cached."""
    if CACHE.is_file():
        with np.load(CACHE) as cached:
            if set(cached.files) == set(MODELS) and len(cached[MODELS[0]]) == len(images):
                return {name: cached[name] for name in MODELS}
    tables = nearest("mobilenet_v2", 1.0, "file_bpp").load()
    found = {name: model_block_scores(create_model(name), images, tables, 4) for name in MODELS}
    CACHE.parent.mkdir(parents=True, exist_ok=True)
    np.savez(CACHE, **found)
    return found


def agreement(first: np.ndarray, second: np.ndarray) -> float:
    """Mean over images of the Pearson correlation of two (N, B) log-score arrays."""
    return float(np.mean([np.corrcoef(a, b)[0, 1] for a, b in zip(first, second, strict=True)]))


def main() -> None:
    test = imagenet_crops(IMAGES)
    images = [image.permute(1, 2, 0).contiguous().numpy() for image in test.images]
    scores = model_scores(images)
    logs = {name: np.log(np.maximum(value, FLOOR)) for name, value in scores.items()}
    pooled = np.mean([scores[name] for name in GUIDES], axis=0)
    shipped = load_predictor()
    without_prior = dataclasses.replace(shipped, centre_prior=0.0)
    maps = {
        **{f"{name}'s Fisher scores": logs[name] for name in MODELS},
        "the three guides pooled (the target)": np.log(np.maximum(pooled, FLOOR)),
        "centre map": np.array([np.log(importance_map("centre", im)) for im in images]),
        "predictor": np.array([np.log(shipped.scores(im)) for im in images]),
        "predictor without its centre prior": np.array(
            [np.log(without_prior.scores(im)) for im in images]
        ),
    }
    rows = [
        {
            "map": label,
            "spread": float(np.mean(value.std(axis=1))),
            **{name: agreement(value, logs[name]) for name in MODELS},
        }
        for label, value in maps.items()
    ]
    atomic_write_json(HERE / "importance_targets.json", {"images": IMAGES, "rows": rows})
    lines = [
        "# Block-importance maps against each model's own (issue 46)",
        "",
        f"First {IMAGES} imagenet-val images (224 centre crops). Each cell: the mean over the "
        "images of the Pearson correlation, across an image's blocks, of the map's log scores "
        "and the model's Fisher block scores' (4 probes, the zoo's MobileNetV2 table nearest "
        "1 bpp). EfficientNet-Lite2 guided nothing and trained nothing; spread: the mean "
        "standard deviation of the map's log scores within an image. Made by "
        "`importance_targets.py`.",
        "",
        "| map | spread | " + " | ".join(MODELS) + " |",
        "|---|---:|" + "---:|" * len(MODELS),
    ]
    for row in rows:
        cells = " | ".join(f"{row[name]:.3f}" for name in MODELS)
        lines.append(f"| {row['map']} | {row['spread']:.2f} | {cells} |")
    (HERE / "importance_targets.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
