"""Fixtures of the trainer's tests."""

import pytest

from hsearch.data import SubsetSizes, make_subset
from hsearch.train import prepare_data


@pytest.fixture(scope="module")
def small_data(digits):
    """200 train / 100 val digits at 16 px, for the runs that only need a few steps."""
    return prepare_data(digits, make_subset(digits, 1, SubsetSizes(20, 10, 0)), resolution=16,
                        split="val", device="cpu")
