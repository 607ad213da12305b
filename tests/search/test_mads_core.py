"""MadsAskTell without Ray: fidelity to PyNomad.optimize, determinism, replay, isolation."""

import concurrent.futures
import math
import os
import signal

import numpy as np
import pytest

from hsearch.problems import get_problem
from hsearch.problems.analytic import ProblemBlackbox
from hsearch.search import MadsAskTell, MadsSettings, NomadError, SpaceCodec, run_standalone


def settings_for(name, block_size=1, seed=0, max_evals=40, model_search=False, **kw):
    """NOMAD alone unless ``model_search``: these tests hold the core to PyNomad.optimize
    (the model search step has its own, tests/search/test_model_search.py)."""
    problem = get_problem(name)
    codec = SpaceCodec(problem.space)
    x0 = codec.encode(problem.x0) if problem.x0 else codec.center()
    return MadsSettings(
        lower=tuple(codec.lower), upper=tuple(codec.upper), x0=(tuple(x0),),
        input_types=tuple(codec.input_types), granularity=tuple(codec.granularity),
        n_constraints=len(problem.constraints), max_evals=max_evals, block_size=block_size,
        seed=seed, model_search=model_search, **kw)


def drive(cores, blackbox, kill_at=None):
    """Run several cores to the end, interleaved, in this one process.

    ``kill_at``: {core index: evaluation count} -> SIGKILL that core's child once then.
    """
    kill_at = dict(kill_at or {})
    while not all(c.finished for c in cores):
        for i, core in enumerate(cores):
            if core.finished:
                continue
            points = core.ask(timeout=0.05)
            core.tell(points, [blackbox(p) for p in points])
            if i in kill_at and core.n_evaluations >= kill_at[i] and core.child_pid:
                os.kill(core.child_pid, signal.SIGKILL)
                del kill_at[i]
    for core in cores:
        core.close()
    return cores


def trajectory(core):
    return [e.x for e in core.history if e.status != "skipped"]


PROBLEMS = ["g06", "g04", "pressure_vessel"]


@pytest.mark.parametrize("block_size", [1, 4])
def test_core_equals_standalone_pynomad(block_size):
    """Same points, same order, same best as PyNomad.optimize with the same budget, seed
    and block size, on each problem (the runs overlap in time to keep the test short)."""
    settings = {name: settings_for(name, block_size, max_evals=40) for name in PROBLEMS}
    with concurrent.futures.ThreadPoolExecutor(len(PROBLEMS)) as pool:
        references = {name: pool.submit(run_standalone, settings[name], ProblemBlackbox(name))
                      for name in PROBLEMS}
        cores = [MadsAskTell(settings[name]) for name in PROBLEMS]
        blackboxes = {name: ProblemBlackbox(name) for name in PROBLEMS}
        _drive_each(cores, [blackboxes[name] for name in PROBLEMS])
        references = {name: f.result() for name, f in references.items()}
    for name, core in zip(PROBLEMS, cores):
        reference, budget = references[name], settings[name].max_evals
        assert core.n_evaluations == budget  # the block overshoot is never run
        assert trajectory(core) == [e.x for e in reference.history[:budget]], name
        best = core.best_feasible()
        assert (None if best is None else best[1]) == reference.best_feasible(budget), name
        # every proposed point is inside the box and integral where it must be
        codec = SpaceCodec(get_problem(name).space)
        assert all(codec.is_valid_vector(x) for x in trajectory(core))


def _drive_each(cores, blackboxes):
    """Like ``drive`` with one black box per core."""
    while not all(c.finished for c in cores):
        for core, blackbox in zip(cores, blackboxes):
            if not core.finished:
                points = core.ask(timeout=0.02)
                core.tell(points, [blackbox(p) for p in points])
    for core in cores:
        core.close()


def test_determinism_and_two_runs_in_one_process():
    blackbox = ProblemBlackbox("g04")
    a, b, c = drive([MadsAskTell(settings_for("g04", 2, seed=s, max_evals=25)) for s in (0, 0, 1)],
                    blackbox)
    assert trajectory(a) == trajectory(b)
    assert trajectory(a) != trajectory(c)
    assert a.restarts == b.restarts == c.restarts == 0


