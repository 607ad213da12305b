"""DenseNet-121 for 32x32 inputs, from torchvision's dense blocks and transitions.

kuangliu's CIFAR DenseNet-121: a bare 3x3 stride-1 stem conv with 2 x growth = 64
channels (no BN, no max-pool), dense blocks of 6/12/24/16 BN-ReLU-1x1(4 x growth)-BN-
ReLU-3x3(growth) layers with growth rate 32, transitions halving the channels with
BN-ReLU-1x1 conv-2x2 average pooling, and a final BN-ReLU before pooling (7.0 M params).

torchvision's ``DenseNet`` constructor builds the ImageNet stem and halves the channels
with ``//`` in its transitions, so the network is assembled here from its
``_DenseBlock`` and ``_Transition`` modules (private names, stable since torchvision
0.3), rounding the scaled transition widths to multiples of 8.
"""

from __future__ import annotations

from torch import nn
from torchvision.models.densenet import _DenseBlock, _Transition

from hsearch.models.common import make_divisible, scale_depth, scale_width
from hsearch.models.skeleton import Stage, StagedNet

__all__ = ["CifarDenseNet", "densenet121"]


class CifarDenseNet(StagedNet):
    """DenseNet-BC with a CIFAR stem, growth rate and stem width scaled by ``width_mult``,
    dense-block lengths by ``depth_mult``."""

    def __init__(self, block_layers: tuple[int, ...] = (6, 12, 24, 16), growth_rate: int = 32,
                 bn_size: int = 4, reduction: float = 0.5, *, num_classes: int = 10,
                 width_mult: float = 1.0, depth_mult: float = 1.0) -> None:
        super().__init__()
        growth = scale_width(growth_rate, width_mult)
        channels = scale_width(2 * growth_rate, width_mult)
        stem = nn.Conv2d(3, channels, 3, padding=1, bias=False)
        stages = []
        for index, n_layers in enumerate(block_layers):
            n_layers = scale_depth(n_layers, depth_mult)
            layers: list[nn.Module] = [
                _DenseBlock(n_layers, channels, bn_size, growth, drop_rate=0.0)]
            channels += n_layers * growth
            width = channels  # the stage's width: the dense block's output
            if index < len(block_layers) - 1:
                if width_mult == 1.0:
                    out_channels = int(channels * reduction)  # the reference floor()
                else:
                    out_channels = make_divisible(channels * reduction)
                layers.append(_Transition(channels, out_channels))
                channels = out_channels
            stages.append(Stage(nn.Sequential(*layers), n_layers, width))
        # One flat list (features.0 = the stem .. features.11), as torchvision's DenseNet has.
        self.add_stages(stages, "features", flat=True, before=[stem],
                        after=[nn.BatchNorm2d(channels), nn.ReLU(inplace=True)])
        self.add_head(channels, num_classes)


def densenet121(num_classes: int = 10, width_mult: float = 1.0,
                depth_mult: float = 1.0) -> CifarDenseNet:
    """DenseNet-121 for CIFAR (kuangliu's layout, torchvision's blocks): 7.0 M params."""
    return CifarDenseNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
