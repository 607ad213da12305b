"""NomadSearcher inside real Tune runs: constraints, concurrency, failures, FINISHED,
fidelity to the ask/tell core, and exact continuation after SIGKILL + Tuner.restore."""

import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hsearch.problems import get_problem
from hsearch.problems.analytic import ProblemBlackbox
from hsearch.search import MadsAskTell, MadsSettings, SpaceCodec

ray = pytest.importorskip("ray")
from ray import tune  # noqa: E402

from hsearch.search import NomadSearcher  # noqa: E402

pytestmark = pytest.mark.ray

# Four starting points: NOMAD evaluates them as one block, so four trials must run at
# once. The second raises, the fourth reports NaN: both are failed evaluations; the
# third is feasible.
STARTS = [{"x1": 20.0, "x2": 50.0}, {"x1": 30.0, "x2": 10.0}, {"x1": 15.0, "x2": 4.5},
          {"x1": 60.0, "x2": 80.0}]


def _g06_trainable(config):
    t0 = time.time()
    point = {"x1": config["x1"], "x2": config["x2"]}
    time.sleep(4.0 if point in STARTS else 0.2)  # long first block: the overlap is unmistakable
    with open(config["log"], "a") as f:  # timestamps of every trial, failing ones included
        f.write(json.dumps({**point, "t_start": t0, "t_end": time.time()}) + "\n")
    if point == STARTS[1]:
        raise RuntimeError("injected trial failure")
    metrics = get_problem("g06").evaluate(point)
    if point == STARTS[3]:
        metrics["objective"] = math.nan
    tune.report({**metrics, "acc": 1.0})


def _reference_core(max_evals, block_size):
    """The same search driven by a plain loop over the ask/tell core."""
    codec = SpaceCodec(get_problem("g06").space)
    blackbox = ProblemBlackbox("g06")
    failing = {tuple(codec.encode(STARTS[1])), tuple(codec.encode(STARTS[3]))}
    settings = MadsSettings(
        lower=tuple(codec.lower), upper=tuple(codec.upper),
        x0=tuple(tuple(codec.encode(s)) for s in STARTS), n_constraints=3,
        max_evals=max_evals, block_size=block_size, seed=3, model_search=False)
    core = MadsAskTell(settings)
    while not core.finished:
        points = core.ask(timeout=0.05)
        # the Tune run's third constraint is "acc >= 0.5" with acc = 1: c = -0.5
        core.tell(points, [None if tuple(p) in failing else blackbox(p) + [-0.5]
                           for p in points])
    core.close()
    return core


@pytest.fixture(scope="module")
def ray_session():
    # Ray workers cannot import test modules: ship this module's functions by value
    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


_DRIVER = r'''
import json, os, sys, time
import ray
from ray import tune
from hsearch.problems import get_problem
from hsearch.search import NomadSearcher

phase, storage, log_path, model = sys.argv[1:5]
problem = get_problem("g04")


def trainable(config):
    line = {"pid": os.getpid(), "config": {k: config[k] for k in sorted(config)}}
    with open(log_path, "a") as f:
        f.write(json.dumps({"event": "start", **line}) + "\n")
    time.sleep(1.0)
    metrics = problem.evaluate(config)
    with open(log_path, "a") as f:
        f.write(json.dumps({"event": "end", **line}) + "\n")
    tune.report(metrics)


ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
run = tune.with_resources(trainable, {"cpu": 0.5})
if phase == "run":
    searcher = NomadSearcher(metric="objective", mode="min",
                             constraints=list(problem.constraints), max_evals=10,
                             max_concurrent=2, seed=0, model_search=model == "model")
    tuner = tune.Tuner(run, param_space=dict(problem.space),
                       tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1,
                                                   max_concurrent_trials=2),
                       run_config=tune.RunConfig(storage_path=storage, name="exp", verbose=0))
else:
    tuner = tune.Tuner.restore(os.path.join(storage, "exp"), run, resume_unfinished=True)
results = tuner.fit()
print("FIT DONE", len(results), flush=True)
'''


def _session_pids(sid):
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.getsid(int(entry)) == sid:
                    pids.append(int(entry))
            except (ProcessLookupError, PermissionError):
                pass
    return pids


def _kill_session(sid):
    """SIGKILL every process left in the session this test started (Ray's helpers)."""
    for pid in _session_pids(sid):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _events(log_path):
    if not log_path.exists():
        return []
    return [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]


def _snapshot_with_a_live_trial(exp_dir):
    """Whether the snapshot on disk is whole and its searcher state has a trial running."""
    try:
        for path in Path(exp_dir).glob("experiment_state-*.json"):
            json.loads(path.read_text())
        return bool(_searcher_state(exp_dir)["live"])
    except (OSError, ValueError, EOFError, pickle.UnpicklingError, AssertionError):
        return False


def _searcher_state(exp_dir):
    files = sorted(Path(exp_dir).glob("searcher-state-*.pkl"))
    assert files, f"no searcher state in {exp_dir}"
    with open(files[-1], "rb") as f:
        return pickle.load(f)


