"""Confirmation, the mirror of racing: the rule (ConfirmRule), its settings and flags, and its
columns and lines in evaluations.csv, the console and the summary -- all without Ray (the
trial that applies it through Ray Tune: test_workflows_confirm_tune)."""

import argparse
import math

import numpy as np
import pytest
from scipy.stats import t as student_t

from hsearch.errors import UserError
from hsearch.results.feasibility import mean_accuracy, meets_threshold
from hsearch.train import Architecture, TrainConfig, parse_budget
from hsearch.workflows.callbacks import evaluation_row, format_evaluation
from hsearch.workflows.racing import CLEAR, CONFIRMED, FELL, MAX_SEEDS, ConfirmRule
from hsearch.workflows.report import _confirm_line
from hsearch.workflows.settings import NasSettings, load_settings
from hsearch.workflows.trial_spec import TrialSpec

RULE = ConfirmRule(enabled=True, max_seeds=6, confidence=0.95, std_floor=0.01)


def test_lower_bound_is_the_stated_student_t_formula():
    accs = [0.80, 0.84, 0.83, 0.79]
    n, mean, std = 4, np.mean(accs), np.std(accs, ddof=1)
    expected = mean - student_t.ppf(0.95, n - 1) * std / math.sqrt(n)
    assert RULE.lower_bound(accs) == pytest.approx(expected, rel=1e-12)
    assert RULE.lower_bound([0.9]) == -math.inf  # one seed: nothing known
    # two agreeing seeds: the floor, not a zero-width bound
    assert RULE.lower_bound([0.9, 0.9]) == pytest.approx(
        0.9 - student_t.ppf(0.95, 1) * 0.01 / math.sqrt(2))


def test_verdicts():
    # far above the threshold with a small spread: the own seeds are enough
    assert RULE.verdict([0.95, 0.96, 0.955], 3, 0.80) == CLEAR
    # feasible but within reach: another seed
    assert RULE.verdict([0.90, 0.80, 0.86], 3, 0.85) is None
    # an own mean below the threshold is no matter for confirmation
    assert RULE.verdict([0.70, 0.72, 0.71], 3, 0.85) == ""
    # after added seeds: the upper bound fell, the lower bound cleared, or the limit was reached
    wide = ConfirmRule(enabled=True, max_seeds=10)
    assert wide.verdict([0.86, 0.855, 0.86, 0.78, 0.78, 0.78], 3, 0.85) is None
    assert wide.verdict([0.86, 0.855, 0.86, 0.78, 0.78, 0.78, 0.78], 3, 0.85) == FELL
    assert RULE.verdict([0.90, 0.88, 0.89, 0.90, 0.89], 3, 0.85) == CONFIRMED
    assert RULE.verdict([0.90, 0.80, 0.86, 0.87, 0.84, 0.86], 3, 0.85) == MAX_SEEDS
    assert RULE.verdict([0.90, 0.80, 0.86, 0.80, 0.84, 0.84], 3, 0.85) == FELL  # at the limit
    # a mean that dips below while its upper bound does not goes on (a near-threshold network
    # is not rejected on one low seed)
    dipped = [0.90, 0.80, 0.86, 0.70]
    assert np.mean(dipped) < 0.85 <= RULE.upper_bound(dipped)
    assert RULE.verdict(dipped, 3, 0.85) is None
    with pytest.raises(ValueError, match="len\\(accs\\) >= own_seeds"):
        RULE.verdict([0.9, 0.9], 3, 0.85)


def test_confirm_follows_verdict_one_seed_at_a_time():
    accs, more = [0.90, 0.80, 0.86], [0.87, 0.95, 0.95, 0.95]
    used, verdict = RULE.confirm(accs, more, 0.85)
    assert used[:3] == accs and used[3:] == more[:len(used) - 3]
    # every prefix before the last was undecided; the last decided
    for n in range(3, len(used)):
        assert RULE.verdict(used[:n], 3, 0.85) is None
    assert RULE.verdict(used, 3, 0.85) == verdict != ""


