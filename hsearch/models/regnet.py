"""RegNetX-200MF for 32x32 inputs: torchvision's ``RegNet`` class with a CIFAR stem.

kuangliu's CIFAR configuration: a stride-1 3x3 stem with 64 channels, stages of
1/1/4/7 residual bottleneck blocks with 24/56/152/368 channels, strides 1/1/2/2,
bottleneck ratio 1, group width 8, no squeeze-and-excitation. torchvision's
``ResBottleneckBlock`` is the same block (1x1, grouped 3x3, 1x1, projection shortcut).
The group width stays 8 under width scaling (scaled widths are multiples of 8), so the
number of groups grows with the width, as in the RegNet design space.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn
from torchvision.models.regnet import BlockParams, RegNet
from torchvision.ops import Conv2dNormActivation

from hsearch.models.common import ZooModel, init_weights, scale_depth, scale_width

__all__ = ["CifarRegNet", "regnetx_200mf"]


def _cifar_stem(width_in: int, width_out: int, norm_layer: Callable[..., nn.Module],
                activation_layer: Callable[..., nn.Module]) -> nn.Module:
    """3x3 stride-1 conv + BN + ReLU (torchvision's ImageNet stem has stride 2)."""
    return Conv2dNormActivation(width_in, width_out, kernel_size=3, stride=1,
                                norm_layer=norm_layer, activation_layer=activation_layer)


class CifarRegNet(ZooModel, RegNet):
    """A RegNetX with explicit per-stage depths and widths, scaled by width/depth."""

    def __init__(self, stage_blocks: tuple[int, ...] = (1, 1, 4, 7),
                 stage_widths: tuple[int, ...] = (24, 56, 152, 368),
                 stage_strides: tuple[int, ...] = (1, 1, 2, 2), group_width: int = 8,
                 stem_width: int = 64, *, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> None:
        depths = [scale_depth(n, depth_mult) for n in stage_blocks]
        widths = [scale_width(c, width_mult) for c in stage_widths]
        params = BlockParams(depths=depths, widths=widths,
                             group_widths=[group_width] * len(widths),
                             bottleneck_multipliers=[1.0] * len(widths),
                             strides=list(stage_strides), se_ratio=None)
        super().__init__(params, num_classes=num_classes,
                         stem_width=scale_width(stem_width, width_mult), stem_type=_cifar_stem)
        self.stage_depths = tuple(depths)
        self.stage_widths = tuple(widths)
        init_weights(self)


def regnetx_200mf(num_classes: int = 10, width_mult: float = 1.0,
                  depth_mult: float = 1.0) -> CifarRegNet:
    """RegNetX-200MF for CIFAR (kuangliu): 2.3 M params."""
    return CifarRegNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
