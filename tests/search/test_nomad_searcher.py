"""NomadSearcher beyond the contract every searcher keeps (test_searcher_contract.py): its
evaluation records, the same continuation after save/restore, seeds, mode, restarts, Tune's
ConcurrencyLimiter; driven without Ray.
"""

import math
import pickle

import pytest
from ray import tune
from ray.tune.search import Searcher

from hsearch.search import NomadSearcher, at_least


def _space():
    return {"x": tune.uniform(-2.0, 2.0), "n": tune.randint(0, 5), "c": tune.choice(["a", "b"]),
            "const": 3}


def _metrics(config):
    x, n = config["x"], config["n"]
    loss = (x - 0.7) ** 2 + 0.1 * (n - 2) ** 2 + (0.0 if config["c"] == "b" else 0.5)
    return {"loss": loss, "acc": 1.0 - 0.1 * abs(x), "params": 1000 + n}


_STARTS = [{"x": -1.0, "n": 0, "c": "a"}, {"x": 0.0, "n": 2, "c": "b"},
           {"x": 1.5, "n": 4, "c": "a"}]


def _nomad(seed=0, **kw):
    # three starting points: NOMAD evaluates them as one block, so three trials run at once
    return NomadSearcher(metric="loss", mode="min", constraints=[at_least("acc", 0.85)],
                         max_evals=kw.pop("max_evals", 24), max_concurrent=3, seed=seed,
                         points_to_evaluate=_STARTS, **kw)




def _drive_nomad(searcher, n_trials, start=0, fail=()):
    """Suggest up to ``n_trials`` trials (completing live ones when the searcher waits);
    the trials suggested in the positions listed in ``fail`` raise an error."""
    configs, live, i = {}, {}, start
    while len(configs) < n_trials:
        tid = f"t{i}"
        i += 1
        config = searcher.suggest(tid)
        if config == Searcher.FINISHED:
            break
        if config is None:
            if not live:
                continue
            for lid, lconfig in list(live.items()):
                if list(configs).index(lid) in fail:
                    searcher.on_trial_complete(lid, None, error=True)
                else:
                    searcher.on_trial_complete(lid, _metrics(lconfig))
                del live[lid]
            continue
        configs[tid] = config
        live[tid] = config
    for lid, lconfig in live.items():
        searcher.on_trial_complete(lid, _metrics(lconfig))
    return configs


@pytest.fixture
def factory():
    """NomadSearcher on the mixed space with three starting points and a constraint."""
    return _nomad


def test_contract_end_to_end(factory, tmp_path):
    searcher = factory()
    assert searcher.set_search_properties(None, None, _space())
    pickle.loads(pickle.dumps(searcher))  # Tuner() pickles it before it starts

    configs = {}
    for i in range(3):
        config = searcher.suggest(f"a{i}")
        assert isinstance(config, dict) and config["const"] == 3
        assert -2.0 <= config["x"] <= 2.0 and config["n"] in range(5) and config["c"] in "ab"
        configs[f"a{i}"] = config
    # one trial per kind of outcome: error, NaN, -inf, a missing metric / constraint metric
    # (one start succeeds: NOMAD, like PyNomad.optimize, stops if every start fails)
    searcher.on_trial_complete("a0", None, error=True)
    searcher.on_trial_complete("a1", {**_metrics(configs["a1"]), "loss": math.nan})
    searcher.on_trial_complete("a2", _metrics(configs["a2"]))
    bad = [{"loss": -math.inf, "acc": 0.9}, {"acc": 0.9}, {"loss": 1.0},
           {"loss": 1.0, "acc": math.inf}]
    for k, metrics in enumerate(bad):
        tid = f"b{k}"
        config = None
        for _ in range(50):
            config = searcher.suggest(tid)
            if config is not None:
                break
        assert isinstance(config, dict)
        searcher.on_trial_complete(tid, metrics)
    records = searcher.evaluations
    assert [r.status for r in records] == ["failed", "failed", "ok"] + ["failed"] * 4
    assert all(r.reason for r in records if r.status == "failed")

    # save mid-search, keep going, restore into a fresh searcher: same continuation
    _drive_nomad(searcher, 5, start=100)
    path = str(tmp_path / "state.pkl")
    searcher.save(path)
    continued = _drive_nomad(searcher, 6, start=200)

    restored = factory()
    restored.set_search_properties(None, None, _space())
    restored.restore(path)
    again = _drive_nomad(restored, 6, start=200)
    assert list(again.values()) == list(continued.values())

    clone = pickle.loads(pickle.dumps(restored))
    assert len(clone.evaluations) == len(restored.evaluations)
    searcher.close()
    restored.close()


def test_runs_to_finished_with_records(factory):
    searcher = factory(max_evals=15)
    searcher.set_search_properties(None, None, _space())
    configs = _drive_nomad(searcher, 100)
    assert len(configs) == 15
    assert searcher.suggest("after") == Searcher.FINISHED
    records = searcher.evaluations
    assert len(records) == 15 and len({r.x for r in records}) == 15
    ok = [r for r in records if r.status == "ok"]
    assert ok and all(set(r.metrics) >= {"loss", "acc", "params"} for r in ok)
    assert all(r.feasible == (r.metrics["acc"] >= 0.85) for r in ok)
    best = searcher.best
    assert best.feasible and best.objective == min(r.objective for r in ok if r.feasible)
    assert best.config == records[records.index(best)].config


