"""hsearch's NOMAD defaults vs NOMAD's own on the analytic problems (continuous and mixed).

For each problem, ``--seeds`` seeds and ``--evals`` trained evaluations, one point at a time
(``MadsAskTell``, no Ray): the median best feasible objective (k/n: only k runs found a
feasible point), the relative gap to the known optimum, and the median / max searcher time per
decision. Variants: ``nomad`` (NOMAD's defaults, no restarts), ``grid-safe`` (hsearch's
defaults: ORTHO 2N, no quad-model/NM search, frame 1/3; restarts), ``grid-safe+quad``
(the same with NOMAD's quadratic-model search and ORTHO N+1 QUAD kept).

Run:  python experiments/bench_mads_defaults.py [--seeds 5] [--evals 100] [--problems g06 ...]
"""

from __future__ import annotations

import argparse
import statistics
import time

VARIANTS = {
    "nomad": (dict(defaults=False, restart=False), ()),
    "grid-safe": ({}, ()),
    "grid-safe+quad": ({}, ("DIRECTION_TYPE ORTHO N+1 QUAD", "QUAD_MODEL_SEARCH yes")),
}


def run(name, variant, seed, evals):
    from hsearch.problems import get_problem
    from hsearch.problems.analytic import ProblemBlackbox
    from hsearch.search import MadsAskTell, MadsSettings, SpaceCodec

    problem = get_problem(name)
    codec = SpaceCodec(problem.space)
    x0 = codec.encode(problem.x0) if problem.x0 else codec.center()
    kw, params = VARIANTS[variant]
    settings = MadsSettings.from_codec(codec, x0=(x0,), n_constraints=len(problem.constraints),
                                       max_evals=evals, seed=seed, nomad_params=params, **kw)
    blackbox = ProblemBlackbox(name)
    core, decisions = MadsAskTell(settings), []
    try:
        while not core.finished:
            t0 = time.perf_counter()
            points = core.ask(timeout=30.0)
            if points:
                decisions.append((time.perf_counter() - t0) / len(points))
            core.tell(points, [blackbox(p) for p in points])
    finally:
        core.close()
    best = core.best_feasible()
    return (None if best is None else best[1]), decisions, problem.best_value


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--evals", type=int, default=100)
    parser.add_argument("--problems", nargs="+", default=["g06", "g04", "pressure_vessel",
                                                          "g07"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)
    print(f"{args.evals} evaluations, seeds 0..{args.seeds - 1}")
    print("| problem | variant | feasible runs | median best | median gap | decision median ms "
          "| decision max s |")
    print("|---|---|---|---|---|---|---|")
    for name in args.problems:
        for variant in args.variants:
            bests, decisions = [], []
            for seed in range(args.seeds):
                best, d, optimum = run(name, variant, seed, args.evals)
                bests.append(best)
                decisions += d
            found = [b for b in bests if b is not None]
            med = statistics.median(found) if found else float("nan")
            gap = (med - optimum) / max(abs(optimum), 1e-12)
            print(f"| {name} | {variant} | {len(found)}/{len(bests)} | {med:.6g} | {gap:.2%} | "
                  f"{1000 * statistics.median(decisions):.1f} | {max(decisions):.2f} |",
                  flush=True)


if __name__ == "__main__":
    main()
