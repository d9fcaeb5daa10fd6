"""The codecs ``j4d eval`` compares: named quality-sweep codecs and tables files.

A :class:`CodecPoint` is one point of one method's curve: how to encode an image and what to
call the result. Its ``encode`` is a picklable ``(image, index) -> bytes`` (``functools.partial``
of a module-level function), so worker processes can run it. Every file is decoded by Pillow
(libjpeg-turbo), whichever encoder wrote it.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from torch import nn

from j4d.codec.quantize import Softness
from j4d.encoders import (
    DEFAULT_ENCODER,
    ENCODERS,
    QUALITY_CODECS,
    GuidedEncoder,
    LadderFiles,
    RateLadder,
    encoder_of,
    get_quality_codec,
)
from j4d.encoders.model_rd import BlockCurvature
from j4d.errors import InvalidInputError
from j4d.evaluation.realfile import Encoder, tables_encoder
from j4d.jpegio.images import shrink_to_short_side
from j4d.models import model_name
from j4d.tables import QuantTables

TABLES_SETTINGS = dict(ENCODERS[DEFAULT_ENCODER].settings)
PROBABILISTIC_SETTINGS = {
    **TABLES_SETTINGS,
    "encoder": "indices sampled from the CPMF, written by jpeglib (libjpeg-turbo 2.1)",
}


@dataclass(frozen=True)
class CodecPoint:
    """One codec point: ``method`` names its curve, ``name`` the point (unique, file-safe)."""

    method: str
    name: str
    encode: Encoder | GuidedEncoder | RateLadder
    settings: dict[str, Any]
    tables: QuantTables | None = field(default=None, compare=False)

    def describe(self) -> dict[str, Any]:
        """The point's identity for caches and output rows (no encoder object)."""
        return {"method": self.method, "name": self.name, **self.settings}


def _quality_encode(image: np.ndarray, index: int, codec: str, quality: int) -> bytes:
    return QUALITY_CODECS[codec].encode(image, quality)


def quality_points(codec: str, qualities: Sequence[int]) -> list[CodecPoint]:
    """Points of a named codec (see :data:`QUALITY_CODECS`) at each quality."""
    settings = get_quality_codec(codec).settings
    points = []
    for quality in qualities:
        if not 1 <= int(quality) <= 100:
            raise InvalidInputError(f"{codec}: quality must be in 1..100, got {quality}")
        points.append(
            CodecPoint(
                codec,
                f"{codec}_q{int(quality)}",
                functools.partial(_quality_encode, codec=codec, quality=int(quality)),
                {"quality": int(quality), **settings},
                QuantTables.from_quality(int(quality)) if codec == "jpeg" else None,
            )
        )
    return points


def _resized_encode(image: np.ndarray, index: int, encode: Encoder, side: int) -> bytes:
    return encode(shrink_to_short_side(image, side), index)


def resized_points(points: Sequence[CodecPoint], side: int) -> list[CodecPoint]:
    """Each of ``points`` writing the photo resized first to short side ``side`` (the side a
    model resizes to: what a user who keeps only the model's input stores); the file holds
    the smaller image, its bpp stays per pixel of the original photo (``jpeg-resized256``)."""
    resized = []
    for point in points:
        if isinstance(point.encode, (GuidedEncoder, RateLadder)):
            raise InvalidInputError("resizing first applies to plain codec points")
        resized.append(
            CodecPoint(
                f"{point.method}-resized{side}",
                f"{point.name}_resized{side}",
                functools.partial(_resized_encode, encode=point.encode, side=side),
                {**point.settings, "resized_first": f"short side {side}"},
                point.tables,
            )
        )
    return resized


