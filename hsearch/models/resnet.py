"""Post-activation ResNets for 32x32 inputs: ResNet-18/50, ResNet-110 and ResNeXt-29.

One configurable class, :class:`CifarResNet`, assembled from torchvision's own
``BasicBlock`` and ``Bottleneck`` (torchvision's ``ResNet`` constructor hard-codes the
64..512 stage widths and the ImageNet stem, so only its blocks can be reused). The CIFAR
stem is one stride-1 convolution without max-pooling, as in kuangliu's pytorch-cifar.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from hsearch.models.common import conv_bn, scale_depth, scale_width
from hsearch.models.skeleton import Stage, StagedNet, chain_blocks

__all__ = ["CifarResNet", "resnet18", "resnet50", "resnet110", "resnext29_2x64d"]


class PadShortcut(nn.Module):
    """Parameter-free shortcut ("option A" of He et al. 2016, used by CIFAR ResNet-110).

    Subsamples by ``stride`` and appends zero channels up to ``out_channels``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int) -> None:
        super().__init__()
        if out_channels < in_channels:
            raise ValueError(f"`out_channels >= in_channels` must hold, but got "
                             f"in_channels={in_channels}, out_channels={out_channels}")
        self.extra = out_channels - in_channels
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride > 1:
            # Same output size as a 3x3 stride-s conv with padding 1: ceil(size / s).
            x = x[:, :, ::self.stride, ::self.stride]
        if self.extra:
            x = F.pad(x, (0, 0, 0, 0, 0, self.extra))
        return x


class CifarResNet(StagedNet):
    """A ResNet/ResNeXt with a CIFAR stem, any number of stages, width/depth scaling.

    Args:
        block: torchvision ``BasicBlock`` or ``Bottleneck``.
        stage_blocks: reference blocks per stage (scaled by ``depth_mult``).
        stage_planes: reference ``planes`` per stage (the block's inner width; scaled by
            ``width_mult``); a stage outputs ``planes * block.expansion`` channels.
        stage_strides: stride of the first block of each stage.
        stem_width: reference output channels of the stem convolution.
        stem_kernel: 3 for most CIFAR ResNets, 1 for kuangliu's ResNeXt-29.
        groups, base_width: ResNeXt cardinality and per-group width, torchvision's
            ``Bottleneck`` convention (inner width = planes * base_width / 64 * groups).
        shortcut: "conv" (1x1 conv + BN projection, option B) or "pad" (option A).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        stage_blocks: Sequence[int],
        stage_planes: Sequence[int],
        stage_strides: Sequence[int],
        *,
        num_classes: int = 10,
        width_mult: float = 1.0,
        depth_mult: float = 1.0,
        stem_width: int = 64,
        stem_kernel: int = 3,
        groups: int = 1,
        base_width: int = 64,
        shortcut: str = "conv",
    ) -> None:
        super().__init__()
        if shortcut not in ("conv", "pad"):
            raise ValueError(f"`shortcut` must be 'conv' or 'pad', but got shortcut={shortcut!r}")
        if not len(stage_blocks) == len(stage_planes) == len(stage_strides):
            raise ValueError("stage_blocks, stage_planes and stage_strides must have one entry "
                             f"per stage, but got {stage_blocks}, {stage_planes}, {stage_strides}")
        depths = tuple(scale_depth(n, depth_mult) for n in stage_blocks)
        planes = tuple(scale_width(p, width_mult) for p in stage_planes)
        in_channels = scale_width(stem_width, width_mult)

        self.stem = conv_bn(3, in_channels, kernel_size=stem_kernel)

        def make_block(in_channels: int, out_channels: int, stride: int) -> nn.Module:
            downsample = None
            if stride != 1 or in_channels != out_channels:
                if shortcut == "pad":
                    downsample = PadShortcut(in_channels, out_channels, stride)
                else:
                    downsample = conv_bn(in_channels, out_channels, kernel_size=1, stride=stride,
                                         relu=False)
            return block(in_channels, out_channels // block.expansion, stride, downsample,
                         groups=groups, base_width=base_width)

        stages = []
        for n_blocks, stage_plane, first_stride in zip(depths, planes, stage_strides):
            out_channels = stage_plane * block.expansion
            blocks = chain_blocks(make_block, n_blocks, in_channels, out_channels, first_stride)
            stages.append(Stage(blocks, n_blocks, out_channels))
            in_channels = out_channels
        self.add_head(self.add_stages(stages), num_classes)


def resnet18(num_classes: int = 10, width_mult: float = 1.0,
             depth_mult: float = 1.0) -> CifarResNet:
    """ResNet-18 for CIFAR (kuangliu): BasicBlocks [2,2,2,2], 64..512 channels, 11.2 M params."""
    return CifarResNet(BasicBlock, (2, 2, 2, 2), (64, 128, 256, 512), (1, 2, 2, 2),
                       num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)


def resnet50(num_classes: int = 10, width_mult: float = 1.0,
             depth_mult: float = 1.0) -> CifarResNet:
    """ResNet-50 for CIFAR (kuangliu): Bottlenecks [3,4,6,3], 256..2048 channels, 23.5 M params."""
    return CifarResNet(Bottleneck, (3, 4, 6, 3), (64, 128, 256, 512), (1, 2, 2, 2),
                       num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)


def resnet110(num_classes: int = 10, width_mult: float = 1.0,
              depth_mult: float = 1.0) -> CifarResNet:
    """ResNet-110 of He et al. 2016 for CIFAR: 3 stages of 18 BasicBlocks, 16/32/64 channels,
    parameter-free (zero-padding) shortcuts, 1.7 M params."""
    return CifarResNet(BasicBlock, (18, 18, 18), (16, 32, 64), (1, 2, 2),
                       num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult,
                       stem_width=16, shortcut="pad")


def resnext29_2x64d(num_classes: int = 10, width_mult: float = 1.0,
                    depth_mult: float = 1.0) -> CifarResNet:
    """ResNeXt-29 (2x64d) for CIFAR (kuangliu): 3 stages of 3 bottlenecks, cardinality 2,
    group widths 128/256/512, outputs 256/512/1024, 1x1 stem, 9.1 M params."""
    # torchvision's Bottleneck with groups=2, base_width=64 has inner width 2*planes and
    # output 4*planes: planes=64 gives kuangliu's group width 128 and output 256.
    return CifarResNet(Bottleneck, (3, 3, 3), (64, 128, 256), (1, 2, 2),
                       num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult,
                       stem_kernel=1, groups=2, base_width=64)
