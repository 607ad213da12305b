"""ShuffleNets for 32x32 inputs: ShuffleNetV2 1x (torchvision) and ShuffleNet g=2 (written here).

* ``shufflenetv2``: torchvision's ``ShuffleNetV2`` class with its stride-2 stem and
  max-pool replaced by kuangliu's stride-1 3x3 conv + BN + ReLU; stages of 4/8/4 blocks
  (the down-sampling block included) with 116/232/464 channels and a 1024-channel last
  conv. Stage widths are rounded to multiples of 16 when scaled, so that the two halves
  each block splits them into stay multiples of 8.
* ``shufflenet_g2``: ShuffleNet (v1) with 2 groups, kuangliu's CIFAR version (1x1 stem
  with 24 channels, stages of 4/8/4 units with 200/400/800 channels, bottlenecks a
  quarter of the unit's output, ReLU after the depthwise conv as in kuangliu's code).
  torchvision has no ShuffleNet v1.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.shufflenetv2 import ShuffleNetV2, channel_shuffle

from hsearch.models.common import (
    ZooModel,
    conv_bn,
    init_weights,
    make_divisible,
    scale_depth,
    scale_width,
)
from hsearch.models.skeleton import Stage, StagedNet

__all__ = ["CifarShuffleNetV2", "ShuffleNetV1", "shufflenet_g2", "shufflenetv2"]


class CifarShuffleNetV2(ZooModel, ShuffleNetV2):
    """torchvision's ShuffleNetV2 with a CIFAR stem and width/depth multipliers."""

    def __init__(self, *, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> None:
        repeats = [scale_depth(n, depth_mult) for n in (4, 8, 4)]
        stage_widths = [scale_width(c, width_mult, divisor=16) for c in (116, 232, 464)]
        channels = [scale_width(24, width_mult), *stage_widths, scale_width(1024, width_mult)]
        super().__init__(repeats, channels, num_classes=num_classes)
        self.conv1 = conv_bn(3, channels[0])
        self.maxpool = nn.Identity()
        self.stage_depths = tuple(repeats)
        self.stage_widths = tuple(stage_widths)
        init_weights(self)


class ShuffleUnit(nn.Module):
    """ShuffleNet v1 unit: grouped 1x1, shuffle, depthwise 3x3, grouped 1x1.

    Stride 2 concatenates an average-pooled shortcut (the unit's own output then has
    ``out_channels`` and the stage ``in + out``); stride 1 adds the identity.
    """

    def __init__(self, in_channels: int, out_channels: int, mid_channels: int, stride: int,
                 groups: int, first_groups: int) -> None:
        super().__init__()
        self.first_groups = first_groups
        self.stride = stride
        self.reduce = conv_bn(in_channels, mid_channels, kernel_size=1, groups=first_groups)
        self.depthwise = conv_bn(mid_channels, mid_channels, stride=stride, groups=mid_channels)
        self.expand = conv_bn(mid_channels, out_channels, kernel_size=1, groups=groups, relu=False)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1) if stride == 2 else None
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.reduce(x)
        if self.first_groups > 1:
            out = channel_shuffle(out, self.first_groups)
        out = self.expand(self.depthwise(out))
        if self.pool is not None:
            return self.relu(torch.cat([out, self.pool(x)], dim=1))
        return self.relu(out + x)


class ShuffleNetV1(StagedNet):
    """ShuffleNet (v1) for CIFAR with ``groups`` groups and width/depth multipliers."""

    def __init__(self, stage_widths: tuple[int, ...] = (200, 400, 800),
                 stage_blocks: tuple[int, ...] = (4, 8, 4), groups: int = 2, *,
                 num_classes: int = 10, width_mult: float = 1.0, depth_mult: float = 1.0) -> None:
        super().__init__()
        in_channels = scale_width(24, width_mult)
        self.stem = conv_bn(3, in_channels, kernel_size=1)
        stages = []
        first_unit = True
        for channels, n_blocks in zip(stage_widths, stage_blocks):
            n_blocks = scale_depth(n_blocks, depth_mult)
            # The first unit outputs (stage width - input width) channels, which must stay
            # positive at tiny widths.
            width = max(scale_width(channels, width_mult), in_channels + 8)
            units = []
            for i in range(n_blocks):
                unit_out = width - in_channels if i == 0 else width
                if width_mult == 1.0:
                    mid = unit_out // 4  # the reference bottleneck (44, 50, 100, 200)
                else:
                    mid = make_divisible(unit_out / 4)
                # kuangliu's network does not group the first 1x1 conv after the stem.
                units.append(ShuffleUnit(in_channels, unit_out, mid, 2 if i == 0 else 1,
                                         groups, 1 if first_unit else groups))
                first_unit = False
                in_channels = width
            stages.append(Stage(nn.Sequential(*units), n_blocks, width))
        self.add_head(self.add_stages(stages), num_classes)


def shufflenetv2(num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> CifarShuffleNetV2:
    """ShuffleNetV2 1x for CIFAR (kuangliu's stem, torchvision's network): 1.3 M params."""
    return CifarShuffleNetV2(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)


def shufflenet_g2(num_classes: int = 10, width_mult: float = 1.0,
                  depth_mult: float = 1.0) -> ShuffleNetV1:
    """ShuffleNet (v1) with 2 groups for CIFAR (kuangliu's ShuffleNetG2): 0.9 M params."""
    return ShuffleNetV1(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
