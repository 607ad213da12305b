"""Do seeds 0..N-1 give N different NOMAD runs? (``MadsAskTell`` on the shipped NAS table.)

Each seed runs ``--evals`` trained evaluations at threshold 0.95 without a known objective
(restarts on); runs are compared by their sequence of answered points. Prints the number of
distinct runs and, for the raw NOMAD ``SEED`` (``--raw``), the same without hsearch's seed map.

Run:  python experiments/check_mads_seeds.py [--seeds 100] [--evals 12] [--raw]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--evals", type=int, default=12)
    parser.add_argument("--raw", action="store_true", help="pass the seed to NOMAD unmapped")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import hsearch.search.nomad.settings as ms
    from bench_mads_table import TableProblem
    from hsearch.search import MadsAskTell

    if args.raw:
        ms.nomad_seed = lambda seed, run=0: seed + run  # noqa: E731 (the unmapped seed)
    problem = TableProblem(0.95)
    runs = {}
    for seed in range(args.seeds):
        core = MadsAskTell(problem.settings(seed, args.evals), network_key=problem.network)
        while not core.finished:
            points = core.ask(timeout=30.0)
            core.tell(points, [problem.blackbox(p) for p in points])
        core.close()
        runs.setdefault(tuple(e.x for e in core.history), []).append(seed)
    same = [seeds for seeds in runs.values() if len(seeds) > 1]
    print(f"{'raw NOMAD SEED' if args.raw else 'mapped seeds'} 0..{args.seeds - 1}, "
          f"{args.evals} evaluations: {len(runs)} distinct runs; identical groups: {same}")


if __name__ == "__main__":
    main()
