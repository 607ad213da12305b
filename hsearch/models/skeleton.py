"""The skeleton most networks of the zoo share: a stem, stages of blocks, a classifier head.

A family builds its stem and its stages and hands them over; the skeleton registers the
stages, records their depths and widths (:class:`~hsearch.models.common.ZooModel`), adds the
head, initialises the weights and runs the forward pass::

    class Tiny(StagedNet):
        def __init__(self, *, num_classes=10, width_mult=1.0, depth_mult=1.0):
            super().__init__()
            width = scale_width(16, width_mult)
            self.stem = conv_bn(3, width)
            n = scale_depth(2, depth_mult)
            stage = chain_blocks(lambda c_in, c_out, s: conv_bn(c_in, c_out, stride=s), n,
                                 width, width, 2)
            self.add_head(self.add_stages([Stage(stage, n, width)]), num_classes)

The forward pass runs the child modules in the order they were registered (as
``nn.Sequential`` does), so ``stem -> stages -> head`` needs no ``forward`` of its own, and a
family may register more (MobileNetV2's last conv) between :meth:`StagedNet.add_stages` and
:meth:`StagedNet.add_head`. The names and the registration order are those of the state dict,
and the order in which :func:`~hsearch.models.common.init_weights` draws the weights.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import torch
from torch import nn

from hsearch.models.common import (
    ClassifierHead,
    ZooModel,
    init_weights,
    scale_depth,
    scale_width,
)

__all__ = ["BlockFactory", "Stage", "StagedNet", "chain_blocks", "scaled_stages"]


class Stage(NamedTuple):
    """One stage: its module (an ``nn.Sequential`` of blocks), its depth (blocks after depth
    scaling) and its width (output channels after width scaling)."""

    blocks: nn.Module
    depth: int
    width: int


#: ``make_block(in_channels, out_channels, stride) -> nn.Module``
BlockFactory = Callable[[int, int, int], nn.Module]


def chain_blocks(make_block: BlockFactory, n_blocks: int,
                 in_channels: int, out_channels: int, stride: int) -> nn.Sequential:
    """``n_blocks >= 1`` blocks in a row, built in order by
    ``make_block(in_channels, out_channels, stride)``: the first one from ``in_channels`` with
    ``stride``, the others from ``out_channels`` with stride 1."""
    if n_blocks < 1:
        raise ValueError(f"`n_blocks >= 1` must hold, but got n_blocks={n_blocks}")
    blocks = [make_block(in_channels, out_channels, stride)]
    blocks += [make_block(out_channels, out_channels, 1) for _ in range(n_blocks - 1)]
    return nn.Sequential(*blocks)


def scaled_stages(specs: Iterable[tuple[BlockFactory, int, int, int]], in_channels: int,
                  width_mult: float, depth_mult: float) -> list[Stage]:
    """Stages of chained blocks (:func:`chain_blocks`), one per ``(make_block, blocks,
    channels, stride)`` of the reference network, each scaled by the multipliers
    (:func:`~hsearch.models.common.scale_depth`, :func:`~hsearch.models.common.scale_width`);
    ``in_channels``: the (scaled) input channels of the first stage."""
    stages = []
    for make_block, n_blocks, channels, stride in specs:
        n_blocks = scale_depth(n_blocks, depth_mult)
        out_channels = scale_width(channels, width_mult)
        blocks = chain_blocks(make_block, n_blocks, in_channels, out_channels, stride)
        stages.append(Stage(blocks, n_blocks, out_channels))
        in_channels = out_channels
    return stages


class StagedNet(ZooModel, nn.Module):
    """A network that runs its child modules in order: ``stem -> stages -> ... -> head``.

    Subclasses call ``super().__init__()``, register their stem, then
    :meth:`add_stages` and :meth:`add_head` (which ends the constructor's work).
    """

    def add_stages(self, stages: Sequence[Stage], name: str = "stages", *, flat: bool = False,
                   before: Sequence[nn.Module] = (), after: Sequence[nn.Module] = ()) -> int:
        """Register ``before + stages + after`` as one ``nn.Sequential`` called ``name``.

        ``flat``: the stages' own children go into it one by one (GoogLeNet, VGG and DenseNet
        keep one flat list of layers) instead of one module per stage. Sets ``stage_depths``
        and ``stage_widths``; returns the last stage's width (the head's input channels unless
        ``after`` changes them).
        """
        if not stages:
            raise ValueError("`len(stages) >= 1` must hold, but got no stages")
        body: list[nn.Module] = list(before)
        for stage in stages:
            body += list(stage.blocks.children()) if flat else [stage.blocks]
        body += after
        setattr(self, name, nn.Sequential(*body))
        self.stage_depths = tuple(stage.depth for stage in stages)
        self.stage_widths = tuple(stage.width for stage in stages)
        return stages[-1].width

    def add_head(self, in_features: int, num_classes: int, dropout: float = 0.0) -> None:
        """Register the classifier head (pooling, dropout, linear) and initialise every weight."""
        self.head = ClassifierHead(in_features, num_classes, dropout=dropout)
        init_weights(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self.children():
            x = module(x)
        return x