def test_reproducible_by_seed(factory):
    runs = []
    # 24 evaluations: within 12 (3 of them the fixed starting points) NOMAD's seed changed
    # little on this 3-variable space (seeds 0-5 gave 3 distinct runs); seeds are checked
    # on the NAS table in test_mads_features
    for seed in (0, 0, 1):
        searcher = factory(seed=seed, max_evals=24)
        searcher.set_search_properties(None, None, _space())
        runs.append(list(_drive_nomad(searcher, 24).values()))
        searcher.close()
    assert runs[0] == runs[1]


def test_failed_trial_does_not_stop_search(factory):
    searcher = factory(max_evals=12)
    searcher.set_search_properties(None, None, _space())
    configs = _drive_nomad(searcher, 100, fail={1, 2, 5})
    assert len(configs) == 12
    assert sum(r.status == "failed" for r in searcher.evaluations) == 3
    assert searcher.suggest("end") == Searcher.FINISHED


# --- NomadSearcher specifics ---------------------------------------------------------------


def test_mode_max_flips_sign_once():
    """Maximising -loss must make exactly the moves minimising loss makes."""
    def run(metric, mode, sign):
        searcher = NomadSearcher(metric=metric, mode=mode, max_evals=12, seed=0)
        searcher.set_search_properties(None, None, _space())
        seen, i = [], 0
        while True:
            config = searcher.suggest(f"t{i}")
            i += 1
            if config == Searcher.FINISHED:
                return seen, searcher
            if config is None:
                continue
            seen.append(config)
            searcher.on_trial_complete(f"t{i - 1}", {metric: sign * _metrics(config)["loss"]})

    minimised, s1 = run("loss", "min", 1.0)
    maximised, s2 = run("score", "max", -1.0)
    assert minimised == maximised
    assert s2.best.objective == -s1.best.objective  # records keep the reported sign


def test_removed_pending_trial_point_is_offered_again():
    searcher = NomadSearcher(metric="loss", mode="min", max_evals=5, seed=0)
    searcher.set_search_properties(None, None, _space())
    first = searcher.suggest("t0")
    searcher.on_trial_complete("t0", None, error=False)  # removed before it ran
    assert searcher.suggest("t1") == first
    assert searcher.evaluations == []


def test_space_given_to_searcher_and_points_to_evaluate():
    start = {"x": 0.5, "n": 4, "c": "b", "const": 3}
    searcher = NomadSearcher(_space(), metric="loss", mode="min", points_to_evaluate=[start])
    # a Tuner param_space with domains on top of the searcher's space is refused
    assert not searcher.set_search_properties("loss", "min", _space())
    assert searcher.set_search_properties("loss", "min", {})
    assert searcher.suggest("t0") == start
    searcher.close()


def test_bad_arguments_raise_early():
    with pytest.raises(ValueError, match="sample_from"):
        NomadSearcher({"x": tune.sample_from(lambda _: 1)}, metric="m", mode="min")
    with pytest.raises(ValueError, match="mode"):
        NomadSearcher(metric="m", mode="maximum")
    with pytest.raises(ValueError, match="constraint_type"):
        NomadSearcher(metric="m", mode="min", constraint_type="XB")
    with pytest.raises(ValueError, match="nomad_params"):
        NomadSearcher(metric="m", mode="min", nomad_params=["MAX_BB_EVAL 3"])
    with pytest.raises(ValueError, match="low <= value <= high"):
        NomadSearcher(_space(), metric="m", mode="min",
                      points_to_evaluate=[{"x": 5.0, "n": 0, "c": "a"}])
    with pytest.raises(ValueError, match="parse"):
        NomadSearcher(metric="m", mode="min", constraints=["acc > 0.9"])


def test_restarted_trial_under_new_id_is_adopted_by_config(tmp_path):
    """Tune's restart (not resume) of a restored trial gives it a new id; its result must
    still answer the point NOMAD waits for."""
    searcher = _nomad(max_evals=6)
    searcher.set_search_properties(None, None, _space())
    config = searcher.suggest("old")
    path = str(tmp_path / "state.pkl")
    searcher.save(path)
    searcher.close()
    restored = _nomad(max_evals=6)
    restored.restore(path)
    flat = {f"config/{k}": v for k, v in config.items()}
    restored.on_trial_complete("new", {**_metrics(config), **flat})
    assert [r.trial_id for r in restored.evaluations] == ["new"]
    assert not restored.core.is_pending(restored.evaluations[0].x)
    restored.close()


def test_concurrency_limiter_sets_block_size():
    from ray.tune.search import ConcurrencyLimiter

    searcher = NomadSearcher(metric="loss", mode="min", max_concurrent=1)
    ConcurrencyLimiter(searcher, max_concurrent=4)
    searcher.set_search_properties(None, None, _space())
    searcher.suggest("t0")
    assert searcher.core.settings.block_size == 4
    searcher.close()
