"""What the ImageNet probes share: measure points into a JSON-lines file, one row per point,
skipping the rows a previous run wrote (so a probe resumes where it stopped)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from j4d.data import IMAGENET, read_class_list, require_data_root
from j4d.data.testset import load_test_images
from j4d.evaluation.curves import Curve, bd_rate
from j4d.evaluation.realfile import code_images, evaluate_coded, reference_predictions
from j4d.models import create_model


def imagenet_set(images: int, model_names: Sequence[str]) -> tuple:
    """The first ``images`` imagenet-val images (round-robin over classes, 224 centre crops),
    the models, and the models' predictions on them (the references of agreement)."""
    root = require_data_root()
    test = load_test_images(
        root / IMAGENET.test, 224, images, IMAGENET.resize, read_class_list(root / IMAGENET.classes)
    )
    models = [create_model(name) for name in model_names]
    return test, models, reference_predictions(models, test.images)


def read_rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []


def measure_rows(
    out: Path,
    family: str,
    points: Iterable[tuple[str, object]],
    load: Callable[[], tuple],
    model_names: Sequence[str],
    done: list[dict],
    **extra: object,
) -> None:
    """Code the test images with each (name, encoder) of ``points`` not yet in ``done`` (rows
    ``family``/``point``), score every model (``load()``: test images, models, their
    references) on the same files, and append a row (rates, top-1 and agreement per model,
    ``extra``) to ``done`` and to ``out``."""
    seen = {(row["family"], row["point"]) for row in done}
    for point, encode in points:
        if (family, point) in seen:
            continue
        test, models, references = load()
        coded = code_images(test.images, encode)
        measured = evaluate_coded(models, coded, test.labels, references)
        row = {"family": family, "point": point, **extra,
               "file_bpp": measured[0].file_bpp, "scan_bpp": measured[0].scan_bpp}  # fmt: skip
        for model, result in zip(model_names, measured, strict=True):
            row[model] = {key: result.metrics[key] for key in ("top1", "agreement")}
        done.append(row)
        with out.open("a") as handle:
            handle.write(json.dumps(row) + "\n")
        print(json.dumps(row), flush=True)


def measure_families(
    out: Path,
    families: Iterable[str],
    points: Callable[[str], Iterable[tuple[str, object]]],
    load: Callable[[], tuple],
    model_names: Sequence[str],
) -> list[dict]:
    """Every row of ``out``, after measuring the points (``points(family)``) of ``families``
    that it lacks (:func:`measure_rows`)."""
    done = read_rows(out)
    for family in families:
        measure_rows(out, family, points(family), load, model_names, done)
    return done


def family_curve(rows: list[dict], family: str, model: str, metric: str, rate: str) -> Curve:
    """The Pareto front of ``family``'s rows: ``model``'s ``metric`` against ``rate``."""
    found = [(r[rate], r[model][metric]) for r in rows if r["family"] == family]
    return Curve.from_points(family, found).frontier()


def bd_text(rows: list[dict], anchor: str, family: str, model: str, metric: str, rate: str) -> str:
    """BD-rate of ``family`` against ``anchor`` (fronts by ``model``'s ``metric``) as text."""
    value = bd_rate(
        family_curve(rows, anchor, model, metric, rate),
        family_curve(rows, family, model, metric, rate),
    )
    return "n/a" if value is None or math.isnan(value) else f"{value:+.1f} %"