def test_confirmation_never_removes_seeds_never_accepts_a_mean_below_and_keeps_max_seeds():
    rng = np.random.default_rng(0)
    verdicts = set()
    for _ in range(1500):
        k = int(rng.integers(1, 6))
        rule = ConfirmRule(enabled=True, max_seeds=int(rng.integers(k + 1, 12)),
                           confidence=float(rng.uniform(0.51, 0.999)),
                           std_floor=float(rng.uniform(0.0, 0.05)))
        centre, spread = float(rng.uniform(0.3, 0.95)), float(rng.uniform(0.0, 0.1))
        accs = list(np.clip(rng.normal(centre, spread, size=k), 0, 1))
        more = list(np.clip(rng.normal(centre, spread, size=rule.max_seeds), 0, 1))
        threshold = float(np.mean(accs)) - float(rng.uniform(-0.05, 0.05))
        used, verdict = rule.confirm(accs, more, threshold)
        verdicts.add(verdict)
        assert used[:k] == accs and used[k:] == more[:len(used) - k]  # nothing removed
        assert len(used) <= max(rule.max_seeds, k)
        feasible = meets_threshold(mean_accuracy(used), threshold)
        if verdict in (CLEAR, CONFIRMED, MAX_SEEDS):
            assert feasible  # an accepted result's mean of all its seeds meets the threshold
        else:  # "": infeasible on its own seeds; "fell": infeasible with every seed
            assert not feasible
        if verdict in ("", CLEAR):
            assert used == accs
        if verdict == MAX_SEEDS:
            assert len(used) == rule.max_seeds
        if verdict == FELL:
            assert len(used) > k
    assert verdicts == {"", CLEAR, CONFIRMED, FELL, MAX_SEEDS}  # every outcome was exercised


def test_disabled_is_a_no_op():
    accs = [0.90, 0.80, 0.86]
    assert ConfirmRule().confirm(accs, [0.1] * 10, 0.85) == (accs, "")


@pytest.mark.parametrize("kwargs", [{"max_seeds": 1}, {"max_seeds": 2.5}, {"confidence": 0.5},
                                    {"confidence": 1.0}, {"std_floor": -0.1}])
def test_bad_rules_are_user_errors(kwargs):
    with pytest.raises(UserError, match="confirm\\."):
        ConfirmRule(enabled=True, **kwargs)


def test_settings_yaml_flags_and_the_seed_limit(tmp_path):
    from hsearch.cli._workflow_options import (
        add_nas_options,
        add_run_options,
        add_search_options,
        run_overrides,
    )

    assert not NasSettings().confirm.enabled  # off by default
    path = tmp_path / "nas.yaml"
    path.write_text("seeds: 3\nconfirm: {enabled: true, max_seeds: 5, std_floor: 0.02}\n")
    settings = load_settings(NasSettings, path)
    assert settings.confirm == ConfirmRule(True, 5, 0.95, 0.02)
    with pytest.raises(UserError, match=r"`confirm.max_seeds > seeds`.*max_seeds=5, seeds=5"):
        load_settings(NasSettings, path, {"seeds": 5})
    with pytest.raises(UserError, match="unknown key"):
        load_settings(NasSettings, None, {"confirm.max_seed": 5})
    # off, a limit below K is no matter
    assert not load_settings(NasSettings, None, {"seeds": 12}).confirm.enabled
    parser = argparse.ArgumentParser()
    add_run_options(parser)
    add_search_options(parser)
    add_nas_options(parser)
    args = parser.parse_args(["--confirm", "--max-seeds", "7", "--confidence", "0.9",
                              "--seeds", "4"])
    settings = load_settings(NasSettings, None, run_overrides(args))
    assert settings.confirm == ConfirmRule(True, 7, 0.9, 0.01)
    assert settings.racing.confidence == 0.9  # one level for racing and confirmation
    unset = run_overrides(parser.parse_args([]))
    assert unset["confirm.enabled"] is None and unset["confirm.max_seeds"] is None


def test_the_demo_confirms_up_to_its_baseline_seeds_and_no_confirm_turns_it_off():
    from hsearch.cli import build_parser
    from hsearch.cli._workflow_options import settings_from_args
    from hsearch.configs import to_mapping
    from hsearch.workflows.demo import DEMO_BASELINE_SEEDS, demo_settings

    rule = demo_settings().confirm
    assert rule.enabled and rule.max_seeds == DEMO_BASELINE_SEEDS > demo_settings().seeds
    base = to_mapping(demo_settings())
    for flag, enabled in (("--no-confirm", False), ("--confirm", True)):
        args = build_parser().parse_args(["demo", flag])
        assert settings_from_args(NasSettings, args, base=base).confirm.enabled is enabled


