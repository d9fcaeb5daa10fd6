"""Fused elementwise kernels of the masked CPMF (forward and hand-derived backward).

They are plain PyTorch functions. Eager PyTorch runs each of their ~30 operations as a
separate pass over N x 3 x B x 64 coefficients; ``torch.compile`` fuses them into one loop
(C++ on CPU, Triton on CUDA), about 8x faster here. Compiling costs seconds to a minute once
per process, so it is on only where it pays: inside :func:`compiling` (training loops), or
everywhere with ``J4D_COMPILE=1``; ``J4D_COMPILE=0`` never compiles. One-shot work (encoding,
the Python API's first call) runs eagerly. A failed compile falls back to eager execution with
one warning.

Notation: ``u = 2 (y - r q)`` with r the centre index, logits relative to it
``l_j = alpha j q (u - j q)`` for offsets j = -2..2 (``l_0 = 0``, the largest when |u| <= q).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import torch

T = TypeVar("T")

COMPILE_ENV = "J4D_COMPILE"

_state = {"failed": False, "eager_depth": 0, "compile_depth": 0, "announced": False}
COMPILE_NOTICE = (
    "j4d: compiling the codec's fused kernels (once per process, seconds to a minute; "
    f"{COMPILE_ENV}=0 runs them eagerly)"
)


def compile_enabled() -> bool:
    """Whether fused kernels are compiled: inside :func:`compiling` or with ``J4D_COMPILE=1``;
    never with ``J4D_COMPILE=0``, inside :func:`eager_mode`, or after a failure."""
    if _state["failed"] or _state["eager_depth"]:
        return False
    flag = os.environ.get(COMPILE_ENV, "")
    if flag in ("0", "1"):
        return flag == "1"
    return bool(_state["compile_depth"])


@contextlib.contextmanager
def compiling() -> Iterator[None]:
    """Compile fused kernels inside this block (loops that run them many times: training),
    unless ``J4D_COMPILE=0`` or an enclosing :func:`eager_mode` says otherwise."""
    _state["compile_depth"] += 1
    try:
        yield
    finally:
        _state["compile_depth"] -= 1


@contextlib.contextmanager
def eager_mode() -> Iterator[None]:
    """Run fused kernels eagerly inside this block (for one-shot work where compiling would
    cost more than it saves)."""
    _state["eager_depth"] += 1
    try:
        yield
    finally:
        _state["eager_depth"] -= 1


def compiles(function: Callable[..., T]) -> Callable[..., T]:
    """Run ``function`` (a loop over many batches) inside :func:`compiling`."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        with compiling():
            return function(*args, **kwargs)

    return wrapper


def fused(function: Callable[..., T]) -> Callable[..., T]:
    """Run ``function`` through ``torch.compile`` when enabled, else (or on failure) eagerly.

    Compiling costs seconds once per process and pays off in loops (training, inside
    :func:`compiling`); elsewhere, and in ``function.eager``, the function runs as written."""
    compiled: list[Callable[..., T]] = []

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        if not compile_enabled():
            return function(*args, **kwargs)
        if not compiled:
            if not _state["announced"]:  # a wait the user should not have to guess at
                _state["announced"] = True
                print(COMPILE_NOTICE, file=sys.stderr, flush=True)
            # torch's C++ toolchain probe logs a "No CUDA runtime" warning on CPU machines.
            logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
            compiled.append(torch.compile(function, dynamic=True))
        try:
            return compiled[0](*args, **kwargs)
        except Exception as error:  # inductor failures surface as many exception types
            _state["failed"] = True
            warnings.warn(
                f"torch.compile of j4d's fused kernels failed ({type(error).__name__}: "
                f"{str(error)[:200]}); running eagerly (slower). "
                f"Set {COMPILE_ENV}=0 to skip compiling.",
                RuntimeWarning,
                stacklevel=2,
            )
            return function(*args, **kwargs)

    wrapper.eager = function  # type: ignore[attr-defined]
    return wrapper


def round_half_away(x: torch.Tensor) -> torch.Tensor:
    """Round to nearest, ties away from zero (libjpeg's quantizer; ``torch.round`` ties to even)."""
    return torch.sign(x) * torch.floor(x.abs() + 0.5)


