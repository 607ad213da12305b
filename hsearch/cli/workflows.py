"""The workflow commands: one sub-command per row of hsearch.workflows.registry.WORKFLOWS.

Each is parsed and run alike: the row's option groups and flags; then the settings from the
row's preset and defaults, ``--config`` and the flags (validated once), the row's checks, the
run, its summary. Examples (CPU scale)::

    hsearch train --data digits --model senet18 --width 0.67 --budget 20s --seeds 3 --out runs/x
    hsearch demo                                  # a small NAS on digits, minutes on 2 cores
    hsearch baseline --models resnet18,senet18,mobilenetv2 --budget 10m --seeds 10 --data cifar10
    hsearch nas --config experiments/cpu/nas.yaml --max-evals 20 --out runs/nas
    hsearch hpo --config experiments/cpu/hpo.yaml --from-nas runs/nas --out runs/hpo
    hsearch evaluate --from runs/hpo --seeds 10 --out runs/test

``train`` prints a per-seed table, mean ± std and MACs (RUN_DIR/result.json,
hsearch.workflows.train); ``baseline`` the paper's Table 1 (also RUN_DIR/table.csv); ``nas``
and ``demo`` one line per evaluation and a summary (the run directory holds config.yaml, evaluations.csv, best.json,
progress.png, pareto.png and the TensorBoard logs: ``tensorboard --logdir RUN_DIR``); ``hpo``
the best training hyperparameters for the architecture of ``--from-nas`` (or ``arch``);
``evaluate`` the held-out test score over K seeds, the number a paper would report.
"""

from __future__ import annotations

import argparse
import functools
import time

from hsearch.cli._workflow_options import (
    OPTION_GROUPS,
    check_address,
    quiet_ray,
    settings_from_args,
)
from hsearch.configs import to_mapping
from hsearch.workflows.launch import run_workflow
from hsearch.workflows.registry import WORKFLOWS, Workflow, resolve


def register(subparsers) -> None:
    """Add one sub-command per workflow, in the table's order."""
    for workflow in WORKFLOWS:
        cli = workflow.cli
        p = subparsers.add_parser(workflow.name, help=cli.help, description=cli.description)
        for group in cli.groups:
            OPTION_GROUPS[group](p, cli.defaults)
        for option in cli.options:
            p.add_argument(option.flag, dest=option.key, default=None, metavar=option.metavar,
                           choices=option.choices, type=option.type, help=option.help)
        p.set_defaults(run=functools.partial(run, workflow))


def settings_of(workflow: Workflow, args: argparse.Namespace):
    """The row's settings: its preset and defaults, then --config and the flags (validated)."""
    cli = workflow.cli
    base = {**(to_mapping(resolve(cli.preset)()) if cli.preset else {}), **cli.defaults}
    extra = {option.key: option.value(getattr(args, option.key)) for option in cli.options}
    return settings_from_args(workflow.settings_class, args, extra, base=base)


def run(workflow: Workflow, args: argparse.Namespace) -> int:
    """Parse the settings, run the workflow, print its summary; the exit code is the run's
    ``exit_code`` (``train``: 1 when a seed failed), else 0."""
    start = time.monotonic()
    check_address(args)  # an unreachable cluster: refused in seconds, before torch and Ray
    cli = workflow.cli
    settings = settings_of(workflow, args)
    for check in cli.checks:
        resolve(check)(settings)
    quiet_ray(args.verbose)
    if cli.banner:
        print(resolve(cli.banner)(settings), flush=True)
    result = run_workflow(workflow.name, settings, echo=True)
    print(result.summary)
    if cli.wall_time:
        print(f"wall time {time.monotonic() - start:.0f} s (Ray start, baseline and search)")
    return getattr(result, "exit_code", 0)
