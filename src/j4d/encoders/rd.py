r"""j4d's own rate-distortion encoder (``rd``): trellis quantization with distortion the tables
define, written as a 4:4:4 JPEG with optimized Huffman tables (baseline or progressive, whichever
file is smaller), all in compiled code (the C extension ``j4d.encoders._rd``, built by
``pip install .``).

For each 8x8 block of each component the AC indices :math:`c_k` (zig-zag 1..63) minimize

.. math::  J = R(c) + \lambda \sum_k w_k\,(y_k - c_k q_k)^2

over the candidates :math:`\{0, 1, 3, 7, \dots, r_k\}` (0, the largest magnitude of each
smaller JPEG size category, and plain rounding :math:`r_k = \lfloor |y_k|/q_k + 1/2\rfloor`),
by a trellis over the positions of the nonzero coefficients: :math:`R` counts the bits of
ITU T.81's run/size symbols (their Huffman code lengths, the amplitude bits, ZRLs and the EOB).
DC indices, coded by DPCM, are chosen among :math:`r - 1, r, r + 1` by a Viterbi pass over each
component's chain of blocks with the same cost. The Huffman code lengths come from the previous
pass's indices (plain rounding before the first); after the last pass the file's tables are
built from the chosen indices, so they are optimal for them.

Distortion weights :math:`w` are per component and frequency (or per block, for model-aware
encoding). By default they are the tables' own :math:`1/q_k^2`: tables trained for a model put
small steps where the model is sensitive, and at a rate-distortion optimum each frequency's
weighted distortion :math:`w_k q_k^2` is equal, so :math:`w_k \propto 1/q_k^2` is the weighting
the tables imply. A tables file can carry its own in ``meta["rd"]``:
``{"lambda": 0.5, "weights": [[64 zig-zag values] x 3 (Y, Cb, Cr)], "rule": "energy",
"source": "..."}`` (all optional; ``source`` says where they came from, e.g. the model's
curvature: see :meth:`j4d.analysis.sensitivity.Sensitivity.rd_meta`).
``lambda`` is bits per unit of weighted squared error; ``inf`` is plain rounding. ``rule``
``energy`` makes lambda per block, mozjpeg 4's rule (:func:`energy_lambdas`) scaled by
``lambda``: a block whose AC energy masks its error gets a lower lambda.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from j4d.errors import InvalidInputError
from j4d.jpegio.images import check_rgb
from j4d.tables import QuantTables

if TYPE_CHECKING:
    from j4d.jpegio.abbreviated import SharedTables

#: Bits per unit of squared error in steps (with the default weights) of the ``fixed`` rule when
#: a file sets none: the best of 8, 16, 32 on imagenet-val fronts (results/probes/rd_lambda.md).
DEFAULT_LAMBDA = 32.0
#: The rule of a file that sets neither a rule nor a lambda: mozjpeg's per-block lambda, ahead
#: of a fixed 32 on the ImageNet, CUB-50 and CamVid fronts (docs/encoders.md); its scale is 1.
DEFAULT_RULE = "energy"
#: Each rule's lambda when a file sets none.
DEFAULT_LAMBDAS = {"fixed": DEFAULT_LAMBDA, "energy": 1.0}
#: Trellis passes, each pricing bits by the code lengths of the previous pass's indices (plain
#: rounding's before the first); a second pass changed the cost by 0.01-0.02 % on imagenet-val.
PASSES = 1
META_KEY = "rd"
#: How the indices are framed: the smaller file of the two (the default), or one of them.
FRAMES = {"smaller": 0, "baseline": 1, "progressive": 2}


def _compiled() -> Any:
    try:
        from j4d.encoders import _rd
    except ImportError as error:  # a source tree nobody built
        raise InvalidInputError(
            "j4d's compiled encoder is not built (j4d.encoders._rd): install j4d with "
            f"`pip install .` or `make test` ({error})"
        ) from None
    return _rd


#: How lambda is set per block: ``fixed`` (``lam`` everywhere) or ``energy`` (mozjpeg's rule,
#: :func:`energy_lambdas`, times ``lam``).
RULES = ("fixed", "energy")


@dataclass(frozen=True)
class RDSettings:
    """The trellis's trade-off: ``lam`` (bits per unit of weighted squared error; inf: plain
    rounding; with the ``energy`` rule, the scale of mozjpeg's per-block lambda) and ``weights``
    (3, 64) zig-zag per component, or (3, B, 64) per block."""

    lam: float
    weights: np.ndarray
    rule: str = "fixed"  # what a bare lambda means; files default to DEFAULT_RULE

    @property
    def mu(self) -> float:
        """Bits' price in the compiled cost ``D + mu R``: 1 / lambda."""
        return 0.0 if math.isinf(self.lam) else 1.0 / self.lam


