"""The suite: table instances at accuracy levels (optimum from the data, not a corner), free
points (duplicates, screened) for every searcher, the proposal cap, --baseline-acc, merges."""

from __future__ import annotations

import csv
import dataclasses
import itertools
import json
import math
from collections import defaultdict

import pytest
from compare_tiny_table import write_tiny_table
from ray.tune.search import Searcher

from hsearch.cli import main
from hsearch.compare.free import CostRule
from hsearch.compare.protocol import CompareSettings, InfeasibleRule, ProblemSpec, violation
from hsearch.compare.replay import ReplayBackend, replay_run
from hsearch.compare.replayed import run_one
from hsearch.compare.run import run_comparison
from hsearch.compare.protocol import suite_specs
from hsearch.compare.suite import TABULAR_LEVELS
from hsearch.problems.tabular import DEFAULT_TABLE, tabular_problem


def _shipped_cells():
    """{(w, d, r): (acc_mean, macs, network)} straight from the shipped CSV."""
    rows = defaultdict(list)
    with DEFAULT_TABLE.open(newline="") as f:
        for r in csv.DictReader(f):
            rows[(float(r["width"]), float(r["depth"]), float(r["resolution"]))].append(r)
    return {k: (math.fsum(float(r["accuracy"]) for r in v) / len(v), int(v[0]["macs"]),
                v[0]["network"]) for k, v in rows.items()}


def test_suite_instances_have_their_optimum_from_the_table_and_most_are_not_corners():
    cells = _shipped_cells()
    axes = [sorted({k[i] for k in cells}) for i in range(3)]
    base_acc, base_macs, _ = cells[(1.0, 1.0, 1.0)]
    specs = suite_specs()
    exact = [s for s in specs if s.name == "tabular" and s.seeds_per_eval is None]
    assert len(exact) == len(TABULAR_LEVELS) >= 5
    # each level also noisy (the suite's K seeds per evaluation), without and with confirmation
    noisy = [s for s in specs if s.seeds_per_eval is not None]
    assert [s.threshold for s in noisy] == [s.threshold for s in exact] * 2
    assert [s.confirm is not None for s in noisy] == [False] * len(exact) + [True] * len(exact)
    interior = 0
    optima = []
    for level in TABULAR_LEVELS:
        threshold = base_acc if level is None else level
        feasible = {k: v for k, v in cells.items() if v[0] >= threshold}
        best = min(feasible, key=lambda k: (feasible[k][1], k))
        problem = tabular_problem(level=level)
        assert problem.best_value == feasible[best][1] / base_macs
        assert problem.metadata["n_feasible"] == len(feasible)
        mult = problem.evaluate.table.multipliers(problem.best_config)
        assert feasible[(mult["width"], mult["depth"], mult["resolution"])][1] == feasible[best][1]
        # the constraint is active: the cheapest cell of the box is infeasible
        cheapest = min(cells, key=lambda k: cells[k][1])
        assert cells[cheapest][0] < threshold
        # axes along which the optimum's network differs from both bounds' networks
        inside = 0
        for a in range(3):
            ends = []
            for bound in (axes[a][0], axes[a][-1]):
                moved = list(best)
                moved[a] = bound
                ends.append(cells[tuple(moved)][2])
            inside += feasible[best][2] not in ends
        position = problem.metadata["optimum_position"]
        assert sum(v == "inside" for v in position.values()) == inside
        if level is not None:
            # no cell sits exactly on a suite threshold
            assert all(v[0] != level for v in cells.values())
        interior += inside >= 2
        optima.append(problem.best_value)
    assert interior >= 3
    assert len(set(optima)) == len(optima)  # one instance per distinct optimum


class Scripted(Searcher):
    def __init__(self, configs, repeat_last=False):
        super().__init__(metric="penalized", mode="min")
        self.configs = [dict(c) for c in configs]
        self.repeat_last = repeat_last
        self.told = {}

    def suggest(self, trial_id):
        if not self.configs:
            return Searcher.FINISHED
        if self.repeat_last and len(self.configs) == 1:
            return dict(self.configs[0])
        return self.configs.pop(0)

    def on_trial_complete(self, trial_id, result=None, error=False):
        self.told[trial_id] = result


@pytest.fixture()
def tiny(tmp_path):
    return tabular_problem(write_tiny_table(tmp_path / "tiny.csv"))


def _result_of(problem):
    rule = InfeasibleRule("penalty", weight=100.0)
    return lambda m: {**m, "penalized": rule.value(m["macs_ratio"],
                                                   violation(m, problem.constraints))}


