"""Every registered model's metrics on its own test split, uncompressed: the figures the guide and
the results pages quote for the models themselves. Writes ``results/models/accuracy.json`` and
``accuracy.md``.

Run from the repository root (needs the data folder): ``.venv/bin/python scripts/model_accuracy.py``
(about 5 minutes on 2 CPU cores).
"""

from __future__ import annotations

import sys
from pathlib import Path

from j4d.cli.options import load_test_split
from j4d.data import require_data_root
from j4d.data.root import data_set_name
from j4d.evaluation.realfile import score
from j4d.models import REGISTRY, create_model
from j4d.tasks import task_of
from j4d.utils.files import atomic_write_json, atomic_write_text

OUT = Path(__file__).resolve().parent.parent / "results" / "models"


def measure() -> dict:
    root = require_data_root()
    out = {}
    for name in sorted(REGISTRY):
        model = create_model(name, data_root=root)
        test = load_test_split(root, None, model, None)
        metrics = score(model, test.images, test.labels)
        task = task_of(model)
        out[name] = {
            "test": data_set_name(root / model.data.test),
            "images": len(test.images),
            "metrics": {
                task.labels[key]: metrics[key]
                for key in task.metrics
                if key in metrics and metrics[key] == metrics[key]  # not NaN
            },
        }
        print(name, out[name], flush=True)
    return out


def markdown(results: dict) -> str:
    lines = [
        "# Registered models on their own test splits, uncompressed",
        "",
        "Made by `scripts/model_accuracy.py` (the preprocessing of `j4d eval`).",
        "",
        "| model | test split | images | metrics (%) |",
        "|---|---|---:|---|",
    ]
    for name, row in results.items():
        metrics = ", ".join(f"{label} {100 * value:.2f}" for label, value in row["metrics"].items())
        lines.append(f"| {name} | {row['test']} | {row['images']} | {metrics} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    results = measure()
    OUT.mkdir(parents=True, exist_ok=True)
    atomic_write_json(OUT / "accuracy.json", results)
    atomic_write_text(OUT / "accuracy.md", markdown(results))
    print(f"wrote {OUT / 'accuracy.md'}")
    sys.exit(0)
