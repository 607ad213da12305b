"""NOMAD's time per decision on the suite's analytic problems, through the comparison's replay.

Runs ``hsearch compare``'s replay (no Ray) for NOMAD with its model search step on the given
instances, one trial at a time, and prints per instance the time per decision (one suggestion
and its result: median and maximum over all runs, the comparison's own figure) and the best
feasible objective after the budget (median [q1, q3]). Point ``PYTHONPATH`` at another checkout
to time its code with this script:

    python experiments/bench_model_decisions.py --repeats 2
    PYTHONPATH=../other-checkout python experiments/bench_model_decisions.py --repeats 2

The figures: experiments/results/model_search_decisions.md.
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
from pathlib import Path

from hsearch.compare.protocol import CompareSettings
from hsearch.compare.run import run_comparison
from hsearch.problems import list_problems  # the suite's analytic problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0, help="the first run's searcher seed")
    parser.add_argument("--instances", default=",".join(list_problems()))
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    instances = tuple(args.instances.split(","))
    settings = CompareSettings(problem="suite", searchers=("nomad",), repeats=args.repeats,
                               seed=args.seed, instances=instances)
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        run_comparison(settings, out, use_ray=False, max_proposals=200)
        seconds = time.perf_counter() - start
        print(f"| instance | decision ms median / max | best after the budget "
              f"(median [q1, q3], {args.repeats} runs) |")
        print("|---|---|---|")
        for name in instances:
            nomad = json.loads((Path(out) / name / "summary.json").read_text())
            nomad = nomad["searchers"]["nomad"]
            best = nomad["best_at"]["100%"]
            decision = nomad["decision_ms"]
            print(f"| {name} | {decision['median']:.1f} / {decision['max']:.0f} | "
                  f"{best['median']:.6g} [{best['q1']:.6g}, {best['q3']:.6g}] |")
    print(f"replay: {seconds:.1f} s")


if __name__ == "__main__":
    main()
