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

(the values live in the data sets' rows, :data:`hsearch.data.catalog.DATASETS`)

Why each value, with the measurements behind it: docs/data.md. The learning rate is on SGD's
scale; another optimiser without an explicit lr gets it rescaled (hsearch.train.rescale_lr).

:func:`apply_profile` fills a plain settings mapping (as merged from the YAML file and flags)
and returns where each profile field came from, for ``config.yaml`` and ``result.json``.
"""

from __future__ import annotations

from typing import Any, Mapping

from hsearch.data import catalog
from hsearch.data.catalog import DataProfile, dataset_row

__all__ = ["PROFILE_KEYS", "USER", "DataProfile", "apply_profile", "get_profile", "profile_help"]

#: The provenance of a value the user gave (a flag or the YAML file).
USER = "user"


#: The dotted settings keys a profile fills.
PROFILE_KEYS = tuple(catalog.DATASETS[0].profile.values())


def get_profile(name: str) -> DataProfile:
    """The profile of data set ``name`` (its row's); UserError for an unknown name."""
    return dataset_row(name).profile


def profile_help(key: str) -> str:
    """The per-data-set defaults of one dotted key, for ``--help``: ``digits 64, cifar10 512...``."""
    shown = []
    for row in catalog.DATASETS:
        value = row.profile.values()[key]
        shown.append(f"{row.name} {'on' if value is True else 'off' if value is False else value}")
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
