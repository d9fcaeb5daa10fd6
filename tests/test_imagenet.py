"""The ImageNet setting: class-list labels, crop-only preprocessing, the registered
MobileNetV2, its data defaults, and a short training at 224x224."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from conftest import smooth_image
from j4d.cli.training_options import make_setup
from j4d.data import IMAGENET, read_class_list
from j4d.data.folders import ImageFolderDataset, UnlabeledCrops, parse_resize, preprocess
from j4d.errors import InvalidInputError
from j4d.evaluation.realfile import reference_predictions, score
from j4d.models import create_model
from j4d.train import TrainConfig, train_tables
from j4d.train.trainer import Trainer


@pytest.fixture(scope="module")
def mobilenet(data_root: Path) -> torch.nn.Module:
    return create_model("mobilenet_v2", data_root=data_root)


@pytest.fixture(scope="module")
def classes(data_root: Path) -> list[str]:
    return read_class_list(data_root / "imagenet-classes.txt")


def _subset(data_root: Path, target: Path, wnids: list[str]) -> Path:
    for wnid in wnids:
        (target / wnid).mkdir(parents=True)
        first = sorted((data_root / "imagenet-val" / wnid).iterdir())[0]
        shutil.copy(first, target / wnid / first.name)
    return target


def test_class_list_labels_a_subset_of_the_classes(data_root, tmp_path, classes):
    assert len(classes) == 1000 and classes[0] == "n01440764"
    wnids = [classes[1], classes[2]]  # two folders: labels 1 and 2, not 0 and 1
    dataset = ImageFolderDataset(_subset(data_root, tmp_path / "two", wnids), 224, classes=classes)
    assert [label for _, label in dataset.samples] == [1, 2]
    assert ImageFolderDataset(tmp_path / "two", 224).samples[0][1] == 0  # without the list
    (tmp_path / "two" / "n99999999").mkdir()
    shutil.copy(dataset.samples[0][0], tmp_path / "two" / "n99999999" / "x.JPEG")
    with pytest.raises(InvalidInputError, match="'n99999999' is not in the model's class list"):
        ImageFolderDataset(tmp_path / "two", 224, classes=classes)


def test_class_list_file_errors(tmp_path):
    (tmp_path / "empty.txt").write_text("\n")
    with pytest.raises(InvalidInputError, match="empty"):
        read_class_list(tmp_path / "empty.txt")
    (tmp_path / "twice.txt").write_text("a\tfirst\na\tagain\n")
    with pytest.raises(InvalidInputError, match="twice"):
        read_class_list(tmp_path / "twice.txt")
    with pytest.raises(InvalidInputError, match="cannot read class list"):
        read_class_list(tmp_path / "missing.txt")


def test_crop_only_preprocessing_never_resizes(rng):
    image = torch.from_numpy(smooth_image(rng, 227, 227)).permute(2, 0, 1)
    cropped = preprocess(image, 224, "none")
    assert torch.equal(cropped, image[:, 2:226, 2:226])  # torchvision: offset round(1.5)
    assert torch.equal(cropped, TF.center_crop(image, [224, 224]))
    resized = preprocess(image, 224)  # the usual: short side 256 first
    assert not torch.equal(resized, cropped)
    with pytest.raises(InvalidInputError, match="smaller than the 224x224 crop"):
        preprocess(image[:, :200], 224, "none")
    assert parse_resize("none") == "none" and parse_resize("300") == 300
    with pytest.raises(InvalidInputError, match="resize must be"):
        parse_resize("big")


def test_mobilenet_v2_loads_strictly_and_classifies_imagenet_val(data_root, mobilenet, tmp_path):
    assert mobilenet.input_size == 224 and mobilenet.data == IMAGENET
    weights = data_root / "models" / "imagenet" / "mobilenet_v2-dq-8dd951e5.pth"
    state = torch.load(weights, weights_only=True)
    missing = dict(state)
    missing.pop("classifier.1.bias")
    torch.save(missing, tmp_path / "missing.pth")
    with pytest.raises(InvalidInputError, match=r"missing classifier\.1\.bias"):
        create_model("mobilenet_v2", weights=tmp_path / "missing.pth")
    wrong = {**state, "classifier.1.bias": torch.zeros(10)}
    torch.save(wrong, tmp_path / "wrong.pth")
    with pytest.raises(InvalidInputError, match="do not fit model mobilenet_v2"):
        create_model("mobilenet_v2", weights=tmp_path / "wrong.pth")
    # 100 labeled validation images, centre-cropped: the data README's 79.46 % is on all 1300
    from j4d.cli.options import load_test_split

    test = load_test_split(data_root, None, mobilenet, 100)
    assert test.images.shape == (100, 3, 224, 224)
    measured = score(mobilenet, test.images, test.labels)
    top1, top5, agreement = measured["top1"], measured["top5"], measured["agreement"]
    assert top1 >= 0.7 and top5 >= 0.88 and agreement != agreement  # NaN without references
    (reference,) = reference_predictions(mobilenet, test.images)
    assert score(mobilenet, test.images, test.labels, reference)["agreement"] == 1.0
    as_reference = test.labels[:, None]  # agreement with the labels as "predictions" = top-1
    assert score(mobilenet, test.images, test.labels, as_reference)["agreement"] == top1


def test_imagenet_models_learn_from_unlabeled_crops_by_default(data_root):
    options = {
        "data_root": data_root,
        "model_specs": ("mobilenet_v2",),
        "train_dir": None,
        "unlabeled_dirs": (),
        "unlabeled_crops": 64,
        "unlabeled_zoom": 4.0,
        "seed": 0,
        "val_size": 500,
        "device": "cpu",
    }
    setup = make_setup(options)
    assert isinstance(setup.train, UnlabeledCrops) and setup.val is None
    assert [root.name for root in setup.train.roots] == ["imagenet-samples", "kodak24"]
    assert setup.description["unlabeled_images"] == 334 + 24
    image, _ = setup.train[0]
    assert image.shape == (3, 224, 224)


def test_two_steps_on_four_224_crops_lower_the_objective(data_root, mobilenet):
    crops = UnlabeledCrops([data_root / "kodak24"], 224, crops=4, seed=0)
    config = TrainConfig(lam=1.0, init="qf:50", epochs=2, batch_size=4, lr=3.0)
    images = torch.stack([crops[i][0] for i in range(4)])
    labels = torch.tensor([crops[i][1] for i in range(4)])

    def objective(tables) -> float:
        trainer = Trainer([mobilenet], crops, config, tables)
        with torch.no_grad():
            return trainer.objective(images, labels)[0].item()

    result = train_tables(mobilenet, crops, config, progress=False)
    assert result.history[-1]["step"] == 2
    from j4d.tables import QuantTables

    assert objective(result.tables) < objective(QuantTables.from_quality(50))


def test_unlabeled_crops_never_upsample_beyond_the_image(tmp_path, rng):
    from PIL import Image

    (tmp_path / "photos").mkdir()
    Image.fromarray(smooth_image(rng, 40, 60)).save(tmp_path / "photos" / "a.png")
    crops = UnlabeledCrops([tmp_path / "photos"], 8, crops=4, zoom=10.0)
    assert min(crops._image(0).shape[-2:]) == 40  # not the 80 the zoom allows
