"""``hsearch nas``: minimise MACs subject to mean accuracy >= the baseline's.

Example (CPU scale, seconds)::

    hsearch nas --config experiments/cpu/nas.yaml --max-evals 20 --out runs/nas

measures the baseline (``arch``) on K seeds unless ``--baseline-acc`` is given, then searches
depth/width/resolution multipliers around it with NOMAD (``--searcher`` picks another Tune
searcher; those get a penalised objective). Prints one line per evaluation and a summary; the run
directory holds config.yaml, evaluations.csv, best.json, progress.png, pareto.png and the
TensorBoard logs (``tensorboard --logdir RUN_DIR``).
"""

from __future__ import annotations

import argparse

from hsearch.cli._workflow_options import (
    add_nas_options,
    add_run_options,
    add_search_options,
    check_address,
    check_nas_settings,
    quiet_ray,
    settings_from_args,
)


def register(subparsers) -> None:
    """Add the ``nas`` sub-command."""
    p = subparsers.add_parser(
        "nas", help="NAS: smallest scaled network matching the baseline's accuracy",
        description="Minimise MACs over depth/width/resolution multipliers of a baseline, "
                    "subject to mean accuracy over K seeds >= the baseline's, on Ray Tune.")
    add_run_options(p)
    add_search_options(p)
    add_nas_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Parse the settings, run the NAS, print the summary."""
    check_address(args)  # an unreachable cluster: refused in seconds
    from hsearch.workflows.settings import NasSettings

    settings = settings_from_args(NasSettings, args)
    check_nas_settings(settings)
    quiet_ray(args.verbose)
    from hsearch.workflows.nas import run_nas

    result = run_nas(settings, echo=True)
    print(result.summary)
    return 0