def tables_point(
    path: str | Path,
    label: str | None = "j4d",
    probabilistic_seed: int | None = None,
    softness: Softness | None = None,
    name: str | None = None,
    encoder: str | None = None,
    guide: nn.Module | None = None,
    strength: float = 0.0,
    curvature: BlockCurvature | None = None,
    **settings: Any,
) -> CodecPoint:
    """A tables file encoded by ``encoder`` (default: the one the tables record, else plain
    rounding with Pillow; :mod:`j4d.encoders.registry`) or, given a seed, probabilistically
    (image i uses seed + i). ``label`` None: the tables' ``meta["method"]``, else j4d; an
    encoder other than plain rounding joins the label and the name (``j4d-trellis``,
    ``qf50_lam1_trellis``) and is recorded in the point's tables, so the frontier files made
    from it say how to reproduce them. ``name`` defaults to the file's stem; ``settings`` are extra
    columns of the point's row (e.g. the training lambda; ``tables`` replaces the path that
    the row records, e.g. by one relative to a results folder). Tables learned for photos at a
    scale (``meta["scale"]``) name it in their curve (``j4d@1.5-trellis``). With a ``guide``
    model the files are model-aware at ``strength`` (:mod:`j4d.encoders`; ``j4d-trellis-guided1``,
    ``qf50_lam1_trellis_guided1``); with the ``rd`` encoder, ``curvature`` shares the guides'
    measurements between points (and may hold several guides)."""
    tables = QuantTables.load(path)
    label = label or str(tables.meta.get("method", "j4d"))
    if "scale" in tables.meta:  # tables for photos stored at a scale: a curve of their own
        label = f"{label}@{float(tables.meta['scale']):g}"
    settings = {"tables": str(path), **settings}
    name = name or Path(path).stem
    if probabilistic_seed is None:
        chosen = encoder_of(tables, encoder)
        settings.update(chosen.settings)
        if chosen.name != DEFAULT_ENCODER:
            label, name = f"{label}-{chosen.name}", f"{name}_{chosen.name}"
        tables = tables.with_meta(encoder=chosen.name)
    else:
        softness = softness or Softness()
        settings.update(PROBABILISTIC_SETTINGS)
        settings["sampling"] = f"{softness.describe()}, seed {probabilistic_seed}"
        name = f"{name}_prob_s{probabilistic_seed}"
    encode: Encoder | GuidedEncoder = tables_encoder(tables, probabilistic_seed, softness)
    if guide is not None:
        if probabilistic_seed is not None:
            raise InvalidInputError("model-aware encoding does not apply with --probabilistic")
        encode = GuidedEncoder(guide, tables, encoder_of(tables), strength, curvature)
        label, name = f"{label}-guided{strength:g}", f"{name}_guided{strength:g}"
        settings["guide"] = (
            encode.curvature.describe(strength)
            if encode.curvature
            else f"{model_name(guide)}, strength {strength:g}"
        )
    return CodecPoint(label, name, encode, settings, tables)


def ladder_points(
    paths: Sequence[str | Path],
    tolerances: Sequence[float],
    guide: nn.Module | Sequence[nn.Module],
    label: str | None = "j4d",
    encoder: str | None = None,
    strength: float = 0.0,
) -> list[CodecPoint]:
    """Per-image rate control (:class:`~j4d.encoders.RateLadder`): the tables files as one ladder,
    each by ``encoder`` (default: its own), ``guide`` choosing each image's rung (several: each
    must read the file within the tolerance); a point per tolerance on the curve ``j4d-ladder``
    (``j4d-trellis-ladder``), named ``ladder_tol0.1`` (``ladder_tol0.1_trellis``); with
    ``strength`` > 0 (``rd`` rungs) each rung's files are model-aware too
    (``j4d-rd-ladder-guided1``). The images are coded at every rung once for all tolerances."""
    rungs = []
    for path in paths:
        tables = QuantTables.load(path)
        rungs.append((tables, encoder_of(tables, encoder)))
    label = label or "j4d"
    names = {rung_encoder.name for _, rung_encoder in rungs}
    suffix = "" if names == {DEFAULT_ENCODER} else "_" + "+".join(sorted(names))
    if suffix:
        label = f"{label}-{suffix[1:]}"
    digest = hashlib.sha1(b"".join(t.to_array().tobytes() for t, _ in rungs)).hexdigest()
    settings = {
        "tables": f"ladder of {len(rungs)}: " + ", ".join(Path(p).stem for p in paths),
        **rungs[0][1].settings,
        "ladder_sha1": digest,
    }
    files = LadderFiles(guide, rungs, strength=strength)
    guides = " + ".join(map(model_name, files.models))
    blocks = f", rungs model-aware at strength {strength:g}" if strength else ""
    method = f"{label}-ladder" + (f"-guided{strength:g}" if strength else "")
    suffix += f"_guided{strength:g}" if strength else ""
    points = []
    for tolerance in tolerances:
        guide_setting = f"{guides}, per-image rungs, KL tolerance {tolerance:g}{blocks}"
        points.append(
            CodecPoint(
                method,
                f"ladder_tol{tolerance:g}{suffix}",
                RateLadder(files, float(tolerance)),
                {**settings, "guide": guide_setting},
            )
        )
    return points
