"""JPEG quantization tables: one luma and one chroma table of 64 steps each.

Tables are stored in *natural* (row-major 8x8) order, as libjpeg, Pillow, jpeglib and
``cjpeg -qtables`` take them; the differentiable codec works in *zig-zag* order (the order of
the coefficients in the entropy-coded stream), and :func:`zigzag_to_natural` /
:func:`natural_to_zigzag` convert between the two.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from j4d.errors import InvalidInputError
from j4d.utils.files import atomic_write_text

if TYPE_CHECKING:  # torch is imported where a tensor is made: reading tables files needs none
    import torch


def _is_tensor(values: Any) -> bool:
    torch = sys.modules.get("torch")  # a tensor exists only once torch is imported
    return torch is not None and isinstance(values, torch.Tensor)


MIN_STEP = 1
MAX_STEP = 255  # baseline JPEG: 8-bit tables


def _zigzag_natural_indices() -> np.ndarray:
    """``ZIGZAG[k]`` is the natural (row-major) index of the k-th coefficient in zig-zag order."""
    cells = [(i, j) for i in range(8) for j in range(8)]
    # Anti-diagonal s = i + j; odd diagonals run down-left (i ascending), even ones up-right.
    cells.sort(key=lambda c: (c[0] + c[1], c[0] if (c[0] + c[1]) % 2 else -c[0]))
    return np.array([8 * i + j for i, j in cells], dtype=np.int64)


ZIGZAG = _zigzag_natural_indices()
#: ``NATURAL_TO_ZIGZAG[n]`` is the zig-zag position of natural index n.
NATURAL_TO_ZIGZAG = np.argsort(ZIGZAG)

# ITU-T T.81 Annex K, tables K.1 (luminance) and K.2 (chrominance), natural order.
ANNEX_K_LUMA = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip
ANNEX_K_CHROMA = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99,
)  # fmt: skip


def natural_to_zigzag(values: Sequence[Any] | np.ndarray | torch.Tensor) -> Any:
    """Reorder the last axis (64 entries) from natural to zig-zag order."""
    if _is_tensor(values):
        return values[..., sys.modules["torch"].as_tensor(ZIGZAG, device=values.device)]
    return np.asarray(values)[..., ZIGZAG]


def zigzag_to_natural(values: Sequence[Any] | np.ndarray | torch.Tensor) -> Any:
    """Reorder the last axis (64 entries) from zig-zag to natural order."""
    if _is_tensor(values):
        return values[..., sys.modules["torch"].as_tensor(NATURAL_TO_ZIGZAG, device=values.device)]
    return np.asarray(values)[..., NATURAL_TO_ZIGZAG]


def quality_scale(quality: int) -> int:
    """IJG ``jpeg_quality_scaling``: quality factor 1..100 -> percentage applied to Annex K."""
    if not 1 <= int(quality) <= 100 or int(quality) != quality:
        raise InvalidInputError(f"quality factor must be an integer in 1..100, got {quality}")
    quality = int(quality)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


def _scaled(base: Sequence[int], scale: int) -> tuple[int, ...]:
    # libjpeg jpeg_add_quant_table with force_baseline: (b * scale + 50) / 100, clamped.
    return tuple(min(max((b * scale + 50) // 100, MIN_STEP), MAX_STEP) for b in base)


def _validated(values: Iterable[Any], name: str, source: str | None) -> tuple[int, ...]:
    try:
        array = np.asarray(list(values), dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name} table must hold numbers", source) from None
    if array.size != 64:
        raise InvalidInputError(f"{name} table must have 64 entries, got {array.size}", source)
    if not np.all(np.isfinite(array)) or np.any(array != np.round(array)):
        raise InvalidInputError(f"{name} table entries must be integers", source)
    bad = (array < MIN_STEP) | (array > MAX_STEP)
    if np.any(bad):
        index = int(np.argmax(bad))
        raise InvalidInputError(
            f"{name} table entry {index} is {array[index]:g}, outside [{MIN_STEP}, {MAX_STEP}]",
            source,
        )
    return tuple(int(v) for v in array)


#: Most a dead zone may shift the rounding threshold: at 1/2 only |y| >= q keeps a nonzero index.
MAX_DEADZONE = 0.5


@dataclass(frozen=True)
class QuantTables:
    """A luma and a chroma quantization table, 64 integer steps in [1, 255], natural order.

    Cb and Cr share the chroma table (the libjpeg and Pillow default slot assignment).
    ``meta`` carries free-form provenance (model, lambda, init, measured rate, accuracy...).
    """

    luma: tuple[int, ...]
    chroma: tuple[int, ...]
    meta: Mapping[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "luma", _validated(self.luma, "luma", None))
        object.__setattr__(self, "chroma", _validated(self.chroma, "chroma", None))
        object.__setattr__(self, "meta", dict(self.meta))

    # -- constructors -------------------------------------------------------------------
    @classmethod
    def from_quality(cls, quality: int) -> QuantTables:
        """The standard Annex K tables scaled to an IJG quality factor (1..100), as libjpeg."""
        scale = quality_scale(quality)
        return cls(
            _scaled(ANNEX_K_LUMA, scale),
            _scaled(ANNEX_K_CHROMA, scale),
            meta={"init": f"qf{int(quality)}", "quality": int(quality)},
        )

    @classmethod
    def from_tensor(
        cls, steps: torch.Tensor, order: str = "zigzag", meta: Mapping[str, Any] | None = None
    ) -> QuantTables:
        """Round real-valued (2, 64) steps (e.g. trained ones) to integers clipped to [1, 255]."""
        if steps.shape != (2, 64):
            raise InvalidInputError(
                f"tables tensor must have shape (2, 64), got {tuple(steps.shape)}"
            )
        import torch

        values = steps.detach().to("cpu", torch.float64).round().clamp(MIN_STEP, MAX_STEP).numpy()
        if order == "zigzag":
            values = zigzag_to_natural(values)
        elif order != "natural":
            raise InvalidInputError(f"order must be 'zigzag' or 'natural', got {order!r}")
        return cls(tuple(values[0]), tuple(values[1]), meta=meta or {})

    # -- conversions --------------------------------------------------------------------
    def to_array(self, order: str = "natural") -> np.ndarray:
        """(2, 64) int array: row 0 luma, row 1 chroma."""
        array = np.array([self.luma, self.chroma], dtype=np.int64)
        if order == "zigzag":
            return natural_to_zigzag(array)
        if order != "natural":
            raise InvalidInputError(f"order must be 'zigzag' or 'natural', got {order!r}")
        return array

    def to_tensor(
        self,
        order: str = "zigzag",
        dtype: torch.dtype | None = None,
        device: torch.device | str | None = None,
    ) -> torch.Tensor:
        """(2, 64) tensor of steps (``dtype`` default float32), zig-zag order by default (the
        codec's order)."""
        import torch

        dtype = torch.float32 if dtype is None else dtype
        return torch.as_tensor(self.to_array(order), dtype=dtype, device=device)

    def to_pillow(self) -> list[list[int]]:
        """Pillow's ``qtables`` argument (natural order; slot 0 luma, slot 1 chroma).

        Pass it without ``quality``: Pillow would otherwise rescale the tables."""
        return [list(self.luma), list(self.chroma)]

    def to_jpeglib(self) -> np.ndarray:
        """jpeglib's ``qt`` array: (2, 8, 8) uint16, natural order."""
        return self.to_array("natural").reshape(2, 8, 8).astype(np.uint16)

    def with_meta(self, **meta: Any) -> QuantTables:
        return QuantTables(self.luma, self.chroma, meta={**self.meta, **meta})

    # -- dead zones (the ``deadzone`` encoder, j4d.encoders.registry) -----------------------
    def deadzone(self, order: str = "natural") -> torch.Tensor:
        """(2, 64) dead zones theta (luma, chroma) from ``meta["deadzone"]`` (zeros if none),
        in ``order``; one-line errors for values outside [0, 1/2]."""
        import torch

        value = self.meta.get("deadzone")
        if value is None:
            return torch.zeros(2, 64)
        try:
            thetas = torch.tensor([value["luma"], value["chroma"]], dtype=torch.float32)
        except (TypeError, KeyError, ValueError):
            raise InvalidInputError(
                "meta 'deadzone' must be {'luma': [64 numbers], 'chroma': [64 numbers]}"
            ) from None
        valid = (thetas >= 0) & (thetas <= MAX_DEADZONE)
        if thetas.shape != (2, 64) or not bool(valid.all()):
            raise InvalidInputError(f"meta 'deadzone' needs 2 x 64 values in [0, {MAX_DEADZONE}]")
        if order == "zigzag":
            return torch.as_tensor(natural_to_zigzag(thetas.numpy()))
        return thetas

    def with_deadzone(
        self, thetas: torch.Tensor | np.ndarray, order: str = "natural"
    ) -> QuantTables:
        """These tables carrying (2, 64) dead zones in ``order``, to be written by the
        ``deadzone`` encoder."""
        import torch

        values = np.asarray(torch.as_tensor(thetas, dtype=torch.float64).detach().cpu())
        if order == "zigzag":
            values = zigzag_to_natural(values)
        values = values.clip(0, MAX_DEADZONE).round(4)
        deadzone = {"luma": values[0].tolist(), "chroma": values[1].tolist()}
        return self.with_meta(deadzone=deadzone, encoder="deadzone")

    # -- files --------------------------------------------------------------------------
    def to_json(self) -> str:
        document = {
            "luma": list(self.luma),
            "chroma": list(self.chroma),
            "order": "natural",
            "meta": dict(self.meta),
        }
        return json.dumps(document, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str | None = None) -> QuantTables:
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise InvalidInputError(
                f"not valid JSON ({error.msg}, line {error.lineno})", source
            ) from None
        if not isinstance(document, dict) or "luma" not in document or "chroma" not in document:
            raise InvalidInputError("tables JSON needs 'luma' and 'chroma' lists", source)
        order = document.get("order", "natural")
        if order not in ("natural", "zigzag"):
            raise InvalidInputError(f"'order' must be 'natural' or 'zigzag', got {order!r}", source)
        luma = _validated(_as_list(document["luma"], "luma", source), "luma", source)
        chroma = _validated(_as_list(document["chroma"], "chroma", source), "chroma", source)
        if order == "zigzag":
            luma, chroma = (tuple(int(v) for v in zigzag_to_natural(t)) for t in (luma, chroma))
        meta = document.get("meta") or {}
        if not isinstance(meta, dict):
            raise InvalidInputError("'meta' must be an object", source)
        return cls(luma, chroma, meta=meta)

    def to_cjpeg(self) -> str:
        """libjpeg ``cjpeg -qtables`` text: table 0 (luma) then table 1 (chroma), natural order.

        Use as ``cjpeg -qtables FILE -sample 1x1 -optimize`` and no ``-quality`` (which scales)."""
        lines = ["# j4d quantization tables (natural order); cjpeg -qtables FILE -sample 1x1"]
        for name, table in (("luma (slot 0)", self.luma), ("chroma (slot 1)", self.chroma)):
            lines.append(f"# {name}")
            lines += [" ".join(f"{v:3d}" for v in table[r * 8 : r * 8 + 8]) for r in range(8)]
        return "\n".join(lines) + "\n"

    @classmethod
    def from_cjpeg(cls, text: str, source: str | None = None) -> QuantTables:
        numbers = []
        for line in text.splitlines():
            for token in line.split("#", 1)[0].replace(",", " ").split():
                if not re.fullmatch(r"[+-]?\d+", token):
                    raise InvalidInputError(f"unexpected token {token!r} in cjpeg tables", source)
                numbers.append(int(token))
        if len(numbers) == 64:  # cjpeg uses one table for every component then
            numbers = numbers * 2
        if len(numbers) != 128:
            raise InvalidInputError(
                f"cjpeg tables file must hold 64 or 128 numbers, got {len(numbers)}", source
            )
        return cls(
            _validated(numbers[:64], "luma", source), _validated(numbers[64:], "chroma", source)
        )

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write atomically; ``.json`` gives JSON, any other suffix the cjpeg text format."""
        path = Path(path)
        text = self.to_json() if path.suffix.lower() == ".json" else self.to_cjpeg()
        atomic_write_text(path, text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> QuantTables:
        """Read a tables file (JSON, or cjpeg text for any other suffix)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInputError("tables file not found", path) from None
        except (OSError, UnicodeDecodeError) as error:
            raise InvalidInputError(f"cannot read tables file ({error})", path) from None
        if path.suffix.lower() == ".json" or text.lstrip().startswith("{"):
            return cls.from_json(text, source=str(path))
        return cls.from_cjpeg(text, source=str(path))

    def __str__(self) -> str:
        rows = []
        for name, table in (("luma", self.luma), ("chroma", self.chroma)):
            rows.append(f"{name}:")
            rows += ["  " + " ".join(f"{v:3d}" for v in table[r * 8 : r * 8 + 8]) for r in range(8)]
        return "\n".join(rows)


def _as_list(value: Any, name: str, source: str | None) -> list[Any]:
    if not isinstance(value, list):
        raise InvalidInputError(f"{name} must be a list of 64 numbers", source)
    return value
