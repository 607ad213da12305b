"""The runner: composes searcher + trainable + Tuner + callbacks, and owns the run directory.

Roles stay apart (syne-tune's split): *what* to try is the search algorithm
(hsearch.search.factory), *when* to stop a trial is the scheduler (e.g.
hsearch.workflows.pruning.IncumbentPruner) and the trainable's own racing rule, *where* it runs
is Ray (trial resources from the TrialSpec). :func:`run_job` only wires them together::

    job = TuneJob(run_dir=run, spec=spec, param_space=space, search_alg=searcher,
                  metric="macs", mode="min", num_samples=30, concurrency=2,
                  callbacks=[RecorderCallback(run, spec, "macs", "min", ("width",))])
    results = run_job(job, put_dataset(dataset))

A run directory holds everything of one run (``tensorboard --logdir <run dir>`` sees all of it)::

    config.yaml        resolved settings, workflow name, code version (hsearch + git commit)
    snapshot.pkl       the last whole snapshot of the Tune experiment (see "Torn snapshots")
    evaluations.csv    one row per evaluation;  best.json: the best feasible row and counts
    progress.png       best feasible objective vs evaluation;  pareto.png: accuracy vs MACs
    tensorboard/       search-progress events (one step per evaluation)
    trials/            Tune's experiment (storage_path = the run dir): one folder per trial with
                       Tune's events (every report; hparams at the end), per-seed training
                       curves in seed_<k>/, and hsearch_result.json once the trial finished
    cache/             finished seeds, reused by re-run trials and identical networks
    summary.txt        written when the run finished

Resume: ``run_job(job, data, resume=True)`` restores the Tune experiment in ``trials/``
(``Tuner.restore`` with ``resume_unfinished=True``: the search algorithm comes back with its saved
state, finished trials are kept, unfinished ones run again under their own trial ids). Errored
trials stay errored: the searcher was told they failed (NOMAD counted a failed evaluation), so
running them again under new trial ids (Tune's ``restart_errored``) would train configurations
whose results no searcher reads. Tune snapshots the experiment every ``CHECKPOINT_PERIOD_S``
seconds (set here through ``TUNE_GLOBAL_CHECKPOINT_S``); together with the trainable's
idempotence this makes a kill cost only the seeds in flight.

Torn snapshots: Tune writes each snapshot (experiment_state-*.json, searcher-state-*.pkl, ...) to
a staging folder and copies it into ``trials/`` in a background thread, file by file and not
atomically, so a kill during that copy can leave a truncated or mismatched set that
``Tuner.restore`` cannot read (or that makes the searcher wait for a trial Tune forgot).
:class:`~hsearch.workflows.callbacks.SnapshotKeeper` therefore also keeps every snapshot, whole
and consistent, in ``<run dir>/snapshot.pkl`` (written atomically, before Tune's copy starts),
and a resume writes it back into ``trials/`` first (:func:`restore_snapshot`). Should that snapshot
be missing too (e.g. the disk was full), :func:`unusable_state_files` tells whether Tune's own
copy can still be restored exactly; if not, the run starts afresh (see :func:`_restore_tuner`).
"""

from __future__ import annotations

import contextlib
import datetime
import fnmatch
import logging
import os
import pickle
import socket
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from hsearch.configs import write_atomic
from hsearch.errors import UserError

logger = logging.getLogger(__name__)

EXPERIMENT_NAME = "trials"
CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.txt"
SNAPSHOT_FILE = "snapshot.pkl"
#: Tune's experiment-level state files (one per driver session), as kept in SNAPSHOT_FILE.
TUNE_STATE_PATTERNS = ("experiment_state-*.json", "search_gen_state-*.json",
                       "searcher-state-*.pkl", "basic-variant-state-*.json",
                       "callback-states-*.pkl")
