"""DeepLabV3 (an ASPP head, Chen et al. 2017) on the features of torchvision's MobileNetV2.

The backbone keeps its ImageNet weights' layout (``features.*`` of ``mobilenet_v2()``), so the
ImageNet classifier's state dict initializes it; its last downsampling stages are replaced by
dilated convolutions (atrous) so that the feature map has 1/``output_stride`` of the input's
side. Logits are upsampled bilinearly to the input's size.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

#: The first block of each of MobileNetV2's last two downsampling stages (``features[i]``).
_STRIDE_BLOCKS = {8: (7, 14), 16: (14,), 32: ()}
_FEATURES = 18  # features[:18]: up to the 320-channel block, without the 1280-channel conv
_FEATURE_CHANNELS = 320


def _dilate(blocks: nn.Sequential, stride_blocks: tuple[int, ...]) -> None:
    """Turn the downsampling of ``stride_blocks`` into dilation of the 3x3 convolutions after:
    the block that no longer downsamples keeps the dilation before it, later ones double it."""
    dilation = 1
    for index, block in enumerate(blocks):
        for module in block.modules():
            if isinstance(module, nn.Conv2d) and module.kernel_size == (3, 3):
                if index in stride_blocks:
                    module.stride = (1, 1)
                module.dilation = (dilation, dilation)
                module.padding = (dilation, dilation)
        if index in stride_blocks:
            dilation *= 2


class DeepLabV3MobileNetV2(nn.Module):
    """``forward(x)``: normalized images (N, 3, H, W) -> logits (N, ``num_classes``, H, W)."""

    def __init__(
        self,
        num_classes: int,
        output_stride: int = 16,
        aspp_channels: int = 128,
        atrous_rates: tuple[int, int, int] = (6, 12, 18),
    ) -> None:
        super().__init__()
        import torchvision
        from torchvision.models.segmentation.deeplabv3 import ASPP

        if output_stride not in _STRIDE_BLOCKS:
            raise ValueError(f"output_stride must be one of {sorted(_STRIDE_BLOCKS)}")
        features = torchvision.models.mobilenet_v2(weights=None).features[:_FEATURES]
        _dilate(features, _STRIDE_BLOCKS[output_stride])
        self.features = features
        self.head = nn.Sequential(
            ASPP(_FEATURE_CHANNELS, list(atrous_rates), aspp_channels),
            nn.Conv2d(aspp_channels, aspp_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(aspp_channels),
            nn.ReLU(inplace=True),
            nn.Conv2d(aspp_channels, num_classes, 1),
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        logits = self.head(self.features(images))
        return F.interpolate(logits, size=images.shape[-2:], mode="bilinear", align_corners=False)
