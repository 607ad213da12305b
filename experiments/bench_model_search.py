"""NOMAD with and without the model search step on the shipped NAS table, without Ray.

Each run drives ``MadsAskTell`` the way the comparison does (x0 = the baseline cell, budget 60
trained evaluations, the known MACs for sorting and screening, duplicate networks free) in
synchronous rounds of ``--concurrency`` points, and stops when a network within 1% of the
table's optimum is trained. Per threshold and variant it prints the median [q1, q3] trained
evaluations and rounds to the optimum, runs solved, and the time per ``ask`` (median, max).
Variants: ``model`` (the step as it is), ``plain`` (NOMAD alone), ``latent`` (the step with
P(feasible) of the constraint's latent function, not of a network's result: the step before
``GRID_POF_OF_RESULTS``).

    python experiments/bench_model_search.py --seeds 60 --concurrency 1
    python experiments/bench_model_search.py --seeds 60 --first-seed 60 --variants model latent
    python experiments/bench_model_search.py --seeds 60 --concurrency 8 --variants model plain

The figures behind the defaults: experiments/results/mads_model_search.md.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time

import numpy as np

from bench_mads_table import TableProblem  # experiments/: the table as a blackbox

from hsearch.compare.suite import TABULAR_LEVELS
from hsearch.problems.tabular import NasTable
from hsearch.search import MadsAskTell
from hsearch.search.nomad import model_search

BUDGET = 60


def one_run(problem: TableProblem, seed: int, concurrency: int, model: bool):
    """(trained evaluations, rounds) until the optimum is trained (BUDGET + 1, None if never),
    and the seconds of every ``ask``."""
    settings = problem.settings(seed, BUDGET, block_size=concurrency, model_search=model)
    core = MadsAskTell(settings, known=problem.known, network_key=problem.network)
    rounds, asks = 0, []
    try:
        while not core.finished:
            start = time.perf_counter()
            points = core.ask(timeout=30.0)
            asks.append(time.perf_counter() - start)
            if not points:
                continue
            rounds += 1
            core.tell(points, [problem.blackbox(p) for p in points])
            best = core.best_feasible()
            if best is not None and best[1] <= problem.best * 1.01:
                return core.n_evaluations, rounds, asks
    finally:
        core.close()
    return BUDGET + 1, None, asks


def quartiles(values) -> str:
    q1, q2, q3 = np.percentile(values, [25, 50, 75])
    return f"{q2:g} [{q1:g}, {q3:g}]"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--variants", nargs="+", choices=("model", "plain", "latent"),
                        default=["model", "plain"])
    parser.add_argument("--levels", nargs="+", default=["base", *map(str, TABULAR_LEVELS[1:])],
                        help="thresholds; 'base' = the baseline's accuracy")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    print(f"# seeds {seeds.start}-{seeds.stop - 1}, concurrency {args.concurrency}, "
          f"budget {BUDGET}")
    print("| threshold | variant | solved | evaluations median [q1, q3] | rounds median [q1, q3] "
          "| ask ms median / max | seconds |")
    print("|---|---|---|---|---|---|---|")
    for level_text in args.levels:
        problem = TableProblem(NasTable().threshold if level_text == "base" else float(level_text))
        for variant in args.variants:
            start = time.time()
            model_search.GRID_POF_OF_RESULTS = variant != "latent"
            runs = [one_run(problem, seed, args.concurrency, variant != "plain")
                    for seed in seeds]
            evals = [e for e, _, _ in runs]
            rounds = [r if r is not None else np.inf for _, r, _ in runs]
            asks = np.concatenate([a for _, _, a in runs]) * 1000
            solved = sum(e <= BUDGET for e in evals)
            print(f"| {level_text} | {variant} | {solved}/{len(runs)} | {quartiles(evals)} | "
                  f"{quartiles(rounds)} | {statistics.median(asks):.1f} / {asks.max():.0f} | "
                  f"{time.time() - start:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
