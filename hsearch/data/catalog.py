"""The data sets hsearch knows: one row each, with everything the package reads about it.

A row (:class:`DataSetRow`) names the set's loader, its default subset sizes, its training
profile (:class:`DataProfile`) and the words of the CLI's help. :func:`~hsearch.data.load_dataset`,
:func:`~hsearch.data.default_sizes`, the profiles (:mod:`hsearch.data.profiles`) and the
``--data``/``--data-root``/``--download`` help all read :data:`DATASETS`; adding a data set is
adding a row (README: "Adding a data set or a model").

No torch here: the CLI builds its help from this module without importing torch. Loaders are
named as ``"module:function"`` strings and imported when a set is loaded.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsearch.errors import UserError

__all__ = ["DATASETS", "DataProfile", "DataSetRow", "data_help", "data_root_help",
           "dataset_row", "download_help", "list_datasets", "load_dataset"]


@dataclass(frozen=True)
class DataProfile:
    """Training defaults of one data set (see :mod:`hsearch.data.profiles` for the table and
    reasons)."""

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


@dataclass(frozen=True)
class DataSetRow:
    """One data set.

    Attributes:
        name: what ``--data`` and ``data.name`` take.
        loader: ``loader(root, download) -> ImageDataset`` (hsearch.data.ImageDataset, with
            ``name`` as its name), or its ``"module:function"`` path; ``root`` may be None and
            ``download`` False.
        sizes: default subset sizes, images per class: (train, val, test).
        profile: training defaults (its ``name`` is the row's).
        note: a word or two for ``--data``'s help (``"embedded"``), or empty.
        uses_root: reads its images from ``--data-root``; downloads: ``--download`` fetches
            them (both only for the help texts: the loader says what it needs).
    """

    name: str
    loader: str | Callable[..., Any]
    sizes: tuple[int, int, int]
    profile: DataProfile
    note: str = ""
    uses_root: bool = False
    downloads: bool = False

    def __post_init__(self) -> None:
        if self.profile.name != self.name:
            raise ValueError(f"`profile.name == name` must hold, but got "
                             f"profile.name={self.profile.name!r}, name={self.name!r}")
        if isinstance(self.loader, str) and self.loader.count(":") != 1:
            raise ValueError(f"`loader` must be 'module:function', but got {self.loader!r}")
        if len(self.sizes) != 3:
            raise ValueError(f"`sizes` must be (train, val, test), but got {self.sizes!r}")

    def load(self, root=None, download: bool = False):
        """The data set (hsearch.data.ImageDataset), loaded in this process."""
        loader = self.loader
        if isinstance(loader, str):
            module, function = loader.split(":")
            loader = getattr(importlib.import_module(module), function)
        return loader(root, download)


# The first row is the default data set.
DATASETS: tuple[DataSetRow, ...] = (
    DataSetRow("digits", "hsearch.data.sources:load_digits", sizes=(100, 30, 30),
               profile=DataProfile("digits", width=0.25, resolution=0.25, batch_size=64, lr=0.2,
                                   crop_flip=False, autoaugment=False, cutout=False),
               note="embedded"),
    # CIFAR-10 / image folders: 5,000 train and 1,000 val images as in the paper, plus a
    # 1,000-image test subset. Digits has 140 to 147 train-split images per class after the
    # fixed hold-out (and 34 to 36 test images), so its default leaves room for 10 to 17
    # unused images per class, and seeds differ in which images they use.
    DataSetRow("cifar10", "hsearch.data.sources:load_cifar10", sizes=(500, 100, 100),
               profile=DataProfile("cifar10", width=1.0, resolution=1.0, batch_size=512,
                                   lr=0.042, crop_flip=True, autoaugment=True, cutout=True),
               uses_root=True, downloads=True),
    DataSetRow("imagefolder", "hsearch.data.sources:load_imagefolder", sizes=(500, 100, 100),
               profile=DataProfile("imagefolder", width=1.0, resolution=1.0, batch_size=128,
                                   lr=0.1, crop_flip=True, autoaugment=False, cutout=True),
               uses_root=True),
)


def list_datasets() -> list[str]:
    """Names :func:`~hsearch.data.load_dataset` accepts; the first is the default."""
    return [row.name for row in DATASETS]


def dataset_row(name: object) -> DataSetRow:
    """The row of data set ``name``; UserError listing the known ones for any other name."""
    for row in DATASETS:
        if row.name == name:
            return row
    raise UserError(f"unknown data set {name!r}; known data sets: {', '.join(list_datasets())}")


def data_help() -> str:
    """``--data``'s help: ``digits (default, embedded), cifar10, imagefolder``."""
    shown = []
    for index, row in enumerate(DATASETS):
        notes = ["default"] * (index == 0) + [row.note] * bool(row.note)
        shown.append(f"{row.name} ({', '.join(notes)})" if notes else row.name)
    return ", ".join(shown)


def data_root_help() -> str:
    """``--data-root``'s help: ``folder of cifar10 / imagefolder data``."""
    return f"folder of {' / '.join(row.name for row in DATASETS if row.uses_root)} data"


def download_help() -> str:
    """``--download``'s help: ``download cifar10 into --data-root``."""
    return f"download {' / '.join(row.name for row in DATASETS if row.downloads)} into --data-root"


def load_dataset(name: str = "digits", root: str | Path | None = None,
                 download: bool = False) -> Any:
    """Load a data set by name: its row's loader (hsearch.data.sources for the shipped ones)
    returns a hsearch.data.ImageDataset.

    Args:
        name: one of :func:`list_datasets` (the rows of :data:`DATASETS`).
        root: folder of the data; needed by ``cifar10`` and ``imagefolder``, ignored by
            ``digits`` (which ships inside scikit-learn).
        download: ``cifar10`` only: download the archive into ``root`` if it is missing.

    Raises:
        UserError: unknown name, missing or empty root, unreadable files.
    """
    return dataset_row(name).load(root, download)
