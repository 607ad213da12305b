"""Any pre-training metric as objective or constraint (hsearch.workflows.objectives), without a
Ray cluster: settings and config files, the trial's feasibility and penalty, NOMAD's view,
the pruner's decision and the summary lines."""

import pytest
from ray import tune

from hsearch.errors import UserError
from hsearch.search.factory import SearchRequest, make_searcher
from hsearch.train import Architecture, SeedResult, TrainConfig, parse_budget
from hsearch.workflows.objectives import check_constraints, needs_latency, violation
from hsearch.workflows.report_metrics import metric_lines
from hsearch.workflows.settings import NasSettings, load_settings
from hsearch.workflows.trial import _Metrics
from hsearch.workflows.trial_spec import OK, TrialSpec

SMALL = Architecture("senet18", width=0.125, depth=0.25, resolution=0.25)
LARGE = Architecture("senet18", width=0.5, depth=0.5, resolution=0.25)


def _seed(seed, acc):
    return SeedResult(seed=seed, status="ok", accuracy=acc, split="val", subset_digest="x",
                      train_seconds=1.0, overrun_seconds=0.0, epochs=1.0, steps=1,
                      images_per_second=1.0)


def _spec(constraints=(), objective="macs", baseline_objective=None):
    return TrialSpec(arch=SMALL, train=TrainConfig(), budget=parse_budget("1ep"), seeds=(0, 1), sizes=None,
                     threshold=0.8, baseline_macs=float(SMALL.cost().macs), penalty=100.0,
                     constraints=constraints, objective=objective,
                     baseline_objective=baseline_objective)


def test_settings_and_config_files_take_objective_and_constraints(tmp_path):
    s = NasSettings(objective="latency_ms", constraints=("params <= 1e6", "macs<=2e7"))
    assert s.constraints == ("params <= 1000000.0", "macs <= 20000000.0")
    path = tmp_path / "nas.yaml"
    path.write_text("objective: params\nconstraints: ['latency_ms <= 2.5']\nseeds: 2\n")
    loaded = load_settings(NasSettings, path)
    assert loaded.objective == "params" and loaded.constraints == ("latency_ms <= 2.5",)
    assert needs_latency(loaded.objective, loaded.constraints)
    assert not needs_latency("macs", ("params <= 10",))


@pytest.mark.parametrize("kw, message", [
    (dict(objective="flops"), "unknown objective 'flops'; known objectives: macs, params"),
    (dict(objective="throughput_ips"), "unknown objective"),
    (dict(constraints=("flops <= 3",)), "unknown metric 'flops'"),
    (dict(constraints=("latency_ms < 2",)), "strict < and > are not supported"),
    (dict(constraints=("params <= lots",)), "is not a number"),
    (dict(constraints=("latency_ms",)), "needs a bound"),
    (dict(objective="params", constraints=("params <= 1e6",)), "on the objective"),
])
def test_bad_objectives_and_constraints_are_user_errors(kw, message):
    with pytest.raises(UserError, match=message):
        NasSettings(**kw)
    with pytest.raises(UserError):
        check_constraints([3.0])


def test_a_params_constraint_makes_a_too_large_network_infeasible_and_penalised():
    limit = (SMALL.cost().params + LARGE.cost().params) // 2
    spec = _spec(constraints=check_constraints([f"params <= {limit}"]))
    results = {0: _seed(0, 0.95), 1: _seed(1, 0.93)}  # accuracy above the threshold 0.8
    small = _Metrics(spec, SMALL.cost(), {}).report(results, OK)
    large = _Metrics(spec, LARGE.cost(), {}).report(results, OK)
    assert small["feasible"] and small["penalized"] == pytest.approx(small["macs_ratio"])
    assert not large["feasible"] and large["acc_gap"] < 0  # infeasible by params alone
    excess = (LARGE.cost().params - limit) / limit
    assert large["penalized"] == pytest.approx(large["macs_ratio"] + 100.0 * excess)
    assert violation(spec.constraints[0], large) == pytest.approx(excess)

    # NOMAD gets the constraint natively: the large network is an infeasible evaluation
    made = make_searcher("nomad", SearchRequest(max_evals=4, max_concurrent=1,
                                                constraints=("acc_gap", *spec.constraints)))
    searcher = made.algorithm
    assert made.handles_constraints
    searcher.set_search_properties("macs", "min", {"width": tune.uniform(0.5, 2.0)})
    for i, report in enumerate((small, large)):
        assert searcher.suggest(f"t{i}") is not None
        searcher.on_trial_complete(f"t{i}", report)
    records = searcher.evaluations
    assert [r.feasible for r in records] == [True, False]
    assert records[1].constraints[spec.constraints[0]] == pytest.approx(
        LARGE.cost().params - limit)
    searcher.close()


def test_another_objective_replaces_the_macs_ratio_in_the_penalty():
    spec = _spec(objective="params", baseline_objective=float(SMALL.cost().params))
    results = {0: _seed(0, 0.5), 1: _seed(1, 0.5)}  # 0.3 short of the threshold
    report = _Metrics(spec, LARGE.cost(), {}).report(results, OK)
    ratio = LARGE.cost().params / SMALL.cost().params
    assert report["penalized"] == pytest.approx(ratio + 100.0 * 0.3)


def test_the_pruner_stops_a_network_that_breaks_a_cost_constraint():
    from ray.tune.schedulers import TrialScheduler

    from hsearch.workflows.pruning import IncumbentPruner

    class Controller:
        def get_trials(self):
            return []

    pruner = IncumbentPruner("latency_ms", ("params <= 1000",))
    cost = {"status": "cost", "latency_ms": 1.0}
    assert pruner.on_trial_result(Controller(), None, {**cost, "params": 5000}) \
        == TrialScheduler.STOP
    assert pruner.on_trial_result(Controller(), None, {**cost, "params": 500}) \
        == TrialScheduler.CONTINUE


def _summary_row(i, latency, macs, feasible=True):
    return {"eval_id": i, "status": "ok", "feasible": feasible, "arch_model": "senet18",
            "arch_width": 1.0, "arch_depth": 1.0, "arch_resolution": 1.0, "input_size": 8,
            "acc_mean": 0.9, "macs": macs, "latency_ms": latency, "latency_ms_iqr": 0.1}


def test_the_summary_names_the_fastest_beside_the_smallest_and_unmet_constraints():
    rows = [_summary_row(1, 2.0, 1e6), _summary_row(2, 1.0, 3e6),
            _summary_row(3, 0.5, 1e5, feasible=False)]
    lines = metric_lines(rows, None, "macs", ())
    assert lines[0].startswith("fastest") and "#2" in lines[0]
    assert lines[1].startswith("smallest") and "#1" in lines[1]
    assert lines[2].endswith("2.00x faster than the smallest, with 3.00x its MACs")
    noisy = [dict(r, latency_ms_iqr=0.6) for r in rows]  # 1 ms apart, spreads add to 1.2 ms
    assert "within the timing spread" in metric_lines(noisy, None, "macs", ())[2]
    rows = [dict(r, feasible=False) for r in rows]
    lines = metric_lines(rows, None, "latency_ms", ("latency_ms <= 0.1",))
    assert lines == ["unmet     no network in the box met latency_ms <= 0.1: the closest found "
                     "has latency_ms 0.5 (senet18 width 1 depth 1 resolution 1 (8 px), "
                     "evaluation #3)"]
