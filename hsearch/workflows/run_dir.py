"""The run directory: its layout, creation, ``config.yaml`` and the code version.

A run directory holds everything of one run (``tensorboard --logdir <run dir>`` sees all of it)::

    config.yaml        resolved settings, workflow name, code version (hsearch + git commit)
    snapshot.pkl       the last whole snapshot of the Tune experiment (hsearch.workflows.snapshots)
    evaluations.csv    one row per evaluation;  best.json: the best feasible row and counts
    progress.png       best feasible objective vs evaluation;  pareto.png: accuracy vs MACs
    tensorboard/       search-progress events (one step per evaluation)
    trials/            Tune's experiment (storage_path = the run dir): one folder per trial with
                       Tune's events (every report; hparams at the end), per-seed training
                       curves in seed_<k>/, and hsearch_result.json once the trial finished
    cache/             finished seeds, reused by re-run trials and identical networks
    baseline.json      NAS: the baseline's accuracy, cost and threshold (hsearch.workflows.nas)
    search_end.json    NAS: why the searcher ended the search early, when it said so
    summary.txt        written when the run finished (hsearch.workflows.report)

A run is never written over: :func:`new_run_dir` refuses a directory holding any of RUN_MARKERS.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any, Mapping

import yaml

import hsearch
from hsearch.configs import load_yaml, to_mapping
from hsearch.errors import UserError
from hsearch.files import write_atomic

EXPERIMENT_NAME = "trials"
CONFIG_FILE = "config.yaml"
SUMMARY_FILE = "summary.txt"
SNAPSHOT_FILE = "snapshot.pkl"
#: The NAS baseline's accuracy, cost and threshold (hsearch.workflows.nas writes it).
BASELINE_FILE = "baseline.json"
#: Why the searcher ended the search, when it said so (hsearch.workflows.nas writes it).
STOP_REASON_FILE = "search_end.json"
#: Files and folders that mark a directory as holding (part of) a run: never written over.
RUN_MARKERS = (CONFIG_FILE, "evaluations.csv", "best.json", EXPERIMENT_NAME, SNAPSHOT_FILE)


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
    # import cost: hsearch.train imports torch, which `hsearch train`'s input checks
    # (hsearch.workflows.train.check_out, RUN_MARKERS) and `hsearch report` do not need
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


def write_stop_reason(run_dir: str | Path, searcher) -> None:
    """Keep ``searcher.stop_reason`` (NomadSearcher's, e.g. every further proposal needed no
    training) in the run directory, for the summary; nothing for a searcher that has none."""
    reason = getattr(searcher, "stop_reason", "")
    if reason:
        write_atomic(Path(run_dir) / STOP_REASON_FILE, json.dumps({"stop_reason": reason}))


def code_version() -> dict:
    """hsearch's version and, inside a git checkout, the commit and whether the tree is dirty."""
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