@pytest.mark.slow
@pytest.mark.parametrize("model", ["plain", "model"])
def test_sigkill_then_tuner_restore_continues_the_same_search(tmp_path, model):
    """Nothing lost, nothing run twice; NOMAD alone (``plain``) also makes the very search of
    an uninterrupted run. With the model search step and two trials at once, which points it
    proposes depends on the order in which trials end (its decisions are a function of the
    told results: tests/search/test_model_search.py), so only the bookkeeping is compared."""
    script = tmp_path / "driver.py"
    script.write_text(_DRIVER)
    storage, log_path = tmp_path / "results", tmp_path / "evaluations.jsonl"
    # a snapshot (trial states + searcher state) after every controller step
    env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "0", "PYTHONUNBUFFERED": "1"}
    codec = SpaceCodec(get_problem("g04").space)

    def key(config):
        return tuple(codec.encode(config))

    first = subprocess.Popen([sys.executable, str(script), "run", str(storage), str(log_path),
                              model],
                             env=env, start_new_session=True, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 240
        while True:  # kill once 4 trials ended and another one is running
            events = _events(log_path)
            ended = [e for e in events if e["event"] == "end"]
            running = len(events) - 2 * len(ended)
            if len(ended) >= 4 and running > 0:
                break
            assert first.poll() is None, "the driver ended before the kill"
            assert time.time() < deadline, "the search did not progress"
            time.sleep(0.1)
        # Tune copies its snapshot (trial states + searcher state) from a staging folder
        # to storage_path in a background thread, file by file and not atomically: a kill
        # during that copy leaves truncated files that Tuner.restore cannot read, whatever
        # the searcher (a Tune limitation, seen in 1 of 4 runs here). And the snapshot on
        # disk may be of a step before the running trial started (seen once in CI). Freeze
        # the driver, and kill it only when the copy on disk is complete and has a live trial.
        while True:
            os.kill(first.pid, signal.SIGSTOP)
            if _snapshot_with_a_live_trial(storage / "exp"):
                break
            os.kill(first.pid, signal.SIGCONT)
            assert time.time() < deadline, "no snapshot with a running trial"
            time.sleep(0.05)
        os.kill(first.pid, signal.SIGKILL)  # the Tune driver dies mid-search
        first.wait()
        time.sleep(3)
    finally:
        _kill_session(first.pid)
    killed_at = len(_events(log_path))
    state = _searcher_state(storage / "exp")
    recorded = {tuple(r["x"]) for r in state["records"]}
    live = {tuple(x) for x in state["live"].values()}
    assert recorded and len(recorded) < 10
    assert live, "no trial was running at the kill"

    second = subprocess.Popen([sys.executable, str(script), "restore", str(storage),
                               str(log_path), model], env=env, start_new_session=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = second.communicate(timeout=300)
    finally:
        _kill_session(second.pid)
    assert "FIT DONE" in out, out[-3000:]

    events = _events(log_path)
    rerun = {key(e["config"]) for e in events[killed_at:] if e["event"] == "start"}
    assert not rerun & recorded, "a completed evaluation the driver had recorded was re-run"
    assert live <= rerun, "a trial running at the kill was not re-run"
    finished = {key(e["config"]) for e in events if e["event"] == "end"}
    final = _searcher_state(storage / "exp")
    final_points = [tuple(r["x"]) for r in final["records"]]
    assert len(final_points) == len(set(final_points)) == 10  # none lost, none twice
    assert finished == set(final_points)
    if model == "model":
        return
    # and it is the very search an uninterrupted run makes (same seed, same answers)
    problem = get_problem("g04")
    settings = MadsSettings(
        lower=tuple(codec.lower), upper=tuple(codec.upper), x0=(tuple(codec.center()),),
        n_constraints=len(problem.constraints), max_evals=10, block_size=2, seed=0,
        model_search=False)
    core = MadsAskTell(settings)
    blackbox = ProblemBlackbox("g04")
    while not core.finished:
        points = core.ask(timeout=0.05)
        core.tell(points, [blackbox(p) for p in points])
    core.close()
    assert set(final_points) == {e.x for e in core.history if e.status != "skipped"}


@pytest.mark.slow
def test_tune_run_constraints_concurrency_failures_and_fidelity(ray_session, tmp_path):
    max_evals = 10
    searcher = NomadSearcher(
        metric="objective", mode="min",
        constraints=["g1", "g2 <= 0", "acc >= 0.5"],  # bare name, string, helper form
        points_to_evaluate=STARTS, max_evals=max_evals, max_concurrent=4, seed=3,
        model_search=False)  # the fidelity to the plain loop is NOMAD's
    log = tmp_path / "trials.jsonl"
    tuner = tune.Tuner(
        tune.with_resources(_g06_trainable, {"cpu": 0.5}),
        param_space={**get_problem("g06").space, "log": str(log)},  # a constant rides along
        tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1,
                                    max_concurrent_trials=4, reuse_actors=True),
        run_config=tune.RunConfig(storage_path=str(tmp_path), name="g06", verbose=0),
    )
    results = tuner.fit()  # ends by itself: the searcher returns FINISHED
    assert searcher.finished
    assert len(results) == max_evals
    assert sum(1 for r in results if r.error is not None) == 1

    # four trials ran at the same time (the starting block), from their own timestamps
    spans = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(spans) == max_evals
    events = sorted([(s["t_start"], 1) for s in spans] + [(s["t_end"], -1) for s in spans])
    running = peak = 0
    for _, step in events:
        running += step
        peak = max(peak, running)
    assert peak == 4

    # failures became failed evaluations; everything else is as the plain loop
    records = searcher.evaluations
    assert sorted(r.status for r in records).count("failed") == 2
    codec = searcher.codec
    assert all(codec.contains(r.config) for r in records)
    reference = _reference_core(max_evals, 4)
    assert {r.x for r in records} == {e.x for e in reference.history if e.status != "skipped"}
    assert searcher.best.objective == reference.best_feasible()[1]