def test_failures_count_and_search_continues():
    settings = settings_for("g06", 1, max_evals=30)
    blackbox = ProblemBlackbox("g06")
    calls = []

    def flaky(x):
        calls.append(1)
        k = len(calls)
        if k % 5 == 2:
            return None  # failed evaluation
        if k % 5 == 3:
            return [math.nan, 0.0, 0.0]  # NaN -> failed
        if k % 5 == 4:
            return [1.0, math.inf, 0.0]  # inf -> failed
        return blackbox(x)

    (core,) = drive([MadsAskTell(settings)], flaky)
    statuses = [e.status for e in core.history]
    assert core.n_evaluations == 30 and statuses.count("failed") >= 15
    assert core.stop_reason  # NOMAD stopped by itself (budget)


def test_budget_is_exact_with_blocks():
    settings = settings_for("g04", 4, max_evals=10)
    (core,) = drive([MadsAskTell(settings)], ProblemBlackbox("g04"))
    assert core.n_evaluations == 10
    assert len({e.x for e in core.history if e.status != "skipped"}) == 10


@pytest.mark.parametrize("constraint_type", ["PB", "EB"])
def test_extreme_and_progressive_barrier_both_run(constraint_type):
    # the pressure vessel's x0 is feasible, as EB needs
    settings = settings_for("pressure_vessel", 2, max_evals=25, constraint_type=constraint_type)
    (core,) = drive([MadsAskTell(settings)], ProblemBlackbox("pressure_vessel"))
    assert core.finished and core.best_feasible() is not None
    assert core.n_evaluations == 25 and "budget spent" in core.stop_reason


def test_replay_restores_exact_trajectory_with_points_in_flight():
    """Save mid-block (some points told, some handed out, some not yet handed out),
    restore in a new object and finish: the trajectory equals an uninterrupted run."""
    settings = settings_for("g04", 4, max_evals=36)
    blackbox = ProblemBlackbox("g04")
    (reference,) = drive([MadsAskTell(settings)], blackbox)

    core = MadsAskTell(settings)
    in_flight = []
    while core.n_evaluations < 20:
        points = core.ask(timeout=0.05)
        core.tell(points, [blackbox(p) for p in points])
    while not in_flight:  # a block with several points: hand out two, tell one
        points = core.ask(max_points=2, timeout=0.05)
        if len(points) == 2:
            core.tell(points[:1], [blackbox(points[0])])
            in_flight = points[1:]
        else:
            core.tell(points, [blackbox(p) for p in points])
    state = core.state_dict()
    core.close()

    import json

    restored = MadsAskTell.from_state(json.loads(json.dumps(state)))  # JSON-able
    assert restored.is_pending(in_flight[0])
    # the in-flight point finishes after the restore, as a re-run Tune trial would
    first = restored.ask(timeout=5.0)
    restored.tell(in_flight, [blackbox(in_flight[0])])
    restored.tell(first, [blackbox(p) for p in first])
    drive([restored], blackbox)
    assert trajectory(restored)[:20] == trajectory(reference)[:20]
    assert sorted(trajectory(restored)) == sorted(trajectory(reference))
    assert restored.best_feasible()[1] == reference.best_feasible()[1]


def test_killed_child_is_replayed_and_gives_the_same_run():
    settings = settings_for("g06", 2, max_evals=30)
    blackbox = ProblemBlackbox("g06")
    reference, killed, exhausted = drive(
        [MadsAskTell(settings), MadsAskTell(settings), MadsAskTell(settings, max_restarts=0)],
        blackbox, kill_at={1: 12, 2: 12})
    assert killed.restarts == 1
    assert trajectory(killed) == trajectory(reference)
    # no restart allowed: finishes cleanly with what it has, never raises
    assert exhausted.finished and exhausted.n_evaluations < 30
    assert "died" in exhausted.stop_reason


def test_protocol_error_in_child_callback_is_recovered():
    settings = settings_for("g06", 1, max_evals=15)
    blackbox = ProblemBlackbox("g06")
    core = MadsAskTell(settings)
    points = core.ask(timeout=5.0)
    core.tell(points, [blackbox(p) for p in points])
    points = core.ask(timeout=5.0)
    assert points
    # fault injection: a reply the child's block callback cannot accept; it must report
    # and exit (an exception escaping a PyNomad block callback would segfault it)
    core._child.send(("values", -1, ["garbage"]))
    core.tell(points, [blackbox(p) for p in points])
    drive([core], blackbox)
    assert core.restarts == 1 and core.n_evaluations == 15