def energy_lambdas(coefficients: np.ndarray) -> np.ndarray:
    r"""(3, B) mozjpeg 4's per-block lambda in rd's units (bits + lambda x sum (e / q)^2), from
    (3, B, 64) zig-zag DCT coefficients y as :func:`analyze_rd` gives them (orthonormal):
    mozjpeg's :math:`2^{14.75} / (2^{16.5} + \mathrm{norm})`, norm the mean of the 63 squared
    AC outputs of its integer DCT (8 y), with its error in those units too:

    .. math::  \lambda_b = 2^{14.75} / (2^{16.5} / 64 + \overline{y^2_{AC}})

    (19.0 on a flat block, lower the more a block's AC energy masks its error)."""
    energy = np.mean(np.square(coefficients[..., 1:]), axis=-1)
    return 2**14.75 / (2**16.5 / 64 + energy)


def default_weights(tables: QuantTables) -> np.ndarray:
    """(3, 64) zig-zag weights ``1 / q^2`` of each component's table (Y luma, Cb/Cr chroma)."""
    steps = tables.to_array("zigzag").astype(np.float64)
    return 1.0 / np.square(steps[[0, 1, 1]])


def rd_settings(tables: QuantTables, lam: float | None = None) -> RDSettings:
    """The settings ``tables`` record in ``meta["rd"]``, ``lam`` overriding its lambda; one-line
    errors for bad entries. Defaults: :func:`default_weights`; the rule :data:`DEFAULT_RULE`,
    except that a lambda set without a rule (by file or ``lam``) is a ``fixed`` one, as it was
    before the rules; the rule's lambda from :data:`DEFAULT_LAMBDAS`."""
    recorded = tables.meta.get(META_KEY) or {}
    if not isinstance(recorded, Mapping):
        raise InvalidInputError(f"meta '{META_KEY}' must be an object, got {recorded!r}")
    unknown = set(recorded) - {"lambda", "weights", "source", "rule"}
    if unknown:
        raise InvalidInputError(f"meta '{META_KEY}' has unknown keys: {', '.join(sorted(unknown))}")
    rule = recorded.get("rule", "fixed" if "lambda" in recorded or lam is not None else None)
    rule = DEFAULT_RULE if rule is None else rule
    if rule not in RULES:
        raise InvalidInputError(f"rd rule must be one of {', '.join(RULES)}, got {rule!r}")
    value = recorded.get("lambda", DEFAULT_LAMBDAS[rule]) if lam is None else lam
    try:
        lam = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"rd lambda must be a number, got {value!r}") from None
    if math.isnan(lam) or lam <= 0:
        raise InvalidInputError(f"rd lambda must be > 0 (inf: plain rounding), got {value!r}")
    weights = default_weights(tables)
    if "weights" in recorded:
        try:
            weights = np.asarray(recorded["weights"], dtype=np.float64)
        except (TypeError, ValueError):
            raise InvalidInputError("rd weights must be numbers, (3, 64) zig-zag") from None
        check_weights(weights)
    return RDSettings(lam, weights, rule)


#: Floor of a block's normalized score: a block no guide looks at still keeps a trace of
#: weight, so its DC and strongest coefficients are not left to chance.
SCORE_FLOOR = 1e-3


def block_weights(settings: RDSettings, scores: np.ndarray, strength: float) -> np.ndarray:
    """(3, B, 64) trellis weights: the model-free ``settings.weights`` (3, 64) times each
    block's factor :math:`m_b \\propto (s_b/\\bar s)^{\\gamma}`, mean 1, from its scores
    ``s`` (B,) (a guide model's, :mod:`j4d.encoders.model_rd`, or the image's own,
    :mod:`j4d.encoders.predictor`) at strength :math:`\\gamma` (0: the model-free weights)."""
    factor = np.maximum(scores, SCORE_FLOOR) ** strength
    factor /= factor.mean()
    return settings.weights[:, None, :] * factor[None, :, None]


def check_weights(weights: np.ndarray, blocks: int | None = None) -> None:
    """One-line error unless ``weights`` are finite, >= 0, shaped (3, 64) or (3, blocks, 64)."""
    shapes = [(3, 64)] + ([(3, blocks, 64)] if blocks is not None else [])
    if weights.shape not in shapes:
        raise InvalidInputError(
            f"rd weights must have shape {' or '.join(map(str, shapes))}, got {weights.shape}"
        )
    if not np.all(np.isfinite(weights)) or np.any(weights < 0):
        raise InvalidInputError("rd weights must be finite and >= 0")


