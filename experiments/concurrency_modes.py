"""Evidence for NomadSearcher's concurrency mode: block evaluation vs NOMAD threads vs
suggest/observe.

Each NOMAD run happens in a fresh subprocess (this script re-invoked with ``--worker``)
because PyNomad's RNG is per process. Evaluations sleep for an uneven, point-dependent
time (deterministic from the point, exponential with mean ``--mean-s``) to mimic
trials that finish unevenly, with ``--workers`` evaluations allowed at once:

* ``block``   -- ``BB_MAX_BLOCK_SIZE n``: the block callback runs the block's points in
  n threads and returns when all finished (what NomadSearcher does through Tune);
* ``mega``    -- ``block`` plus ``MEGA_SEARCH_POLL yes`` (search and poll points proposed
  together, so blocks fill up);
* ``threads`` -- ``NB_THREADS_PARALLEL_EVAL n`` with the single-point callback (NOMAD's
  own OpenMP evaluation threads);
* ``observe`` -- the ``PyNomad.suggest``/``observe`` loop (``MEGA_SEARCH_POLL yes``,
  cache file), each suggested batch run n at a time.

For each mode and problem it prints: best feasible objective at the budget, whether two
runs with the same seed evaluated the same set of points, the mean batch size NOMAD
handed over (blocks; "-" for threads), the peak number of evaluations running at once,
and worker utilisation = busy worker-seconds / (n * wall seconds) (1.0 = never idle; it
also counts NOMAD's own computing time between batches as idle).

Run:  python experiments/concurrency_modes.py [--evals 60] [--mean-s 0.1] [--workers 4]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import hashlib
import json
import os
import struct
import subprocess
import sys
import tempfile
import threading
import time


def _duration(point, mean_s: float) -> float:
    """Deterministic exponential duration from the point's bytes (uneven trial lengths)."""
    digest = hashlib.sha256(struct.pack(f"{len(point)}d", *point)).digest()
    u = (int.from_bytes(digest[:8], "big") + 1) / 2.0**64
    import math

    return min(6 * mean_s, -mean_s * math.log(u))


