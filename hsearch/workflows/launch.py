"""Run a workflow by name and write its summary: the caller of the workflows' run functions.

A run function (a row of hsearch.workflows.registry) trains and records; it writes no summary.
:func:`run_workflow` calls it and then writes ``summary.txt`` (hsearch.workflows.report), which
marks the run finished, so the summary code never calls back into the workflow that ran. The
CLI, ``hsearch resume`` and ``hsearch compare``'s real runs all go through here.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hsearch.workflows.registry import find_workflow
from hsearch.workflows.report import write_summary


def run_workflow(name: str, settings, run_dir: str | Path | None = None, *, resume: bool = False,
                 echo: bool = False):
    """Run workflow ``name`` with ``settings`` (``run_dir`` and ``resume`` as its run function
    takes them), then write the run's ``summary.txt``. Returns the run function's result with
    ``summary`` set to the summary's text (a row without summary lines, ``train``, writes its own
    record and sets its summary itself). KeyError for an unknown ``name``; whatever the run
    raises passes through, and the run is then not marked finished."""
    row = find_workflow(name)
    result = row.run_function(settings, run_dir, resume=resume, echo=echo)
    if not row.records_run:
        return result
    return replace(result, summary=write_summary(result.run_dir))
