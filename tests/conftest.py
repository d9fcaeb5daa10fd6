"""Shared fixtures: the offline data in ../shared/data, and small synthetic images."""

from __future__ import annotations

import os
from pathlib import Path

import jpeglib
import numpy as np
import pytest
import torch

# Unit tests run the fused kernels eagerly (compiling each small shape costs seconds); the
# compiled path is checked against the eager one by tests that switch it on explicitly.
os.environ.setdefault("J4D_COMPILE", "0")

from j4d.data import class_spread_files, default_data_root
from j4d.jpegio import load_image
from j4d.jpegio._jpeglib import scratch_file, use_turbo
from j4d.utils.files import read_csv


@pytest.fixture(scope="session")
def data_root() -> Path:
    root = default_data_root()
    if not (root / "cifar10").is_dir():
        # The suite checks the codec against real data: without it, it must fail, not pass.
        pytest.fail(
            f"offline data not found at {root} (put shared/ beside the clone or set J4D_DATA)"
        )
    return root


@pytest.fixture(scope="session")
def cifar_test_files(data_root: Path) -> list[Path]:
    return class_spread_files(data_root / "cifar10" / "test", 500)


@pytest.fixture(scope="session")
def cifar_images(cifar_test_files: list[Path]) -> list[np.ndarray]:
    return [load_image(f) for f in cifar_test_files]


@pytest.fixture(scope="session")
def kodak_files(data_root: Path) -> list[Path]:
    return sorted((data_root / "kodak24").glob("kodim*.png"))


@pytest.fixture(scope="session")
def pillow_round_trip(cifar_images: list[np.ndarray]):
    """Check that tables make a real file: Pillow writes them as they are and the file decodes."""
    from j4d.encoders import encode_uniform
    from j4d.jpegio import decode, read_tables

    def check(tables) -> None:
        image = cifar_images[0]
        data = encode_uniform(image, tables)
        assert read_tables(data) == tables
        assert decode(data).shape == image.shape

    return check


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def libjpeg_decode(data: bytes) -> np.ndarray:
    """A second decoder: libjpeg-turbo 2.1 through jpeglib (Pillow is the first)."""
    use_turbo()
    with scratch_file(data) as path:
        return jpeglib.read_spatial(path).spatial


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A natural-looking synthetic RGB image (smooth gradients plus a little noise)."""
    yy, xx = np.mgrid[0:height, 0:width] / max(height, width)
    base = np.stack([128 + 90 * np.sin(3 * xx + c) * np.cos(2 * yy - c) for c in range(3)], -1)
    noisy = base + rng.normal(0, 6, base.shape)
    return np.clip(noisy, 0, 255).round().astype(np.uint8)


def _without_seconds(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def _tensors_equal(first, second) -> bool:
    if isinstance(first, torch.Tensor):
        return torch.equal(first, second)
    if isinstance(first, dict):
        return first.keys() == second.keys() and all(
            _tensors_equal(first[k], second[k]) for k in first
        )
    if isinstance(first, list | tuple):
        return len(first) == len(second) and all(map(_tensors_equal, first, second))
    return first == second


def assert_same_run(expected: Path, actual: Path) -> None:
    """Identical tables files, checkpoint (tables, Adam state, position) and history (all but
    the seconds each epoch took)."""
    for name in ("tables.json", "tables.txt"):
        assert (actual / name).read_bytes() == (expected / name).read_bytes(), name
    saved = [torch.load(run / "checkpoint.pt", weights_only=False) for run in (expected, actual)]
    for key in ("tables", "optimizer", "method", "auxiliary_optimizer"):
        assert _tensors_equal(saved[0][key], saved[1][key]), key
    states = [dict(s["state"], history=_without_seconds(s["state"]["history"])) for s in saved]
    assert states[1] == states[0]
    histories = [_without_seconds(read_csv(run / "history.csv")) for run in (expected, actual)]
    assert histories[1] == histories[0]
