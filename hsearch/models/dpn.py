"""Dual Path Network DPN-92 for 32x32 inputs (written here: torchvision has no DPN).

kuangliu's CIFAR DPN-92: 3x3 stem with 64 channels, four stages of 3/4/20/3 bottlenecks
(1x1, 3x3 grouped with cardinality 32, 1x1) whose output is split into a residual path
(256/512/1024/2048 channels, added) and a densely connected path (16/32/24/128 new
channels per block, concatenated); 34.2 M params.

Under width scaling the grouped bottleneck widths (96/192/384/768) are rounded to
multiples of 32 so that the cardinality stays 32; the other widths to multiples of 8.
"""

from __future__ import annotations

import torch
from torch import nn

from hsearch.models.common import conv_bn, scale_depth, scale_width
from hsearch.models.skeleton import Stage, StagedNet

__all__ = ["DPN", "DualPathBlock", "dpn92"]


class DualPathBlock(nn.Module):
    """Grouped bottleneck whose output feeds both a residual and a dense path."""

    def __init__(self, in_channels: int, bottleneck: int, residual: int, dense: int,
                 stride: int, project: bool, cardinality: int = 32) -> None:
        super().__init__()
        self.residual = residual
        self.body = nn.Sequential(
            conv_bn(in_channels, bottleneck, kernel_size=1),
            conv_bn(bottleneck, bottleneck, stride=stride, groups=cardinality),
            conv_bn(bottleneck, residual + dense, kernel_size=1, relu=False),
        )
        self.shortcut = (conv_bn(in_channels, residual + dense, kernel_size=1, stride=stride,
                                 relu=False) if project else None)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.body(x)
        if self.shortcut is not None:
            x = self.shortcut(x)
        r = self.residual
        merged = torch.cat([x[:, :r] + out[:, :r], x[:, r:], out[:, r:]], dim=1)
        return self.relu(merged)


class DPN(StagedNet):
    """Dual Path Network for CIFAR, scaled by width/depth multipliers."""

    def __init__(self, stage_blocks: tuple[int, ...] = (3, 4, 20, 3),
                 bottleneck_widths: tuple[int, ...] = (96, 192, 384, 768),
                 residual_widths: tuple[int, ...] = (256, 512, 1024, 2048),
                 dense_depths: tuple[int, ...] = (16, 32, 24, 128), cardinality: int = 32, *,
                 num_classes: int = 10, width_mult: float = 1.0, depth_mult: float = 1.0) -> None:
        super().__init__()
        in_channels = scale_width(64, width_mult)
        self.stem = conv_bn(3, in_channels)
        stages = []
        for index, (n_blocks, bottleneck, residual, dense) in enumerate(
                zip(stage_blocks, bottleneck_widths, residual_widths, dense_depths)):
            n_blocks = scale_depth(n_blocks, depth_mult)
            bottleneck = scale_width(bottleneck, width_mult, divisor=cardinality)
            residual = scale_width(residual, width_mult)
            dense = scale_width(dense, width_mult)
            blocks = []
            for i in range(n_blocks):
                stride = 2 if index > 0 and i == 0 else 1
                blocks.append(DualPathBlock(in_channels, bottleneck, residual, dense, stride,
                                            project=i == 0, cardinality=cardinality))
                in_channels = residual + (i + 2) * dense
            stages.append(Stage(nn.Sequential(*blocks), n_blocks, in_channels))
        self.add_head(self.add_stages(stages), num_classes)


def dpn92(num_classes: int = 10, width_mult: float = 1.0, depth_mult: float = 1.0) -> DPN:
    """DPN-92 for CIFAR (kuangliu): 34.2 M params."""
    return DPN(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
