"""Seeded, stratified train/validation/test subsets as index arrays.

A :class:`Subset` is three sorted ``int64`` index arrays: ``train_idx`` and ``val_idx`` into
the data set's train split (disjoint), ``test_idx`` into its test split. They are drawn, class
by class, from numpy's PCG64 generator seeded with a :class:`numpy.random.SeedSequence` of
``(seed, fingerprint of the data set's name and classes, train split size, test split size)``,
so a subset depends only on those and the sizes: it is the same in every process and on every
platform (numpy's ``Generator.permutation`` stream is stable), and other data sets get other
subsets for the same seed. :meth:`Subset.digest` hashes the indices; results record it so any
run can be checked and rebuilt.

Within a class the train split's indices are permuted once: the first ``train_per_class`` go
to training, the last ``val_per_class`` to validation. So for one seed a larger training
subset contains the smaller one, and the validation images do not change with the training
size. The test subset comes from its own stream of the same seed.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass

import numpy as np
import torch

from hsearch.checks import is_int
from hsearch.data.catalog import dataset_row
from hsearch.data.sources import ImageDataset
from hsearch.errors import UserError

@dataclass(frozen=True)
class SubsetSizes:
    """Images per class in each part of a subset.

    ``train_per_class`` must be at least 1; ``val_per_class`` and ``test_per_class`` may be 0
    (no validation or test images).
    """

    train_per_class: int
    val_per_class: int
    test_per_class: int

    def __post_init__(self) -> None:
        for name, low in (("train_per_class", 1), ("val_per_class", 0), ("test_per_class", 0)):
            value = getattr(self, name)
            if not is_int(value):
                raise UserError(f"{name} must be an integer, but got {value!r}")
            if value < low:
                raise UserError(f"`{name} >= {low}` must hold, but got {name}={value}")
            object.__setattr__(self, name, int(value))


def default_sizes(dataset_name: str) -> SubsetSizes:
    """Default subset sizes for a data set (its row's ``sizes``): 500/100/100 per class,
    digits 100/30/30."""
    return SubsetSizes(*dataset_row(dataset_name).sizes)


@dataclass(frozen=True, eq=False)
class Subset:
    """Index arrays of one seeded subset (sorted ``int64``; treat them as read-only).

    Attributes:
        seed: the seed it was drawn with.
        train_idx, val_idx: disjoint indices into the train split.
        test_idx: indices into the test split.
    """

    seed: int
    train_idx: np.ndarray
    val_idx: np.ndarray
    test_idx: np.ndarray

    def __post_init__(self) -> None:
        for name in ("train_idx", "val_idx", "test_idx"):
            # A private copy. It stays writeable on purpose: torch warns whenever a
            # read-only numpy array indexes a tensor, which is how callers use these.
            array = np.array(getattr(self, name), dtype=np.int64).reshape(-1)
            object.__setattr__(self, name, array)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Subset):
            return NotImplemented
        return self.seed == other.seed and all(
            np.array_equal(getattr(self, n), getattr(other, n))
            for n in ("train_idx", "val_idx", "test_idx"))

    __hash__ = None  # equal subsets hold equal arrays; arrays are not hashable

    def __repr__(self) -> str:
        return (f"Subset(seed={self.seed}, train={self.train_idx.size}, val={self.val_idx.size}, "
                f"test={self.test_idx.size}, digest={self.digest()!r})")

    def digest(self) -> str:
        """Short sha256 hex (16 digits) of the three index arrays; the same on every platform."""
        h = hashlib.sha256()
        for name in ("train_idx", "val_idx", "test_idx"):
            array = getattr(self, name)
            # The length prefix keeps [1, 2] + [3] apart from [1] + [2, 3].
            h.update(f"{name}:{array.size}:".encode())
            h.update(array.astype("<i8", copy=False).tobytes())
        return h.hexdigest()[:16]

    def to_dict(self) -> dict:
        """Plain JSON/YAML-ready form (lists of ints) with the digest."""
        return {
            "seed": int(self.seed),
            "digest": self.digest(),
            "train_idx": self.train_idx.tolist(),
            "val_idx": self.val_idx.tolist(),
            "test_idx": self.test_idx.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Subset:
        """Inverse of :meth:`to_dict`; checks the digest when one is given."""
        subset = cls(int(data["seed"]), data["train_idx"], data["val_idx"], data["test_idx"])
        if "digest" in data and data["digest"] != subset.digest():
            raise UserError(f"subset digest mismatch: recorded {data['digest']!r}, indices give "
                            f"{subset.digest()!r}")
        return subset

    def tensors(self, dataset: ImageDataset, part: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The images and labels of one part (``"train"``, ``"val"`` or ``"test"``), on the CPU."""
        if part in ("train", "val"):
            index = torch.from_numpy(self.train_idx if part == "train" else self.val_idx)
            return dataset.train_images[index], dataset.train_labels[index]
        if part == "test":
            index = torch.from_numpy(self.test_idx)
            return dataset.test_images[index], dataset.test_labels[index]
        raise ValueError(f"part must be 'train', 'val' or 'test', but got {part!r}")


def make_subset(dataset: ImageDataset, seed: int, sizes: SubsetSizes | None = None) -> Subset:
    """Draw the stratified subset of ``dataset`` for ``seed`` (see the module docstring).

    Args:
        dataset: the data set (its name, classes and split sizes enter the seed).
        seed: a non-negative integer.
        sizes: images per class; ``None`` means :func:`default_sizes` of the data set.

    Raises:
        UserError: a negative or non-integer seed, or sizes larger than a class has.
    """
    if not is_int(seed) or seed < 0:
        raise UserError(f"seed must be a non-negative integer, but got {seed!r}")
    seed = int(seed)
    if sizes is None:
        sizes = default_sizes(dataset.name)
    train_labels = dataset.train_labels.numpy()
    test_labels = dataset.test_labels.numpy()
    _check_sizes(dataset, train_labels, test_labels, sizes)

    fingerprint = zlib.crc32("\x1f".join((dataset.name, *dataset.classes)).encode("utf-8"))
    sequence = np.random.SeedSequence([seed, fingerprint, train_labels.size, test_labels.size])
    train_rng, test_rng = (np.random.default_rng(child) for child in sequence.spawn(2))

    train_parts, val_parts, test_parts = [], [], []
    for cls in range(dataset.num_classes):
        perm = train_rng.permutation(np.flatnonzero(train_labels == cls))
        train_parts.append(perm[:sizes.train_per_class])
        val_parts.append(perm[perm.size - sizes.val_per_class:])
        test_perm = test_rng.permutation(np.flatnonzero(test_labels == cls))
        test_parts.append(test_perm[:sizes.test_per_class])
    return Subset(seed, np.sort(np.concatenate(train_parts)), np.sort(np.concatenate(val_parts)),
                  np.sort(np.concatenate(test_parts)))


def _check_sizes(dataset: ImageDataset, train_labels: np.ndarray, test_labels: np.ndarray,
                 sizes: SubsetSizes) -> None:
    train_counts = np.bincount(train_labels, minlength=dataset.num_classes)
    test_counts = np.bincount(test_labels, minlength=dataset.num_classes)
    need = sizes.train_per_class + sizes.val_per_class
    smallest = int(np.argmin(train_counts))
    if need > train_counts[smallest]:
        raise UserError(
            f"`train_per_class + val_per_class <= images per class` must hold, but got "
            f"{sizes.train_per_class} + {sizes.val_per_class} = {need} > {train_counts[smallest]} "
            f"(class {dataset.classes[smallest]!r} of {dataset.name!r}'s train split)")
    smallest = int(np.argmin(test_counts))
    if sizes.test_per_class > test_counts[smallest]:
        raise UserError(
            f"`test_per_class <= images per class` must hold, but got {sizes.test_per_class} > "
            f"{test_counts[smallest]} (class {dataset.classes[smallest]!r} of {dataset.name!r}'s "
            f"test split)")