def _weights(
    y: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor, center: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unnormalized CPMF weights exp(l_j) for j = -2, -1, +1, +2, and 1 / their sum with 1."""
    aq = alpha * q
    u = 2 * (y - center * q)
    e_p1 = torch.exp(aq * (u - q))
    e_m1 = torch.exp(-aq * (u + q))
    damping = torch.exp(-2 * aq * q)  # l_{+-2} = 2 l_{+-1} - 2 alpha q^2
    e_p2 = e_p1 * e_p1 * damping
    e_m2 = e_m1 * e_m1 * damping
    inv = 1.0 / (1.0 + e_p1 + e_m1 + e_p2 + e_m2)
    return e_m2, e_m1, e_p1, e_p2, inv


@fused
def cpmf_forward(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor,
    center: torch.Tensor,
    probs: torch.Tensor,
) -> torch.Tensor:
    """Write the five CPMF values into ``probs`` (5, ...); return the mean offset.

    For centres that need no masking. Writing into a given buffer lets the compiled loop
    compute the shared exponentials once; ``torch.stack`` of five expressions made inductor
    recompute them for every slice (2x slower here)."""
    e_m2, e_m1, e_p1, e_p2, inv = _weights(y, q, alpha, center)
    for j, value in enumerate((e_m2 * inv, e_m1 * inv, inv, e_p1 * inv, e_p2 * inv)):
        probs[j].copy_(value)
    return (e_p1 - e_m1 + 2 * (e_p2 - e_m2)) * inv


@fused
def cpmf_sample(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor,
    center: torch.Tensor,
    uniform: torch.Tensor,
) -> torch.Tensor:
    """Index drawn by inverse CDF with uniform variates ``uniform`` (same shape as y)."""
    e_m2, e_m1, e_p1, _, inv = _weights(y, q, alpha, center)
    return cdf_position(uniform, e_m2 * inv, e_m1 * inv, inv, e_p1 * inv) + center - 2


@fused
def centre_and_margin(
    y: torch.Tensor, q: torch.Tensor, alpha: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre index ``round(y / q)`` (ties away from zero) and ``-max(l_{-1}, l_{+1})``.

    The margin ``alpha q (q - |u|)`` bounds every neighbour's logit: index r +- j has
    probability below ``exp(-margin)``."""
    center = round_half_away(y / q)
    u = 2 * (y - center * q)
    return center, alpha * q * (q - u.abs())


def cdf_position(
    uniform: torch.Tensor, p0: torch.Tensor, p1: torch.Tensor, p2: torch.Tensor, p3: torch.Tensor
) -> torch.Tensor:
    """Number of cumulative probabilities ``p0, p0 + p1, ...`` that ``uniform`` reaches (0..4)."""
    c1 = p0
    c2 = c1 + p1
    c3 = c2 + p2
    c4 = c3 + p3
    return (
        (uniform >= c1).to(uniform.dtype)
        + (uniform >= c2).to(uniform.dtype)
        + (uniform >= c3).to(uniform.dtype)
        + (uniform >= c4).to(uniform.dtype)
    )


def _input_gradients(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor,
    center: torch.Tensor,
    probs: torch.Tensor,
    upstream: tuple[torch.Tensor, ...],
) -> tuple[torch.Tensor, torch.Tensor]:
    """Chain rule from upstream gradients ``g_j`` of the five CPMF values to y and q.

    ``dL/dl_j = p_j (g_j - sum_k p_k g_k)``, ``A = sum_j j dL/dl_j``, ``B = sum_j j^2 dL/dl_j``;
    then ``dL/dy = 2 alpha q A`` and ``dL/dq = alpha ((u - 2 q r) A - 2 q B)``, summed over
    the axes q is broadcast along (alpha is a constant). Reducing here lets the compiled loop
    accumulate dL/dq without storing it per coefficient (a strided reduction of a full-size
    tensor afterwards took as long as the rest of the backward pass).
    """
    p_m2, p_m1, p_0, p_p1, p_p2 = probs.unbind(0)
    g_m2, g_m1, g_0, g_p1, g_p2 = upstream
    mean_g = p_m2 * g_m2 + p_m1 * g_m1 + p_0 * g_0 + p_p1 * g_p1 + p_p2 * g_p2
    w_m2 = p_m2 * (g_m2 - mean_g)
    w_m1 = p_m1 * (g_m1 - mean_g)
    w_p1 = p_p1 * (g_p1 - mean_g)
    w_p2 = p_p2 * (g_p2 - mean_g)
    a_sum = (w_p1 - w_m1) + 2 * (w_p2 - w_m2)
    b_sum = (w_p1 + w_m1) + 4 * (w_p2 + w_m2)
    grad_y = 2 * alpha * q * a_sum
    grad_q = alpha * (2 * (y - 2 * center * q) * a_sum - 2 * q * b_sum)
    return grad_y, grad_q.sum_to_size(q.shape)


@fused
def cpmf_backward(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor,
    center: torch.Tensor,
    probs: torch.Tensor,
    grad_probs: torch.Tensor,
    grad_mean: torch.Tensor,
    grad_first: torch.Tensor,
    is_first: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients w.r.t. y and q (reduced to q's shape).

    Upstream: ``grad_probs`` of the five values, ``grad_mean`` of the mean offset (adds
    ``j grad_mean`` to value j), and ``grad_first`` (5, ..., 1) of the separate output
    ``probs[..., :1]``, added where ``is_first`` (a boolean over the last axis) holds.
    """
    upstream = grad_probs + torch.where(is_first, grad_first, 0.0)
    offsets = (-2, -1, 0, 1, 2)
    g = tuple(upstream[j] + offset * grad_mean for j, offset in enumerate(offsets))
    return _input_gradients(y, q, alpha, center, probs, g)


@fused
def histogram_backward(
    y: torch.Tensor,
    q: torch.Tensor,
    alpha: torch.Tensor,
    center: torch.Tensor,
    probs: torch.Tensor,
    keys: torch.Tensor,
    grad_histogram: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Gradients w.r.t. y and q (reduced to q's shape) of a loss on ``histogram``, where value j of
    every coefficient was added to ``histogram[j, keys]``: the gather ``grad_histogram[j, keys]``
    happens inside the fused loop, so no (5, ...) gradient tensor is ever stored."""
    g = tuple(grad_histogram[j][keys] for j in range(5))
    return _input_gradients(y, q, alpha, center, probs, g)
