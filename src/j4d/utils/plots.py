"""Figures: table and sensitivity heatmaps, rate-accuracy curves (matplotlib, headless).

Every function writes the figure atomically to each path given (the format follows the
suffix: .png, .svg, .pdf) and returns the paths.
"""

from __future__ import annotations

import io
import os
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np

from j4d.utils.files import atomic_write_bytes

PathLike = str | os.PathLike[str]


class Picture(Protocol):
    """One picture of a comparison figure (e.g. :class:`j4d.evaluation.compare.Version`)."""

    label: str
    pixels: np.ndarray
    scan_bpp: float | None  # None: uncompressed
    shown: np.ndarray | None  # what the model made of it, as a picture (or None)
    caption: str


# the same figure gives the same bytes: SVG ids from a fixed salt, no dates in SVG or PDF
matplotlib.rcParams["svg.hashsalt"] = "j4d"
_NO_DATE = {"svg": {"Date": None}, "pdf": {"CreationDate": None, "ModDate": None}}


def _save(figure: plt.Figure, paths: Sequence[PathLike]) -> list[Path]:
    written = []
    for path in paths:
        buffer = io.BytesIO()
        kind = Path(path).suffix.lstrip(".") or "png"
        figure.savefig(buffer, format=kind, dpi=150, metadata=_NO_DATE.get(kind))
        written.append(atomic_write_bytes(path, buffer.getvalue()))
    plt.close(figure)
    return written


def heatmaps(
    grids: Sequence[np.ndarray],
    titles: Sequence[str],
    paths: Sequence[PathLike],
    suptitle: str = "",
    log_scale: bool = False,
    annotate: bool = True,
) -> list[Path]:
    """Side-by-side 8x8 heatmaps (natural order: row = vertical frequency), one colour scale."""
    arrays = [np.asarray(grid, dtype=float).reshape(8, 8) for grid in grids]
    low = min(float(a.min()) for a in arrays)
    high = max(float(a.max()) for a in arrays)
    norm = None
    if log_scale:
        positive = [a[a > 0] for a in arrays]
        low = min((float(p.min()) for p in positive if p.size), default=1e-12)
        norm = matplotlib.colors.LogNorm(vmin=low, vmax=max(high, low * 10))
    figure, axes = plt.subplots(1, len(arrays), figsize=(3.4 * len(arrays) + 0.8, 3.6))
    axes = np.atleast_1d(axes)
    image = None
    for axis, array, title in zip(axes, arrays, titles, strict=True):
        shown = np.where(array > 0, array, np.nan) if log_scale else array
        image = axis.imshow(
            shown,
            cmap="viridis",
            norm=norm,
            vmin=None if norm else low,
            vmax=None if norm else high,
        )
        axis.set_title(title, fontsize=10)
        axis.set_xticks(range(8))
        axis.set_yticks(range(8))
        axis.set_xlabel("horizontal frequency")
        axis.set_ylabel("vertical frequency")
        if annotate:
            middle = np.sqrt(low * high) if log_scale else (low + high) / 2
            for (row, column), value in np.ndenumerate(array):
                text = f"{value:.0f}" if not log_scale else f"{value:.1e}"
                axis.text(
                    column,
                    row,
                    text,
                    ha="center",
                    va="center",
                    fontsize=6 if log_scale else 7,
                    color="white" if value < middle else "black",
                )
    if suptitle:
        figure.suptitle(suptitle, fontsize=11)
    figure.colorbar(image, ax=list(axes), shrink=0.85)
    return _save(figure, paths)


def _log_rate_axis(axis: plt.Axes, xlabel: str) -> None:
    axis.set_xscale("log")  # codec sweeps spread their rates geometrically
    axis.xaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    axis.set_xlabel(f"{xlabel} (log scale)")


def rate_accuracy(
    curves: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    paths: Sequence[PathLike],
    title: str = "",
    xlabel: str = "scan bpp",
    extra_points: Sequence[tuple[str, Sequence[float], Sequence[float]]] = (),
    ylabel: str = "top-1 accuracy (%)",
    yscale: float = 100.0,
    legend: str = "lower right",
) -> list[Path]:
    """Accuracy (%) against rate: one line per (label, rates, accuracies) curve, sorted by rate;
    ``extra_points`` are drawn as unconnected markers (e.g. all sweep runs behind a frontier).
    Other y quantities (e.g. PSNR) with ``ylabel`` and ``yscale`` (the values' multiplier)."""
    figure, axis = plt.subplots(figsize=(6.4, 4.6))
    for label, rates, accuracies in extra_points:
        axis.scatter(rates, yscale * np.asarray(accuracies), s=14, alpha=0.45, label=label)
    for label, rates, accuracies in curves:
        order = np.argsort(rates)
        axis.plot(
            np.asarray(rates)[order],
            yscale * np.asarray(accuracies)[order],
            marker="o",
            markersize=4,
            label=label,
        )
    _log_rate_axis(axis, xlabel)
    axis.set_ylabel(ylabel)
    axis.grid(True, alpha=0.3)
    axis.legend(loc=legend, fontsize=9)
    if title:
        axis.set_title(textwrap.fill(title, 72), fontsize=10)  # long titles wrap
    figure.tight_layout()
    return _save(figure, paths)


