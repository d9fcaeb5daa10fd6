import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from conftest import smooth_image
from j4d.data.folders import (
    UNLABELED,
    Augment,
    ImageFolderDataset,
    UnlabeledCrops,
    augment,
    make_loader,
    preprocess,
)
from j4d.errors import InvalidInputError


def test_cifar_folder_labels_follow_the_standard_order(data_root):
    dataset = ImageFolderDataset(data_root / "cifar10" / "test", 32)
    assert len(dataset) == 5000
    assert (
        dataset.classes[:3] == ["airplane", "automobile", "bird"] and dataset.classes[9] == "truck"
    )
    image, label = dataset[len(dataset) - 1]
    assert image.shape == (3, 32, 32) and image.dtype == torch.uint8 and label == 9


def test_preprocessing_matches_torchvision_resize_and_centre_crop(rng):
    image = torch.from_numpy(smooth_image(rng, 300, 400)).permute(2, 0, 1)
    ours = preprocess(image, 224)
    reference = v2.Compose([v2.Resize(256), v2.CenterCrop(224)])(image)
    assert ours.shape == (3, 224, 224) and torch.equal(ours, reference)
    small = torch.from_numpy(smooth_image(rng, 32, 32)).permute(2, 0, 1)
    assert torch.equal(preprocess(small, 32), small)  # already the input size: untouched


def test_augmentation_is_seeded_per_sample_and_epoch(data_root):
    options = Augment(hflip=True, crop_padding=4)
    dataset = ImageFolderDataset(data_root / "cifar10" / "test", 32, options, seed=5, limit=40)
    plain = ImageFolderDataset(data_root / "cifar10" / "test", 32, limit=40)
    first = [dataset[i][0] for i in range(40)]
    assert all(torch.equal(a, dataset[i][0]) for i, a in enumerate(first))  # repeatable
    changed = sum(not torch.equal(a, plain[i][0]) for i, a in enumerate(first))
    assert changed >= 30  # crops and flips really happen
    dataset.set_epoch(1)
    assert sum(not torch.equal(a, dataset[i][0]) for i, a in enumerate(first)) >= 30


def test_flip_and_crop_do_what_they_say():
    image = torch.arange(3 * 4 * 4, dtype=torch.uint8).view(3, 4, 4)
    flips = {
        torch.equal(
            augment(image, Augment(hflip=True), torch.Generator().manual_seed(s)), image.flip(-1)
        )
        for s in range(20)
    }
    assert flips == {True, False}
    cropped = augment(image, Augment(hflip=False, crop_padding=2), torch.Generator().manual_seed(0))
    assert cropped.shape == image.shape


def test_loader_order_is_fixed_by_its_seed(data_root):
    dataset = ImageFolderDataset(data_root / "cifar10" / "test", 32)
    labels = [next(iter(make_loader(dataset, 32, shuffle=True, seed=s)))[1] for s in (3, 3, 4)]
    assert torch.equal(labels[0], labels[1]) and not torch.equal(labels[0], labels[2])


def test_bad_dataset_folders(tmp_path):
    with pytest.raises(InvalidInputError, match="dataset folder not found"):
        ImageFolderDataset(tmp_path / "missing", 32)
    (tmp_path / "empty" / "cat").mkdir(parents=True)
    with pytest.raises(InvalidInputError, match="holds no images"):
        ImageFolderDataset(tmp_path / "empty", 32)
    bad = tmp_path / "bad" / "cat"
    bad.mkdir(parents=True)
    (bad / "x.png").write_text("not an image")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(bad / "y.png")
    dataset = ImageFolderDataset(tmp_path / "bad", 8)
    assert dataset[1][0].shape == (3, 8, 8)
    with pytest.raises(InvalidInputError, match=r"x\.png"):
        dataset[0]


def test_limit_takes_images_from_every_class(data_root):
    dataset = ImageFolderDataset(data_root / "cifar10" / "train", 32, limit=30)
    labels = [label for _, label in dataset.samples]
    assert len(labels) == 30 and sorted(set(labels)) == list(range(10))
    assert all(labels.count(c) == 3 for c in range(10))


def _write_images(folder, sizes, first=0):
    folder.mkdir(parents=True, exist_ok=True)
    for i, (height, width) in enumerate(sizes, first):
        value = np.zeros((height, width, 3), np.uint8)
        value[..., 1] = 60 * i  # green tells the images apart (a constant survives resizing)
        value[: height // 2, :, 0] = 200  # a red edge: crops from different places differ
        Image.fromarray(value).save(folder / f"{i}.png")


def test_unlabeled_crops_cycle_through_images_seeded_per_epoch(tmp_path):
    _write_images(tmp_path / "a" / "nested", [(40, 60), (90, 50)])
    _write_images(tmp_path / "b", [(16, 16)], first=2)  # smaller than the input: upscaled
    (tmp_path / "b" / "notes.txt").write_text("not an image, skipped")
    crops = UnlabeledCrops([tmp_path / "a", tmp_path / "b"], 8, crops=30, zoom=3.0, seed=1)
    assert len(crops) == 30 and len(crops.paths) == 3
    first = [crops[i] for i in range(30)]
    assert all(image.shape == (3, 8, 8) and label == UNLABELED for image, label in first)
    # crop i comes from image i mod 3
    assert [int(image[1].min()) for image, _ in first] == [60 * (i % 3) for i in range(30)]
    assert all(torch.equal(image, crops[i][0]) for i, (image, _) in enumerate(first))
    crops.set_epoch(1)
    assert sum(not torch.equal(image, crops[i][0]) for i, (image, _) in enumerate(first)) >= 5
    with pytest.raises(IndexError):
        crops[30]


def test_bad_unlabeled_folders(tmp_path):
    with pytest.raises(InvalidInputError, match="unlabeled image folder not found"):
        UnlabeledCrops([tmp_path / "missing"], 8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match="holds no images"):
        UnlabeledCrops([tmp_path / "empty"], 8)
    _write_images(tmp_path / "ok", [(10, 10)])
    with pytest.raises(InvalidInputError, match="zoom"):
        UnlabeledCrops([tmp_path / "ok"], 8, zoom=0.5)
    with pytest.raises(InvalidInputError, match="crops"):
        UnlabeledCrops([tmp_path / "ok"], 8, crops=0)
    (tmp_path / "ok" / "x.png").write_text("not an image")
    crops = UnlabeledCrops([tmp_path / "ok"], 8, crops=2)
    with pytest.raises(InvalidInputError, match=r"x\.png"):
        crops[1]
