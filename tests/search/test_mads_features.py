"""MADS features of issue 10 on the shipped NAS table and small spaces, without Ray:
screening, duplicates, restarts, failed starts, seeds, defaults and their override."""

import json
import math

import pytest
from ray import tune
from ray.tune.search import Searcher

from hsearch.problems.tabular import NasTable
from hsearch.search import MadsAskTell, MadsSettings, NomadSearcher
from hsearch.search.nomad.settings import nomad_seed


class Table:
    """The shipped table at an absolute accuracy threshold, in grid-index space."""

    def __init__(self, threshold):
        self.t = NasTable()
        self.threshold = threshold
        self.base = self.t.baseline.macs

    def cell(self, x):
        return self.t.cells[tuple(int(round(v)) for v in x)]

    def blackbox(self, x):
        c = self.cell(x)
        return [c.macs / self.base, self.threshold - c.acc_mean]

    def known(self, x):
        return self.cell(x).macs / self.base

    def network(self, x):
        return self.cell(x).network

    def optimum(self):
        return min(c.macs for c in self.t.cells.values() if c.acc_mean >= self.threshold) / self.base

    def settings(self, seed=0, max_evals=60, **kw):
        return MadsSettings(lower=(0.0,) * 3, upper=tuple(float(n - 1) for n in self.t.shape),
                            x0=(tuple(float(i) for i in self.t.baseline.index),),
                            input_types=("I",) * 3, n_constraints=1, max_evals=max_evals,
                            seed=seed, **kw)

    def core(self, seed=0, max_evals=60, known=True, **kw):
        return MadsAskTell(self.settings(seed, max_evals, **kw),
                           known=self.known if known else None, network_key=self.network)


def run(core, blackbox, stop_after=None):
    while not core.finished:
        points = core.ask(timeout=30.0)
        core.tell(points, [blackbox(p) for p in points])
        if stop_after is not None and core.n_evaluations >= stop_after:
            break
    return core


@pytest.fixture(scope="module")
def table_runs():
    """Runs at a corner (0.9217) and an interior (0.95) threshold, two seeds each."""
    out = []
    for threshold in (0.9217, 0.95):
        table = Table(threshold)
        for seed in (0, 1):
            with table.core(seed) as core:
                run(core, table.blackbox)
            out.append((table, core))
    return out


def test_screening_never_trains_a_point_that_cannot_improve_nor_skips_one_that_can(table_runs):
    """Replaying each run's answers in order: a trained point always had a known objective
    below the best feasible trained one at that moment; a screened point never did."""
    for table, core in table_runs:
        best, screened = None, 0
        for e in core.history:
            value = table.known(e.x)
            if e.trained:
                assert best is None or value < best, (e, best)
                if e.status == "ok" and e.outputs[1] <= 0:
                    best = e.outputs[0] if best is None else min(best, e.outputs[0])
            elif e.status == "screened":
                screened += 1
                assert best is not None and value >= best, (e, best)
                assert e.outputs == (value, 0.0)  # NOMAD is told f = known, constraint 0
        assert screened > 0


def test_grid_runs_finish_find_the_optimum_and_say_why(table_runs):
    """60-evaluation runs on the all-grid table finish (no stall), reach the optimum, train
    each network at most once, and end on the budget or on an explained exhaustion."""
    for table, core in table_runs:
        assert core.finished and core.stop_reason
        assert core.n_evaluations == 60 or "no new point" in core.stop_reason
        assert core.best_feasible()[1] == pytest.approx(table.optimum())
        trained = [table.network(e.x) for e in core.history if e.trained]
        assert len(trained) == len(set(trained))  # duplicates are never trained
        dups = [e for e in core.history if e.status == "duplicate"]
        for e in dups:
            assert e.outputs == tuple(table.blackbox(e.x))  # answered with the same result


def test_resume_with_screening_gives_the_same_points():
    table = Table(0.95)
    reference = run(table.core(seed=3), table.blackbox)
    reference.close()
    first = run(table.core(seed=3), table.blackbox, stop_after=17)
    state = json.loads(json.dumps(first.state_dict()))
    first.close()
    restored = MadsAskTell.from_state(state, known=table.known, network_key=table.network)
    run(restored, table.blackbox)
    restored.close()
    assert [(e.x, e.status) for e in restored.history] == \
        [(e.x, e.status) for e in reference.history]
    assert restored.stop_reason == reference.stop_reason


