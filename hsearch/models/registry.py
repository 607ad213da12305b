"""The model registry: names -> entry points, ``create_model`` and ``list_models``.

Like timm's ``_registry.py``, each variant is a tiny entry point of one configurable class
per family, ``entry(num_classes, width_mult, depth_mult) -> nn.Module``. The table below is
an immutable constant (no decorator filling a global dict at import time): adding a model
means adding one line here (most families build on :mod:`hsearch.models.skeleton`), and the
registry-parametrised tests (tests/models/test_zoo_contract.py) hold it to the contract at once.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from types import MappingProxyType

from torch import nn

from hsearch.checks import is_int
from hsearch.errors import UserError
from hsearch.models import (
    densenet,
    dla,
    dpn,
    efficientnet,
    googlenet,
    mobilenet,
    preact,
    regnet,
    resnet,
    shufflenet,
    vgg,
)
from hsearch.models.common import check_multiplier

__all__ = ["create_model", "list_models"]

EntryPoint = Callable[[int, float, float], nn.Module]

# The HAET 2021 paper's baseline table (kuangliu's pytorch-cifar plus ResNet-110).
_ENTRY_POINTS: MappingProxyType[str, EntryPoint] = MappingProxyType({
    "densenet121": densenet.densenet121,
    "dpn92": dpn.dpn92,
    "efficientnet_b0": efficientnet.efficientnet_b0,
    "googlenet": googlenet.googlenet,
    "mobilenetv1": mobilenet.mobilenetv1,
    "mobilenetv2": mobilenet.mobilenetv2,
    "preact_resnet18": preact.preact_resnet18,
    "regnetx_200mf": regnet.regnetx_200mf,
    "resnet110": resnet.resnet110,
    "resnet18": resnet.resnet18,
    "resnet50": resnet.resnet50,
    "resnext29_2x64d": resnet.resnext29_2x64d,
    "senet18": preact.senet18,
    "shufflenet_g2": shufflenet.shufflenet_g2,
    "shufflenetv2": shufflenet.shufflenetv2,
    "simple_dla": dla.simple_dla,
    "vgg19": vgg.vgg19,
})


def list_models() -> list[str]:
    """Names accepted by :func:`create_model`, sorted."""
    return sorted(_ENTRY_POINTS)


def check_model_name(name: object) -> str:
    """Return ``name`` if it is a registered model; else raise a UserError listing them all."""
    if isinstance(name, str) and name in _ENTRY_POINTS:
        return name
    hint = ""
    if isinstance(name, str):
        close = difflib.get_close_matches(name.lower(), _ENTRY_POINTS, n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean {close[0]!r}?)"
    raise UserError(f"unknown model {name!r}{hint}; known models: {', '.join(list_models())}")


def create_model(name: str, num_classes: int = 10, width_mult: float = 1.0,
                 depth_mult: float = 1.0) -> nn.Module:
    """Build a freshly initialised network of the zoo for inputs ``[B, 3, R, R]``, ``R >= 8``.

    Args:
        name: one of :func:`list_models`.
        num_classes: size of the output layer (>= 1).
        width_mult: scales every channel count, ``make_divisible(c * w, 8)`` (1 keeps the
            reference widths exactly).
        depth_mult: scales the blocks of every stage, ``max(1, round(n * d))``.

    Returns:
        An ``nn.Module`` (also a :class:`~hsearch.models.common.ZooModel`: it has
        ``num_params()``, ``stage_depths`` and ``stage_widths``) returning logits
        ``[B, num_classes]``; at w=1, d=1 it is the model's standard CIFAR definition.

    Raises:
        UserError: unknown name, or a multiplier / class count out of range.
    """
    entry = _ENTRY_POINTS[check_model_name(name)]
    if not is_int(num_classes) or num_classes < 1:
        raise UserError("`num_classes >= 1` must hold (an int), "
                        f"but got num_classes={num_classes!r}")
    width_mult = check_multiplier("width_mult", width_mult)
    depth_mult = check_multiplier("depth_mult", depth_mult)
    return entry(int(num_classes), width_mult, depth_mult)
