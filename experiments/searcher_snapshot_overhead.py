"""Cost of Tune snapshots with NomadSearcher: TUNE_GLOBAL_CHECKPOINT_S=0 vs "auto".

With TUNE_GLOBAL_CHECKPOINT_S=0 Tune writes its experiment snapshot (trial statuses +
searcher state) after every controller step, so after a driver crash only trials whose
results never reached the driver run again; "auto" writes it every >= 10 s. This script
runs the same short NomadSearcher experiment (near-instant trials, the worst case for the
overhead) under both settings, each in a fresh process, and prints the wall time, the
number of snapshots and the searcher's own ``save`` time per call.

Run:  python experiments/searcher_snapshot_overhead.py [--evals 30]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def _worker(evals: int, storage: str) -> dict:
    import ray
    from ray import tune

    from hsearch.problems import get_problem
    from hsearch.search import NomadSearcher

    problem = get_problem("g04")
    saves = []

    class TimedSearcher(NomadSearcher):
        def save(self, checkpoint_path):
            t0 = time.perf_counter()
            super().save(checkpoint_path)
            saves.append(time.perf_counter() - t0)

    def trainable(config):
        tune.report(problem.evaluate(config))

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False)
    searcher = TimedSearcher(metric="objective", mode="min",
                             constraints=list(problem.constraints), max_evals=evals, seed=0)
    t0 = time.perf_counter()
    tune.Tuner(tune.with_resources(trainable, {"cpu": 1}), param_space=dict(problem.space),
               tune_config=tune.TuneConfig(search_alg=searcher, num_samples=-1,
                                           reuse_actors=True),
               run_config=tune.RunConfig(storage_path=storage, name="exp", verbose=0)).fit()
    wall = time.perf_counter() - t0
    ray.shutdown()
    return {"wall": wall, "snapshots": len(saves),
            "save_ms": 1000 * sum(saves) / max(1, len(saves)), "evals": len(searcher.evaluations)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evals", type=int, default=30)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        with tempfile.TemporaryDirectory() as storage:
            print("RESULT " + json.dumps(_worker(args.evals, storage)))
        return
    print(f"NomadSearcher on g04, {args.evals} near-instant trials, reuse_actors=True")
    print(f"{'TUNE_GLOBAL_CHECKPOINT_S':>24s} {'wall s':>8s} {'snapshots':>10s} "
          f"{'searcher save ms':>17s}")
    for setting in ("auto", "0"):
        env = {**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": setting}
        proc = subprocess.run([sys.executable, __file__, "--worker", "--evals", str(args.evals)],
                              env=env, capture_output=True, text=True, timeout=1200)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if not lines:
            print(f"{setting:>24s} ERROR {proc.stderr[-500:]}")
            continue
        r = json.loads(lines[-1][7:])
        print(f"{setting:>24s} {r['wall']:8.1f} {r['snapshots']:10d} {r['save_ms']:17.2f}",
              flush=True)


if __name__ == "__main__":
    main()
