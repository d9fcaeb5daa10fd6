"""``j4d demo``: an offline end-to-end run on ../shared/data that finishes in about a minute.

Until training and evaluation land, it exercises the core: tables exported to JSON and read
back, the differentiable codec's rate estimate against real files on CIFAR-10, and real
uniform and probabilistic JPEG files of Kodak images with their sizes and PSNR.
"""

from __future__ import annotations

import time
from pathlib import Path

import click
from tqdm import tqdm

from j4d.cli.options import data_option
from j4d.codec import kernels
from j4d.data import class_spread_files, require_data_root
from j4d.fileutil import atomic_write_bytes, atomic_write_text
from j4d.jpegio import decode, encode_probabilistic, encode_uniform, file_rate, load_image
from j4d.metrics import psnr
from j4d.rate.check import agreement, estimate_vs_real
from j4d.tables import QuantTables

_QUALITIES = (5, 10, 25, 50, 75, 90, 95)


@click.command("demo")
@data_option
@click.option(
    "-o",
    "--output",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=Path("demo-out"),
    show_default=True,
)
@click.option(
    "--cifar-images",
    type=int,
    default=500,
    show_default=True,
    help="CIFAR-10 test images for the rate check.",
)
@click.option("--kodak-images", type=int, default=4, show_default=True)
def command(data_root: Path | None, out_dir: Path, cifar_images: int, kodak_images: int) -> None:
    """Run the offline demo and write demo-out/report.md."""
    start = time.perf_counter()
    root = require_data_root(data_root)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = ["# j4d demo", "", f"Data: `{root}`", ""]

    tables_path = QuantTables.from_quality(50).save(out_dir / "qf50.json")
    tables = QuantTables.load(tables_path)
    click.echo(f"tables: wrote and re-read {tables_path}")

    with kernels.eager_mode():  # one-shot work: compiling would take longer than the demo
        lines += _rate_check(root, cifar_images)
        lines += _kodak_files(root, tables, out_dir, kodak_images)
    elapsed = time.perf_counter() - start
    lines += ["", f"Wall time: {elapsed:.1f} s."]
    report = atomic_write_text(out_dir / "report.md", "\n".join(lines) + "\n")
    click.echo(f"\ndemo finished in {elapsed:.1f} s; report: {report}")


def _rate_check(root: Path, count: int) -> list[str]:
    files = class_spread_files(root / "cifar10" / "test", count)
    images = [load_image(f) for f in tqdm(files, desc="load CIFAR-10", disable=None, leave=False)]
    points = estimate_vs_real(
        images, tqdm(_QUALITIES, desc="rate check", disable=None, leave=False)
    )
    rows = [(p.quality, p.estimated_bpp, p.real_scan_bpp, p.real_file_bpp) for p in points]
    pearson = agreement([p.estimated_bpp for p in points], [p.real_scan_bpp for p in points])[
        "pearson"
    ]
    header = (
        f"## Rate estimate vs real files: {len(images)} CIFAR-10 test images, default tables, "
        "4:4:4, optimized Huffman, alpha = 100"
    )
    table = [
        header,
        "",
        "| QF | estimated bpp | real scan bpp | real whole-file bpp |",
        "|---:|---:|---:|---:|",
        *(f"| {q} | {e:.3f} | {s:.3f} | {w:.3f} |" for q, e, s, w in rows),
        "",
        f"Pearson (estimate vs scan bpp, {len(rows)} QFs): {pearson:.5f}",
        "",
    ]
    click.echo("\n".join(table))
    return table


def _kodak_files(root: Path, tables: QuantTables, out_dir: Path, count: int) -> list[str]:
    files = sorted((root / "kodak24").glob("kodim*.png"))[:count]
    rows = []
    for path in tqdm(files, desc="encode Kodak", disable=None, leave=False):
        image = load_image(path)
        for mode, data in (
            ("uniform", encode_uniform(image, tables)),
            ("probabilistic", encode_probabilistic(image, tables, seed=0)),
        ):
            target = atomic_write_bytes(out_dir / f"{path.stem}.{mode}.jpg", data)
            rate = file_rate(data, *image.shape[:2])
            rows.append((target.name, rate, psnr(image, decode(data))))
    table = [
        "## Kodak files with the re-read QF 50 tables (4:4:4, optimized Huffman)",
        "",
        "| file | bytes | whole-file bpp | scan bpp | PSNR dB |",
        "|---|---:|---:|---:|---:|",
        *(
            f"| {name} | {r.file_bytes} | {r.file_bpp:.3f} | {r.scan_bpp:.3f} | {p:.2f} |"
            for name, r, p in rows
        ),
    ]
    click.echo("\n".join(table))
    return table