def test_screened_and_duplicate_points_cost_nothing_for_a_plain_searcher(tiny):
    table = tiny.evaluate.table
    base = {"width": 2, "depth": 1, "resolution": 2}  # feasible (the baseline)
    bigger = {"width": 4, "depth": 2, "resolution": 4}  # more MACs: cannot improve
    same_net = [{"width": 0, "depth": 0, "resolution": 1}, {"width": 0, "depth": 2,
                                                             "resolution": 1}]
    searcher = Scripted([base, bigger, same_net[0], same_net[1], base])
    backend = ReplayBackend(tiny.evaluate, 1, cost_metric="train_seconds")
    run = replay_run(searcher, backend, budget=10, result_of=_result_of(tiny),
                     rule=CostRule(tiny))
    kinds = [r["kind"] for r in run.records]
    assert kinds == ["trained", "screened", "trained", "duplicate", "duplicate"]
    trained_seconds = sum(tiny.evaluate(c)["train_seconds"] for c in (base, same_net[0]))
    assert backend.clock == pytest.approx(trained_seconds)
    for rec in run.records:
        if rec["kind"] != "trained":
            assert rec["cost"] == 0.0 and rec["finish"] == rec["start"]
    screened = run.records[1]
    told = searcher.told[screened["trial_id"]]
    # what the workflow's pruning tells a searcher: nothing trained, accuracy 0
    assert told["acc_gap"] == table.threshold and told["feasible"] is False
    assert told["penalized"] == told["macs_ratio"] + 100.0 * table.threshold
    assert told["macs_ratio"] == tiny.evaluate(bigger)["macs_ratio"]
    duplicate = searcher.told[run.records[3]["trial_id"]]
    assert duplicate["acc_mean"] == tiny.evaluate(same_net[1])["acc_mean"]


def test_a_random_search_trains_only_points_that_can_improve(tiny):
    outcome = run_one(ProblemSpec("tabular", str(tiny.evaluate.path)), "random", 0, 25, 1, 3,
                      InfeasibleRule())
    assert outcome.error is None
    best, networks = math.inf, set()
    for row in outcome.rows:
        truth = tiny.evaluate(json.loads(row["config"]))
        if row["kind"] == "trained":
            assert truth["macs_ratio"] < best and truth["network"] not in networks
            assert row["cost"] == truth["train_seconds"]
        elif row["kind"] == "screened":
            assert truth["macs_ratio"] >= best and row["cost"] == 0.0
            assert truth["network"] not in networks
        else:
            assert row["kind"] == "duplicate" and truth["network"] in networks
            assert row["cost"] == 0.0
        if row["kind"] == "trained":
            networks.add(truth["network"])
            if truth["feasible"]:
                best = min(best, truth["macs_ratio"])
    assert outcome.rows[-1]["trained"] == sum(r["kind"] == "trained" for r in outcome.rows)
    assert outcome.rows[-1]["trained"] <= 25


def test_a_searcher_proposing_only_free_points_is_stopped_by_the_cap(tiny):
    problem = dataclasses.replace(tiny, cost_report=None)  # duplicates only, never settled
    searcher = Scripted([{"width": 2, "depth": 1, "resolution": 2}], repeat_last=True)
    run = replay_run(searcher, ReplayBackend(problem.evaluate, 1), budget=5,
                     result_of=_result_of(problem), rule=CostRule(problem))
    assert run.stop_reason == "proposal_cap"
    assert len(run.records) == 50
    assert [r["kind"] for r in run.records] == ["trained"] + ["duplicate"] * 49


def test_a_run_ends_when_the_exact_optimum_is_found(tiny):
    best = dict(tiny.best_config)
    searcher = Scripted([{"width": 2, "depth": 1, "resolution": 2}, best,
                         {"width": 0, "depth": 0, "resolution": 0}])
    run = replay_run(searcher, ReplayBackend(tiny.evaluate, 1), budget=10,
                     result_of=_result_of(tiny), rule=CostRule(tiny))
    assert run.stop_reason == "optimum" and len(run.records) == 2


def test_threshold_cli_runs_one_instance_and_keeps_the_summary_keys(tmp_path, capsys):
    out = tmp_path / "t95"
    assert main(["compare", "--problem", "tabular", "--baseline-acc", "0.95", "--searchers",
                 "random", "--max-evals", "8", "--repeats", "2", "--serial", "--out",
                 str(out)]) == 0
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["problem"]["name"] == "tabular@0.95"
    assert meta["settings"]["threshold"] == 0.95
    assert meta["problem"]["details"]["threshold"] == 0.95
    stats = json.loads((out / "summary.json").read_text())
    reach = stats["searchers"]["random"]["reach"]["1%"]
    assert {"solved", "median_evals", "evals"} <= set(reach) and len(reach["evals"]) == 2
    assert "--baseline-acc 0.95" in (out / "summary.md").read_text()


