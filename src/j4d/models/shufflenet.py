"""ShuffleNetV2 for 32x32 CIFAR inputs: torchvision's network with a stride-1 3x3 stem and no
max-pool (the layout of the chenyaofo checkpoints)."""

from __future__ import annotations

from torch import nn
from torchvision.models import ShuffleNetV2

_WIDTHS = {"x0_5": [24, 48, 96, 192, 1024], "x1_0": [24, 116, 232, 464, 1024]}


def cifar_shufflenet_v2(width: str = "x0_5", num_classes: int = 10) -> nn.Module:
    channels = _WIDTHS[width]
    model = ShuffleNetV2([4, 8, 4], channels, num_classes=num_classes)
    model.conv1 = nn.Sequential(
        nn.Conv2d(3, channels[0], 3, 1, 1, bias=False),
        nn.BatchNorm2d(channels[0]),
        nn.ReLU(inplace=True),
    )
    model.maxpool = nn.Identity()
    return model
