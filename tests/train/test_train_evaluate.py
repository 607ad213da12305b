"""hsearch.train.evaluate: repeated-seed evaluation of zoo architectures on digits (CPU)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from hsearch.data import AugmentConfig, SubsetSizes, make_subset
from hsearch.errors import UserError
from hsearch.models import model_cost
from hsearch.train import (
    DIVERGED,
    OK,
    Architecture,
    SeedResult,
    TrainConfig,
    aggregate,
    evaluate,
    parse_budget,
    seed_list,
    train_one_seed,
)

TINY = Architecture("senet18", width=0.25, depth=0.5, resolution=0.5)  # 16 px, ~4 M MACs
SIZES = SubsetSizes(train_per_class=30, val_per_class=10, test_per_class=10)
FAST = TrainConfig(lr=0.1, batch_size=100,
                   augment=AugmentConfig(crop_flip=False, autoaugment=False, cutout=False))


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_evaluate_two_seeds(digits):
    reports = []
    result = evaluate(TINY, FAST, parse_budget("2ep"), digits, seeds=2, sizes=SIZES,
                      report=lambda **m: reports.append(m))
    assert result.seeds == (0, 1)
    assert result.statuses == (OK, OK)
    assert len(result.accs) == 2 and all(0.0 <= a <= 1.0 for a in result.accs)
    assert result.acc_mean == pytest.approx(np.mean(result.accs))
    assert result.acc_std == pytest.approx(np.std(result.accs, ddof=1))
    assert result.subset_digests[0] != result.subset_digests[1]
    assert result.subset_digests == tuple(make_subset(digits, s, SIZES).digest() for s in (0, 1))
    cost = model_cost("senet18", 0.25, 0.5, 0.5)
    assert (result.macs, result.params, result.resolution) == (cost.macs, cost.params, 16)
    assert all(s > 0 for s in result.train_seconds)
    assert [r.accuracy for r in result.seed_results] == list(result.accs)
    assert all(r.epochs == pytest.approx(2.0) for r in result.seed_results)
    # the report callback hears every epoch of every seed, tagged with the seed
    assert sorted({(m["seed"], m["epoch"]) for m in reports}) == [(0, 1), (0, 2), (1, 1), (1, 2)]
    data = result.to_dict()
    assert data["accs"] == list(result.accs) and data["arch"]["model"] == "senet18"
    assert data["budget"]["text"] == "2ep"


def test_same_seed_twice_gives_identical_accuracy_on_cpu(digits):
    config = TrainConfig(lr=0.1, batch_size=100)  # with AutoAugment, Cutout, crop and flip
    runs = [train_one_seed(TINY, config, parse_budget("1ep"), digits, seed=4,
                           sizes=SIZES) for _ in range(2)]
    assert runs[0].accuracy == runs[1].accuracy
    assert runs[0].history[-1]["loss"] == runs[1].history[-1]["loss"]
    assert runs[0].subset_digest == runs[1].subset_digest


def test_test_split_scores_the_test_subset(digits):
    result = train_one_seed(TINY, FAST, parse_budget("1ep"), digits, seed=0, sizes=SIZES,
                            split="test")
    assert result.split == "test" and result.ok
    with pytest.raises(UserError, match="split"):
        train_one_seed(TINY, FAST, parse_budget("1ep"), digits, seed=0, sizes=SIZES, split="train")


def test_a_failed_seed_counts_as_zero_accuracy():
    def seed_result(seed, status, accuracy):
        return SeedResult(seed=seed, status=status, accuracy=accuracy, split="val",
                          subset_digest=f"d{seed}", train_seconds=1.0, overrun_seconds=0.0,
                          epochs=1.0, steps=3, images_per_second=10.0)

    cost = model_cost("senet18", 0.25, 0.5, 0.5)
    results = [seed_result(0, OK, 0.9), seed_result(1, DIVERGED, 0.0), seed_result(2, OK, 0.8)]
    summary = aggregate(TINY, FAST, parse_budget("1ep"), "digits", "val", results, cost)
    assert summary.accs == (0.9, 0.0, 0.8)
    assert summary.acc_mean == pytest.approx(1.7 / 3)
    assert summary.n_failed == 1 and not summary.all_ok
    assert summary.statuses == (OK, DIVERGED, OK)


def test_single_seed_has_zero_std(digits):
    result = evaluate(TINY, FAST, parse_budget("1ep"), digits, seeds=[3], sizes=SIZES)
    assert result.seeds == (3,) and result.acc_std == 0.0 and result.acc_mean == result.accs[0]


def test_work_unit_and_results_pickle(digits):
    """train_one_seed runs as a Ray task: its arguments and result must pickle."""
    for value in (train_one_seed, TINY, FAST, parse_budget("10m"), SIZES):
        assert pickle.loads(pickle.dumps(value)) == value
    restored = pickle.loads(pickle.dumps(digits))
    assert restored.name == digits.name


@pytest.mark.parametrize("seeds, expected", [(3, (0, 1, 2)), ([5, 2], (5, 2))])
def test_seed_list(seeds, expected):
    assert seed_list(seeds) == expected


@pytest.mark.parametrize("seeds", [0, -1, [], [1, 1], [-2], True])
def test_seed_list_rejects_bad_seeds(seeds):
    with pytest.raises(UserError):
        seed_list(seeds)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(model="resnet9000"), "unknown model 'resnet9000'"),
        (dict(width=0.0), "width > 0"),
        (dict(depth=-1.0), "depth > 0"),
        (dict(resolution=float("nan")), "resolution > 0"),
    ],
)
def test_architecture_validates_itself(kwargs, fragment):
    with pytest.raises(UserError, match=fragment):
        Architecture(**kwargs)
