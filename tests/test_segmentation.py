"""Segmentation building blocks: mIoU against hand-computed cases, paired folders and their
one-line errors, the DeepLabV3 output shape, and the CamVid classes file."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from j4d.data.paired import PairedFolderDataset, read_segmentation_classes
from j4d.errors import InvalidInputError
from j4d.models.deeplab import DeepLabV3MobileNetV2
from j4d.tasks.segmentation_metrics import (
    class_iou,
    confusion_matrix,
    mean_iou,
    pixel_accuracy,
)

VOID = 3  # classes 0, 1, 2 and void


def test_miou_hand_computed_with_void_and_an_absent_class() -> None:
    target = torch.tensor([[0, 0, 1, 1], [0, 1, VOID, VOID]])
    predicted = torch.tensor([[0, 1, 1, 1], [0, 0, 2, 0]])  # void pixels: never counted
    confusion = confusion_matrix(predicted, target, 3, VOID)
    assert confusion.tolist() == [[2, 1, 0], [1, 2, 0], [0, 0, 0]]
    # class 0: TP 2, FP 1, FN 1 -> 2/4; class 1: TP 2, FP 1, FN 1 -> 2/4; class 2 absent from
    # labels and (counted) predictions: left out of the mean instead of counting as 0 or 1.
    iou = class_iou(confusion)
    assert iou[:2].tolist() == [0.5, 0.5] and math.isnan(float(iou[2]))
    assert mean_iou(confusion) == pytest.approx(0.5)
    assert pixel_accuracy(confusion) == pytest.approx(4 / 6)


def test_miou_counts_a_class_only_predicted_as_zero() -> None:
    target = torch.tensor([0, 0, 1, 1])
    predicted = torch.tensor([0, 2, 1, 1])  # class 2 predicted once, never true: IoU 0
    iou = class_iou(confusion_matrix(predicted, target, 3, None))
    assert iou.tolist() == [0.5, 1.0, 0.0]
    assert mean_iou(confusion_matrix(predicted, target, 3, None)) == pytest.approx(0.5)


def test_confusion_accumulates_over_images() -> None:
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 4, (3, 5, 7), generator=generator)
    predicted = torch.randint(0, 3, (3, 5, 7), generator=generator)
    whole = confusion_matrix(predicted, target, 3, VOID)
    parts = sum(confusion_matrix(p, t, 3, VOID) for p, t in zip(predicted, target, strict=True))
    assert torch.equal(whole, parts)
    assert int(whole.sum()) == int((target != VOID).sum())


def _write_pair(root: Path, stem: str, size=(16, 8), label_size=None, top=2) -> None:
    (root / "images").mkdir(parents=True, exist_ok=True)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(stem))
    width, height = size
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(
        root / "images" / f"{stem}.webp", lossless=True
    )
    lw, lh = label_size or size
    label = rng.integers(0, top + 1, (lh, lw), dtype=np.uint8)
    Image.fromarray(label).save(root / "labels" / f"{stem}.png")


@pytest.fixture
def classes_file(tmp_path: Path) -> Path:
    path = tmp_path / "classes.txt"
    path.write_text("0\tsky\n1\troad\n2\tcar\n3\tUnlabelled (void)\n")
    return path


def test_classes_file_names_the_void_class(classes_file: Path) -> None:
    classes = read_segmentation_classes(classes_file)
    assert classes.names[:3] == ("sky", "road", "car")
    assert classes.ignore_index == 3 and classes.num_classes == 3


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("0\tsky\n2\troad\n", "line 2: expected '1<TAB>name'"),
        ("0\tvoid\n1\troad\n", "line 1: the void class must be last"),
        ("", "no classes"),
    ],
)
def test_bad_classes_file(tmp_path: Path, text: str, problem: str) -> None:
    path = tmp_path / "classes.txt"
    path.write_text(text)
    with pytest.raises(InvalidInputError, match=problem):
        read_segmentation_classes(path)


def test_paired_folder_reads_pairs(tmp_path: Path, classes_file: Path) -> None:
    for stem in ("b", "a"):
        _write_pair(tmp_path / "split", stem, top=3)
    dataset = PairedFolderDataset(tmp_path / "split", read_segmentation_classes(classes_file))
    image, label = dataset[0]
    assert [p.stem for p in dataset.images] == ["a", "b"]
    assert image.shape == (3, 8, 16) and image.dtype == torch.uint8
    assert label.shape == (8, 16) and label.dtype == torch.int64
    stored = np.asarray(Image.open(tmp_path / "split" / "labels" / "a.png"))
    assert torch.equal(label, torch.from_numpy(stored.astype(np.int64)))


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        ("missing", r"b\.webp: no label b\.png"),
        ("size", r"b\.png: label is 12x8 but its image is 16x8"),
        ("value", r"b\.png: label value 4 outside the 4 classes"),
    ],
)
def test_bad_pairs_name_the_file(
    tmp_path: Path, classes_file: Path, damage: str, problem: str
) -> None:
    root = tmp_path / "split"
    _write_pair(root, "a")
    if damage == "missing":
        _write_pair(root, "b")
        (root / "labels" / "b.png").unlink()
    elif damage == "size":
        _write_pair(root, "b", label_size=(12, 8))
    else:
        _write_pair(root, "b")
        Image.fromarray(np.full((8, 16), 4, np.uint8)).save(root / "labels" / "b.png")
    with pytest.raises(InvalidInputError, match=problem):
        PairedFolderDataset(root, read_segmentation_classes(classes_file))


def test_camvid_classes(data_root: Path) -> None:
    classes = read_segmentation_classes(data_root / "camvid" / "classes.txt")
    assert classes.num_classes == 11 and classes.ignore_index == 11
    assert classes.names[3] == "Road"


@pytest.mark.parametrize("output_stride", [8, 16])
def test_deeplab_output_shape_and_stride(output_stride: int) -> None:
    torch.manual_seed(0)
    model = DeepLabV3MobileNetV2(11, output_stride).eval()
    images = torch.randn(1, 3, 48, 64)
    with torch.no_grad():
        assert model.features(images).shape[-2:] == (48 // output_stride, 64 // output_stride)
        assert model(images).shape == (1, 11, 48, 64)
