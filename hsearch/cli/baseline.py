"""``hsearch baseline``: registry models trained K times each, ranked by mean accuracy.

Example::

    hsearch baseline --models resnet18,senet18,mobilenetv2 --budget 10m --seeds 10 --data cifar10

prints the paper's Table 1 (model, accuracy mean ± std, MACs, parameters, seconds per seed),
sorted by mean accuracy, and writes it to RUN_DIR/table.csv.
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
    """Add the ``baseline`` sub-command."""
    p = subparsers.add_parser(
        "baseline", help="rank registry models by mean accuracy over K seeds (Table 1)",
        description="Train each model K times (one seeded subset each) under the budget and "
                    "print the table sorted by mean accuracy.")
    add_run_options(p)
    p.add_argument("--models", default=None,
                   help="comma-separated model names (default: the paper's list)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Parse the settings, train every model, print the table."""
    check_address(args)  # an unreachable cluster: refused in seconds
    from hsearch.workflows.settings import BaselineSettings

    models = None
    if args.models is not None:
        models = [m.strip() for m in args.models.split(",") if m.strip()]
    settings = settings_from_args(BaselineSettings, args, {"models": models})
    quiet_ray(args.verbose)
    from hsearch.workflows.baseline import run_baseline

    result = run_baseline(settings, echo=True)
    print(result.summary)
    return 0