def test_ten_seeds_give_ten_different_runs():
    table = Table(0.95)
    runs = set()
    for seed in range(10):
        with table.core(seed, max_evals=12, known=False) as core:
            run(core, table.blackbox)
            runs.add(tuple(e.x for e in core.history))
    assert len(runs) == 10
    assert len({nomad_seed(s) for s in range(100)}) == 100


def test_restarts_spend_the_budget():
    """A 10x10 integer grid: MADS converges on (3, 5) in a few evaluations; restarts go on
    until the budget is spent, never training a point twice."""
    settings = MadsSettings(lower=(0.0, 0.0), upper=(9.0, 9.0), x0=((8.0, 8.0),),
                            input_types=("I", "I"), max_evals=40, seed=0)

    def f(x):
        return [float((x[0] - 3) ** 2 + (x[1] - 5) ** 2)]

    with MadsAskTell(settings) as core:
        run(core, f)
    trained = [e.x for e in core.history if e.trained]
    assert core.n_evaluations == 40 and len(set(trained)) == 40
    assert len(core.nomad_runs) > 1 and "budget spent" in core.stop_reason


def test_restarts_off_stop_early_and_say_why():
    settings = MadsSettings(lower=(0.0, 0.0), upper=(9.0, 9.0), x0=((8.0, 8.0),),
                            input_types=("I", "I"), max_evals=40, seed=0, restart=False)
    with MadsAskTell(settings) as core:
        run(core, lambda x: [float((x[0] - 3) ** 2 + (x[1] - 5) ** 2)])
    assert core.n_evaluations < 40 and "restarts are off" in core.stop_reason


def test_failed_first_point_goes_on_through_the_searcher():
    """tune.uniform(0, 5), objective NaN at the starting point 2.5: the search goes on from
    space-filling points instead of finishing after one trial."""
    searcher = NomadSearcher(space={"x": tune.uniform(0.0, 5.0)}, metric="loss", mode="min",
                             max_evals=15, seed=0)
    i = 0
    while True:
        config = searcher.suggest(f"t{i}")
        if config == Searcher.FINISHED:
            break
        if config is None:
            continue
        loss = math.nan if config["x"] == 2.5 else (config["x"] - 4.0) ** 2
        searcher.on_trial_complete(f"t{i}", {"loss": loss})
        i += 1
    searcher.close()
    records = searcher.evaluations
    assert records[0].config["x"] == 2.5 and records[0].status == "failed"
    assert searcher.n_trained == 15
    assert searcher.best.objective < 0.1


def test_searcher_known_objective_and_free_records():
    """Through the Searcher API: screened and duplicate points start no trial, are exposed
    as free evaluations, and trained + free is what NOMAD saw. Seed 3: NOMAD asks for free
    points within the 30 evaluations (with the model search step's six points per NOMAD
    point, seeds 0-2 end without one)."""
    from hsearch.problems.tabular import tabular_problem

    problem = tabular_problem()
    table = problem.evaluate.table
    searcher = NomadSearcher(
        space=problem.space, metric="macs_ratio", mode="min", constraints=["acc_gap"],
        points_to_evaluate=[problem.x0], max_evals=30, seed=3,
        known_objective=lambda c: table.metrics(table.cell(c))["macs_ratio"],
        network_key=lambda c: table.cell(c).network)
    trials = 0
    while (config := searcher.suggest(f"t{trials}")) != Searcher.FINISHED:
        if config is not None:
            searcher.on_trial_complete(f"t{trials}", problem.evaluate(config))
            trials += 1
    searcher.close()
    assert trials == searcher.n_trained == len(searcher.evaluations) <= 30
    free = searcher.free_evaluations
    assert free and all(r.trial_id == "" and r.status in ("screened", "duplicate") for r in free)
    assert len(searcher.all_evaluations) == trials + len(free)
    assert searcher.best.objective == pytest.approx(problem.best_value)
    assert searcher.stop_reason


