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

import torch
from torch import nn
from torchvision.models.efficientnet import MBConv, MBConvConfig
from torchvision.ops import Conv2dNormActivation

from hsearch.models.common import ClassifierHead, ZooModel, init_weights, scale_depth, scale_width

__all__ = ["CifarEfficientNet", "efficientnet_b0"]

# (expansion, kernel, stride, out channels, blocks) of EfficientNet-B0's seven stages.
_B0_STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
              (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


class CifarEfficientNet(ZooModel, nn.Module):
    """EfficientNet (B0 stages) with a CIFAR stem and free width/depth multipliers."""

    def __init__(self, *, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0, dropout: float = 0.2) -> None:
        super().__init__()
        in_channels = scale_width(32, width_mult)
        self.stem = Conv2dNormActivation(3, in_channels, stride=1, activation_layer=nn.SiLU)
        depths, widths, stages = [], [], []
        for expansion, kernel, first_stride, channels, n_blocks in _B0_STAGES:
            n_blocks = scale_depth(n_blocks, depth_mult)
            out_channels = scale_width(channels, width_mult)
            blocks = []
            for i in range(n_blocks):
                # Channels are already scaled (multiples of 8), so MBConvConfig's own
                # rounding with width_mult=1 leaves them unchanged.
                config = MBConvConfig(expansion, kernel, first_stride if i == 0 else 1,
                                      in_channels, out_channels, 1)
                blocks.append(MBConv(config, 0.0, nn.BatchNorm2d))
                in_channels = out_channels
            stages.append(nn.Sequential(*blocks))
            depths.append(n_blocks)
            widths.append(out_channels)
        self.stages = nn.Sequential(*stages)
        self.head = ClassifierHead(in_channels, num_classes, dropout=dropout)
        self.stage_depths = tuple(depths)
        self.stage_widths = tuple(widths)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))


def efficientnet_b0(num_classes: int = 10, width_mult: float = 1.0,
                    depth_mult: float = 1.0) -> CifarEfficientNet:
    """EfficientNet-B0 for CIFAR (kuangliu's layout, torchvision's MBConv): 3.6 M params."""
    return CifarEfficientNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
