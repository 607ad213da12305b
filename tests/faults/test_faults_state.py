"""Tune's experiment state torn or missing in a run directory (a kill during Tune's non-atomic
background copy): the runner detects it, and the run's own snapshot puts back a whole set.

No Ray processes: the state files are made as Tune names and writes them (the experiment state
as JSON, the others with cloudpickle, one set per driver session).
"""

import json
import pickle

import ray.cloudpickle as cloudpickle

from hsearch.workflows.run_dir import EXPERIMENT_NAME, SNAPSHOT_FILE
from hsearch.workflows.snapshots import restore_snapshot, unusable_state_files

OLD, NEW = "2026-01-01_10-00-00", "2026-01-01_11-00-00"  # two driver sessions (a resumed run)


def session_files(session: str, trials: int) -> dict[str, bytes]:
    """One driver session's snapshot: experiment state, search generator and searcher state."""
    return {
        f"experiment_state-{session}.json": json.dumps({"trial_data": ["t"] * trials}).encode(),
        f"search_gen_state-{session}.json": cloudpickle.dumps({"counter": trials}),
        f"searcher-state-{session}.pkl": cloudpickle.dumps({"records": list(range(trials))}),
    }


def write(folder, files: dict[str, bytes]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def test_a_whole_snapshot_has_no_problem(tmp_path):
    write(tmp_path, {**session_files(OLD, 2), **session_files(NEW, 4)})
    assert unusable_state_files(tmp_path) == []
    assert unusable_state_files(tmp_path / "nowhere") == []  # no snapshot yet: nothing to restore


def test_torn_or_missing_state_of_the_newest_session_is_found(tmp_path):
    write(tmp_path, {**session_files(OLD, 2), **session_files(NEW, 4)})
    (tmp_path / f"searcher-state-{NEW}.pkl").unlink()  # Tune would load the older one
    assert unusable_state_files(tmp_path) == [f"searcher-state-{OLD}.pkl (not of session {NEW})"]

    (tmp_path / f"searcher-state-{OLD}.pkl").unlink()  # and now none at all
    assert unusable_state_files(tmp_path) == [f"searcher-state-{NEW}.pkl (missing)"]

    write(tmp_path, session_files(NEW, 4))
    state = tmp_path / f"experiment_state-{NEW}.json"
    state.write_bytes(state.read_bytes()[:10])  # truncated
    assert unusable_state_files(tmp_path) == [f"experiment_state-{NEW}.json (unreadable)"]

    # a torn file of an older session is never loaded: no problem
    write(tmp_path, session_files(NEW, 4))
    old = tmp_path / f"search_gen_state-{OLD}.json"
    old.write_bytes(old.read_bytes()[:5])
    assert unusable_state_files(tmp_path) == []


def test_the_runs_snapshot_puts_back_a_whole_set(tmp_path):
    run = tmp_path / "run"
    experiment = run / EXPERIMENT_NAME
    whole = {**session_files(OLD, 2), **session_files(NEW, 4)}
    run.mkdir()
    (run / SNAPSHOT_FILE).write_bytes(pickle.dumps({"version": 1, "files": whole}))
    # Tune's copy: the experiment state torn, the searcher state not copied yet, and the state of
    # a later kill's session that the snapshot does not know (Tune would load it as the newest)
    torn = dict(whole)
    torn[f"experiment_state-{NEW}.json"] = torn[f"experiment_state-{NEW}.json"][:7]
    del torn[f"searcher-state-{NEW}.pkl"]
    torn["experiment_state-2026-01-01_12-00-00.json"] = b"{"
    write(experiment, torn)
    (experiment / "tuner.pkl").write_bytes(b"kept")
    assert unusable_state_files(experiment)

    assert restore_snapshot(run)
    assert unusable_state_files(experiment) == []
    on_disk = {p.name: p.read_bytes() for p in experiment.iterdir() if p.name != "tuner.pkl"}
    assert on_disk == whole
    assert (experiment / "tuner.pkl").read_bytes() == b"kept"  # only Tune's state files change


def test_an_unreadable_snapshot_is_ignored(tmp_path):
    (tmp_path / SNAPSHOT_FILE).write_bytes(b"\x80\x05 torn")
    assert not restore_snapshot(tmp_path)
    assert not restore_snapshot(tmp_path / "nowhere")