@pytest.mark.parametrize("params", [["MAX_ITERATIONS abc"], ["DIRECTION_TYPE NOPE"]])
def test_bad_nomad_params_raise_clear_error(params):
    core = MadsAskTell(settings_for("g06", nomad_params=tuple(params)))
    with pytest.raises(NomadError, match="NOMAD"):
        for _ in range(100):
            core.ask(timeout=0.1)
    core.close()


@pytest.mark.parametrize("line", ["MAX_BB_EVAL 5", "SEED 3", "BB_MAX_BLOCK_SIZE 2", "X0 (1 2)",
                                  "lower case", ""])
def test_reserved_or_malformed_params_rejected(line):
    with pytest.raises(ValueError, match="nomad_params"):
        settings_for("g06", nomad_params=(line,))


def test_settings_validation():
    with pytest.raises(ValueError, match="low <= high"):
        MadsSettings(lower=(1.0,), upper=(0.0,), x0=((0.5,),))
    with pytest.raises(ValueError, match="box"):
        MadsSettings(lower=(0.0,), upper=(1.0,), x0=((2.0,),))
    with pytest.raises(ValueError, match="constraint_type"):
        MadsSettings(lower=(0.0,), upper=(1.0,), x0=((0.5,),), constraint_type="F")


def test_tell_rejects_unknown_points_and_wrong_arity():
    core = MadsAskTell(settings_for("g06", max_evals=5))
    points = core.ask(timeout=5.0)
    with pytest.raises(ValueError, match="handed out"):
        core.tell([np.array([1.0, 2.0])], [[0.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="outputs"):
        core.tell(points, [[0.0]])
    core.close()


def test_several_starting_points_leave_no_temporary_file(tmp_path, monkeypatch):
    """NOMAD reads several x0 from a file; it is gone even when the run is closed mid-search
    (the child then exits without running its ``finally``)."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    settings = settings_for("g06", max_evals=20)
    start = settings.x0[0]
    shifted = tuple(v + 0.5 for v in start)
    core = MadsAskTell(MadsSettings(**{**settings.to_dict(), "x0": (start, shifted)}))
    blackbox = ProblemBlackbox("g06")
    points = []
    while len(points) < 2:
        asked = core.ask(timeout=0.5)
        core.tell(asked, [blackbox(p) for p in asked])
        points += asked
    core.close()
    assert [tuple(p) for p in points[:2]] == [start, shifted]
    assert list(tmp_path.iterdir()) == []


def test_each_nomad_run_starts_in_the_spare_child_started_ahead():
    """A new NOMAD run (a restart) starts in the spare child, and a new spare is started; a
    spare that died is replaced without a restart counted or the run changed; ``close`` ends
    both processes."""
    settings = settings_for("g04", 1, max_evals=40, model_search=True)
    blackbox = ProblemBlackbox("g04")
    reference = trajectory(drive([MadsAskTell(settings)], blackbox)[0])
    core = MadsAskTell(settings)
    children, spare, killed = [], None, None
    while not core.finished:
        points = core.ask(timeout=0.05)
        core.tell(points, [blackbox(p) for p in points])
        if core.child_pid is not None and core.child_pid not in children:
            children.append(core.child_pid)
            assert spare is None or core.child_pid == spare.pid or spare.pid == killed
        spare = core._spare
        if len(children) == 2 and killed is None and spare is not None:
            killed = spare.pid
            os.kill(killed, signal.SIGKILL)
            spare.proc.wait(timeout=5)
    assert len(children) >= 4 and killed not in children
    assert core.restarts == 0 and trajectory(core) == reference
    assert core._child is None and core._spare is None  # finished: no process left
    unfinished = MadsAskTell(settings)
    assert unfinished.ask(timeout=5.0)
    processes = [unfinished._child, unfinished._spare]
    assert all(p is not None and p.alive for p in processes)
    unfinished.close()
    assert not any(p.alive for p in processes)
