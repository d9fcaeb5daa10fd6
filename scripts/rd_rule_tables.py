"""Copies of tables files that ``rd`` writes with another lambda rule (``meta["rd"]``), so that
``j4d eval --encoder rd`` measures them: e.g. mozjpeg 4's per-block lambda (``--rule energy``).

Usage: python scripts/rd_rule_tables.py TABLES.json ... -o FOLDER [--rule energy] [--lambda 1]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from j4d.encoders.rd import RULES
from j4d.tables import QuantTables


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tables", nargs="+", type=Path)
    parser.add_argument("-o", "--out", type=Path, required=True)
    parser.add_argument("--rule", choices=RULES, default="energy")
    parser.add_argument("--lambda", dest="lam", type=float, default=1.0)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for path in args.tables:
        tables = QuantTables.load(path)
        meta = {k: v for k, v in tables.meta.items() if k not in ("test", "encoder", "rd")}
        rd = {"lambda": args.lam, "rule": args.rule}
        # a front's tables carry their encoder in the name (qf50_lam1_trellis); the copy is rd's
        name = path.name.removesuffix("_trellis.json").removesuffix(".json") + ".json"
        QuantTables(tables.luma, tables.chroma, meta={**meta, "encoder": "rd", "rd": rd}).save(
            args.out / name
        )
    print(f"{len(args.tables)} tables files with rd rule {args.rule} x {args.lam:g} in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