@pytest.mark.parametrize("argv, message", [
    (["--problem", "mnist"], "unknown problem 'mnist'"),
    (["--problem", "tabular", "--baseline-acc", "0.99"],
     "no cell of nas_digits_senet18_10seeds.csv"),
    (["--problem", "tabular", "--baseline-acc", "1.5"], "`0 < threshold <= 1`"),
    (["--problem", "g06", "--baseline-acc", "0.95"], "tabular problem only"),
    (["--problem", "suite", "--instances", "tabular@0.5"], "unknown suite instance"),
    (["--problem", "tabular", "--max-proposals", "10"], "`--max-proposals >= max-evals`"),
])
def test_bad_suite_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    out = tmp_path / "bad"
    assert main(["compare", *argv, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and err.count("\n") == 0
    assert not out.exists()


def _part(tmp_path, name, searchers, table, budget=6, repeats=2):
    settings = CompareSettings(problem="suite", searchers=searchers, budget=budget,
                               repeats=repeats, table=str(table), instances=("tabular", "g06"))
    return run_comparison(settings, tmp_path / name, use_ray=False)


def test_suite_parts_merge_into_one_suite_with_the_same_keys(tmp_path):
    table = write_tiny_table(tmp_path / "tiny.csv")
    a = _part(tmp_path, "a", ("random",), table)
    b = _part(tmp_path, "b", ("optuna",), table, repeats=1)
    assert main(["compare", "--merge", str(a.out_dir), "--merge", str(b.out_dir), "--out",
                 str(tmp_path / "m")]) == 0
    suite = json.loads((tmp_path / "m" / "summary.json").read_text())
    assert suite["instances"] == ["tabular", "g06"]
    for label in suite["instances"]:
        s = suite["problems"][label]["searchers"]
        assert set(s) == {"random", "optuna"}
        assert s["random"]["runs"] == 2 and s["optuna"]["runs"] == 1
        assert {"solved", "median_evals", "evals"} <= set(s["random"]["reach"]["1%"])
        assert {"median_rounds", "rounds", "times"} <= set(s["optuna"]["reach"]["1%"])
        assert set(suite["waiting"][label]) == {"random", "optuna"}
    rows = list(csv.DictReader((tmp_path / "m" / "tabular" / "runs.csv").open()))
    assert {r["searcher"] for r in rows} == {"random", "optuna"}
    assert "Merged from" in (tmp_path / "m" / "summary.md").read_text()
    # an instance of one part left out
    assert main(["compare", "--merge", str(a.out_dir), "--merge", str(b.out_dir), "--exclude",
                 f"{b.out_dir}:g06", "--out", str(tmp_path / "mx")]) == 0
    mx = json.loads((tmp_path / "mx" / "summary.json").read_text())
    assert set(mx["problems"]["g06"]["searchers"]) == {"random"}
    assert set(mx["problems"]["tabular"]["searchers"]) == {"random", "optuna"}
    assert "Left out: g06 of" in (tmp_path / "mx" / "summary.md").read_text()
    # one searcher of one part left out (re-run with newer code of its own): the part that
    # re-ran it takes its place, and a searcher in two parts is still refused
    c = _part(tmp_path, "c", ("random",), table, repeats=1)
    assert main(["compare", "--merge", str(a.out_dir), "--merge", str(b.out_dir), "--merge",
                 str(c.out_dir), "--out", str(tmp_path / "dup")]) == 2
    assert main(["compare", "--merge", str(a.out_dir), "--merge", str(b.out_dir), "--merge",
                 str(c.out_dir), "--exclude-searcher", f"{a.out_dir}:random",
                 "--out", str(tmp_path / "ms")]) == 0
    ms = json.loads((tmp_path / "ms" / "summary.json").read_text())
    assert ms["settings"]["searchers"] == ["optuna", "random"]
    for label in ms["instances"]:
        assert ms["problems"][label]["searchers"]["random"]["runs"] == 1
    rows = list(csv.DictReader((tmp_path / "ms" / "tabular" / "runs.csv").open()))
    assert {r["repeat"] for r in rows if r["searcher"] == "random"} == {"0"}
    assert "Left out: random's runs of" in (tmp_path / "ms" / "summary.md").read_text()
    assert main(["compare", "--merge", str(a.out_dir), "--merge", str(b.out_dir),
                 "--exclude-searcher", f"{a.out_dir}:hyperopt", "--out",
                 str(tmp_path / "ms2")]) == 2
    # leaving out every searcher of an instance is one error line, not a traceback
    assert main(["compare", "--merge", str(a.out_dir), "--merge", str(b.out_dir),
                 "--exclude-searcher", f"{a.out_dir}:random", "--exclude-searcher",
                 f"{b.out_dir}:optuna", "--out", str(tmp_path / "ms3")]) == 2
    # another budget is another protocol: refused, one line
    c = _part(tmp_path, "c", ("optuna",), table, budget=7)
    assert main(["compare", "--merge", str(a.out_dir), "--merge", str(c.out_dir), "--out",
                 str(tmp_path / "m2")]) == 2


def test_suite_outputs_one_directory_per_instance(tmp_path):
    table = write_tiny_table(tmp_path / "tiny.csv")
    result = _part(tmp_path, "s", ("random",), table)
    for sub in ("tabular", "g06"):
        assert (result.out_dir / sub / "runs.csv").is_file()
        assert (result.out_dir / sub / "summary.json").is_file()
    assert (result.out_dir / "data_profile.png").read_bytes()[:4] == b"\x89PNG"
    text = (result.out_dir / "summary.md").read_text()
    assert "| tabular |" in text and "| g06 |" in text and "Data profile over the suite" in text
    assert not list(itertools.chain(result.out_dir.glob("*/real")))
