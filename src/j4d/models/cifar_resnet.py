"""CIFAR-10 ResNets (He et al. 2016, section 4.2): 3x3 stem, three stages of BasicBlocks with
16 / 32 / 64 channels, global average pooling, a linear classifier.

Shortcut option "A" (parameter-free: subsample and zero-pad channels) matches the akamaster
checkpoints; option "B" (1x1 convolution + BN) matches the chenyaofo checkpoints.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

Shortcut = Literal["A", "B"]


class _PadShortcut(nn.Module):
    """Option A: take every second pixel and zero-pad the new channels on both sides."""

    def __init__(self, planes: int) -> None:
        super().__init__()
        self.pad = planes // 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad))


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, shortcut: Shortcut) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        reshape = stride != 1 or in_planes != planes
        if not reshape:
            self.downsample: nn.Module = nn.Identity()
        elif shortcut == "A":
            self.downsample = _PadShortcut(planes)
        else:
            self.downsample = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + self.downsample(x))


class CifarResNet(nn.Module):
    """ResNet-{6n+2} for 32x32 inputs; ``fc`` is the classifier."""

    def __init__(self, depth: int, shortcut: Shortcut = "A", num_classes: int = 10) -> None:
        super().__init__()
        if (depth - 2) % 6:
            raise ValueError(f"CIFAR ResNet depth must be 6n + 2, got {depth}")
        blocks = (depth - 2) // 6
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        stages, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            layers = []
            for index in range(blocks):
                layers.append(BasicBlock(in_planes, planes, stride if index == 0 else 1, shortcut))
                in_planes = planes
            stages.append(nn.Sequential(*layers))
        self.layer1, self.layer2, self.layer3 = stages
        self.fc = nn.Linear(64, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(x.mean((2, 3)))