def test_a_trial_spec_checks_its_seed_limit():
    make = lambda rule: TrialSpec(Architecture(), TrainConfig(), parse_budget("1ep"), (0, 1, 2), None,  # noqa
                                  confirm=rule)
    assert make(ConfirmRule(True, 4)).confirm.max_seeds == 4
    assert make(ConfirmRule(False, 3)).confirm.enabled is False
    with pytest.raises(ValueError, match="max_seeds > len\\(seeds\\)"):
        make(ConfirmRule(True, 3))


def test_rows_lines_and_summary_of_a_confirmation():
    spec = TrialSpec(Architecture("senet18", width=0.5), TrainConfig(), parse_budget("1ep"), (0, 1), None,
                     threshold=0.85, baseline_macs=1e6, confirm=ConfirmRule(True, 4))
    final = {"status": "ok", "macs": 500_000, "acc_mean": 0.84, "acc_std": 0.05,
             "accs": [0.90, 0.86, 0.76], "seeds": [0, 1, 2], "seeds_done": 3, "seeds_total": 3,
             "seeds_added": 1, "confirm": FELL, "feasible": False, "acc_gap": 0.01}
    row = evaluation_row("t1", {"width": 0.5}, final, spec, ("width",), objective="macs")
    assert (row["seeds_added"], row["confirm"], row["feasible"]) == (1, FELL, False)
    line = format_evaluation({**row, "eval_id": 2}, None, ("width",), total=5)
    assert "infeasible (fell below the threshold on 3 seeds, 1 added)" in line
    assert "seeds)" not in line.split("|")[2]  # every seed used is done: no partial count
    cost = {"status": "cost", "macs": 2_000_000, "acc_mean": 0.0, "acc_gap": 0.85,
            "seeds_added": 0, "confirm": "", "feasible": False}
    pruned = evaluation_row("t2", {"width": 2.0}, cost, spec, ("width",), objective="macs")
    assert pruned["seeds_added"] == 0 and pruned["confirm"] is None
    rows = [row, {"status": "ok", "confirm": CONFIRMED, "seeds_added": 2},
            {"status": "ok", "confirm": CLEAR, "seeds_added": 0},
            {"status": "ok", "confirm": MAX_SEEDS, "seeds_added": 2}, pruned]
    assert _confirm_line(rows, 4) == ("confirm   1 confirmed, 1 fell below the threshold, "
                                      "1 kept at the 4-seed limit, 1 clear on their own seeds; "
                                      "5 seed-runs added")


def test_extra_seeds_of_a_packed_trial_are_cached_under_a_solo_seed_key(tmp_path):
    from hsearch.data import SubsetSizes
    from hsearch.workflows.ray_session import DataHandle
    from hsearch.workflows.seed_cache import SeedCache

    data = DataHandle(ref=None, name="digits", num_classes=10)
    key = {}
    for budget in ("30s", "2ep"):
        for pack in (False, True):
            s = TrialSpec(Architecture("senet18", width=0.125), TrainConfig(), parse_budget(budget), (0, 1),
                          SubsetSizes(10, 5, 0), pack=pack, cache_dir=str(tmp_path))
            key[budget, pack] = SeedCache(s, s.arch, s.train, data)._path(2)
            # what a confirmation of this trial uses for its extra seeds
            key[budget, pack, "extra"] = SeedCache(s, s.arch, s.train, data, pack=False)._path(2)
    # a time budget: a packed seed's clock is its group's, so an extra (solo) seed is keyed solo
    assert key["30s", True] != key["30s", False] == key["30s", True, "extra"]
    # an epoch budget: packed or solo, the same seed
    assert key["2ep", True] == key["2ep", False] == key["2ep", True, "extra"]


def test_confirm_without_max_seeds_reaches_twice_the_trials_seeds():
    settings = NasSettings(seeds=10, confirm=ConfirmRule(enabled=True))  # `hsearch nas --confirm`
    assert settings.confirm.limit(settings.seeds) == 20
    rule = ConfirmRule(enabled=True)
    used, verdict = rule.confirm([0.86, 0.84], [0.85] * 10, 0.85)
    assert len(used) == 4 and verdict in (FELL, MAX_SEEDS)
