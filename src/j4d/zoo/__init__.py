"""A table zoo: the measured frontier tables of the committed sweeps, shipped in the package so
users can take tables without training (``j4d tables --zoo mobilenet_v2 --bpp 2``).

``zoo/<model>/<run>.json`` are copies of ``results/<sweep>/frontier/<run>.json`` (``run_all.sh``
copies them); their ``meta["test"]`` holds what the tables measured on real files of the test
split (scan and whole-file bpp, the task's metrics: top-1 or mIoU, agreement where measured,
images, settings).

``zoo/<model>@<scale>/`` holds tables learned for photos stored at that scale (short side over
the side the model resizes to; :mod:`j4d.train`'s ``--scale``), measured on whole photos read
through the model's view. ``zoo:MODEL@TARGET`` (:func:`zoo_choice`) picks, for each image, the
entry of the scale nearest its own at a rate or an accuracy.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from j4d.data.root import data_set_name
from j4d.encoders.registry import DEFAULT_ENCODER
from j4d.errors import InvalidInputError
from j4d.evaluation.columns import per_model_columns
from j4d.tables import QuantTables

ZOO_DIR = Path(__file__).resolve().parent
#: Entries not learned for one model: who they are for, said under the listing.
PURPOSES = {
    "imagenet-universal": "for ImageNet classifiers not in the zoo: tables pooled over four "
    "(MobileNetV2, EfficientNet-Lite0/1/2); made without one of them, the same recipe beat "
    "default JPEG on it (docs/results/universal.md)",
}


@dataclass(frozen=True)
class ZooEntry:
    """One frontier point of the zoo and what it measured on real files."""

    model: str
    name: str
    path: Path
    scan_bpp: float
    file_bpp: float
    metric: str  # the task's primary metric: top1, or miou for segmentation
    value: float
    agreement: float | None
    images: int
    source: str
    encoder: str  # how its measured files were made (j4d.encoders.registry)
    per_model: dict[str, float]  # universal tables: each model's metric (value is their mean)
    scale: float = 1.0  # the stored photo's short side over the model's resize side
    resize: int | None = None  # the side the model resizes to (tables learned at a scale)

    def load(self) -> QuantTables:
        return QuantTables.load(self.path)


#: ``mobilenet_v2@1.5``: a zoo model's tables for photos stored at a scale.
SCALE_MARK = "@"


def zoo_models() -> list[str]:
    """Models with tables in the zoo (``MODEL@SCALE`` for the tables of a scale)."""
    return sorted(p.name for p in ZOO_DIR.iterdir() if p.is_dir() and any(p.glob("*.json")))


def zoo_scales(model: str) -> list[str]:
    """``model`` and its ``model@SCALE`` zoo folders, by rising scale."""
    found = [m for m in zoo_models() if m == model or m.startswith(model + SCALE_MARK)]
    return sorted(found, key=_folder_scale)


def _folder_scale(name: str) -> float:
    return float(name.split(SCALE_MARK, 1)[1]) if SCALE_MARK in name else 1.0


def zoo_entries(model: str | None = None, scales: bool = False) -> list[ZooEntry]:
    """The zoo's tables (of ``model``, or of every model), by model and rising scan bpp; with
    ``scales`` those of ``model@SCALE`` too (the folder named alone otherwise)."""
    models = zoo_models()
    if model is not None and model not in models and not (scales and zoo_scales(model)):
        raise InvalidInputError(
            f"no zoo tables for model {model!r}; the zoo has: {', '.join(models)}"
        )
    if model is None:
        names = models
    elif scales:
        names = zoo_scales(model)
    else:
        names = [model]
    entries = []
    for name in names:
        for path in sorted((ZOO_DIR / name).glob("*.json")):
            tables = QuantTables.load(path)
            test = tables.meta.get("test", {})
            metric = "miou" if "miou" in test else "top1"
            view = tables.meta.get("view", {})
            entries.append(
                ZooEntry(
                    name,
                    path.stem,
                    path,
                    float(test["scan_bpp"]),
                    float(test["file_bpp"]),
                    metric,
                    float(test[metric]),
                    float(test["agreement"]) if "agreement" in test else None,
                    int(test["images"]),
                    str(test.get("source", "")),
                    str(tables.meta.get("encoder", DEFAULT_ENCODER)),
                    {m: float(test[c]) for m, c in per_model_columns(test, metric).items()},
                    float(tables.meta.get("scale", 1.0)),
                    int(view["resize"]) if "resize" in view else None,
                )
            )
    return sorted(entries, key=lambda e: (e.model.split(SCALE_MARK)[0], e.scale, e.scan_bpp))


def nearest(model: str, bpp: float, rate: str = "scan_bpp") -> ZooEntry:
    """The zoo tables of ``model`` whose measured ``rate`` (scan or whole-file bpp) is closest
    to ``bpp`` (in ratio: 0.5 is as far from 1 as 2 is)."""
    if not bpp > 0:
        raise InvalidInputError(f"--bpp must be > 0, got {bpp:g}")
    return min(zoo_entries(model), key=lambda e: abs(math.log(getattr(e, rate) / bpp)))


def nearest_lambda(model: str, lam: float) -> ZooEntry:
    """The zoo tables of ``model`` learned with the training lambda (``meta["lambda"]``)
    nearest ``lam`` in ratio; of equals, the smallest file."""
    if not lam > 0:
        raise InvalidInputError(f"lambda must be > 0, got {lam:g}")
    learned = [(e, e.load().meta.get("lambda")) for e in zoo_entries(model)]
    learned = [(e, float(value)) for e, value in learned if isinstance(value, (int, float))]
    if not learned:
        raise InvalidInputError(f"no {model} zoo tables record the lambda they were learned with")
    return min(learned, key=lambda p: (abs(math.log(p[1] / lam)), p[0].file_bpp))[0]


@functools.cache
def references() -> dict:
    """Per zoo model: its metric on the uncompressed test images and default JPEG's measured
    points on them (``references.json``, written by ``scripts/zoo_references.py``); read once."""
    return json.loads((ZOO_DIR / "references.json").read_text())


def jpeg_at(model: str, scan_bpp: float) -> float | None:
    """Default JPEG's metric at ``scan_bpp`` on ``model``'s test images, read off its measured
    points as every summary reads a curve (None outside them)."""
    from j4d.evaluation.curves import Curve, accuracy_at_rate  # scipy: only for the list

    reference = references().get(model)
    if reference is None:
        return None
    metric = reference["metric"]
    points = [(p["scan_bpp"], p[metric]) for p in reference["jpeg"]]
    return accuracy_at_rate(Curve.from_points("jpeg", points), scan_bpp)


def smallest_within(model: str, points: float) -> ZooEntry:
    """The zoo tables of ``model`` with the lowest rate whose measured metric is within
    ``points`` of the model's on the uncompressed images."""
    if not points >= 0:
        raise InvalidInputError(f"--within must be >= 0 points, got {points:g}")
    uncompressed = references()[model]["uncompressed"]
    close = [e for e in zoo_entries(model) if 100 * (uncompressed - e.value) <= points]
    if not close:
        best = max(zoo_entries(model), key=lambda e: e.value)
        raise InvalidInputError(
            f"no {model} zoo tables come within {points:g} points of uncompressed "
            f"({100 * uncompressed:.2f} %); the closest: {best.name}, {100 * best.value:.2f} %"
        )
    return min(close, key=lambda e: e.file_bpp)


