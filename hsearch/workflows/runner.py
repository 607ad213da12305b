"""The Tune job: composes searcher + trainable + Tuner + callbacks in a run directory.

Roles stay apart (syne-tune's split): *what* to try is the search algorithm
(hsearch.search.factory), *when* to stop a trial is the scheduler (e.g.
hsearch.workflows.pruning.IncumbentPruner) and the trainable's own racing rule, *where* it runs
is Ray (trial resources from the TrialSpec). :func:`run_job` only wires them together::

    job = TuneJob(run_dir=run, spec=spec, param_space=space, search_alg=searcher,
                  metric="macs", mode="min", num_samples=30, concurrency=2,
                  callbacks=[RecorderCallback(run, spec, "macs", "min", ("width",))])
    results = run_job(job, put_dataset(dataset))

The run directory's layout is hsearch.workflows.run_dir's; joining Ray and putting the data set
is hsearch.workflows.ray_session's.

Resume: ``run_job(job, data, resume=True)`` restores the Tune experiment in ``trials/``
(``Tuner.restore`` with ``resume_unfinished=True``: the search algorithm comes back with its saved
state, finished trials are kept, unfinished ones run again under their own trial ids). Errored
trials stay errored: the searcher was told they failed (NOMAD counted a failed evaluation), so
running them again under new trial ids (Tune's ``restart_errored``) would train configurations
whose results no searcher reads. Tune snapshots the experiment every ``CHECKPOINT_PERIOD_S``
seconds (set here through ``TUNE_GLOBAL_CHECKPOINT_S``); together with the trainable's
idempotence this makes a kill cost only the seeds in flight. Tune copies its snapshots into
``trials/`` non-atomically, so every job also keeps them whole in the run directory
(hsearch.workflows.snapshots: "Torn snapshots"), and a resume puts the last one back first.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pickle
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from ray import tune
from ray.tune.search import Searcher

from hsearch.workflows.run_dir import EXPERIMENT_NAME
from hsearch.workflows.snapshots import (
    SnapshotKeeper,
    restore_snapshot,
    unreadable_state_files,
    unusable_state_files,
)
from hsearch.workflows.trial import hsearch_trial
from hsearch.workflows.trial_spec import trial_resources

logger = logging.getLogger(__name__)

#: Seconds between Tune's experiment snapshots (trial states + searcher state).
CHECKPOINT_PERIOD_S = 1


@dataclass
class TuneJob:
    """One Tune run: what to try, how to evaluate, where to record.

    run_dir: the run directory (Tune's storage_path; the experiment is ``run_dir/trials``).
    spec: the trials' TrialSpec. param_space: Tune's search space. search_alg: a Tune Searcher or
    SearchAlgorithm (built without metric/mode). metric, mode: passed to TuneConfig.
    num_samples: trials in all (the evaluation budget). concurrency: trials at once.
    scheduler: a Tune scheduler (None: FIFO). callbacks: Tune callbacks (e.g. RecorderCallback).
    max_failures: retries of a trial that raised (its finished seeds are reused).
    """

    run_dir: Path
    spec: Any
    param_space: dict
    search_alg: Any
    metric: str
    mode: str
    num_samples: int
    concurrency: int = 1
    scheduler: Any = None
    callbacks: list = field(default_factory=list)
    max_failures: int = 1


def run_job(job: TuneJob, data, resume: bool = False):
    """Run (or, with ``resume``, continue) ``job``; returns Tune's ResultGrid.

    ``data`` is the DataHandle of the data set (hsearch.workflows.ray_session.put_dataset). Ray
    must be running (ray_session.ensure_ray). With ``resume`` and no restorable experiment, the
    job starts afresh.
    Raises RunInterrupted (a KeyboardInterrupt) when Tune was stopped before every trial ended.
    """
    run_dir = Path(job.run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    trainable = tune.with_resources(
        tune.with_parameters(hsearch_trial, spec=job.spec, data=data), trial_resources(job.spec))
    experiment = run_dir / EXPERIMENT_NAME
    callbacks = [*job.callbacks, SnapshotKeeper(run_dir)]
    with _tune_environment():
        tuner = None
        if resume:
            restore_snapshot(run_dir)
            if tune.Tuner.can_restore(str(experiment)):
                tuner = _restore_tuner(experiment, trainable, callbacks)
        if tuner is None:
            # A Searcher gets Tune's ConcurrencyLimiter (NOMAD adopts its limit as block size);
            # other search algorithms (BasicVariantGenerator) take the limit themselves.
            limit = job.concurrency if isinstance(job.search_alg, Searcher) else None
            tuner = tune.Tuner(
                trainable,
                param_space=job.param_space,
                tune_config=tune.TuneConfig(
                    search_alg=job.search_alg, scheduler=job.scheduler, metric=job.metric,
                    mode=job.mode, num_samples=job.num_samples, max_concurrent_trials=limit,
                    # one process serves trial after trial: torch, the zoo and the data are
                    # imported and fetched once per worker, not once per trial
                    reuse_actors=True),
                run_config=tune.RunConfig(
                    name=EXPERIMENT_NAME, storage_path=str(run_dir), verbose=0,
                    callbacks=callbacks,
                    failure_config=tune.FailureConfig(max_failures=job.max_failures)),
            )
        results = tuner.fit()
    unfinished = len(results) - results.num_terminated - results.num_errors
    if unfinished:  # Tune returns normally after Ctrl-C, with the state saved
        logger.warning("the run stopped with %d trial(s) unfinished; continue it with "
                       "`hsearch resume %s`", unfinished, run_dir)
        raise RunInterrupted(f"{unfinished} trial(s) unfinished in {experiment}")
    return results


class RunInterrupted(KeyboardInterrupt):
    """Tune stopped before every trial finished (Ctrl-C); the run can be resumed."""


def _restore_tuner(experiment: Path, trainable, callbacks: list):
    """``Tuner.restore`` of ``experiment``: unfinished trials resume, errored ones stay errored
    (module docstring). None when Tune's files cannot give back the experiment exactly and no
    snapshot of ours replaced them (hsearch.workflows.snapshots; e.g. a kill before the first
    snapshot, or a snapshot that could not be written): the job then starts afresh, its
    recorder drops the old rows, and the evaluations run again, their finished seeds from the
    seed cache. (Tune itself would restart such an experiment too, but with the trial counter
    of the broken snapshot: fewer evaluations than the budget.)

    Tune would run the callbacks pickled when the run started, which hold the run directory's
    path then; ``callbacks`` (built for the directory as it is now: it may have been moved or be
    mounted elsewhere) replace them.
    """
    problems = unusable_state_files(experiment)
    if problems:
        logger.warning("the Tune experiment in %s cannot be restored exactly (%s) and the run has "
                       "no whole snapshot of it; starting it afresh", experiment,
                       ", ".join(problems))
        for name in unreadable_state_files(experiment):
            (experiment / name).unlink(missing_ok=True)
        return None
    logger.info("restoring the Tune experiment in %s", experiment)
    try:
        tuner = tune.Tuner.restore(str(experiment), trainable=trainable, resume_unfinished=True,
                                   resume_errored=False, restart_errored=False)
    except (ValueError, EOFError, pickle.UnpicklingError) as exc:  # JSONDecodeError: ValueError
        torn = unreadable_state_files(experiment)
        if not torn:
            raise
        logger.warning("the Tune experiment in %s cannot be restored (unreadable: %s); starting "
                       "it afresh: %s", experiment, ", ".join(torn), exc)
        for name in torn:
            (experiment / name).unlink(missing_ok=True)
        return None
    # Tune has no public way to give a restored run new callbacks (2.60): its TunerInternal
    # keeps the restored RunConfig, which fit() reads.
    local = getattr(tuner, "_local_tuner", None)
    if local is not None and hasattr(local, "get_run_config"):
        local.get_run_config().callbacks = list(callbacks)
    else:
        logger.warning("cannot renew the callbacks of the restored run; results go to the run "
                       "directory's original path")
    return tuner


@contextlib.contextmanager
def _tune_environment() -> Iterator[None]:
    """Tune reads these when the Tuner/controller is built: frequent experiment snapshots, and
    the legacy reporter, which verbose=0 silences entirely (the new one still prints a table)."""
    values = {"TUNE_GLOBAL_CHECKPOINT_S": str(CHECKPOINT_PERIOD_S), "RAY_AIR_NEW_OUTPUT": "0"}
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
