"""VGG-19 (with BatchNorm) for 32x32 inputs, from torchvision's ``make_layers``.

kuangliu's CIFAR VGG-19: conv3x3-BN-ReLU stages of 2/2/4/4/4 convs with 64/128/256/512/512
channels, each followed by 2x2 max-pooling, then a single linear classifier on the 512
features (no 4096-wide fully connected layers); 20.0 M params. torchvision's
``make_layers`` builds the same feature extractor (convs with bias, as in kuangliu's).
Its max-pools are switched to ``ceil_mode`` so that five halvings still leave one pixel
at 8 and 16 px inputs (no change while the size stays even, as at 32 and 64 px).
"""

from __future__ import annotations

from torch import nn
from torchvision.models.vgg import make_layers

from hsearch.models.common import scale_depth, scale_width
from hsearch.models.skeleton import StagedNet

__all__ = ["CifarVGG", "vgg19"]


class CifarVGG(StagedNet):
    """VGG with BatchNorm for CIFAR: ``stage_convs`` convs per stage, 2x2 max-pool after each."""

    def __init__(self, stage_convs: tuple[int, ...] = (2, 2, 4, 4, 4),
                 stage_widths: tuple[int, ...] = (64, 128, 256, 512, 512), *,
                 num_classes: int = 10, width_mult: float = 1.0, depth_mult: float = 1.0) -> None:
        super().__init__()
        depths = tuple(scale_depth(n, depth_mult) for n in stage_convs)
        widths = tuple(scale_width(c, width_mult) for c in stage_widths)
        config: list[int | str] = []
        for n_convs, width in zip(depths, widths):
            config += [width] * n_convs + ["M"]
        self.features = make_layers(config, batch_norm=True)
        for module in self.features:
            if isinstance(module, nn.MaxPool2d):
                module.ceil_mode = True
        # torchvision builds the stages as one flat list of layers (features.0 ..).
        self.stage_depths = depths
        self.stage_widths = widths
        self.add_head(widths[-1], num_classes)


def vgg19(num_classes: int = 10, width_mult: float = 1.0, depth_mult: float = 1.0) -> CifarVGG:
    """VGG-19 with BatchNorm for CIFAR (kuangliu): 20.0 M params."""
    return CifarVGG(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)
