"""SimpleDLA (kuangliu's simplified Deep Layer Aggregation) for 32x32 inputs.

Written here: torchvision has no DLA. Three 3x3 conv-BN-ReLU layers (16, 16, 32
channels), then four aggregation trees of ResNet basic blocks (torchvision's
``BasicBlock``) with 64/128/256/512 channels and strides 1/2/2/2. A tree joins its two
subtrees' outputs with a root (concatenation, 1x1 conv, BN, ReLU). The reference trees
have levels 1/2/2/1, i.e. 2/4/4/2 blocks; 15.1 M params.

Depth scaling changes the number of blocks (leaves) per tree, ``max(1, round(n * d))``:
a tree of ``n`` blocks has a left subtree of ``ceil(n / 2)`` blocks and a right one of
``floor(n / 2)``, so powers of two give kuangliu's balanced trees, and one block is just
that block.
"""

from __future__ import annotations

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock

from hsearch.models.common import conv_bn, scale_depth, scale_width
from hsearch.models.skeleton import Stage, StagedNet

__all__ = ["AggregationTree", "SimpleDLA", "simple_dla"]


def _basic_block(in_channels: int, out_channels: int, stride: int) -> BasicBlock:
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = conv_bn(in_channels, out_channels, kernel_size=1, stride=stride, relu=False)
    return BasicBlock(in_channels, out_channels, stride, downsample)


class AggregationTree(nn.Module):
    """A binary tree of ``blocks`` basic blocks whose root merges its two subtrees."""

    def __init__(self, in_channels: int, out_channels: int, blocks: int, stride: int = 1) -> None:
        super().__init__()
        if blocks < 2:
            raise ValueError(f"`blocks >= 2` must hold for a tree, but got blocks={blocks}")
        left, right = (blocks + 1) // 2, blocks // 2
        self.left = build_tree(in_channels, out_channels, left, stride)
        self.right = build_tree(out_channels, out_channels, right, 1)
        self.root = conv_bn(2 * out_channels, out_channels, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        left = self.left(x)
        right = self.right(left)
        return self.root(torch.cat([left, right], dim=1))


def build_tree(in_channels: int, out_channels: int, blocks: int, stride: int) -> nn.Module:
    """One basic block, or an :class:`AggregationTree` of ``blocks >= 2`` of them."""
    if blocks == 1:
        return _basic_block(in_channels, out_channels, stride)
    return AggregationTree(in_channels, out_channels, blocks, stride)


class SimpleDLA(StagedNet):
    """kuangliu's SimpleDLA, scaled by width/depth multipliers."""

    def __init__(self, tree_blocks: tuple[int, ...] = (2, 4, 4, 2),
                 tree_widths: tuple[int, ...] = (64, 128, 256, 512),
                 tree_strides: tuple[int, ...] = (1, 2, 2, 2), *, num_classes: int = 10,
                 width_mult: float = 1.0, depth_mult: float = 1.0) -> None:
        super().__init__()
        c16, c32 = scale_width(16, width_mult), scale_width(32, width_mult)
        self.base = nn.Sequential(conv_bn(3, c16), conv_bn(c16, c16), conv_bn(c16, c32))
        in_channels = c32
        trees = []
        for n_blocks, channels, stride in zip(tree_blocks, tree_widths, tree_strides):
            n_blocks = scale_depth(n_blocks, depth_mult)
            width = scale_width(channels, width_mult)
            trees.append(Stage(build_tree(in_channels, width, n_blocks, stride), n_blocks, width))
            in_channels = width
        self.add_head(self.add_stages(trees, "trees"), num_classes)


def simple_dla(num_classes: int = 10, width_mult: float = 1.0,
               depth_mult: float = 1.0) -> SimpleDLA:
    """SimpleDLA for CIFAR (kuangliu): 15.1 M params."""
    return SimpleDLA(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
