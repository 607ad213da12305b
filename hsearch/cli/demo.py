"""``hsearch demo``: a complete small NAS on the embedded digits data (minutes on 2 CPU cores).

Measures the baseline (SENet-18 at width 0.25, 12 px) on a few seeds, then lets NOMAD search
depth/width/resolution multipliers for the smallest network that matches the baseline's mean
accuracy under the same per-seed time budget, printing one line per evaluation, and ends with
the baseline, the best feasible architecture, and where the results and TensorBoard logs are.
Flags override the demo's settings (e.g. ``--racing``, ``--max-evals``, ``--budget``).
"""

from __future__ import annotations

import argparse
import time

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
    """Add the ``demo`` sub-command."""
    p = subparsers.add_parser(
        "demo", help="a small NAS on the embedded digits data, start to finish",
        description="A complete NAS on the digits data that runs in minutes on 2 CPU cores.")
    add_run_options(p)
    add_search_options(p)
    add_nas_options(p)
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the demo NAS and print where everything is."""
    start = time.monotonic()
    check_address(args)  # an unreachable cluster: refused in seconds
    from hsearch.configs import to_mapping
    from hsearch.workflows.demo import demo_settings
    from hsearch.workflows.settings import NasSettings

    settings = settings_from_args(NasSettings, args, base=to_mapping(demo_settings()))
    check_nas_settings(settings)
    quiet_ray(args.verbose)
    from hsearch.workflows.demo import run_demo

    print(f"hsearch demo: NAS on digits, {settings.search.max_evals} evaluations of "
          f"{settings.seeds} seeds x {settings.budget}, {settings.resources.concurrency} at once",
          flush=True)
    result = run_demo(settings)
    print(result.summary)
    print(f"wall time {time.monotonic() - start:.0f} s (Ray start, baseline and search)")
    return 0
