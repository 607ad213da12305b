"""Workflows layer: the search pipelines on Ray Tune, each also a CLI command.

* :func:`run_baseline` -- registry models trained K times each, ranked (``hsearch baseline``).
* :func:`run_nas` -- min MACs s.t. mean accuracy >= the baseline's (``hsearch nas``, ``demo``).
* :func:`run_hpo` -- max mean accuracy over the paper's training hyperparameters (``hsearch hpo``).
* :func:`run_evaluate` -- the final test-split score (``hsearch evaluate``).
* :func:`run_workflow` -- any of them by name, then its summary (the CLI's way to run one).
* :func:`resume_run` / :func:`summarize_run` -- continue a killed run, summarise one from disk.

:mod:`~hsearch.workflows.registry` is the table of these workflows (settings class, run function,
objective, summary lines, command-line options), which the CLI, resume and report read.

Reusable pieces: :mod:`~hsearch.workflows.trial` (the Tune trainable),
:mod:`~hsearch.workflows.trial_spec` (TrialSpec, statuses, config resolution),
:mod:`~hsearch.workflows.seeds` and :mod:`~hsearch.workflows.seed_cache` (a trial's seeds),
:mod:`~hsearch.workflows.racing` (early rejection), :mod:`~hsearch.workflows.pruning` (the
incumbent scheduler), :mod:`~hsearch.workflows.callbacks` (the recorder),
:mod:`~hsearch.workflows.runner` (TuneJob, run_job), :mod:`~hsearch.workflows.run_dir` (the run
directory), :mod:`~hsearch.workflows.snapshots` (whole Tune snapshots),
:mod:`~hsearch.workflows.ray_session` (joining Ray, DataHandle) and
:mod:`~hsearch.workflows.settings` (the YAML-backed settings dataclasses).

Nothing heavy is imported until a function is called.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "run_baseline": "hsearch.workflows.baseline",
    "run_nas": "hsearch.workflows.nas",
    "run_hpo": "hsearch.workflows.hpo",
    "run_evaluate": "hsearch.workflows.evaluation",
    "run_demo": "hsearch.workflows.demo",
    "demo_settings": "hsearch.workflows.demo",
    "resume_run": "hsearch.workflows.resume",
    "run_workflow": "hsearch.workflows.launch",
    "summarize_run": "hsearch.workflows.report",
    "WORKFLOWS": "hsearch.workflows.registry",
    "find_workflow": "hsearch.workflows.registry",
    "RacingRule": "hsearch.workflows.racing",
    "TrialSpec": "hsearch.workflows.trial_spec",
    "TuneJob": "hsearch.workflows.runner",
    "run_job": "hsearch.workflows.runner",
    "RecorderCallback": "hsearch.workflows.callbacks",
    "IncumbentPruner": "hsearch.workflows.pruning",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'hsearch.workflows' has no attribute {name!r}")
