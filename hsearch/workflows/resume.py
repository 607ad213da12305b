"""Continue a killed run from its directory (``hsearch resume DIR``)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from hsearch.workflows.run_dir import SUMMARY_FILE, load_run_settings


def resume_run(run_dir: str | Path, *, address: str | None = None, echo: bool = False):
    """Continue the run in ``run_dir`` where it stopped; returns the workflow's result.

    The settings come from the run's ``config.yaml``; ``address`` may point the run at another
    Ray cluster. A finished run is not run again (its result is rebuilt from disk).
    """
    from hsearch.workflows.baseline import run_baseline
    from hsearch.workflows.evaluation import run_evaluate
    from hsearch.workflows.hpo import run_hpo
    from hsearch.workflows.nas import run_nas

    run_dir = Path(run_dir)
    workflow, settings, _ = load_run_settings(run_dir)
    if address:
        settings = replace(settings, resources=replace(settings.resources, address=address))
    if (run_dir / SUMMARY_FILE).exists():
        return None
    if workflow in ("nas", "demo"):
        return run_nas(settings, run_dir, resume=True, echo=echo, workflow=workflow)
    if workflow == "hpo":
        return run_hpo(settings, run_dir, resume=True, echo=echo)
    if workflow == "baseline":
        return run_baseline(settings, run_dir, resume=True, echo=echo)
    return run_evaluate(settings, run_dir, resume=True, echo=echo)
