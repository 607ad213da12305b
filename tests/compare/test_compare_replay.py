"""The tabular problem and the replay backend: answers exactly from the table, simulated time."""

from __future__ import annotations

import math

import pytest
from compare_tiny_table import SEEDS, brute_force_optimum, cell_values, write_tiny_table
from ray.tune.search import Searcher

import dataclasses

from hsearch.compare.free import CostRule
from hsearch.compare.protocol import InfeasibleRule, violation
from hsearch.compare.replay import ReplayBackend, replay_run
from hsearch.compare.searchers import relax_space, snap
from hsearch.errors import UserError
from hsearch.problems.tabular import NasTable, TabularEvaluator, tabular_problem


@pytest.fixture()
def table_path(tmp_path):
    return write_tiny_table(tmp_path / "tiny.csv")


class ScriptedSearcher(Searcher):
    """Suggests a fixed list of configs, then FINISHED; keeps what it was told."""

    def __init__(self, configs):
        super().__init__(metric="penalized", mode="min")
        self.configs = [dict(c) for c in configs]
        self.told: dict[str, dict] = {}
        self.suggested: dict[str, dict] = {}

    def suggest(self, trial_id):
        if not self.configs:
            return Searcher.FINISHED
        config = self.configs.pop(0)
        self.suggested[trial_id] = config
        return config

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.told[trial_id] = result


def test_table_reads_cells_and_knows_its_optimum(table_path):
    table = NasTable(table_path)
    assert table.shape == (5, 3, 5)
    assert table.baseline.multipliers == (1.0, 1.0, 1.0)
    ratio, multipliers = brute_force_optimum()
    problem = tabular_problem(table_path)
    assert problem.best_value == ratio
    assert table.optimum().acc_mean >= table.threshold
    best_cells = [c for c in table.feasible_cells() if c.macs == table.optimum().macs]
    assert multipliers in [c.multipliers for c in best_cells]
    # x0 is the baseline cell, given as grid indices
    assert table.multipliers(problem.x0) == {"width": 1.0, "depth": 1.0, "resolution": 1.0}


def test_evaluator_answers_exactly_from_the_rows(table_path):
    evaluate = TabularEvaluator(table_path)
    table = evaluate.table
    base_acc = sum(cell_values(1.0, 1.0, 1.0, s)["accuracy"] for s in SEEDS) / len(SEEDS)
    for (i, j, k), cell in table.cells.items():
        w, d, r = cell.multipliers
        rows = [cell_values(w, d, r, s) for s in SEEDS]
        m = evaluate({"width": i, "depth": j, "resolution": k})
        assert m["acc_mean"] == sum(row["accuracy"] for row in rows) / len(SEEDS)
        assert m["train_seconds"] == sum(row["train_seconds"] for row in rows)
        assert m["macs"] == rows[0]["macs"]
        assert m["macs_ratio"] == rows[0]["macs"] / cell_values(1.0, 1.0, 1.0, 0)["macs"]
        assert m["acc_gap"] == base_acc - m["acc_mean"]
        assert m["feasible"] == (m["acc_mean"] >= base_acc)
        assert (m["width_mult"], m["depth_mult"], m["resolution_mult"]) == (w, d, r)


def test_off_grid_and_incomplete_tables_are_refused(table_path, tmp_path):
    evaluate = TabularEvaluator(table_path)
    with pytest.raises(ValueError, match="grid index"):
        evaluate({"width": 5, "depth": 0, "resolution": 0})
    with pytest.raises(ValueError, match="grid index"):
        evaluate({"width": 0.5, "depth": 0, "resolution": 0})
    lines = table_path.read_text().splitlines()
    partial = tmp_path / "partial.csv"
    partial.write_text("\n".join(lines[:-1]) + "\n")  # one (cell, seed) row missing
    with pytest.raises(UserError, match=r"lacks seeds \[1\]"):
        NasTable(partial)


