"""The CamVid DeepLabV3-MobileNetV2 j4d ships (scripts/train_camvid_deeplabv3.py), and the
segmentation path through eval on real files."""

from __future__ import annotations

import hashlib
import json

import pytest
import torch

from j4d.cli import main
from j4d.data.paired import read_segmentation_classes
from j4d.data.testset import load_paired_test_images
from j4d.evaluation.realfile import score
from j4d.models import create_model
from j4d.models.registry import PACKAGED_WEIGHTS
from j4d.tables import QuantTables
from j4d.tasks import Segmentation

NAME = "camvid_deeplabv3_mobilenet_v2"


@pytest.fixture(scope="module")
def camvid_model(data_root):
    return create_model(NAME, data_root=data_root)


def test_registry_model_shape_task_and_weights(camvid_model, data_root):
    classes = read_segmentation_classes(data_root / "camvid" / "classes.txt")
    assert camvid_model.task == Segmentation(11, ignore_index=11, class_names=classes.names[:11])
    assert camvid_model.data.test == "camvid/val"
    with torch.no_grad():
        logits = camvid_model(torch.rand(2, 3, 64, 96) * 255)
    assert logits.shape == (2, 11, 64, 96)
    weights = PACKAGED_WEIGHTS / f"{NAME}.pt"
    recorded = (PACKAGED_WEIGHTS / f"{NAME}.sha256").read_text().split()[0]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == recorded
    assert weights.stat().st_size <= 25 * 2**20


def test_val_miou_uncompressed(camvid_model, data_root):
    classes = read_segmentation_classes(data_root / "camvid" / "classes.txt")
    test = load_paired_test_images(data_root / "camvid" / "val", classes)
    assert test.images.shape == (101, 3, 360, 480) and test.labels.shape == (101, 360, 480)
    measured = score(camvid_model, test.images, test.labels)
    assert measured["miou"] >= 0.55  # SegNet's published CamVid test mIoU: 55.6 %
    assert measured["pixel_accuracy"] > measured["miou"]


def test_eval_measures_miou_on_real_files(tmp_path, capsys, data_root):
    QuantTables.from_quality(60).save(tmp_path / "t.json")
    argv = [tmp_path / "t.json", "-m", NAME, "--test-size", 3, "--qualities", "10,90"]
    status = main(["eval", *map(str, argv), "-q", "-o", str(tmp_path / "e")])
    assert status == 0, capsys.readouterr().err
    rows = json.loads((tmp_path / "e" / "points.json").read_text())["points"]
    by_name = {row["name"]: row for row in rows}
    assert set(by_name) == {"t", "jpeg_q10", "jpeg_q90"}
    assert by_name["jpeg_q10"]["miou"] < by_name["jpeg_q90"]["miou"] <= 1
    assert all(0 <= row["agreement"] <= 1 and "top1" not in row for row in rows)
    summary = (tmp_path / "e" / "summary.md").read_text()
    assert "mIoU" in summary and "class of a pixel after compression" in summary
