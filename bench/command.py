"""What every whole-process benchmark's command line does: parse its options, run it, print
its table and write its JSON report (atomically) to ``--out``."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

from j4d.utils.files import atomic_write_json


def bench_main(
    description: str,
    options: dict[str, int],
    default_out: str,
    bench: Callable[..., dict],
    format_report: Callable[[dict], str],
    argv: list[str] | None = None,
) -> int:
    """Run ``bench`` with the integer ``options`` (name -> default; ``per_shard`` is given as
    ``--per-shard``) from ``argv``; print ``format_report`` of its report and write the report
    to ``--out``."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for name, default in options.items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    parser.add_argument("--out", type=Path, default=Path(default_out))
    args = parser.parse_args(argv)
    report = bench(**{name: getattr(args, name) for name in options})
    print(format_report(report))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(args.out, report)
    return 0
