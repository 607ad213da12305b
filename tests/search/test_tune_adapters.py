"""The fixed Tune searchers of hsearch.search: SeededNevergradSearch, SequentialSafeZOOptSearch,
and the grid snap of the searchers that drop the step."""

import random
import subprocess
import sys

import numpy as np
import pytest
from ray import tune

from hsearch.search.adapters.grid_snap import quantized_domains, snap_to_grid

SPACE = {"x": tune.uniform(-2.0, 2.0), "n": tune.randint(0, 5)}


def _f(config):
    return (config["x"] - 1.0) ** 2 + config["n"]


def _drive(searcher, n, start=0):
    """Suggest and complete ``n`` trials one at a time; the suggestions (None/str: stuck)."""
    out = []
    for i in range(start, start + n):
        config = searcher.suggest(f"t{i}")
        out.append(config)
        if not isinstance(config, dict):
            break
        searcher.on_trial_complete(f"t{i}", {"f": _f(config)})
    return out


def test_zoopt_runs_one_at_a_time_past_its_initial_sample_from_a_best_x0():
    pytest.importorskip("zoopt")
    from ray.tune.search.zoopt import ZOOptSearch

    from hsearch.search.adapters.zoopt import SequentialSafeZOOptSearch

    x0 = [{"x": 1.0, "n": 0}]  # the optimum: the start point is the best one (fix 2)
    got = {}
    for cls in (ZOOptSearch, SequentialSafeZOOptSearch):
        random.seed(0)
        np.random.seed(0)
        searcher = cls(algo="asracos", budget=30, points_to_evaluate=x0, parallel_num=1, seed=1)
        searcher.set_search_properties("f", "min", SPACE)
        got[cls] = _drive(searcher, 25)
    # Ray's wrapper waits forever after its initial sample; the fixed one goes on
    assert got[ZOOptSearch][-1] is None and len(got[ZOOptSearch]) < 25
    fixed = got[SequentialSafeZOOptSearch]
    assert len(fixed) == 25 and all(isinstance(c, dict) for c in fixed)
    assert fixed[0] == x0[0]


def _nevergrad(seed):
    import nevergrad as ng

    from hsearch.search.adapters.nevergrad import SeededNevergradSearch

    searcher = SeededNevergradSearch(seed, optimizer=ng.optimizers.OnePlusOne)
    searcher.set_search_properties("f", "min", SPACE)
    return searcher


def test_nevergrad_follows_its_seed_not_numpys_global_state(tmp_path):
    pytest.importorskip("nevergrad")
    np.random.seed(1)
    first = _drive(_nevergrad(3), 8)
    np.random.seed(2)  # another global state: the same seed still gives the same search
    again = _drive(_nevergrad(3), 8)
    other = _drive(_nevergrad(4), 8)
    assert first == again
    assert first != other
    # and it can be saved and restored mid-search (the seed is a field, not a closure)
    searcher = _nevergrad(3)
    _drive(searcher, 4)
    searcher.save(str(tmp_path / "nevergrad.pkl"))
    restored = _nevergrad(5)
    restored.restore(str(tmp_path / "nevergrad.pkl"))
    assert _drive(restored, 4, start=4) == first[4:]


def test_building_zoopt_does_not_import_nevergrad():
    # importing nevergrad draws from numpy's global generator, through which zoopt is seeded
    code = ("import sys, hsearch.search.adapters.zoopt, hsearch.search.adapters.optuna_constrained; "
            "print('nevergrad' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_grid_snap_rounds_quantized_values_into_their_bounds_and_leaves_the_rest():
    space = {"w": tune.quniform(0.25, 2.0, 0.25), "d": tune.uniform(0.0, 1.0),
             "k": tune.qrandint(2, 10, 2), "c": 1.0, "i": tune.randint(0, 5)}
    grids = quantized_domains(space)
    assert grids == {"w": (0.25, 2.0, 0.25), "k": (2, 10, 2)}  # qrandint's upper is inclusive
    snapped = snap_to_grid({"w": 0.61, "d": 0.3, "k": 9.4, "c": 1.0, "i": 3}, grids)
    assert snapped == {"w": 0.5, "d": 0.3, "k": 10, "c": 1.0, "i": 3}
    assert isinstance(snapped["k"], int)
    # outside the bounds: the nearest multiple of the step inside them
    assert snap_to_grid({"w": 2.2, "k": 0}, grids) == {"w": 2.0, "k": 2}
    assert snap_to_grid({"w": 0.05, "k": 11}, grids) == {"w": 0.25, "k": 10}
    tenths = quantized_domains({"s": tune.quniform(0.0, 1.0, 0.1)})
    assert snap_to_grid({"s": 0.31}, tenths)["s"] == 0.3  # not 3 * 0.1 = 0.30000000000000004
