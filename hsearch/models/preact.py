"""Pre-activation ResNets for 32x32 inputs: PreAct-ResNet-18 and SENet-18.

Written here: torchvision has no pre-activation ResNet. Both follow kuangliu's
pytorch-cifar, which the HAET 2021 paper used for its baselines:

* PreAct-ResNet-18: bare 3x3 stem conv, pre-activation basic blocks [2,2,2,2] with
  64..512 channels, 1x1-conv shortcuts (no BN) taken after the first BN-ReLU, and no
  final BN-ReLU before pooling.
* SENet-18: the same blocks with squeeze-and-excitation (1x1 convs with bias, reduction
  16, ReLU then sigmoid) on the residual branch before the addition, and a stem of
  conv + BN + ReLU.

The paper's trainer scaled SENet-18 with ``round(2 * d)`` blocks per stage and
``round(64 * w)`` .. ``round(512 * w)`` channels; here channels are
``make_divisible(64 * w, 8)`` .. (identical at w=1).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
from torch import nn
from torchvision.ops import SqueezeExcitation

from hsearch.models.common import conv_bn, scale_width
from hsearch.models.skeleton import StagedNet, scaled_stages

__all__ = ["PreActBlock", "PreActResNet", "preact_resnet18", "senet18"]


class PreActBlock(nn.Module):
    """BN-ReLU-conv3x3-BN-ReLU-conv3x3 (+ optional squeeze-and-excitation) + shortcut."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1,
                 se_reduction: int | None = None) -> None:
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.relu = nn.ReLU(inplace=True)
        self.se: nn.Module | None = None
        if se_reduction is not None:
            # The squeeze width follows the reference ratio (channels // 16), so it may be
            # below 8 at small widths; it costs next to nothing either way.
            self.se = SqueezeExcitation(out_channels, max(1, out_channels // se_reduction))
        self.shortcut: nn.Module | None = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(x))
        # The projection sees the pre-activated input, the identity the raw one.
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(self.relu(self.bn2(out)))
        if self.se is not None:
            out = self.se(out)
        return out + shortcut


class PreActResNet(StagedNet):
    """Pre-activation ResNet with optional squeeze-and-excitation, scaled by width/depth.

    Args:
        stage_blocks, stage_widths: reference blocks and channels per stage.
        stem_norm: conv + BN + ReLU stem (SENet) instead of a bare conv (PreAct-ResNet).
        se_reduction: squeeze-and-excitation reduction ratio, or None for no SE.
    """

    def __init__(
        self,
        stage_blocks: Sequence[int] = (2, 2, 2, 2),
        stage_widths: Sequence[int] = (64, 128, 256, 512),
        *,
        num_classes: int = 10,
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        stem_norm: bool = False,
        se_reduction: int | None = None,
    ) -> None:
        super().__init__()
        in_channels = scale_width(stage_widths[0], width_mult)
        if stem_norm:
            self.stem: nn.Module = conv_bn(3, in_channels)
        else:
            self.stem = nn.Conv2d(3, in_channels, 3, padding=1, bias=False)
        block = functools.partial(PreActBlock, se_reduction=se_reduction)
        specs = ((block, n_blocks, channels, 2 if index > 0 else 1)
                 for index, (n_blocks, channels) in enumerate(zip(stage_blocks, stage_widths)))
        stages = scaled_stages(specs, in_channels, width_mult, depth_mult)
        self.add_head(self.add_stages(stages), num_classes)


def preact_resnet18(num_classes: int = 10, width_mult: float = 1.0,
                    depth_mult: float = 1.0) -> PreActResNet:
    """PreAct-ResNet-18 for CIFAR (kuangliu): 11.2 M params."""
    return PreActResNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)


def senet18(num_classes: int = 10, width_mult: float = 1.0,
            depth_mult: float = 1.0) -> PreActResNet:
    """SENet-18 for CIFAR (kuangliu, the HAET 2021 winner's baseline): 11.3 M params."""
    return PreActResNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult,
                        stem_norm=True, se_reduction=16)