def _worker(mode: str, problem_name: str, evals: int, workers: int, mean_s: float, seed: int):
    import PyNomad

    from hsearch.problems import get_problem
    from hsearch.problems.analytic import ProblemBlackbox
    from hsearch.search.space import SpaceCodec

    problem = get_problem(problem_name)
    codec = SpaceCodec(problem.space)
    blackbox = ProblemBlackbox(problem_name)
    x0 = [float(v) for v in (codec.encode(problem.x0) if problem.x0 else codec.center())]
    m = len(problem.constraints)
    params = [
        f"DIMENSION {codec.dimension}",
        f"BB_INPUT_TYPE ( {' '.join(codec.input_types)} )",
        "BB_OUTPUT_TYPE OBJ" + " PB" * m,
        f"MAX_BB_EVAL {evals}",
        f"SEED {seed}",
        "DISPLAY_DEGREE 0",
    ]
    history = []  # (point, f, feasible)
    busy = [0.0]
    running = [0, 0]  # now, peak
    lock = threading.Lock()

    def run_point(p):
        d = _duration(p, mean_s)
        with lock:
            running[0] += 1
            running[1] = max(running[1], running[0])
        time.sleep(d)
        out = blackbox(p)
        with lock:
            running[0] -= 1
            busy[0] += d
            history.append((list(p), out[0], all(c <= 0 for c in out[1:])))
        return out

    batches = []
    t0 = time.monotonic()
    if mode in ("block", "mega"):
        pool = cf.ThreadPoolExecutor(workers)

        def bb(block):
            try:
                xs = [block.get_x(k) for k in range(block.size())] if hasattr(block, "get_x") \
                    else [block]
                pts = [[x.get_coord(i) for i in range(x.size())] for x in xs]
                batches.append(len(pts))
                outs = list(pool.map(run_point, pts))
                for x, out in zip(xs, outs):
                    x.setBBO(" ".join(repr(v) for v in out).encode())
                return [True] * len(xs) if hasattr(block, "get_x") else True
            except BaseException:
                os._exit(3)

        extra = ["MEGA_SEARCH_POLL yes"] if mode == "mega" else []
        PyNomad.optimize(bb, x0, list(codec.lower), list(codec.upper),
                         params + [f"BB_MAX_BLOCK_SIZE {workers}"] + extra)
    elif mode == "threads":

        def bb(x):
            p = [x.get_coord(i) for i in range(x.size())]
            out = run_point(p)
            x.setBBO(" ".join(repr(v) for v in out).encode())
            return True

        PyNomad.optimize(bb, x0, list(codec.lower), list(codec.upper),
                         params + [f"NB_THREADS_PARALLEL_EVAL {workers}"])
    elif mode == "observe":
        pool = cf.ThreadPoolExecutor(workers)
        tmp = tempfile.mkdtemp()
        cache = os.path.join(tmp, "cache.txt")
        with open(cache, "w") as f:
            f.write("")
        base = [p for p in params if not p.startswith(("MAX_BB_EVAL", "SEED"))] + [
            f"LOWER_BOUND ( {' '.join(repr(float(v)) for v in codec.lower)} )",
            f"UPPER_BOUND ( {' '.join(repr(float(v)) for v in codec.upper)} )",
            f"CACHE_FILE {cache}", "MEGA_SEARCH_POLL yes", f"SEED {seed}",
        ]
        # first batch: x0 itself (suggest refuses X0), then MADS mega search-poll steps
        pts = [x0]
        extra: dict[str, str] = {}
        n_done = 0
        while n_done < evals:
            pts = pts[: evals - n_done]
            if not pts:
                break
            batches.append(len(pts))
            outs = list(pool.map(run_point, pts))
            n_done += len(pts)
            updated = PyNomad.observe(base + list(extra.values()), pts, outs, cache)
            for line in updated:
                line = line.decode() if isinstance(line, bytes) else line
                extra[line.split()[0].upper()] = line
            pts = [list(p) for p in PyNomad.suggest(base + list(extra.values()))]
    wall = time.monotonic() - t0
    best = min((f for _, f, feas in history if feas), default=None)
    return {
        "mode": mode, "problem": problem_name, "best": best, "n": len(history),
        "wall": wall, "busy": busy[0], "util": busy[0] / (workers * wall) if wall else 0.0,
        "mean_batch": sum(batches) / len(batches) if batches else None,
        "peak": running[1],
        # the set of evaluated points (completion order varies with thread timing anyway)
        "trajectory": hashlib.sha256(json.dumps(sorted(h[0] for h in history)).encode()
                                     ).hexdigest(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", default="g06,g04,pressure_vessel")
    parser.add_argument("--modes", default="block,mega,threads,observe")
    parser.add_argument("--evals", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--mean-s", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("MODE", "PROBLEM"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        out = _worker(args.worker[0], args.worker[1], args.evals, args.workers, args.mean_s,
                      args.seed)
        print("RESULT " + json.dumps(out))
        return

    def run(mode, problem):
        cmd = [sys.executable, __file__, "--worker", mode, problem, "--evals", str(args.evals),
               "--workers", str(args.workers), "--mean-s", str(args.mean_s),
               "--seed", str(args.seed)]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
        for line in proc.stdout.splitlines():
            if line.startswith("RESULT "):
                return json.loads(line[7:])
        return {"mode": mode, "problem": problem, "error": proc.stderr[-300:]}

    print(f"{args.workers} workers, {args.evals} evaluations, exponential durations mean "
          f"{args.mean_s}s, seed {args.seed}")
    header = f"{'problem':16s} {'mode':8s} {'best feasible':>14s} {'same pts':>9s} " \
             f"{'mean batch':>10s} {'peak':>5s} {'util':>6s} {'wall s':>7s}"
    print(header)
    print("-" * len(header))
    for problem in args.problems.split(","):
        for mode in args.modes.split(","):
            a, b = run(mode, problem), run(mode, problem)
            if "error" in a or "error" in b:
                print(f"{problem:16s} {mode:8s} ERROR {(a.get('error') or b.get('error'))!r}")
                continue
            best = "none" if a["best"] is None else f"{a['best']:.4f}"
            same = a["trajectory"] == b["trajectory"]
            batch = "-" if a["mean_batch"] is None else f"{a['mean_batch']:.2f}"
            print(f"{problem:16s} {mode:8s} {best:>14s} {str(same):>9s} {batch:>10s} "
                  f"{max(a['peak'], b['peak']):5d} {(a['util'] + b['util']) / 2:6.2f} "
                  f"{(a['wall'] + b['wall']) / 2:7.2f}", flush=True)


if __name__ == "__main__":
    main()
