"""The racing rule: rejects hopeless configurations, never one that meets the threshold."""

import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from hsearch.errors import UserError
from hsearch.workflows.racing import RacingRule, finished_prefix

RULE = RacingRule(enabled=True, min_seeds=3, confidence=0.95, std_floor=0.01)


def test_rejects_a_hopeless_configuration():
    # three seeds around 0.5 cannot lift a 10-seed mean to 0.9
    assert RULE.should_reject([0.50, 0.52, 0.51], total_seeds=10, threshold=0.9)


def test_keeps_a_configuration_close_to_the_threshold():
    # mean 0.885, spread 0.02: the remaining 7 seeds could still reach 0.89
    assert not RULE.should_reject([0.87, 0.90, 0.885], total_seeds=10, threshold=0.89)


def test_never_rejects_when_the_seeds_so_far_meet_the_threshold():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        total = int(rng.integers(4, 12))
        n = int(rng.integers(2, total))
        accs = list(rng.uniform(0.0, 1.0, size=n))
        threshold = float(np.mean(accs)) - float(rng.uniform(0.0, 0.2))
        rule = RacingRule(enabled=True, min_seeds=2, confidence=float(rng.uniform(0.51, 0.999)),
                          std_floor=float(rng.uniform(0.0, 0.05)))
        assert not rule.should_reject(accs, total, threshold)
        assert rule.upper_bound(accs, total) >= np.mean(accs) - 1e-12


def test_a_rejection_always_has_its_partial_mean_below_the_threshold():
    rng = np.random.default_rng(1)
    rejected = 0
    for _ in range(2000):
        accs = list(rng.uniform(0.3, 1.0, size=3))
        threshold = float(rng.uniform(0.5, 1.0))
        if RULE.should_reject(accs, 10, threshold):
            rejected += 1
            assert np.mean(accs) < threshold
    assert rejected > 100  # the property was exercised


def test_upper_bound_is_the_stated_student_t_formula():
    accs, total = [0.80, 0.84, 0.83, 0.79], 10
    n, mean, std = 4, np.mean(accs), np.std(accs, ddof=1)
    expected = mean + (total - n) / total * student_t.ppf(0.95, n - 1) * std * math.sqrt(
        1 / n + 1 / (total - n))
    assert RULE.upper_bound(accs, total) == pytest.approx(expected, rel=1e-12)


def test_std_floor_keeps_agreeing_seeds_from_deciding_alone():
    accs = [0.899, 0.899]  # zero spread, just below the threshold
    floor = RacingRule(enabled=True, min_seeds=2, std_floor=0.01)
    no_floor = RacingRule(enabled=True, min_seeds=2, std_floor=0.0)
    assert not floor.should_reject(accs, 10, 0.9)
    assert no_floor.should_reject(accs, 10, 0.9)


def test_no_decision_when_disabled_too_early_or_finished():
    hopeless = [0.1, 0.1, 0.1, 0.1]
    assert not RacingRule(enabled=False).should_reject(hopeless, 10, 0.9)
    assert not RULE.should_reject(hopeless[:2], 10, 0.9)  # fewer than min_seeds
    assert not RULE.should_reject(hopeless, 4, 0.9)  # every seed done: nothing to save
    assert RULE.upper_bound(hopeless, 4) == pytest.approx(0.1)
    assert RULE.upper_bound([0.5], 4) == math.inf


def test_higher_confidence_gives_a_wider_bound():
    accs = [0.7, 0.75, 0.72]
    bounds = [RacingRule(True, 3, c, 0.01).upper_bound(accs, 10) for c in (0.8, 0.95, 0.99)]
    assert bounds[0] < bounds[1] < bounds[2]


def test_finished_prefix_follows_seed_order():
    assert finished_prefix({0: 0.9, 1: 0.8, 3: 0.7}, [0, 1, 2, 3]) == [0.9, 0.8]
    assert finished_prefix({1: 0.8}, [0, 1]) == []


@pytest.mark.parametrize("kwargs", [{"min_seeds": 1}, {"confidence": 0.5}, {"confidence": 1.0},
                                    {"std_floor": -0.1}])
def test_bad_settings_are_user_errors(kwargs):
    with pytest.raises(UserError):
        RacingRule(enabled=True, **kwargs)


def test_first_rejection_does_not_depend_on_the_finishing_order():
    rng = np.random.default_rng(2)
    rule = RacingRule(enabled=True, min_seeds=2, confidence=0.9, std_floor=0.01)
    for _ in range(300):
        accs = list(rng.uniform(0.6, 0.95, size=6))
        threshold = float(rng.uniform(0.7, 0.95))
        # in sequence: check after every seed, stop at the first rejection
        sequential = next((n for n in range(2, 6) if rule.should_reject(accs[:n], 6, threshold)),
                          None)
        # in parallel: seeds finish in a random order; check every finished prefix each time
        results, decided = {}, None
        for seed in rng.permutation(6):
            results[int(seed)] = accs[int(seed)]
            decided = rule.first_rejection(finished_prefix(results, range(6)), 6, threshold)
            if decided is not None:
                break
        assert decided == sequential