#: A zoo entry this many points (or more) below the model on uncompressed images is warned of.
FAR_BELOW = 10.0


def far_below_uncompressed(entry: ZooEntry) -> float | None:
    """How many points of its metric ``entry`` measured below the model on uncompressed images,
    where that is :data:`FAR_BELOW` or more (else None)."""
    reference = references().get(entry.model)
    if reference is None:
        return None
    lost = 100 * (reference["uncompressed"] - entry.value)
    return lost if lost >= FAR_BELOW else None


def zoo_listing(model: str | None = None) -> str:
    """A table of every zoo entry (of ``model``, or of all) with what it measured, beside
    default JPEG at the same rate and the model on the uncompressed images; a model's tables
    for photos at a scale (``MODEL@SCALE``) follow its own."""
    entries = zoo_entries(model, scales=True)
    known = references()
    model_width = max(len("model"), *(len(e.model) for e in entries))
    name_width = max(len("tables"), *(len(e.name) for e in entries))
    lines = [
        f"{'model':{model_width}s} {'tables':{name_width}s} {'encoder':11s} {'scan bpp':>9s} "
        f"{'file bpp':>9s} {'metric':>6s} {'%':>6s} {'JPEG %':>7s} {'uncomp %':>8s} "
        f"{'agree %':>8s}  measured on"
    ]
    for e in entries:
        agreement = "n/a" if e.agreement is None else f"{100 * e.agreement:.2f}"
        jpeg = jpeg_at(e.model, e.scan_bpp)
        jpeg_text = "n/a" if jpeg is None else f"{100 * jpeg:.2f}"
        uncompressed = known.get(e.model, {}).get("uncompressed")
        uncompressed_text = "n/a" if uncompressed is None else f"{100 * uncompressed:.2f}"
        source = f"{e.images} {data_set_name(e.source)} images"
        if e.scale != 1:
            source += " at their own size"
        each = ", ".join(f"{m} {100 * v:.2f}" for m, v in e.per_model.items())
        models = f" (means of {len(e.per_model)} models; {e.metric}: {each})" if each else ""
        lines.append(
            f"{e.model:{model_width}s} {e.name:{name_width}s} {e.encoder:11s} {e.scan_bpp:9.3f} "
            f"{e.file_bpp:9.3f} {e.metric:>6s} {100 * e.value:6.2f} {jpeg_text:>7s} "
            f"{uncompressed_text:>8s} {agreement:>8s}  {source}{models}"
        )
    lines.append(
        "JPEG %: default JPEG (Annex K tables by quality, Pillow) at the same scan bpp on the same "
        "images; uncomp %: the model on the uncompressed images"
    )
    if any(e.scale != 1 for e in entries):
        lines.append(
            "MODEL@S: tables for photos stored at S times the side the model resizes to, "
            "measured on whole photos read through the model's view; --tables "
            "zoo:MODEL@<B>bpp or zoo:MODEL@within<P> picks each image's by its size"
        )
    shown = {e.model for e in entries}
    lines += [f"{name}: {purpose}" for name, purpose in PURPOSES.items() if name in shown]
    return "\n".join(lines)


