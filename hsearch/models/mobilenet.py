"""MobileNets for 32x32 inputs: MobileNetV1 (written here) and MobileNetV2 (torchvision blocks).

Both use kuangliu's CIFAR strides (stride-1 stem; MobileNetV2 also keeps the 24-channel
stage at stride 1), so a 32 px input leaves the last stage at 2x2 (V1) or 4x4 (V2).
"""

from __future__ import annotations

import functools

from torch import nn
from torchvision.models.mobilenetv2 import InvertedResidual
from torchvision.ops import Conv2dNormActivation

from hsearch.models.common import conv_bn, scale_width
from hsearch.models.skeleton import StagedNet, scaled_stages

__all__ = ["CifarMobileNetV1", "CifarMobileNetV2", "mobilenetv1", "mobilenetv2"]

# MobileNetV1 stages (channels, stride of the first block, blocks); kuangliu's flat list
# [64, (128,2), 128, (256,2), 256, (512,2), 512 x5, (1024,2), 1024] grouped by resolution.
_V1_STAGES = ((64, 1, 1), (128, 2, 2), (256, 2, 2), (512, 2, 6), (1024, 2, 2))

# MobileNetV2 (expansion, channels, blocks, stride), kuangliu's CIFAR version: the second
# stage runs at stride 1 instead of 2.
_V2_STAGES = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
              (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _separable_block(in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """Depthwise 3x3 conv-BN-ReLU, then pointwise 1x1 conv-BN-ReLU."""
    return nn.Sequential(
        conv_bn(in_channels, in_channels, stride=stride, groups=in_channels),
        conv_bn(in_channels, out_channels, kernel_size=1),
    )


class CifarMobileNetV1(StagedNet):
    """MobileNetV1: 3x3 stem (32) then depthwise-separable blocks 64..1024 (3.2 M params).

    Written here (torchvision has no MobileNetV1); follows kuangliu's ``MobileNet``.
    """

    def __init__(self, *, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> None:
        super().__init__()
        in_channels = scale_width(32, width_mult)
        self.stem = conv_bn(3, in_channels)
        specs = ((_separable_block, n_blocks, channels, stride)
                 for channels, stride, n_blocks in _V1_STAGES)
        stages = scaled_stages(specs, in_channels, width_mult, depth_mult)
        self.add_head(self.add_stages(stages), num_classes)


class CifarMobileNetV2(StagedNet):
    """MobileNetV2 with torchvision's ``InvertedResidual`` blocks and CIFAR strides.

    Unlike torchvision's ``MobileNetV2`` (stride-2 stem, last conv never below 1280),
    the width multiplier scales every layer including the 1280-channel last conv.
    Blocks are the paper's (and torchvision's): ReLU6, no expansion conv when t=1,
    residuals only where shapes match. kuangliu's CIFAR version differs in its blocks
    (ReLU, an expansion conv also at t=1, 1x1-conv+BN projection shortcuts in stride-1
    blocks that change width): 2,296,922 parameters and 94.6 M MACs against 2,236,682
    and 91.3 M here.
    """

    def __init__(self, *, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> None:
        super().__init__()
        in_channels = scale_width(32, width_mult)
        self.stem = Conv2dNormActivation(3, in_channels, stride=1, activation_layer=nn.ReLU6)
        specs = ((functools.partial(InvertedResidual, expand_ratio=expansion), n_blocks, channels,
                  stride) for expansion, channels, n_blocks, stride in _V2_STAGES)
        in_channels = self.add_stages(scaled_stages(specs, in_channels, width_mult, depth_mult))
        last_channels = scale_width(1280, width_mult)
        self.last_conv = Conv2dNormActivation(in_channels, last_channels, kernel_size=1,
                                              activation_layer=nn.ReLU6)
        self.add_head(last_channels, num_classes)


def mobilenetv1(num_classes: int = 10, width_mult: float = 1.0,
                depth_mult: float = 1.0) -> CifarMobileNetV1:
    """MobileNetV1 for CIFAR (kuangliu): 3.2 M params."""
    return CifarMobileNetV1(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)


def mobilenetv2(num_classes: int = 10, width_mult: float = 1.0,
                depth_mult: float = 1.0) -> CifarMobileNetV2:
    """MobileNetV2 for CIFAR (kuangliu's strides, torchvision's blocks): 2.2 M params."""
    return CifarMobileNetV2(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
