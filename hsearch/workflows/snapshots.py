"""Whole snapshots of the Tune experiment, kept in the run directory (``snapshot.pkl``).

Torn snapshots: Tune writes each snapshot (experiment_state-*.json, searcher-state-*.pkl, ...) to
a staging folder and copies it into ``trials/`` in a background thread, file by file and not
atomically, so a kill during that copy can leave a truncated or mismatched set that
``Tuner.restore`` cannot read (or that makes the searcher wait for a trial Tune forgot).
:class:`SnapshotKeeper` therefore also keeps every snapshot, whole and consistent, in
``<run dir>/snapshot.pkl`` (written atomically, before Tune's copy starts), and a resume writes it
back into ``trials/`` first (:func:`restore_snapshot`). Should that snapshot be missing too (e.g.
the disk was full), :func:`unusable_state_files` tells whether Tune's own copy can still be
restored exactly; if not, the run starts afresh (hsearch.workflows.runner).
"""

from __future__ import annotations

import fnmatch
import json
import logging
import pickle
from pathlib import Path

import ray.cloudpickle as cloudpickle
from ray.tune import Callback

from hsearch.files import write_atomic
from hsearch.workflows.run_dir import EXPERIMENT_NAME, SNAPSHOT_FILE

logger = logging.getLogger(__name__)

#: Tune's experiment-level state files (one per driver session), as kept in SNAPSHOT_FILE.
TUNE_STATE_PATTERNS = ("experiment_state-*.json", "search_gen_state-*.json",
                       "searcher-state-*.pkl", "basic-variant-state-*.json",
                       "callback-states-*.pkl")


