"""Analytic test problems: registry, known optima, domains, picklability."""

import pickle

import numpy as np
import pytest

from hsearch.errors import UserError
from hsearch.problems import Problem, get_problem, list_problems
from hsearch.problems.analytic import ProblemBlackbox
from hsearch.search import SpaceCodec


def test_registry():
    names = list_problems()
    assert {"g06", "g04", "pressure_vessel", "g07"} <= set(names)
    with pytest.raises(UserError, match="g06"):
        get_problem("nope")


@pytest.mark.parametrize("name", list_problems())
def test_known_optimum_is_feasible_and_reaches_best_value(name):
    problem = get_problem(name)
    assert isinstance(problem, Problem) and problem.name == name
    assert 2 <= problem.dimension <= 10 and problem.constraints
    metrics = problem.evaluate(problem.best_config)
    assert set(metrics) == {problem.objective, *problem.constraints}
    assert metrics[problem.objective] == pytest.approx(problem.best_value, rel=1e-9)
    assert problem.is_feasible(metrics, tol=1e-6)  # optima sit on active constraints


@pytest.mark.parametrize("name", list_problems())
def test_start_and_optimum_lie_in_the_space(name):
    problem = get_problem(name)
    codec = SpaceCodec(problem.space)
    if problem.x0 is not None:
        assert codec.contains(problem.x0)
    assert codec.contains(problem.best_config)


@pytest.mark.parametrize("name", list_problems())
def test_no_feasible_random_point_beats_the_optimum(name):
    problem = get_problem(name)
    rng = np.random.default_rng(0)
    for _ in range(500):
        config = {k: v.sample(random_state=rng) for k, v in problem.space.items()}
        metrics = problem.evaluate(config)
        if problem.is_feasible(metrics):
            assert metrics[problem.objective] >= problem.best_value - 1e-6


def test_mixed_integer_problem_has_integer_variables():
    codec = SpaceCodec(get_problem("pressure_vessel").space)
    assert codec.input_types.count("I") == 2


def test_blackbox_and_evaluate_pickle():
    problem = get_problem("g04")
    assert pickle.loads(pickle.dumps(problem.evaluate))(problem.best_config) == \
        problem.evaluate(problem.best_config)
    blackbox = ProblemBlackbox("g04")
    x = SpaceCodec(problem.space).encode(problem.best_config)
    out = pickle.loads(pickle.dumps(blackbox))(x)
    assert out[0] == pytest.approx(problem.best_value) and len(out) == 7
    assert len(pickle.dumps(blackbox)) < 200  # rebuilt from its name in the child


def test_bad_mode_rejected():
    with pytest.raises(ValueError, match="mode"):
        Problem(name="p", space={}, evaluate=lambda c: {}, mode="down")