#: Files and folders that mark a directory as holding (part of) a run: never written over.
RUN_MARKERS = (CONFIG_FILE, "evaluations.csv", "best.json", EXPERIMENT_NAME, SNAPSHOT_FILE)
#: Seconds to wait for a Ray cluster's address to answer before giving up.
CONNECT_TIMEOUT_S = 5.0
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

    ``data`` is the DataHandle of the data set (:func:`put_dataset`). Ray must be running
    (:func:`ensure_ray`). With ``resume`` and no restorable experiment, the job starts afresh.
    Raises RunInterrupted (a KeyboardInterrupt) when Tune was stopped before every trial ended.
    """
    from ray import tune

    from hsearch.workflows.trial import hsearch_trial, trial_resources

    from hsearch.workflows.callbacks import SnapshotKeeper

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
            from ray.tune.search import Searcher

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
    snapshot of ours replaced them (:func:`unusable_state_files`; e.g. a kill before the first
    snapshot, or a snapshot that could not be written): the job then starts afresh, its
    recorder drops the old rows, and the evaluations run again, their finished seeds from the
    seed cache. (Tune itself would restart such an experiment too, but with the trial counter
    of the broken snapshot: fewer evaluations than the budget.)

    Tune would run the callbacks pickled when the run started, which hold the run directory's
    path then; ``callbacks`` (built for the directory as it is now: it may have been moved or be
    mounted elsewhere) replace them.
    """
    from ray import tune

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
    import json

    import ray.cloudpickle as cloudpickle

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


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Start or join Ray unless this process already runs it; True when this call started it.

    ``address``: an existing cluster ("auto", host:port or ray://host:port), checked first with
    :func:`probe_ray_address` (``ray.init`` itself retries an unreachable address for minutes);
    None or "local" starts a local Ray with ``num_cpus`` CPUs (default: all). The dashboard stays
    off (it executes code for whoever reaches it). Raises UserError when the cluster cannot be
    reached.
    """
    import ray

    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING,
                              "configure_logging": True}
    if address and address != "local":
        kwargs["address"] = probe_ray_address(address)
    else:
        # "local", not None: ray.init() without an address joins any Ray already running on
        # this machine (whose CPUs are not ours to set)
        kwargs["address"] = "local"
        if num_cpus is not None:
            kwargs["num_cpus"] = num_cpus
    try:
        ray.init(**kwargs)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        where = f"at {address!r}" if address else "locally"
        raise UserError(f"cannot start or join Ray {where}: {_first_line(exc)}") from None
    return True


def probe_ray_address(address: str, timeout: float | None = None) -> str:
    """Check within about ``timeout`` seconds (default CONNECT_TIMEOUT_S) that a Ray cluster
    answers at ``address``.

    ``"auto"`` is resolved as Ray resolves it (RAY_ADDRESS, then the cluster last started on
    this machine); ``host:port`` must accept a TCP connection and speak gRPC (Ray's GCS does).
    Returns the address to give ``ray.init`` (``address`` itself); raises UserError with one
    line saying what failed. A ``ray://`` (Ray Client) address is checked the same way.
    """
    timeout = CONNECT_TIMEOUT_S if timeout is None else timeout
    text = address.strip()
    client = text.startswith("ray://")
    target = text[len("ray://"):] if client else text
    if target == "auto":
        from ray._private.services import canonicalize_bootstrap_address_or_die

        try:
            target = canonicalize_bootstrap_address_or_die("auto")
        except (ConnectionError, ValueError) as exc:
            raise UserError(f"--address auto: no running Ray cluster found on this machine "
                            f"({_first_line(exc)}); start one with `ray start --head` or give "
                            f"host:port") from None
    host, sep, port_text = target.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserError(f"--address must be 'auto', host:port or ray://host:port, but got "
                        f"{address!r}")
    port = int(port_text)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        raise UserError(f"cannot reach the Ray cluster at {address!r}: unknown host {host!r} "
                        f"({exc.strerror})") from None
    except socket.timeout:
        raise UserError(f"cannot reach the Ray cluster at {address!r}: no answer from "
                        f"{host}:{port} within {timeout:g} s") from None
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise UserError(f"cannot reach the Ray cluster at {address!r}: {reason} at "
                        f"{host}:{port}; is `ray start --head` running there?") from None
    import grpc

    channel = grpc.insecure_channel(f"{host}:{port}")
    try:
        grpc.channel_ready_future(channel).result(timeout=timeout)
    except grpc.FutureTimeoutError:
        raise UserError(f"{host}:{port} accepts connections but does not answer as a Ray "
                        f"cluster (no gRPC within {timeout:g} s); check --address") from None
    finally:
        channel.close()
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def gpus_per_seed(requested: float | None) -> float:
    """``requested``, or (None) one GPU per seed when the Ray cluster has GPUs, else 0."""
    if requested is not None:
        return float(requested)
    import ray

    return 1.0 if ray.cluster_resources().get("GPU", 0) > 0 else 0.0


def put_dataset(dataset):
    """The data set in Ray's object store, once (a DataHandle for trials and seed tasks)."""
    import ray

    from hsearch.workflows.trial import DataHandle

    return DataHandle(ref=ray.put(dataset), name=dataset.name, num_classes=dataset.num_classes)


# --- the run directory -----------------------------------------------------------------------


def new_run_dir(out: str | None, workflow: str) -> Path:
    """``out`` or ``runs/<workflow>-<date>-<time>``, created and checked writable.

    Refuses (UserError) a path that is a file, a directory holding a run or part of one (any of
    RUN_MARKERS: a run is never written over; continue it with ``hsearch resume`` or remove it),
    and a directory this process cannot write to.
    """
    path = Path(out) if out else Path("runs") / datetime.datetime.now().strftime(
        f"{workflow}-%Y%m%d-%H%M%S")
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {str(path)!r} exists and is not a directory")
    if (path / CONFIG_FILE).exists():
        raise UserError(f"{path} holds a run already; continue it with `hsearch resume {path}` "
                        f"or choose another --out")
    found = [name for name in RUN_MARKERS if (path / name).exists()]
    if found:
        raise UserError(f"{path} holds results of a run already ({', '.join(found)}); choose "
                        f"another --out or remove them")
    make_writable_dir(path)
    return path


def make_writable_dir(path: Path) -> None:
    """Create ``path`` and check that files can be written there (before any training)."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise UserError(f"--out {str(path)!r} is not a writable directory: "
                        f"{exc.strerror or exc}") from None


def discard_run_dir(path: str | Path) -> None:
    """Remove ``path`` if it is an empty directory (a run that failed before writing anything);
    anything else is left alone."""
    try:
        Path(path).rmdir()
    except OSError:
        pass


def write_run_config(run_dir: Path, workflow: str, settings, extra: Mapping | None = None) -> None:
    """``config.yaml``: the workflow, the resolved settings and the code version."""
    import yaml

    from hsearch.configs import to_mapping

    from hsearch.train.machine import machine_info

    document = {"workflow": workflow, "version": code_version(),
                "created": datetime.datetime.now().isoformat(timespec="seconds"),
                "settings": to_mapping(settings),
                # the driver's machine; seeds train with seed_torch_threads threads each
                "machine": {**machine_info(), "seed_torch_threads": _seed_threads(settings)}}
    if extra:
        document.update(to_mapping(dict(extra)))
    write_atomic(Path(run_dir) / CONFIG_FILE, yaml.safe_dump(document, sort_keys=False))


def _seed_threads(settings) -> int | None:
    resources = getattr(settings, "resources", None)
    if resources is None:
        return None
    return resources.torch_threads or max(1, int(resources.cpus_per_seed))


def read_run_config(run_dir: str | Path) -> dict:
    """The run's ``config.yaml`` as a mapping; UserError when ``run_dir`` holds no run."""
    from hsearch.configs import load_yaml

    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise UserError(f"{run_dir}: no such run directory")
    if not (run_dir / CONFIG_FILE).exists():
        raise UserError(f"{run_dir}: not a run directory (no {CONFIG_FILE})")
    document = load_yaml(run_dir / CONFIG_FILE)
    if "workflow" not in document or "settings" not in document:
        raise UserError(f"{run_dir / CONFIG_FILE}: not an hsearch run config "
                        f"(no workflow/settings)")
    return document


def load_run_settings(run_dir: str | Path):
    """(workflow name, settings dataclass, the whole config document) of a run directory."""
    from hsearch.configs import from_mapping
    from hsearch.workflows.registry import SETTINGS_CLASSES

    document = read_run_config(run_dir)
    workflow = document["workflow"]
    if workflow not in SETTINGS_CLASSES:
        raise UserError(f"{run_dir}: unknown workflow {workflow!r} in {CONFIG_FILE}")
    settings = from_mapping(SETTINGS_CLASSES[workflow], document["settings"],
                            f"{Path(run_dir) / CONFIG_FILE}: settings")
    return workflow, settings, document


def code_version() -> dict:
    """hsearch's version and, inside a git checkout, the commit and whether the tree is dirty."""
    import hsearch

    info: dict[str, Any] = {"hsearch": hsearch.__version__}
    repo = Path(hsearch.__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=5)
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(["git", "-C", str(repo), "status", "--porcelain"],
                                    capture_output=True, text=True, timeout=5)
            info["git_dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info
