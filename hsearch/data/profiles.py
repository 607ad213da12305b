"""Training defaults that suit each data set (its *profile*), and where a resolved value came from.

The trainer's own defaults (hsearch.train.TrainConfig) are the paper's CIFAR-10 settings: 32 px,
batch 512, SGD lr 0.042, random crop + flip, AutoAugment's CIFAR-10 policy and Cutout. On the
embedded digits (1,000 training images in the default subset, 8 px originals) those make two
optimiser steps per epoch and flip and re-colour handwritten digits, so a new user's first
``hsearch train`` learned nothing. Every command therefore fills each field below from the data
set's profile unless the user set it (a flag or the YAML file):

========================  ==========  ==========  ==============
field                     digits      cifar10     imagefolder
========================  ==========  ==========  ==============
``arch.width``            0.25        1.0         1.0
``arch.resolution``       0.25 (8px)  1.0 (32px)  1.0 (32px)
``train.batch_size``      64          512         128
``train.lr`` (SGD scale)  0.2         0.042       0.1
``augment.crop_flip``     off         on          on
``augment.autoaugment``   off         on          off
``augment.cutout``        off         on          on
========================  ==========  ==========  ==============

Why each value, with the measurements behind it: docs/data.md. The learning rate is on SGD's
scale; another optimiser without an explicit lr gets it rescaled (hsearch.train.rescale_lr).

:func:`apply_profile` fills a plain settings mapping (as merged from the YAML file and flags)
and returns where each profile field came from, for ``config.yaml`` and ``result.json``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from hsearch.errors import UserError

#: The provenance of a value the user gave (a flag or the YAML file).
USER = "user"


@dataclass(frozen=True)
class DataProfile:
    """Training defaults of one data set (see the module docstring for the table and reasons)."""

    name: str
    width: float
    resolution: float
    batch_size: int
    lr: float
    crop_flip: bool
    autoaugment: bool
    cutout: bool

    def values(self) -> dict[str, Any]:
        """The profile as dotted settings keys (``train.augment.cutout``...) -> value."""
        return {
            "arch.width": self.width,
            "arch.resolution": self.resolution,
            "train.batch_size": self.batch_size,
            "train.lr": self.lr,
            "train.augment.crop_flip": self.crop_flip,
            "train.augment.autoaugment": self.autoaugment,
            "train.augment.cutout": self.cutout,
        }

    @property
    def label(self) -> str:
        """How a value taken from this profile is labelled, e.g. ``profile:digits``."""
        return f"profile:{self.name}"


_PROFILES = {
    "digits": DataProfile("digits", width=0.25, resolution=0.25, batch_size=64, lr=0.2,
                          crop_flip=False, autoaugment=False, cutout=False),
    "cifar10": DataProfile("cifar10", width=1.0, resolution=1.0, batch_size=512, lr=0.042,
                           crop_flip=True, autoaugment=True, cutout=True),
    "imagefolder": DataProfile("imagefolder", width=1.0, resolution=1.0, batch_size=128, lr=0.1,
                               crop_flip=True, autoaugment=False, cutout=True),
}

#: The dotted settings keys a profile fills.
PROFILE_KEYS = tuple(_PROFILES["digits"].values())


def get_profile(name: str) -> DataProfile:
    """The profile of data set ``name``; UserError for an unknown name."""
    if name not in _PROFILES:
        raise UserError(f"unknown data set {name!r}; known data sets: {', '.join(_PROFILES)}")
    return _PROFILES[name]


def profile_help(key: str) -> str:
    """The per-data-set defaults of one dotted key, for ``--help``: ``digits 64, cifar10 512...``."""
    shown = []
    for profile in _PROFILES.values():
        value = profile.values()[key]
        shown.append(f"{profile.name} {'on' if value is True else 'off' if value is False else value}")
    return "default from the data set's profile: " + ", ".join(shown)


def apply_profile(data: dict, dataset: str, preset: Mapping[str, Any] | None = None,
                  preset_label: str = "preset") -> dict[str, str]:
    """Fill the profile fields that ``data`` (a nested settings mapping) leaves unset, in place.

    ``preset``: a nested mapping of values a workflow sets itself (the demo's own settings): a
    key that ``data`` holds with the same value as ``preset`` is labelled ``preset_label``, any
    other set key ``"user"``, a filled one ``"profile:<dataset>"``. Returns dotted key -> label.
    """
    profile = get_profile(dataset)
    sources = {}
    for dotted, value in profile.values().items():
        keys = dotted.split(".")
        node = data
        for key in keys[:-1]:
            if node.get(key) is None:
                node[key] = {}
            node = node[key]
            if not isinstance(node, dict):
                break  # a wrong type: left for validation to report with its key path
        if not isinstance(node, dict):
            continue
        if keys[-1] in node:
            from_preset = _lookup(preset, keys)
            sources[dotted] = (preset_label if from_preset is not _MISSING
                               and from_preset == node[keys[-1]] else USER)
        else:
            node[keys[-1]] = value
            sources[dotted] = profile.label
    return sources


_MISSING = object()


def _lookup(mapping: Mapping | None, keys: list[str]) -> Any:
    node: Any = mapping
    for key in keys:
        if not isinstance(node, Mapping) or key not in node:
            return _MISSING
        node = node[key]
    return node