#: Prefix of a per-scale zoo choice where a tables file is asked for.
ZOO_PREFIX = "zoo:"
_TARGET = re.compile(
    r"^(?:(?P<bpp>\d+(?:\.\d+)?)bpp|within(?P<within>\d+(?:\.\d+)?)"
    r"|lam(?P<lam>\d+(?:\.\d+)?))$"
)


@dataclass(frozen=True)
class ZooChoice:
    """A zoo model's tables at one target, one entry per scale (rising), and the side the
    model resizes to: each image takes the entry of the scale nearest its own."""

    spec: str
    entries: tuple[ZooEntry, ...]
    resize: int

    def pick(self, height: int, width: int) -> ZooEntry:
        """The entry for an image of ``height`` x ``width``: the scale nearest (in ratio) its
        short side over the model's resize side; a tie goes to the smaller scale."""
        scale = min(height, width) / self.resize if self.resize else 1.0
        return min(self.entries, key=lambda e: (abs(math.log(scale / e.scale)), e.scale))

    def describe(self) -> str:
        return ", ".join(f"{e.model}/{e.name}" for e in self.entries)


def is_zoo_choice(spec: object) -> bool:
    return str(spec).startswith(ZOO_PREFIX)


def zoo_choice(spec: str) -> ZooChoice:
    """``zoo:MODEL@<B>bpp`` (at each scale, the entry whose measured whole-file bpp is nearest
    B), ``zoo:MODEL@within<P>`` (at each scale, the smallest entry within P points of the
    model on the uncompressed test images) or ``zoo:MODEL@lam<L>`` (at each scale, the entry
    learned with the training lambda nearest L: the same price of a bit per pixel in task
    loss, so every scale trades bits for accuracy at one slope) -> :class:`ZooChoice`."""
    body = str(spec)[len(ZOO_PREFIX) :] if is_zoo_choice(spec) else ""
    model, _, target = body.partition(SCALE_MARK)
    match = _TARGET.match(target)
    if not model or match is None:
        raise InvalidInputError(
            f"zoo tables are 'zoo:MODEL@<B>bpp', 'zoo:MODEL@within<P>' or 'zoo:MODEL@lam<L>' "
            f"(e.g. zoo:mobilenet_v2@0.8bpp, zoo:mobilenet_v2@within1), got {spec!r}"
        )
    folders = zoo_scales(model)
    if not folders:
        zoo_entries(model)  # the one-line error naming the zoo's models
    if match.group("bpp") is not None:
        picked = [nearest(folder, float(match.group("bpp")), "file_bpp") for folder in folders]
    elif match.group("within") is not None:
        picked = [smallest_within(folder, float(match.group("within"))) for folder in folders]
    else:
        picked = [nearest_lambda(folder, float(match.group("lam"))) for folder in folders]
    resize = next((e.resize for e in picked if e.resize), 0)
    return ZooChoice(str(spec), tuple(picked), resize)


class PerScaleEncoder:
    """Writes each image with the tables :class:`ZooChoice` picks for its size, by each
    entry's own encoder (or ``encoder``): an ``(image, index) -> bytes`` for evaluation and
    worker pools, and ``choose`` / ``rung_name`` as ``j4d encode`` reports a per-image choice."""

    def __init__(self, choice: ZooChoice, encoder: str | None = None) -> None:
        from j4d.encoders.registry import encoder_of

        self.choice = choice
        self.tables = [entry.load() for entry in choice.entries]
        self.encoders = [encoder_of(tables, encoder) for tables in self.tables]

    def choose(self, images: list[np.ndarray]) -> list[tuple[bytes, int]]:
        """Each (H, W, 3) uint8 image's file and the index of the entry that wrote it."""
        chosen = []
        for image in images:
            index = self.choice.entries.index(self.choice.pick(*image.shape[:2]))
            chosen.append((self.encoders[index].encode(image, self.tables[index]), index))
        return chosen

    def rung_name(self, index: int) -> str:
        entry = self.choice.entries[index]
        return f"{entry.model}/{entry.name}"

    def __call__(self, image: np.ndarray, index: int = 0) -> bytes:
        return self.choose([image])[0][0]
