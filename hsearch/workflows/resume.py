"""Continue a killed run from its directory (``hsearch resume DIR``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hsearch.workflows.launch import run_workflow
from hsearch.workflows.registry import load_run_settings
from hsearch.workflows.run_dir import SUMMARY_FILE


def resume_run(run_dir: str | Path, *, address: str | None = None, echo: bool = False):
    """Continue the run in ``run_dir`` where it stopped; returns the workflow's result, or None
    when the run had finished already (nothing is run again; hsearch.workflows.report's
    ``summarize_run`` gives its summary from disk).

    The settings come from the run's ``config.yaml``; ``address`` may point the run at another
    Ray cluster. The run function is the one the workflow's row names
    (hsearch.workflows.registry); the summary is written after it (hsearch.workflows.launch).
    """
    run_dir = Path(run_dir)
    workflow, settings, _ = load_run_settings(run_dir)
    if address:
        settings = replace(settings, resources=replace(settings.resources, address=address))
    if (run_dir / SUMMARY_FILE).exists():
        return None
    return run_workflow(workflow, settings, run_dir, resume=True, echo=echo)
