"""GoogLeNet for 32x32 inputs (written here, after kuangliu's pytorch-cifar).

A 3x3 stem with 192 channels, then Inception modules 3a-3b, max-pool, 4a-4e, max-pool,
5a-5b with the channel table of Szegedy et al. 2015, global average pooling and a linear
classifier. As in kuangliu's version, the "5x5" branch is two 3x3 convs. torchvision's
``GoogLeNet`` is not reused: its constructor hard-codes the channel table and the
ImageNet stem (so no width multiplier), and its "5x5" branch is a single 3x3 conv.
The convs here have no bias (each is followed by BatchNorm, which makes a bias
redundant); kuangliu's have one: 7,904 more parameters for the same function class.

Depth scaling changes the number of Inception modules per stage (2/5/2); a stage of
``n`` modules uses the reference configurations spread evenly over the stage, always
ending with the stage's last one, so the stage's output width does not change.
"""

from __future__ import annotations

import torch
from torch import nn

from hsearch.models.common import conv_bn, scale_depth, scale_width
from hsearch.models.skeleton import Stage, StagedNet

__all__ = ["CifarGoogLeNet", "Inception", "googlenet"]

# Per stage, the Inception modules' (1x1, 3x3 reduce, 3x3, 5x5 reduce, 5x5, pool proj).
_STAGES = (
    ((64, 96, 128, 16, 32, 32), (128, 128, 192, 32, 96, 64)),
    ((192, 96, 208, 16, 48, 64), (160, 112, 224, 24, 64, 64), (128, 128, 256, 24, 64, 64),
     (112, 144, 288, 32, 64, 64), (256, 160, 320, 32, 128, 128)),
    ((256, 160, 320, 32, 128, 128), (384, 192, 384, 48, 128, 128)),
)


class Inception(nn.Module):
    """Four parallel branches (1x1; 1x1-3x3; 1x1-3x3-3x3; maxpool-1x1), concatenated."""

    def __init__(self, in_channels: int, n1x1: int, n3x3_reduce: int, n3x3: int,
                 n5x5_reduce: int, n5x5: int, pool_proj: int) -> None:
        super().__init__()
        self.branch1 = conv_bn(in_channels, n1x1, kernel_size=1)
        self.branch2 = nn.Sequential(conv_bn(in_channels, n3x3_reduce, kernel_size=1),
                                     conv_bn(n3x3_reduce, n3x3))
        self.branch3 = nn.Sequential(conv_bn(in_channels, n5x5_reduce, kernel_size=1),
                                     conv_bn(n5x5_reduce, n5x5), conv_bn(n5x5, n5x5))
        self.branch4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                     conv_bn(in_channels, pool_proj, kernel_size=1))
        self.out_channels = n1x1 + n3x3 + n5x5 + pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1(x), self.branch2(x), self.branch3(x), self.branch4(x)],
                         dim=1)


class CifarGoogLeNet(StagedNet):
    """GoogLeNet (Inception v1, BN after every conv) for CIFAR, scaled by width/depth."""

    def __init__(self, *, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> None:
        super().__init__()
        in_channels = scale_width(192, width_mult)
        self.stem = conv_bn(3, in_channels)
        stages = []
        for index, configs in enumerate(_STAGES):
            layers: list[nn.Module] = [nn.MaxPool2d(3, stride=2, padding=1)] if index > 0 else []
            n_modules = scale_depth(len(configs), depth_mult)
            for i in range(n_modules):
                # End-aligned even spread: n == len(configs) gives the reference order.
                config = configs[-(-(i + 1) * len(configs) // n_modules) - 1]
                module = Inception(in_channels, *(scale_width(c, width_mult) for c in config))
                layers.append(module)
                in_channels = module.out_channels
            stages.append(Stage(nn.Sequential(*layers), n_modules, in_channels))
        # One flat list of layers (stages.0 .. stages.10), as the reference's state dict has.
        self.add_head(self.add_stages(stages, flat=True), num_classes)


def googlenet(num_classes: int = 10, width_mult: float = 1.0,
              depth_mult: float = 1.0) -> CifarGoogLeNet:
    """GoogLeNet for CIFAR (kuangliu's layout): 6.2 M params."""
    return CifarGoogLeNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
