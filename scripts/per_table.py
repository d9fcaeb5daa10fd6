"""Two encoders on the same tables, table by table, from two evaluations' ``points.json`` (same
images, same decoder): each table's whole-file bytes and metric by the second encoder against
the first (relative bytes, metric in points), and the median and range over the tables. Tables
are matched by name with the encoder's suffix (``_trellis``, ``_rd``, ``_rd-aware``) left off.

The means are over the evaluation's images and unmatched (each encoder at its own operating
point): a table whose second file is smaller and as accurate is a gain at matched accuracy; see
``results/probes/rd_operating_point.py`` for the paired, matched reading on imagenet-val.

Usage: python scripts/per_table.py FOLDER:METHOD FOLDER:METHOD [--metric top1] [--json OUT]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

from j4d.errors import InvalidInputError
from j4d.utils.files import atomic_write_json

SUFFIXES = ("_trellis", "_rd-aware", "_rd", "_pillow")  # "_rd-aware" before "_rd"


def _key(name: str) -> str:
    """The table's name: ``name`` less its encoder's suffix (only the last: a zoo table's own
    name may end in ``_rd``)."""
    for suffix in SUFFIXES:
        if name.endswith(suffix):
            return name.removesuffix(suffix)
    return name


def points(spec: str) -> dict[str, dict]:
    """``FOLDER:METHOD`` -> that method's points by table name (suffix left off)."""
    folder, sep, method = spec.rpartition(":")
    path = Path(folder) / "points.json"
    if not sep or not path.is_file():
        raise InvalidInputError(f"{spec!r}: expected FOLDER:METHOD with FOLDER/points.json")
    rows = [r for r in json.loads(path.read_text())["points"] if r["method"] == method]
    if not rows:
        raise InvalidInputError(f"{path}: no points of method {method!r}")
    return {_key(r["name"]): r for r in rows}


def compare(first: dict[str, dict], second: dict[str, dict], metric: str) -> list[dict]:
    rows = []
    for name in sorted(set(first) & set(second), key=lambda n: first[n]["file_bpp"]):
        a, b = first[name], second[name]
        rows.append(
            {
                "tables": name,
                "file_bpp": a["file_bpp"],
                "bytes": 100 * (b["file_bpp"] / a["file_bpp"] - 1),
                "metric": 100 * (b[metric] - a[metric]),
            }
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first")
    parser.add_argument("second")
    parser.add_argument("--metric", default="top1")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    try:
        rows = compare(points(args.first), points(args.second), args.metric)
    except InvalidInputError as error:
        print(f"per_table: error: {error}", file=sys.stderr)
        return 2
    if not rows:
        print("per_table: error: no table in both", file=sys.stderr)
        return 2
    print(f"| tables | first's file bpp | bytes | {args.metric} (points) |")
    print("|---|---:|---:|---:|")
    for row in rows:
        print(
            f"| {row['tables']} | {row['file_bpp']:.3f} | {row['bytes']:+.2f} % | "
            f"{row['metric']:+.2f} |"
        )
    changes = [row["bytes"] for row in rows]
    summary = {
        "tables": len(rows),
        "bytes_median": statistics.median(changes),
        "bytes_range": [min(changes), max(changes)],
        "metric_median": statistics.median(row["metric"] for row in rows),
    }
    print(
        f"{len(rows)} tables: bytes median {summary['bytes_median']:+.2f} % "
        f"({min(changes):+.2f}..{max(changes):+.2f}), {args.metric} median "
        f"{summary['metric_median']:+.2f} points"
    )
    if args.json:
        atomic_write_json(args.json, {"first": args.first, "second": args.second, "rows": rows,
                                      **summary})  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