def _steps(tables: QuantTables) -> np.ndarray:
    return np.ascontiguousarray(tables.to_array("zigzag"), dtype=np.intc)


def analyze_rd(image: np.ndarray) -> np.ndarray:
    """(3, B, 64) float64 zig-zag DCT coefficients of an (H, W, 3) uint8 RGB image as the
    encoder sees them (libjpeg's YCbCr, edge-replicated blocks in raster order)."""
    image = check_rgb(image)
    height, width = image.shape[:2]
    data = _compiled().analyze(image, height, width)
    return np.frombuffer(data, dtype=np.float64).reshape(3, -1, 64)


def _huffman(shared: SharedTables | None) -> bytes | None:
    return None if shared is None else shared.huffman_bytes()


def rd_indices(
    coefficients: np.ndarray,
    tables: QuantTables,
    settings: RDSettings,
    passes: int = PASSES,
    shared: SharedTables | None = None,
    pricing: str = "baseline",
) -> np.ndarray:
    """(3, B, 64) int16 zig-zag indices the trellis chooses for ``coefficients`` (3, B, 64),
    bits priced as the ``pricing`` frame codes them (``smaller``: the frame the previous indices
    would take, see :func:`encode_rd`); with ``shared`` Huffman tables, bits are priced by their
    code lengths (one pass)."""
    coefficients = np.ascontiguousarray(coefficients, dtype=np.float64)
    blocks = coefficients.shape[1]
    check_weights(settings.weights, blocks)
    weights = np.ascontiguousarray(settings.weights, dtype=np.float64)
    energy = int(settings.rule == "energy")
    data = _compiled().quantize(
        coefficients,
        blocks,
        _steps(tables),
        weights,
        settings.mu,
        passes,
        energy,
        _huffman(shared),
        _frame(pricing),
    )
    return np.frombuffer(data, dtype=np.int16).reshape(3, blocks, 64)


def _frame(frame: str) -> int:
    if frame not in FRAMES:
        raise InvalidInputError(f"frame must be one of {', '.join(FRAMES)}, got {frame!r}")
    return FRAMES[frame]


def write_indices_rd(
    indices: np.ndarray,
    tables: QuantTables,
    height: int,
    width: int,
    frame: str = "baseline",
    shared: SharedTables | None = None,
    abbreviated: bool = False,
) -> bytes:
    """(3, B, 64) zig-zag indices as a 4:4:4 JPEG with optimal Huffman tables: ``baseline``,
    ``progressive`` (spectral selection: a DC scan, then each component's AC band with EOB
    runs) or the ``smaller`` of the two; the indices are the same either way. With ``shared``
    tables the file is baseline with their Huffman tables (``frame`` aside), and
    ``abbreviated`` leaves out its DQT and DHT segments (:mod:`j4d.jpegio.abbreviated`)."""
    indices = np.ascontiguousarray(indices, dtype=np.int16)
    return _compiled().write(
        indices, _steps(tables), height, width, _frame(frame), _huffman(shared), int(abbreviated)
    )


def encode_rd(
    image: np.ndarray,
    tables: QuantTables,
    settings: RDSettings | None = None,
    passes: int = PASSES,
    frame: str = "smaller",
    shared: SharedTables | None = None,
    abbreviated: bool = False,
    pricing: str = "baseline",
) -> bytes:
    """An (H, W, 3) uint8 RGB image as a JPEG with ``tables`` by the trellis, in ``frame``
    (see :func:`write_indices_rd`; ``shared`` Huffman tables price the bits and write the file,
    ``abbreviated`` leaves the tables out). The trellis prices bits as a baseline scan codes
    them (``pricing``; ``smaller``: as the frame the file will likely take, each progressive AC
    band with its EOB runs, which saved 0.1-1.6 % of the bytes on the zoo's MobileNetV2 tables
    but no bytes at equal divergence except at the lowest rate: results/probes/rd_eob_runs.md)."""
    image = check_rgb(image)
    settings = settings or rd_settings(tables)
    height, width = image.shape[:2]
    check_weights(settings.weights, -(-height // 8) * -(-width // 8))
    weights = np.ascontiguousarray(settings.weights, dtype=np.float64)
    energy = int(settings.rule == "energy")
    return _compiled().encode(
        image,
        height,
        width,
        _steps(tables),
        weights,
        settings.mu,
        passes,
        _frame(frame),
        energy,
        _huffman(shared),
        int(abbreviated),
        _frame(pricing),
    )