class SnapshotKeeper(Callback):
    """Keeps every Tune experiment snapshot, whole, in ``<run_dir>/snapshot.pkl``.

    Tune writes a snapshot (experiment state, search algorithm state) into its driver staging
    folder and then copies it to the run directory in a background thread, not atomically.
    Tune asks the callbacks for their state as the last step of writing a snapshot, before the
    copy starts, so :meth:`get_state` sees a complete snapshot in the staging folder and stores
    it atomically (:func:`save_snapshot`). It returns None: this callback itself has no state
    for Tune to keep. The staging folder is learnt from the trials' storage context (no snapshot
    is kept before the first trial exists: there is nothing to lose). The runner adds it to
    every job.
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self._staging: str | None = None
        self._failed = False

    def __getstate__(self) -> dict:
        return {"run_dir": str(self.run_dir)}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["run_dir"])

    def on_step_begin(self, iteration: int, trials: list, **info) -> None:
        if self._staging is None and trials:
            try:
                self._staging = trials[0].storage.experiment_driver_staging_path
            except AttributeError:  # developer API; without it Tune's own files must do
                logger.warning("cannot locate Tune's staging folder; the run directory keeps no "
                               "snapshot of its own")
                self._staging = ""

    def get_state(self) -> dict | None:
        if self._staging:
            try:
                save_snapshot(self.run_dir, self._staging)
                self._failed = False
            except OSError as exc:
                # an older snapshot than Tune's copy would be worse than none: drop it
                (self.run_dir / SNAPSHOT_FILE).unlink(missing_ok=True)
                if not self._failed:
                    logger.warning("could not keep the experiment snapshot in %s: %s",
                                   self.run_dir, exc)
                self._failed = True
        return None


def restore_snapshot(run_dir: str | Path) -> bool:
    """Put the last whole snapshot of ``<run_dir>/snapshot.pkl`` back into ``<run_dir>/trials``.

    Tune's own copy of its state there may be torn or mixed from two snapshots (module
    docstring); ours is always whole, and never older than Tune's (it is written before Tune
    starts copying). Tune state files in ``trials/`` that are not part of the snapshot are
    removed (Tune restores the newest session's files). Returns False when there is no snapshot.
    """
    run_dir = Path(run_dir)
    path = run_dir / SNAPSHOT_FILE
    if not path.exists():
        return False
    try:
        snapshot = pickle.loads(path.read_bytes())
        files = dict(snapshot["files"])
    except (OSError, EOFError, KeyError, TypeError, pickle.UnpicklingError) as exc:
        logger.warning("ignoring the unreadable experiment snapshot %s: %s", path, exc)
        return False
    experiment = run_dir / EXPERIMENT_NAME
    experiment.mkdir(parents=True, exist_ok=True)
    for name in _state_files(experiment):
        if name not in files:
            (experiment / name).unlink(missing_ok=True)
    for name, content in files.items():
        target = experiment / name
        if not target.exists() or target.read_bytes() != content:
            logger.info("restoring %s from the run's snapshot", name)
            write_atomic(target, content)
    return True


def save_snapshot(run_dir: str | Path, staging_dir: str | Path) -> None:
    """Keep the Tune state files of ``staging_dir`` (Tune's driver staging folder, holding one
    whole snapshot) in ``<run_dir>/snapshot.pkl``, atomically."""
    staging_dir = Path(staging_dir)
    files = {name: (staging_dir / name).read_bytes() for name in _state_files(staging_dir)}
    if not any(fnmatch.fnmatch(name, TUNE_STATE_PATTERNS[0]) for name in files):
        return  # no experiment state yet: nothing a restore could use
    blob = pickle.dumps({"version": 1, "files": files}, protocol=pickle.HIGHEST_PROTOCOL)
    write_atomic(Path(run_dir) / SNAPSHOT_FILE, blob)


def unreadable_state_files(experiment: str | Path) -> list[str]:
    """Names of Tune state files in ``experiment`` that cannot be parsed (torn copies)."""
    experiment = Path(experiment)
    bad = []
    for name in _state_files(experiment):
        data = (experiment / name).read_bytes()
        try:
            if name.startswith("experiment_state-"):
                json.loads(data)
            else:  # Tune pickles the other state files with cloudpickle
                cloudpickle.loads(data)
        except Exception:  # noqa: BLE001 - any failure to parse means "torn"
            bad.append(name)
    return bad


def unusable_state_files(experiment: str | Path) -> list[str]:
    """What keeps Tune from restoring the newest snapshot in ``experiment`` exactly.

    Tune loads, of each kind of state file, the newest by name (the name ends with the driver
    session's start time). Those must parse and all belong to the session of the newest
    ``experiment_state``; and when that session saved a search generator, its searcher state
    must be there too (else Tune restores an older searcher state with the newer trials, or
    restarts the experiment with the newer trial counter). Returns file names, with the reason
    in brackets; empty when the snapshot is whole (or there is none).
    """
    experiment = Path(experiment)
    names = _state_files(experiment)
    newest = {}
    for pattern in TUNE_STATE_PATTERNS:
        found = [n for n in names if fnmatch.fnmatch(n, pattern)]
        if found:
            newest[pattern.split("-*")[0]] = max(found)
    if "experiment_state" not in newest:
        return []
    session = newest["experiment_state"][len("experiment_state-"):-len(".json")]
    torn = set(unreadable_state_files(experiment))
    problems = [f"{name} (unreadable)" for name in newest.values() if name in torn]
    problems += [f"{name} (not of session {session})" for kind, name in newest.items()
                 if kind != "callback-states" and session not in name]
    if "search_gen_state" in newest and "searcher-state" not in newest:
        problems.append(f"searcher-state-{session}.pkl (missing)")
    return problems


def _state_files(folder: Path) -> list[str]:
    """Tune's experiment-level state files directly in ``folder`` (sorted names)."""
    if not folder.is_dir():
        return []
    return sorted(entry.name for entry in folder.iterdir() if entry.is_file()
                  and any(fnmatch.fnmatch(entry.name, p) for p in TUNE_STATE_PATTERNS))
