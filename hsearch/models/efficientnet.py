"""EfficientNet-B0 for 32x32 inputs, from torchvision's ``MBConv`` blocks.

Macro-structure of kuangliu's pytorch-cifar ``EfficientNetB0`` (the HAET 2021 baselines):
a stride-1 3x3 stem with 32 channels, the seven B0 stages (16, 24, 40, 80, 112, 192, 320
channels; strides 1,2,2,2,1,2,1), no 1280-channel head conv, dropout 0.2 before the
classifier. The blocks are torchvision's (expansion, depthwise conv, SE with
``input_channels // 4`` squeeze channels and SiLU, projection), which match kuangliu's.
Stochastic depth is off: kuangliu's drop-connect rate is computed from a block counter
that never increments, so the reference trains without it.
"""

from __future__ import annotations

import functools

from torch import nn
from torchvision.models.efficientnet import MBConv, MBConvConfig
from torchvision.ops import Conv2dNormActivation

from hsearch.models.common import scale_width
from hsearch.models.skeleton import StagedNet, scaled_stages

__all__ = ["CifarEfficientNet", "efficientnet_b0"]

# (expansion, kernel, stride, out channels, blocks) of EfficientNet-B0's seven stages.
_B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def _mbconv(expansion: int, kernel: int, in_channels: int, out_channels: int,
            stride: int) -> MBConv:
    # Channels are already scaled (multiples of 8), so MBConvConfig's own rounding with
    # width_mult=1 leaves them unchanged.
    config = MBConvConfig(expansion, kernel, stride, in_channels, out_channels, 1)
    return MBConv(config, 0.0, nn.BatchNorm2d)


class CifarEfficientNet(StagedNet):
    """EfficientNet (B0 stages) with a CIFAR stem and free width/depth multipliers."""

    def __init__(self, *, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        in_channels = scale_width(32, width_mult)
        self.stem = Conv2dNormActivation(3, in_channels, stride=1, activation_layer=nn.SiLU)
        specs = ((functools.partial(_mbconv, expansion, kernel), n_blocks, channels, stride)
                 for expansion, kernel, stride, channels, n_blocks in _B0_STAGES)
        stages = scaled_stages(specs, in_channels, width_mult, depth_mult)
        self.add_head(self.add_stages(stages), num_classes, dropout=dropout)


def efficientnet_b0(num_classes: int = 10, width_mult: float = 1.0,
                    depth_mult: float = 1.0) -> CifarEfficientNet:
    """EfficientNet-B0 for CIFAR (kuangliu's layout, torchvision's MBConv): 3.6 M params."""
    return CifarEfficientNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
