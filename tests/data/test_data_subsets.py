"""Seeded stratified subsets: determinism, stratification, disjointness, digests, size errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from hsearch.data import (
    ImageDataset,
    Subset,
    SubsetSizes,
    default_sizes,
    make_subset,
)
from hsearch.errors import UserError

# Digest of digits' default subset for seed 0. It pins the whole chain (hold-out, SeedSequence
# mixing, PCG64 permutations, hashing): if it changes, recorded results no longer rebuild.
DIGITS_SEED0_DIGEST = "83aa0aec89f3c941"


def synthetic(name="synthetic", per_class=(30, 40, 50), test_per_class=(10, 12, 14)):
    """A tiny data set with given class sizes (images are irrelevant to subsets)."""
    def split(counts):
        labels = torch.tensor(np.repeat(np.arange(len(counts)), counts), dtype=torch.int64)
        return torch.zeros(labels.numel(), 3, 4, 4, dtype=torch.uint8), labels

    train_images, train_labels = split(per_class)
    test_images, test_labels = split(test_per_class)
    return ImageDataset(name=name, classes=tuple("abc"), train_images=train_images,
                        train_labels=train_labels, test_images=test_images,
                        test_labels=test_labels, mean=(0, 0, 0), std=(1, 1, 1))


def test_default_sizes():
    assert default_sizes("cifar10") == SubsetSizes(500, 100, 100)
    assert default_sizes("imagefolder") == SubsetSizes(500, 100, 100)
    assert default_sizes("digits") == SubsetSizes(100, 30, 30)
    with pytest.raises(UserError, match="unknown data set"):
        default_sizes("svhn")


def test_same_seed_same_subset_other_seed_differs(digits):
    a, b, c = make_subset(digits, 7), make_subset(digits, 7), make_subset(digits, 8)
    assert a == b and a.digest() == b.digest()
    assert a != c and a.digest() != c.digest()
    assert not np.array_equal(a.train_idx, c.train_idx)
    assert not np.array_equal(a.val_idx, c.val_idx)
    assert not np.array_equal(a.test_idx, c.test_idx)


def test_digest_is_stable_across_processes_and_runs(digits):
    assert make_subset(digits, 0).digest() == DIGITS_SEED0_DIGEST
    # A fresh interpreter (its own hash seed, no shared state) draws the same subset. The
    # synthetic set keeps the child's imports to torch and numpy.
    code = ("import json, sys; sys.path.insert(0, sys.argv[1]); "
            "from test_data_subsets import synthetic; "
            "from hsearch.data import SubsetSizes, make_subset; "
            "s = make_subset(synthetic(), 5, SubsetSizes(7, 3, 4)); "
            "print(json.dumps(s.to_dict()))")
    result = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)],
                            capture_output=True, text=True, check=True, timeout=120)
    other = Subset.from_dict(json.loads(result.stdout))
    assert other == make_subset(synthetic(), 5, SubsetSizes(7, 3, 4))


def test_stratified_exact_counts_and_disjoint(digits):
    sizes = SubsetSizes(90, 40, 25)
    subset = make_subset(digits, 3, sizes)
    train_labels = digits.train_labels.numpy()
    assert np.array_equal(np.bincount(train_labels[subset.train_idx]), [90] * 10)
    assert np.array_equal(np.bincount(train_labels[subset.val_idx]), [40] * 10)
    test_labels = digits.test_labels.numpy()
    assert np.array_equal(np.bincount(test_labels[subset.test_idx]), [25] * 10)
    assert not set(subset.train_idx) & set(subset.val_idx)
    for idx in (subset.train_idx, subset.val_idx, subset.test_idx):
        assert idx.dtype == np.int64 and np.all(np.diff(idx) > 0)  # sorted, no repeats
    assert subset.test_idx.max() < digits.test_labels.numel()


def test_test_indices_come_from_the_test_split():
    data = synthetic()
    subset = make_subset(data, 0, SubsetSizes(5, 5, 10))
    assert subset.test_idx.max() < data.test_labels.numel() == 36
    assert np.array_equal(np.bincount(data.test_labels.numpy()[subset.test_idx]), [10, 10, 10])
    images, labels = subset.tensors(data, "test")
    assert images.shape == (30, 3, 4, 4) and torch.equal(labels, data.test_labels[subset.test_idx])


def test_tensors_picks_the_parts(digits):
    subset = make_subset(digits, 1)
    for part, idx in (("train", subset.train_idx), ("val", subset.val_idx)):
        images, labels = subset.tensors(digits, part)
        assert torch.equal(images, digits.train_images[idx])
        assert torch.equal(labels, digits.train_labels[idx])
    with pytest.raises(ValueError, match="part"):
        subset.tensors(digits, "holdout")


def test_larger_train_subset_contains_smaller_and_val_unchanged(digits):
    small = make_subset(digits, 4, SubsetSizes(50, 30, 10))
    large = make_subset(digits, 4, SubsetSizes(100, 30, 10))
    assert set(small.train_idx) <= set(large.train_idx)
    assert np.array_equal(small.val_idx, large.val_idx)


def test_data_set_identity_enters_the_seed():
    a = make_subset(synthetic("one"), 0, SubsetSizes(5, 5, 5))
    b = make_subset(synthetic("two"), 0, SubsetSizes(5, 5, 5))
    assert a.digest() != b.digest()


def test_sizes_too_large_show_the_numbers(digits):
    # class '8' has 140 train-split images and 34 test images after the hold-out
    with pytest.raises(UserError, match=r"140 \+ 1 = 141 > 140 \(class '8'"):
        make_subset(digits, 0, SubsetSizes(140, 1, 0))
    make_subset(digits, 0, SubsetSizes(140, 0, 34))
    with pytest.raises(UserError, match=r"35 > 34 \(class '8'"):
        make_subset(digits, 0, SubsetSizes(10, 10, 35))
    with pytest.raises(UserError, match=r"500 \+ 100 = 600 > 140"):
        make_subset(digits, 0, default_sizes("cifar10"))


def test_bad_sizes_and_seeds(digits):
    with pytest.raises(UserError, match="train_per_class >= 1"):
        SubsetSizes(0, 1, 1)
    with pytest.raises(UserError, match="val_per_class >= 0"):
        SubsetSizes(1, -1, 1)
    with pytest.raises(UserError, match="integer"):
        SubsetSizes(1.5, 1, 1)
    for seed in (-1, 1.0, True, "3"):
        with pytest.raises(UserError, match="seed"):
            make_subset(digits, seed)


def test_zero_val_and_test(digits):
    subset = make_subset(digits, 2, SubsetSizes(10, 0, 0))
    assert subset.train_idx.size == 100 and subset.val_idx.size == 0 and subset.test_idx.size == 0


def test_dict_round_trip_and_digest_check(digits):
    subset = make_subset(digits, 9)
    data = json.loads(json.dumps(subset.to_dict()))
    assert data["digest"] == subset.digest() and Subset.from_dict(data) == subset
    data["train_idx"][0] += 1
    with pytest.raises(UserError, match="digest mismatch"):
        Subset.from_dict(data)
    assert "digest=" in repr(subset)
