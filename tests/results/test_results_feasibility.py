"""hsearch.results.feasibility: feasibility at an accuracy threshold decided exactly, and the
same decision in the trial's report (what NOMAD and the penalty see), racing and the tabular
benchmark.

The accuracies are counts of 300 validation images (the demo's validation size), 4 seeds. In
seed order (286, 285, 282, 279)/300 numpy's mean is 0.9433333333333334; in the order
(286, 279, 285, 282) it is 0.9433333333333332: the run of issue 14, where a configuration whose
accuracies were the baseline's in another order came out feasible by -1.1e-16.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from hsearch.results import accuracy_gap, mean_accuracy, meets_threshold
from hsearch.errors import UserError
from hsearch.results.feasibility import GAP_TOLERANCE, Threshold, check_tolerance, penalized
from hsearch.train import parse_budget

IMAGES = 300
BASELINE = tuple(c / IMAGES for c in (286, 285, 282, 279))
REORDERED = tuple(c / IMAGES for c in (286, 279, 285, 282))  # the same multiset
ONE_IMAGE_BELOW = tuple(c / IMAGES for c in (286, 279, 285, 281))


def test_the_example_is_order_dependent_in_floats():
    """The premise of the tests below: float means of the same accuracies differ by order."""
    assert float(np.mean(BASELINE)) > float(np.mean(REORDERED))
    assert sorted(BASELINE) == sorted(REORDERED)


def test_mean_is_exact_and_independent_of_order():
    assert mean_accuracy(BASELINE) == mean_accuracy(REORDERED)
    assert mean_accuracy(BASELINE) == pytest.approx(1132 / 1200, abs=1e-15)
    assert mean_accuracy([0.5]) == 0.5
    assert math.isnan(mean_accuracy([0.5, math.nan]))
    with pytest.raises(ValueError, match="must not be empty"):
        mean_accuracy([])


def test_equal_means_give_a_gap_of_exactly_zero_and_feasible():
    threshold = mean_accuracy(BASELINE)
    gap = accuracy_gap(threshold, mean_accuracy(REORDERED))
    assert gap == 0.0 and math.copysign(1.0, gap) == 1.0  # not -0.0 either
    assert meets_threshold(mean_accuracy(REORDERED), threshold)
    # the float noise of numpy's means (the old rule) is absorbed the same way
    assert accuracy_gap(float(np.mean(BASELINE)), float(np.mean(REORDERED))) == 0.0


def test_one_image_below_is_infeasible():
    threshold = mean_accuracy(BASELINE)
    mean = mean_accuracy(ONE_IMAGE_BELOW)
    assert accuracy_gap(threshold, mean) == pytest.approx(1 / (IMAGES * 4))
    assert not meets_threshold(mean, threshold)
    assert GAP_TOLERANCE < 1e-3 / (IMAGES * 4)  # far below one image


def test_failed_evaluation_is_never_feasible():
    assert math.isnan(accuracy_gap(0.9, math.nan))
    assert not meets_threshold(math.nan, 0.9)


def _report(accs, threshold):
    """The final report of a trial whose seeds scored ``accs`` (hsearch.workflows.trial)."""
    from hsearch.data import SubsetSizes
    from hsearch.train import Architecture, SeedResult, TrainConfig
    from hsearch.workflows.trial import _Metrics
    from hsearch.workflows.trial_spec import OK, TrialSpec

    arch = Architecture("senet18", width=0.125, resolution=0.25)
    spec = TrialSpec(arch=arch, train=TrainConfig(), budget=parse_budget("1ep"), seeds=(0, 1, 2, 3),
                     sizes=SubsetSizes(10, 30, 0), threshold=threshold, baseline_macs=1000.0)
    results = {s: SeedResult(seed=s, status="ok", accuracy=a, split="val", subset_digest="",
                             train_seconds=1.0, overrun_seconds=0.0, epochs=1.0, steps=1,
                             images_per_second=1.0)
               for s, a in zip(spec.seeds, accs)}
    return _Metrics(spec, arch.cost(num_classes=10), {}).report(results, OK)


def test_trial_reports_the_same_decision_to_every_searcher():
    baseline = _report(BASELINE, None)
    equal = _report(REORDERED, baseline["acc_mean"])
    assert equal["acc_mean"] == baseline["acc_mean"]
    # NOMAD's constraint value, the feasible flag and the other searchers' penalty agree
    assert equal["acc_gap"] == 0.0 and equal["feasible"] is True
    assert equal["penalized"] == equal["macs_ratio"]
    below = _report(ONE_IMAGE_BELOW, baseline["acc_mean"])
    assert below["acc_gap"] > 0 and below["feasible"] is False
    assert below["penalized"] == pytest.approx(below["macs_ratio"] + 100.0 / 1200)


def test_racing_never_rejects_a_prefix_that_meets_the_threshold():
    from hsearch.workflows.racing import RacingRule

    rule = RacingRule(enabled=True, min_seeds=3, std_floor=0.0)
    accs = [283 / IMAGES] * 3  # no spread: the bound is the mean itself
    noisy = 283 / IMAGES + 1e-16  # the threshold as a float sum might give it
    assert noisy > mean_accuracy(accs)
    assert not rule.should_reject(accs, 4, noisy)
    assert rule.first_rejection(accs, 4, noisy) is None
    assert rule.should_reject(accs, 4, 284 / IMAGES)


def _write_table(path, cells):
    """A two-cell table (width 0.5 and 1; the baseline is width 1) of 6-decimal accuracies."""
    lines = ["width,depth,resolution,seed,accuracy,status,train_seconds,macs,params,"
             "input_size,network"]
    for width, accs in cells.items():
        for seed, acc in enumerate(accs):
            lines.append(f"{width},1.0,1.0,{seed},{acc:.6f},ok,1.0,{int(1000 * width)},10,8,"
                         f"net-{width}")
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("counts, feasible", [
    ((283, 283, 283, 283), True),  # equal mean, different 6-decimal roundings
    ((286, 279, 285, 282), True),  # the baseline's accuracies in another order
    ((283, 283, 283, 282), False),  # one image below
])
def test_tabular_benchmark_uses_the_same_rule(tmp_path, counts, feasible):
    from hsearch.problems.tabular import NasTable

    path = _write_table(tmp_path / "table.csv", {
        1.0: [c / IMAGES for c in (282, 284, 283, 283)],
        0.5: [c / IMAGES for c in counts]})
    table = NasTable(path)
    metrics = table.metrics(table.cell_at_multipliers(0.5, 1.0, 1.0))
    assert metrics["feasible"] is feasible
    if feasible:
        assert metrics["acc_gap"] == 0.0
    else:
        assert metrics["acc_gap"] == pytest.approx(1 / 1200, rel=1e-3)
    assert (len(table.feasible_cells()) == 2) is feasible


def test_the_threshold_is_the_level_less_the_tolerance_and_the_tolerance_is_checked_once():
    rule = Threshold(0.93, 0.01)
    assert rule.value == 0.93 - 0.01 and (rule.level, rule.tolerance) == (0.93, 0.01)
    assert Threshold(0.9).value == 0.9
    for bad in (-0.1, 1.0, math.nan, True):
        with pytest.raises(UserError, match=r"`0 <= tolerance < 1` must hold"):
            Threshold(0.9, bad)
        with pytest.raises(UserError, match=r"`0 <= tolerance < 1` must hold"):
            check_tolerance(bad)
    with pytest.raises(UserError, match="`level` must be a finite mean accuracy"):
        Threshold(math.inf)


def test_the_penalty_formula_is_one_function_shared_by_trials_and_compare():
    from hsearch.compare.protocol import InfeasibleRule

    assert penalized(0.5, 0.02, 100.0) == 0.5 + 100.0 * 0.02
    assert InfeasibleRule("penalty", weight=100.0).value(0.5, 0.02) == penalized(0.5, 0.02, 100)
    assert math.isnan(penalized(0.5, math.nan, 100.0))  # a failed trial is never feasible
