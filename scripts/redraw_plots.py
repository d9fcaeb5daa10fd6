"""Redraw the plots of evaluation reports from the data they keep (``make plots``).

The repository keeps each report's data (``points.json``, ``frontier.csv``, the summaries) and
only the plots a page shows; this draws the others again: each report's ``rate_accuracy``,
``rate_distortion``, ``rate_agreement`` and ``gain_*`` curves from its ``points.json``, as
``j4d eval`` drew them (the front overlays ``fronts_*`` come from ``scripts/plot_fronts.py``, as
``results/run_all.sh`` calls it; table heatmaps from a rerun of the evaluation).

Usage: ``python scripts/redraw_plots.py [RESULTS_FOLDER ...]`` (default: every folder under
``results/`` that holds a ``points.json`` with a ``meta``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from j4d.evaluation.report import draw_curves
from j4d.models.registry import REGISTRY
from j4d.tasks import Classification, Task

ROOT = Path(__file__).resolve().parent.parent


def report_task(rows: list[dict], meta: dict) -> Task:
    """The task a report's rows were read by: a segmenter's where they hold mIoU, else a
    classifier's; by agreement where the report says so (no labeled test image)."""
    task: Task = Classification()
    if "miou" in rows[0]:
        task = next(s.task for s in REGISTRY.values() if "miou" in s.task.metrics)
    if str(meta.get("metric", "")).startswith("agreement"):
        task = task.read_by("agreement")
    return task


def redraw(folder: Path) -> bool:
    """The curves of the report in ``folder``; False where it holds no report data."""
    path = folder / "points.json"
    if not path.is_file():
        return False
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or not data.get("points") or "meta" not in data:
        return False
    rows, meta = data["points"], data["meta"]
    draw_curves(folder, rows, meta, report_task(rows, meta))
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="*", type=Path)
    args = parser.parse_args(argv)
    folders = args.folders or sorted(p.parent for p in (ROOT / "results").rglob("points.json"))
    drawn = [folder for folder in folders if redraw(folder)]
    for folder in drawn:
        print(f"redrawn: {folder}")
    return 0 if drawn or not args.folders else 2


if __name__ == "__main__":
    sys.exit(main())