def test_replay_charges_recorded_time_on_a_simulated_clock(table_path):
    evaluate = TabularEvaluator(table_path)
    configs = [{"width": 1, "depth": 1, "resolution": 1}, {"width": 2, "depth": 0, "resolution": 2},
               {"width": 0, "depth": 0, "resolution": 0}, {"width": 2, "depth": 1, "resolution": 0},
               {"width": 0, "depth": 1, "resolution": 0},  # the same network as the 3rd
               {"width": 1, "depth": 0, "resolution": 2}]
    searcher = ScriptedSearcher(configs)
    backend = ReplayBackend(evaluate, concurrency=2, cost_metric="train_seconds")
    rule = InfeasibleRule("penalty", weight=100.0)
    # duplicates only (no screening: the problem's objective is not declared known here)
    problem = dataclasses.replace(tabular_problem(table_path), cost_report=None)

    def result_of(m):
        return {**m, "penalized": rule.value(m["macs_ratio"], violation(m, ("acc_gap",)))}

    run = replay_run(searcher, backend, budget=10, result_of=result_of, rule=CostRule(problem))
    assert run.stop_reason == "finished"
    assert len(run.records) == len(configs)
    # every answer is the table's, and the searcher was told exactly that
    for rec in run.records:
        assert rec["metrics"] == evaluate(rec["config"])
        told = searcher.told[rec["trial_id"]]
        assert told["macs_ratio"] == rec["metrics"]["macs_ratio"]
        assert told["penalized"] == rec["metrics"]["macs_ratio"] + 100.0 * max(
            0.0, rec["metrics"]["acc_gap"])
    # replay the schedule by hand: two workers, each trial starts when a worker frees up
    free = [0.0, 0.0]
    expected = {}
    seen_networks_done: dict[str, float] = {}
    for trial_id, config in searcher.suggested.items():
        start = min(free)
        m = evaluate(config)
        done_before = seen_networks_done.get(m["network"], math.inf) <= start
        cost = 0.0 if done_before else m["train_seconds"]
        free[free.index(start)] = start + cost
        expected[trial_id] = (start, start + cost)
        seen_networks_done.setdefault(m["network"], start + cost)
    for rec in run.records:
        assert (rec["start"], rec["finish"]) == pytest.approx(expected[rec["trial_id"]])
        assert rec["cost"] == pytest.approx(rec["finish"] - rec["start"])
    finishes = [rec["finish"] for rec in run.records]
    assert finishes == sorted(finishes)  # reported in finish order
    cached = [rec for rec in run.records if rec["kind"] == "duplicate"]
    assert [rec["config"] for rec in cached] == [configs[4]]
    assert cached[0]["cost"] == 0.0
    assert backend.clock == max(finishes)


def test_replay_stops_at_the_budget(table_path):
    evaluate = TabularEvaluator(table_path)
    configs = [{"width": i % 3, "depth": i % 2, "resolution": (i // 2) % 3} for i in range(8)]
    run = replay_run(ScriptedSearcher(configs), ReplayBackend(evaluate, concurrency=1), budget=5,
                     result_of=dict)
    assert run.stop_reason == "budget"
    assert [rec["finish"] for rec in run.records] == [1.0, 2.0, 3.0, 4.0, 5.0]  # unit cost


def test_relaxed_domains_snap_back_to_the_grid():
    from ray import tune

    space = {"width": tune.randint(0, 6), "lr": tune.uniform(0.0, 1.0)}
    relaxed, names = relax_space(space)
    assert names == ("width",)
    assert (relaxed["width"].lower, relaxed["width"].upper) == (-0.5, 5.5)
    assert snap({"width": -0.5, "lr": 0.3}, names, space) == {"width": 0, "lr": 0.3}
    assert snap({"width": 2.49, "lr": 0.3}, names, space)["width"] == 2
    assert snap({"width": 5.5, "lr": 0.3}, names, space)["width"] == 5


def test_infeasible_rules():
    penalty = InfeasibleRule("penalty", weight=10.0)
    barrier = InfeasibleRule("barrier", bound=7.0)
    assert penalty.value(1.0, 0.0) == 1.0 and penalty.value(1.0, 0.5) == 6.0
    assert barrier.value(1.0, 0.0) == 1.0 and barrier.value(1.0, 0.5) == 7.5
    assert math.isinf(penalty.value(math.nan, 0.0)) and math.isinf(barrier.value(1.0, math.inf))
    assert violation({"a": -1.0, "b": 0.25, "c": 0.5}, ("a", "b", "c")) == 0.75
    assert math.isinf(violation({"a": math.nan}, ("a",)))
    with pytest.raises(UserError, match="kind"):
        InfeasibleRule("death")
