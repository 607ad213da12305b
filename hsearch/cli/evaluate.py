"""``hsearch evaluate``: the final score on the held-out test split, over K seeds.

Example::

    hsearch evaluate --from runs/hpo --seeds 10 --out runs/test

trains the best configuration of a NAS/HPO/baseline run (or ``--model/--width/...`` and the
training flags) once per seed and scores each final model on its subset's *test* images -- the
number a paper would report (mean ± sample std over the seeds).
"""

from __future__ import annotations

import argparse

from hsearch.cli._workflow_options import (
    add_run_options,
    check_address,
    quiet_ray,
    settings_from_args,
)


def register(subparsers) -> None:
    """Add the ``evaluate`` sub-command."""
    p = subparsers.add_parser(
        "evaluate", help="score a configuration on the held-out test split (K seeds)",
        description="Train an architecture with its hyperparameters on K seeded subsets and "
                    "score the final models on the subsets' test images.")
    add_run_options(p)
    p.add_argument("--from", dest="from_run", metavar="RUN_DIR", default=None,
                   help="take the best configuration of this NAS/HPO/baseline run")
    p.add_argument("--split", default=None, choices=("test", "val"),
                   help="score on test (default) or val images")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Parse the settings, evaluate, print the summary."""
    check_address(args)  # an unreachable cluster: refused in seconds
    from hsearch.workflows.settings import EvaluateSettings

    settings = settings_from_args(EvaluateSettings, args,
                                  {"from_run": args.from_run, "split": args.split})
    quiet_ray(args.verbose)
    from hsearch.workflows.evaluation import run_evaluate

    result = run_evaluate(settings, echo=True)
    print(result.summary)
    return 0
