"""The fine-grained setting: the CUB-50 MobileNetV2 j4d ships (scripts/train_cub50_mobilenetv2.py),
labels from the bird folders, crop-only preprocessing, and a short table training on birds."""

from __future__ import annotations

import hashlib

import pytest
import torch

from j4d.cli.options import load_test_split
from j4d.cli.training_options import make_setup
from j4d.data import CUB50
from j4d.data.folders import ImageFolderDataset
from j4d.evaluation.realfile import score
from j4d.models import create_model
from j4d.models.registry import PACKAGED_WEIGHTS
from j4d.tables import QuantTables
from j4d.train import TrainConfig, train_tables
from j4d.train.trainer import Trainer

NAME = "cub50_mobilenet_v2"


@pytest.fixture(scope="module")
def birds(data_root):
    return create_model(NAME, data_root=data_root)


def test_registry_entry_shape_weights_and_sha256(birds):
    assert birds.data == CUB50 and birds.input_size == 224
    assert not any(p.requires_grad for p in birds.parameters()) and not birds.training
    with torch.no_grad():
        assert birds(torch.rand(2, 3, 224, 224) * 255).shape == (2, 50)
    weights = PACKAGED_WEIGHTS / f"{NAME}.pt"
    recorded = (PACKAGED_WEIGHTS / f"{NAME}.sha256").read_text().split()[0]
    assert hashlib.sha256(weights.read_bytes()).hexdigest() == recorded
    assert weights.stat().st_size <= 10 * 2**20
    state = torch.load(weights, map_location="cpu", weights_only=True)
    assert set(state) == set(birds.network.state_dict())  # loaded strictly
    assert all(v.dtype == torch.float16 for v in state.values() if v.is_floating_point())


def test_labels_are_the_sorted_bird_folders(data_root):
    test = ImageFolderDataset(data_root / "cub50" / "test", 224, resize="none")
    lines = (data_root / "cub50" / "classes.txt").read_text().splitlines()
    names = [line.split("\t")[1] for line in lines]
    assert test.classes == [f"{i:03d}.{name}" for i, name in enumerate(names)]
    path, label = test.samples[-1]
    assert label == 49 and f"/{test.classes[49]}/" in path
    image, _ = test[0]
    assert image.shape == (3, 224, 224)  # 227x227 birds, centre crop, no resize


def test_it_classifies_the_test_birds(birds, data_root):
    test = load_test_split(data_root, None, birds, 200)  # 4 of each class
    assert test.images.shape == (200, 3, 224, 224) and test.labels.bincount().eq(4).all()
    # the fine-tuning script's report: 1500 images; a linear probe alone reaches about 92 %
    assert score(birds, test.images, test.labels)["top1"] >= 0.88


def test_two_steps_on_birds_lower_the_objective(birds, data_root):
    options = {
        "data_root": data_root,
        "model_specs": (NAME,),
        "train_dir": None,
        "unlabeled_dirs": (),
        "unlabeled_crops": 0,
        "unlabeled_zoom": 4.0,
        "seed": 0,
        "val_size": 50,
        "device": "cpu",
    }
    setup = make_setup(options)
    assert len(setup.train) == 1452 - 50 and len(setup.val) == 50
    train = setup.train.select(range(4))
    config = TrainConfig(lam=1.0, init="qf:50", epochs=2, batch_size=4, lr=3.0)
    images = torch.stack([train[i][0] for i in range(4)])
    labels = torch.tensor([train[i][1] for i in range(4)])

    def objective(tables) -> float:
        trainer = Trainer([birds], train, config, tables)
        with torch.no_grad():
            return trainer.objective(images, labels)[0].item()

    result = train_tables(birds, train, config, progress=False)
    assert result.history[-1]["step"] == 2
    assert objective(result.tables) < objective(QuantTables.from_quality(50))


def test_compare_crops_birds_to_the_model_input(tmp_path, capsys, data_root):
    from j4d.cli import main
    from j4d.cli.compare import centre_crop
    from j4d.errors import InvalidInputError

    image = torch.randint(0, 256, (227, 227, 3), dtype=torch.uint8).numpy()
    # torchvision's centre crop: top = round((227 - 224) / 2) = 2
    assert (centre_crop(image, 224, "bird.jpg") == image[2:226, 2:226]).all()
    with pytest.raises(InvalidInputError, match=r"bird\.jpg: image is 227x227, smaller"):
        centre_crop(image, 256, "bird.jpg")
    QuantTables.from_quality(30).save(tmp_path / "t.json")
    birds = sorted((data_root / "cub50" / "test" / "000.Black_footed_Albatross").iterdir())[:2]
    argv = ["compare", *birds, "--tables", tmp_path / "t.json", "-m", NAME, "--crop"]
    assert main([*map(str, argv), "-o", str(tmp_path / "f.png")]) == 0
    out = capsys.readouterr().out
    assert f"{birds[0].name}: JPEG QF" in out and (tmp_path / "f.png").stat().st_size > 0
