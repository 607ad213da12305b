"""``hsearch hpo``: the training hyperparameters that maximise mean accuracy.

Example::

    hsearch hpo --config experiments/cpu/hpo.yaml --from-nas runs/nas --out runs/hpo

searches the paper's space (lr in [1e-3, 0.6] on SGD's scale, rescaled per optimiser; weight
decay, 7 optimisers, batch size) for the architecture of ``--from-nas``'s best evaluation (or the
``arch`` of the settings), starting from the settings' training config.
"""

from __future__ import annotations

import argparse

from hsearch.cli._workflow_options import (
    add_run_options,
    add_search_options,
    check_address,
    quiet_ray,
    settings_from_args,
)


def register(subparsers) -> None:
    """Add the ``hpo`` sub-command."""
    p = subparsers.add_parser(
        "hpo", help="HPO: lr, weight decay, optimiser and batch size maximising mean accuracy",
        description="Maximise mean accuracy over K seeds over the paper's training "
                    "hyperparameter space for a fixed architecture, on Ray Tune.")
    add_run_options(p)
    add_search_options(p)
    p.add_argument("--from-nas", metavar="RUN_DIR", default=None,
                   help="take the architecture of this NAS run's best evaluation")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Parse the settings, run the HPO, print the summary."""
    check_address(args)  # an unreachable cluster: refused in seconds
    from hsearch.workflows.settings import HpoSettings

    settings = settings_from_args(HpoSettings, args, {"from_nas": args.from_nas})
    quiet_ray(args.verbose)
    from hsearch.workflows.hpo import run_hpo

    result = run_hpo(settings, echo=True)
    print(result.summary)
    return 0
