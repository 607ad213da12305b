"""``hsearch report DIR``: print a run's summary from its directory (finished or killed)."""

from __future__ import annotations

import argparse

from hsearch.workflows.run_dir import read_run_config


def register(subparsers) -> None:
    """Add the ``report`` sub-command."""
    p = subparsers.add_parser("report", help="print the summary of a run directory",
                              description="Print the summary of a finished or killed run from "
                                          "its directory, and redraw its plots.")
    p.add_argument("run_dir", metavar="DIR", help="the run directory")
    p.add_argument("--no-plots", action="store_true", help="do not redraw the plots")
    p.add_argument("--pareto", action="store_true",
                   help="also print the Pareto front (accuracy, MACs, params, latency) with each "
                        "evaluation's probability of being on it; rewrites pareto.csv")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the summary (and redraw progress.png / pareto.png from evaluations.csv)."""
    read_run_config(args.run_dir)  # not a run: one line at once, before the heavy imports
    # numpy, matplotlib (~1 s): not at parse time
    from hsearch.workflows.report import pareto_text, redraw_plots, summarize_run

    text = summarize_run(args.run_dir)
    if not args.no_plots:
        redraw_plots(args.run_dir)
    if args.pareto:
        text += "\n" + pareto_text(args.run_dir)
    print(text)
    return 0