def test_a_trial_stopped_at_its_cost_report_is_pruned_not_trained():
    """A pruner stops a trial at its cost report (``status="cost"``, accuracy counted as 0)
    when a cheaper feasible network finished after it was suggested: NomadSearcher records it
    as pruned (not trained, never seen by its models). Stopped while it could still improve,
    it is told as usual: an infeasible evaluation."""
    from hsearch.problems.tabular import tabular_problem

    problem = tabular_problem()
    table = problem.evaluate.table
    cheap = table.index_config(table.optimum())

    def searcher(start=True):
        made = NomadSearcher(
            space=problem.space, metric="macs_ratio", mode="min", constraints=["acc_gap"],
            points_to_evaluate=[problem.x0, cheap], max_evals=10, max_concurrent=2, seed=0,
            known_objective=lambda c: table.metrics(table.cell(c))["macs_ratio"],
            network_key=lambda c: table.cell(c).network)
        if start:
            assert [made.suggest("cheap"), made.suggest("base")] == [cheap, problem.x0]
        return made

    stopped = {**table.cost_report(table.cell(problem.x0)), "status": "cost"}
    late = searcher()
    late.on_trial_complete("cheap", problem.evaluate(cheap))
    late.on_trial_complete("base", stopped)
    assert late.n_trained == 1 and late.free_evaluations == []
    assert [(r.config, r.status) for r in late.all_evaluations] == [(cheap, "ok"),
                                                                    (problem.x0, "pruned")]
    assert [e.status for e in late.core.history] == ["ok", "pruned"]
    restored = searcher(start=False)
    restored.set_state(late.get_state())
    assert restored.n_trained == 1
    nexts = [late.suggest("n0"), late.suggest("n1")]
    assert None not in nexts and [restored.suggest("r0"), restored.suggest("r1")] == nexts
    late.close()
    restored.close()

    early = searcher()  # nothing feasible yet: the stop is no screening, it is told
    early.on_trial_complete("base", stopped)
    assert early.n_trained == 1 and early.evaluations[0].status == "ok"
    assert not early.evaluations[0].feasible and early.free_evaluations == []
    early.close()


def test_known_objective_that_raises_is_unknown_not_a_crash():
    table = Table(0.95)

    def bad(x):
        raise RuntimeError("no MACs")

    with MadsAskTell(table.settings(0, 12), known=bad, network_key=table.network) as core:
        run(core, table.blackbox)
    assert core.n_evaluations == 12 and core.restarts == 0
    assert not any(e.status == "screened" for e in core.history)


def test_defaults_grid_only_and_user_lines_replace_them():
    grid = Table(0.95).settings()
    lines = grid.nomad_lines(surrogate=True)
    assert "DIRECTION_TYPE ORTHO 2N" in lines and "QUAD_MODEL_SEARCH no" in lines
    assert "EVAL_QUEUE_SORT SURROGATE" in lines and "INITIAL_FRAME_SIZE ( 2.0 2.0 3.0 )" in lines
    assert "MAX_EVAL 340" in lines
    user = Table(0.95).settings(nomad_params=("DIRECTION_TYPE ORTHO N+1 QUAD", "MAX_EVAL 5000"))
    lines = user.nomad_lines()
    assert [line for line in lines if line.startswith("DIRECTION_TYPE")] == \
        ["DIRECTION_TYPE ORTHO N+1 QUAD"]
    assert [line for line in lines if line.startswith("MAX_EVAL ")] == ["MAX_EVAL 5000"]
    continuous = MadsSettings(lower=(0.0,), upper=(1.0,), x0=((0.5,),))
    assert not any(line.startswith("DIRECTION_TYPE") for line in continuous.nomad_lines())
    mixed = MadsSettings(lower=(0.0, 0.0), upper=(1.0, 5.0), x0=((0.5, 1.0),),
                         input_types=("R", "I"))
    assert not any(line.startswith("DIRECTION_TYPE") for line in mixed.nomad_lines())
    off = Table(0.95).settings(defaults=False)
    assert not any(line.startswith(("DIRECTION_TYPE", "MAX_EVAL ")) for line in off.nomad_lines())
