"""The protocol holds for every installed searcher: same x0 first, grid points only, seeds."""

from __future__ import annotations

import json

import pytest
from compare_tiny_table import write_tiny_table

from hsearch.compare.protocol import CompareSettings, InfeasibleRule, ProblemSpec, violation
from hsearch.compare.replay import ReplayBackend, replay_run
from hsearch.compare.replayed import run_one
from hsearch.compare.searchers import prepare_searcher
from hsearch.errors import UserError
from hsearch.search.factory import SEARCHERS, is_available

# Ax and HEBO import torch/botorch and fit a GP per step: seconds, so marked slow
SLOW = {"ax", "hebo"}


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    table = write_tiny_table(tmp_path_factory.mktemp("tiny") / "tiny.csv")
    return ProblemSpec("tabular", str(table))


def _configs(outcome):
    return [row["config"] for row in outcome.rows]


@pytest.mark.parametrize("name", [pytest.param(n, marks=pytest.mark.slow) if n in SLOW else n
                                  for n in SEARCHERS])
def test_every_searcher_starts_at_x0_and_stays_on_the_grid(spec, name):
    if not is_available(name):
        pytest.skip(f"{name} is not installed (pip install \"hsearch[compare]\")")
    outcome = run_one(spec, name, 0, 5, 1, 0, InfeasibleRule())
    assert outcome.error is None
    assert 1 <= outcome.rows[-1]["trained"] <= 5
    assert json.loads(outcome.rows[0]["config"]) == {"width": 2, "depth": 1, "resolution": 2}
    for row in outcome.rows:
        config = json.loads(row["config"])
        assert all(isinstance(v, int) for v in config.values()), config
        assert 0 <= config["width"] < 5 and 0 <= config["depth"] < 3 \
            and 0 <= config["resolution"] < 5


# (NOMAD's determinism per seed is tested with the searcher, tests/search)
@pytest.mark.parametrize("name", ["random", "optuna"])
def test_same_seed_same_run_other_seed_other_run(spec, name):
    rule = InfeasibleRule()
    first = _configs(run_one(spec, name, 0, 8, 1, 3, rule))
    again = _configs(run_one(spec, name, 0, 8, 1, 3, rule))
    other = _configs(run_one(spec, name, 0, 8, 1, 4, rule))
    assert first == again
    assert first != other
    assert first[0] == other[0]  # x0 whatever the seed


def test_searchers_without_constraints_minimise_the_penalised_objective(spec):
    problem = spec.build()
    prepared = prepare_searcher("optuna", problem, budget=6, concurrency=1, seed=0)
    assert (prepared.metric, prepared.native_constraints) == ("penalized", False)
    nomad = prepare_searcher("nomad", problem, budget=6, concurrency=1, seed=0)
    try:
        assert (nomad.metric, nomad.native_constraints) == ("macs_ratio", True)
    finally:
        nomad.close()


def test_constrained_optuna_passes_the_constraints_to_the_study(spec):
    problem = spec.build()
    prepared = prepare_searcher("optuna-c", problem, budget=6, concurrency=1, seed=0)
    rule = InfeasibleRule()
    backend = ReplayBackend(problem.evaluate, 1)
    run = replay_run(prepared.searcher, backend, 6, lambda m: {
        **m, "penalized": rule.value(m["macs_ratio"], violation(m, ("acc_gap",)))})
    trials = prepared.inner._ot_study.trials
    assert len(trials) == len(run.records) == 6
    for trial, rec in zip(trials, run.records):
        assert trial.constraints == {"acc_gap": rec["metrics"]["acc_gap"]}
        assert trial.value == rec["metrics"]["macs_ratio"]


def test_settings_refuse_bad_protocols():
    with pytest.raises(UserError, match="concurrency <= budget"):
        CompareSettings(budget=2, concurrency=3)
    with pytest.raises(UserError, match="must not repeat"):
        CompareSettings(searchers=("nomad", "nomad"))
    with pytest.raises(UserError, match="`repeats >= 1`"):
        CompareSettings(repeats=0)
