"""``hsearch resume DIR``: continue a killed run where it stopped.

The Tune experiment in DIR/trials is restored with its searcher state: finished evaluations are
kept, trials that were running start again under their own trial ids (their finished seeds are
reused), and the search goes on until its budget is spent.
"""

from __future__ import annotations

import argparse

from hsearch.cli._workflow_options import quiet_ray
from hsearch.workflows.ray_session import probe_ray_address
from hsearch.workflows.run_dir import read_run_config


def register(subparsers) -> None:
    """Add the ``resume`` sub-command."""
    p = subparsers.add_parser("resume", help="continue a killed run from its directory",
                              description="Continue a killed baseline/nas/hpo/evaluate/demo "
                                          "run from its directory.")
    p.add_argument("run_dir", metavar="DIR", help="the run directory")
    p.add_argument("--address", default=None,
                   help="Ray cluster to join ('auto' or host:port), or 'local' to start a local "
                        "Ray (default: the run's own setting)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Resume and print the summary (a directory that is not a run, or an --address that does
    not answer, fails at once, before anything heavy is imported)."""
    read_run_config(args.run_dir)
    if args.address and args.address != "local":
        probe_ray_address(args.address)
    # numpy and the workflows (~1 s, torch once settings load): not at parse time
    from hsearch.workflows.report import summarize_run
    from hsearch.workflows.resume import resume_run

    quiet_ray(args.verbose)
    result = resume_run(args.run_dir, address=args.address, echo=True)
    if result is None:
        print(f"{args.run_dir} finished already")
    print(summarize_run(args.run_dir))
    return 0
