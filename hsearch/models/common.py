"""Pieces shared by every family of the zoo: channel and depth scaling, the model mixin,
weight initialisation and the validation of user-given multipliers.

Scaling rules (the same for every model):

* width: every configured channel count ``c`` becomes ``make_divisible(c * width_mult, 8)``
  (a multiple of 8, at least 8). At ``width_mult == 1`` the reference widths are kept as
  they are, so that w=1 is exactly the standard CIFAR network even where one of its widths
  is not a multiple of 8 (ShuffleNetV2's 116 channels).
* depth: every stage's block count ``n`` becomes ``max(1, round(n * depth_mult))``.
* resolution: only the input size changes (see :func:`hsearch.models.input_resolution`);
  every model ends in global average pooling, so any input of at least 8x8 pixels works.
"""

from __future__ import annotations

import math

from torch import nn

from hsearch.checks import is_int, is_number
from hsearch.errors import UserError

__all__ = [
    "ClassifierHead",
    "ZooModel",
    "check_multiplier",
    "conv_bn",
    "init_weights",
    "make_divisible",
    "scale_depth",
    "scale_width",
]


def make_divisible(value: float, divisor: int = 8, min_value: int = 8) -> int:
    """Round a channel count to the nearest multiple of ``divisor``.

    The result is never below ``min_value`` (raised to the next multiple of ``divisor``
    if needed) and never more than 10% below ``value`` (the rule of the TensorFlow and
    timm implementations, so that rounding down cannot remove too much capacity).

    >>> make_divisible(64 * 0.5), make_divisible(116), make_divisible(3), make_divisible(90, 32)
    (32, 120, 8, 96)
    """
    if not is_int(divisor) or divisor < 1:
        raise ValueError(f"`divisor >= 1` must hold (an int), but got divisor={divisor!r}")
    if not is_int(min_value) or min_value < 1:
        raise ValueError(f"`min_value >= 1` must hold (an int), but got min_value={min_value!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`value > 0` must hold (finite), but got value={value!r}")
    floor = -(-min_value // divisor) * divisor  # smallest multiple of divisor >= min_value
    rounded = max(floor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def scale_width(channels: int, width_mult: float, divisor: int = 8) -> int:
    """The channel count of a layer whose reference width is ``channels``.

    ``make_divisible(channels * width_mult, divisor)``, except that ``width_mult == 1``
    returns ``channels`` unchanged (the reference network, exactly).
    """
    if width_mult == 1.0:
        return int(channels)
    return make_divisible(channels * width_mult, divisor, min_value=divisor)


def scale_depth(blocks: int, depth_mult: float) -> int:
    """Blocks in a stage whose reference depth is ``blocks``: ``max(1, round(blocks * d))``.

    Python's ``round`` (half to even), as the HAET 2021 trainer did (``round(2 * d)``).
    """
    return max(1, round(blocks * depth_mult))


def check_multiplier(name: str, value: object) -> float:
    """Validate a width/depth/resolution multiplier given by a user; return it as a float.

    Raises :class:`~hsearch.errors.UserError` unless ``value`` is a finite real number > 0.
    """
    if not is_number(value):
        raise UserError(f"`{name}` must be a number, but got {name}={value!r}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise UserError(f"`{name} > 0` must hold (finite), but got {name}={value!r}")
    return value


class ZooModel:
    """Mixin of every network of the zoo.

    Subclasses set ``stage_depths`` (blocks per stage after depth scaling) and
    ``stage_widths`` (output channels per stage after width scaling) in their constructor,
    so that tests and reports can see how a model was scaled without walking its modules.
    """

    stage_depths: tuple[int, ...] = ()
    stage_widths: tuple[int, ...] = ()

    def num_params(self, trainable_only: bool = False) -> int:
        """Number of parameters (BatchNorm affine parameters included, buffers excluded)."""
        params = self.parameters()  # type: ignore[attr-defined]
        return sum(p.numel() for p in params if p.requires_grad or not trainable_only)


def init_weights(model: nn.Module) -> None:
    """One initialisation for the whole zoo, good for short training budgets.

    Kaiming-normal (fan-out, ReLU gain) convolutions with zero bias, BatchNorm with
    weight 1 / bias 0, and classifiers drawn from N(0, 0.01) with zero bias so that the
    first logits are nearly uniform.
    """
    for module in model.modules():
        if isinstance(module, nn.Conv2d):
            nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.01)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def conv_bn(in_channels: int, out_channels: int, kernel_size: int = 3, stride: int = 1,
            groups: int = 1, relu: bool = True) -> nn.Sequential:
    """Conv (no bias) + BatchNorm (+ ReLU): the unit most CIFAR stems and blocks use."""
    layers: list[nn.Module] = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride,
                  padding=kernel_size // 2, groups=groups, bias=False),
        nn.BatchNorm2d(out_channels),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class ClassifierHead(nn.Sequential):
    """Global average pooling, flatten, (dropout), linear: makes any input size >= 8 px work."""

    def __init__(self, in_features: int, num_classes: int, dropout: float = 0.0) -> None:
        layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1), nn.Flatten(1)]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
        layers.append(nn.Linear(in_features, num_classes))
        super().__init__(*layers)

