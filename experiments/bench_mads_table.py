"""MADS (``hsearch.search.MadsAskTell``, no Ray) on the shipped NAS table: evaluations to the
optimum, searcher time per decision, crashes and stalls.

The problem is the NAS workflow's on the table (hsearch.problems.tabular): minimise
``macs_ratio`` s.t. ``acc_gap = threshold - acc_mean <= 0``, one grid index per axis, x0 =
the baseline cell. ``--thresholds`` are absolute mean accuracies (the shipped 10-seed table's
baseline is 0.9447; 0.9217, the default's first, was the baseline of the earlier 4-seed table).
One point at a time; a run stops after ``--budget`` trained evaluations.

Per variant and threshold it prints: runs that reached the optimum, the median [q1, q3]
trained evaluations until the optimum was first trained (runs that missed it count as
budget + 1), and over all decisions of all runs the median and maximum searcher time per
decision (wall time inside ``ask``: NOMAD's computation, the pipe, free answers) and the
count of NOMAD child deaths. Variants:

* ``nomad-defaults``: NOMAD's own defaults, no known objective, no restarts (the old searcher);
* ``grid-safe``: hsearch's defaults (ORTHO 2N, no quad/NM search, frame 1/3), no known
  objective, restarts on;
* ``sort``: + the known objective (MACs) as NOMAD's surrogate, no screening;
* ``sort+screen``: + screening (the default when a known objective is given);
* ``screen``: screening without surrogate ordering;
* ``sort+screen-norestart``: restarts off;
* ``sort+screen+monotone``: the surrogate also estimates the constraint from trained points
  that bound a candidate (``monotone_constraints``), so likely-infeasible ones go last.

Run:  python experiments/bench_mads_table.py [--seeds 10] [--budget 60]
      [--thresholds 0.9217 0.95] [--variants sort+screen ...] [--nomad-param "LINE" ...]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time

import numpy as np


class TableProblem:
    """The table at an absolute threshold; blackbox, known objective and network key."""

    def __init__(self, threshold: float):
        from hsearch.problems.tabular import AXES, NasTable

        self.table = NasTable()
        self.threshold = float(threshold)
        self.axes = AXES
        base = self.table.baseline.macs
        feasible = [c for c in self.table.cells.values() if c.acc_mean >= self.threshold]
        if not feasible:
            raise SystemExit(f"no cell reaches threshold {threshold}")
        self.best = min(c.macs for c in feasible) / base
        self.n_feasible = len(feasible)

    def cell(self, x):
        return self.table.cells[tuple(int(round(v)) for v in x)]

    def blackbox(self, x):
        c = self.cell(x)
        return [c.macs / self.table.baseline.macs, self.threshold - c.acc_mean]

    def known(self, x):
        return self.cell(x).macs / self.table.baseline.macs

    def network(self, x):
        return self.cell(x).network

    def settings(self, seed, budget, **kw):
        from hsearch.search import MadsSettings

        shape = self.table.shape
        x0 = tuple(float(i) for i in self.table.baseline.index)
        return MadsSettings(lower=(0.0,) * 3, upper=tuple(float(n - 1) for n in shape),
                            x0=(x0,), input_types=("I",) * 3, n_constraints=1,
                            max_evals=budget, seed=seed, **kw)


VARIANTS = {
    # name: (settings kwargs, use known, use network key, extra nomad params)
    "nomad-defaults": (dict(defaults=False, restart=False), False, False, ()),
    "grid-safe": ({}, False, True, ()),
    "sort": ({}, "sort", True, ()),
    "sort+screen": ({}, True, True, ()),
    "screen": ({}, True, True, ("EVAL_QUEUE_SORT DIR_LAST_SUCCESS",)),
    "sort+screen-norestart": (dict(restart=False), True, True, ()),
    "sort+screen+monotone": (dict(monotone_constraints=True), True, True, ()),
}


def run_once(problem, variant, seed, budget, extra=()):
    from hsearch.search import MadsAskTell

    kw, use_known, use_net, params = VARIANTS[variant]
    settings = problem.settings(seed, budget, nomad_params=tuple(params) + tuple(extra), **kw)
    core = MadsAskTell(settings, known=problem.known if use_known else None,
                       network_key=problem.network if use_net else None)
    if use_known == "sort":
        core = _no_screen(core)
    decisions, reached = [], None
    try:
        while not core.finished:
            t0 = time.perf_counter()
            points = core.ask(timeout=30.0)
            dt = time.perf_counter() - t0
            if points:
                decisions.append(dt / len(points))
            values = []
            for p in points:
                out = problem.blackbox(p)
                values.append(out)
            core.tell(points, values)
            if reached is None:
                best = core.best_feasible()
                if best is not None and best[1] <= problem.best * (1 + 1e-9):
                    reached = core.n_evaluations
    finally:
        core.close()
    return reached, decisions, core.restarts, core.stop_reason, len(core.nomad_runs)


def _no_screen(core):
    """A core that sorts by the known objective but never screens (for the ``sort`` variant)."""
    original = core._free_answer

    def free_answer(key):
        best, core.best_feasible = core.best_feasible, lambda: None
        try:
            return original(key)
        finally:
            core.best_feasible = best

    core._free_answer = free_answer
    return core


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--seed0", type=int, default=0)
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.9217, 0.95])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--nomad-param", action="append", default=[],
                        help="extra NOMAD line for every variant (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    print(f"budget {args.budget}, seeds {args.seed0}..{args.seed0 + args.seeds - 1}, extra "
          f"NOMAD lines {args.nomad_param}")
    print("| threshold | optimum | variant | reached | median evals [q1, q3] | decision median ms "
          "| decision max s | child deaths | NOMAD runs (median) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for threshold in args.thresholds:
        problem = TableProblem(threshold)
        for variant in args.variants:
            evals, decisions, deaths, runs = [], [], 0, []
            for seed in range(args.seed0, args.seed0 + args.seeds):
                reached, d, restarts, _, n_runs = run_once(problem, variant, seed, args.budget,
                                                         args.nomad_param)
                evals.append(reached if reached is not None else args.budget + 1)
                decisions += d
                deaths += restarts
                runs.append(n_runs)
            ok = sum(e <= args.budget for e in evals)
            q1, med, q3 = np.percentile(evals, [25, 50, 75])
            print(f"| {threshold} | {problem.best:.4f} | {variant} | {ok}/{len(evals)} | "
                  f"{med:g} [{q1:g}, {q3:g}] | {1000 * statistics.median(decisions):.1f} | "
                  f"{max(decisions):.2f} | {deaths} | {statistics.median(runs):g} |", flush=True)


if __name__ == "__main__":
    main()