def rate_gain(
    curves: Sequence[tuple[str, Sequence[float], Sequence[float]]],
    paths: Sequence[PathLike],
    reference: str,
    title: str = "",
    xlabel: str = "scan bpp",
    ylabel: str = "top-1 accuracy",
) -> list[Path]:
    """Each (label, rates, gains) curve's gain over ``reference`` in points against rate, with
    the zero line: a lead of a point or two, invisible on a full-scale rate-accuracy plot."""
    figure, axis = plt.subplots(figsize=(6.4, 4.6))
    axis.axhline(0.0, color="black", linewidth=1.0, label=reference)
    for label, rates, gains in curves:
        axis.plot(rates, 100.0 * np.asarray(gains), marker="o", markersize=3, label=label)
    _log_rate_axis(axis, xlabel)
    axis.set_ylabel(f"{ylabel}: gain over {reference} (points)")
    axis.grid(True, alpha=0.3)
    axis.legend(loc="best", fontsize=9)
    if title:
        axis.set_title(textwrap.fill(title, 72), fontsize=10)  # long titles wrap
    figure.tight_layout()
    return _save(figure, paths)


def estimate_scatter(
    real: Sequence[float],
    estimated: Sequence[float],
    qualities: Sequence[int],
    paths: Sequence[PathLike],
    title: str = "",
    xlabel: str = "real scan bpp",
) -> list[Path]:
    """Estimated against real bpp, one dot per (image, QF) coloured by QF, with the diagonal."""
    figure, axis = plt.subplots(figsize=(5.6, 5.0))
    # rasterized: thousands of dots would make a multi-megabyte SVG
    dots = axis.scatter(
        real, estimated, c=qualities, s=5, cmap="viridis", alpha=0.7, rasterized=True
    )
    high = max(max(real), max(estimated)) * 1.03
    axis.plot([0, high], [0, high], color="black", linewidth=0.8, label="estimate = real")
    axis.set_xlim(0, high)
    axis.set_ylim(0, high)
    axis.set_aspect("equal")
    axis.set_xlabel(xlabel)
    axis.set_ylabel("estimated bpp")
    axis.grid(True, alpha=0.3)
    axis.legend(loc="upper left", fontsize=9)
    figure.colorbar(dots, ax=axis, label="JPEG quality", shrink=0.85)
    if title:
        axis.set_title(title, fontsize=10)
    figure.tight_layout()
    return _save(figure, paths)


def comparison(
    rows: Sequence[Sequence[Picture]],
    paths: Sequence[PathLike],
    title: str = "",
    legend: Sequence[tuple[str, np.ndarray]] = (),
) -> list[Path]:
    """One line of pictures per image (uncompressed, default JPEG, learned tables; titled with
    the scan bpp), and a line of the model's pictures below it where it makes some (class maps,
    keyed by ``legend``: (name, RGB uint8) pairs); otherwise the model's caption joins the
    titles."""
    import textwrap

    lines: list[list[tuple[np.ndarray, str]]] = []
    for versions in rows:
        titles = [
            v.label + ("" if v.scan_bpp is None else f", {v.scan_bpp:.3f} bpp") for v in versions
        ]
        shown = [v.shown for v in versions]
        if all(picture is not None for picture in shown):
            lines.append([(v.pixels, t) for v, t in zip(versions, titles, strict=True)])
            lines.append([(p, v.caption) for p, v in zip(shown, versions, strict=True)])
        else:
            pairs = zip(versions, titles, strict=True)
            lines.append([(v.pixels, f"{t}\n{v.caption}") for v, t in pairs])
    # long class names wrap to the picture's width: titles never run into their neighbours
    lines = [
        [(p, "\n".join(textwrap.fill(part, 34) for part in t.split("\n"))) for p, t in line]
        for line in lines
    ]
    title_lines = max(text.count("\n") + 1 for line in lines for _, text in line)
    columns = max(len(line) for line in lines)
    height, width = lines[0][0][0].shape[:2]
    scale = 4.0 / max(height, width)
    figure, axes = plt.subplots(
        len(lines),
        columns,
        figsize=(columns * width * scale, len(lines) * (height * scale + 0.2 + 0.2 * title_lines)),
        squeeze=False,
    )
    for axis_row, line in zip(axes, lines, strict=True):
        for axis, (picture, text) in zip(axis_row, line, strict=False):
            axis.imshow(picture)
            axis.set_title(text, fontsize=9)
        for axis in axis_row:
            axis.axis("off")
    if title:
        figure.suptitle(title, fontsize=10)
    bottom = 0.0
    if legend:
        from matplotlib.patches import Patch

        handles = [Patch(color=np.asarray(rgb) / 255, label=name) for name, rgb in legend]
        figure.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), fontsize=9)
        bottom = 0.25 / figure.get_figheight() * (1 + -(-len(handles) // 6))
    figure.tight_layout(rect=(0, bottom, 1, 0.98 if title else 1))
    return _save(figure, paths)
