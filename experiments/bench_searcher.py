"""NomadSearcher vs standalone NOMAD, Tune random search and OptunaSearch on analytic
constrained problems with known optima, at equal evaluation budget.

For each problem and seed it runs:

* ``PyNomad.optimize`` standalone (``run_standalone``: a plain block callback, in its own
  process) with block size 1 and 4;
* ``NomadSearcher`` with ``max_concurrent`` 1 and 4, driven through the Tune ``Searcher``
  API (suggest / on_trial_complete) without Ray, trials finishing in random order;
* Tune's random search (each domain's own ``sample``, what ``BasicVariantGenerator``
  draws), the starting point first;
* ``OptunaSearch`` (TPE) through the same Searcher API, one trial at a time, the starting
  point enqueued. It has no constraints argument: it minimises ``f`` when feasible and
  ``1e9 + total violation`` otherwise.

It prints the median best *feasible* objective over the seeds ("k/n" when only k seeds
found a feasible point, "-" when none did), and each searcher's decision time per
evaluation at concurrency 1, measured in the same run:

* wall: time spent inside ``suggest`` + ``on_trial_complete``, divided by the number of
  evaluations. For NomadSearcher this includes waiting for NOMAD's child process to
  compute the next block (its real decision time; the Tune driver is never held up by it
  while trials run) and starting the child;
* CPU: processor time of the same, which does not grow with the machine's load: for
  NomadSearcher the driver's share plus the NOMAD child's (``RUSAGE_CHILDREN``).

Run:  python experiments/bench_searcher.py [--evals 100] [--seeds 3] [--problems ...]
      [--nomad-param "QUAD_MODEL_SEARCH no" ...]
"""

from __future__ import annotations

import argparse
import logging
import random
import resource
import statistics
import time

import numpy as np


def _outputs(problem, metrics):
    return [metrics[problem.objective]] + [metrics[c] for c in problem.constraints]


def _best_feasible(problem, metrics_list):
    vals = [m[problem.objective] for m in metrics_list if problem.is_feasible(m)]
    return min(vals) if vals else None


def _drive(searcher, problem, evals, concurrency, rng, timer, penalised=False):
    """Run a Tune Searcher through its API; trials finish in random order."""
    from ray.tune.search import Searcher

    live, seen, i = {}, [], 0
    while len(seen) < evals:
        config = None
        if len(live) < concurrency and len(seen) + len(live) < evals:
            t0, c0 = time.perf_counter(), time.process_time()
            config = searcher.suggest(f"t{i}")
            timer[0] += time.perf_counter() - t0
            timer[1] += time.process_time() - c0
            if config == Searcher.FINISHED:
                if not live:
                    break
                config = None
            elif config is not None:
                live[f"t{i}"] = config
            i += 1
        if config is None and live:
            tid = rng.choice(sorted(live))
            metrics = problem.evaluate(live.pop(tid))
            result = dict(metrics)
            if penalised:
                result["penalised"] = (metrics[problem.objective] if problem.is_feasible(metrics)
                                       else 1e9 + sum(max(0.0, metrics[c])
                                                      for c in problem.constraints))
            t0, c0 = time.perf_counter(), time.process_time()
            searcher.on_trial_complete(tid, result)
            timer[0] += time.perf_counter() - t0
            timer[1] += time.process_time() - c0
            seen.append(metrics)
    return seen


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_problem(name, evals, seeds, nomad_params=()):
    from ray.tune.search.optuna import OptunaSearch

    from hsearch.problems import get_problem
    from hsearch.problems.analytic import ProblemBlackbox
    from hsearch.search import MadsSettings, NomadSearcher, SpaceCodec, run_standalone

    problem = get_problem(name)
    codec = SpaceCodec(problem.space)
    x0 = codec.encode(problem.x0) if problem.x0 else codec.center()
    start = problem.x0 or codec.decode(x0)
    cols = {k: [] for k in ("nomad1", "searcher1", "nomad4", "searcher4", "random", "optuna")}
    times = {"searcher": [0.0, 0.0, 0], "optuna": [0.0, 0.0, 0]}  # wall, CPU, evaluations
    for seed in seeds:
        for block in (1, 4):
            settings = MadsSettings.from_codec(
                codec, x0=(x0,), n_constraints=len(problem.constraints), max_evals=evals,
                block_size=block, seed=seed, nomad_params=tuple(nomad_params))
            cols[f"nomad{block}"].append(
                run_standalone(settings, ProblemBlackbox(name)).best_feasible(evals))
            searcher = NomadSearcher(
                metric=problem.objective, mode=problem.mode,
                constraints=list(problem.constraints), points_to_evaluate=[start],
                max_evals=evals, max_concurrent=block, seed=seed, nomad_params=nomad_params)
            searcher.set_search_properties(None, None, dict(problem.space))
            timer = [0.0, 0.0]
            child0 = _children_cpu()
            seen = _drive(searcher, problem, evals, block, random.Random(seed), timer)
            searcher.close()  # reaps the NOMAD child, so its CPU time is counted now
            cols[f"searcher{block}"].append(_best_feasible(problem, seen))
            if block == 1:
                times["searcher"][0] += timer[0]
                times["searcher"][1] += timer[1] + _children_cpu() - child0
                times["searcher"][2] += len(seen)
        # Tune random search: each domain's own sampler (BasicVariantGenerator's draw)
        rng = np.random.default_rng(seed)
        samples = [start] + [
            {k: (v.sample(random_state=rng) if hasattr(v, "sample") else v)
             for k, v in problem.space.items()} for _ in range(evals - 1)]
        cols["random"].append(_best_feasible(problem, [problem.evaluate(c) for c in samples]))
        optuna = OptunaSearch(metric="penalised", mode="min", seed=seed,
                              points_to_evaluate=[start])
        optuna.set_search_properties(None, None, dict(problem.space))
        timer = [0.0, 0.0]
        seen = _drive(optuna, problem, evals, 1, random.Random(seed), timer, penalised=True)
        cols["optuna"].append(_best_feasible(problem, seen))
        times["optuna"][0] += timer[0]
        times["optuna"][1] += timer[1]
        times["optuna"][2] += len(seen)
    ms = {k: (1000 * w / max(1, n), 1000 * c / max(1, n)) for k, (w, c, n) in times.items()}
    return problem, cols, ms


def _fmt(values):
    found = [v for v in values if v is not None]
    if not found:
        return "-"
    text = f"{statistics.median(found):.2f}"
    return text if len(found) == len(values) else f"{text} ({len(found)}/{len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="g06,g04,pressure_vessel,g07")
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--nomad-param", action="append", default=[],
                        help="extra NOMAD parameter line (repeatable), e.g. 'QUAD_MODEL_SEARCH no'")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    seeds = list(range(args.seeds))
    print(f"budget {args.evals} evaluations, median over seeds {seeds}; best feasible objective "
          f"(minimised); NOMAD parameters: {args.nomad_param or 'defaults'}")
    header = (f"{'problem':16s} {'optimum':>11s} {'NOMAD bs1':>11s} {'Searcher c1':>11s} "
              f"{'NOMAD bs4':>11s} {'Searcher c4':>11s} {'random':>11s} {'Optuna TPE':>11s} "
              f"{'Nomad ms/eval':>15s} {'Optuna ms/eval':>15s}")
    print(header)
    print("-" * len(header))
    for name in args.problems.split(","):
        t0 = time.time()
        problem, cols, ms = run_problem(name, args.evals, seeds, args.nomad_param)
        nomad_ms = f"{ms['searcher'][0]:.1f} / {ms['searcher'][1]:.1f}"
        optuna_ms = f"{ms['optuna'][0]:.1f} / {ms['optuna'][1]:.1f}"
        print(f"{name:16s} {problem.best_value:11.2f} {_fmt(cols['nomad1']):>11s} "
              f"{_fmt(cols['searcher1']):>11s} {_fmt(cols['nomad4']):>11s} "
              f"{_fmt(cols['searcher4']):>11s} {_fmt(cols['random']):>11s} "
              f"{_fmt(cols['optuna']):>11s} {nomad_ms:>15s} {optuna_ms:>15s}"
              f"   [{time.time() - t0:.0f} s]", flush=True)
        same = [a == b for a, b in zip(cols["nomad1"] + cols["nomad4"],
                                       cols["searcher1"] + cols["searcher4"])]
        if not all(same):
            print(f"  note: searcher != standalone in {same.count(False)} runs")
    print("ms/eval: wall / CPU time inside suggest + on_trial_complete per evaluation "
          "(concurrency 1; Nomad CPU includes its NOMAD child process)")


if __name__ == "__main__":
    main()
