"""Generate the tabulated NAS benchmark (hsearch.problems.tabular): real training runs on a grid.

Every cell of a grid over width x depth x resolution multipliers of the demo's baseline (SENet-18
at width 0.25, depth 1, resolution 0.375 = 12 px; the demo's training settings,
hsearch.workflows.demo) is trained on the embedded digits data for a fixed **epoch** budget
(2 epochs) on several subset seeds, and every (cell, seed) becomes one row of a CSV file:

    width,depth,resolution,seed,accuracy,status,train_seconds,macs,params,input_size,network

An epoch budget makes the accuracies independent of the machine; the measured training seconds
(on the machine that made the table, one torch thread per run) are recorded as well, and the
replay backend charges them on its simulated clock.

Multipliers that round to the same network (channels, blocks, input size: the same
``network_digest``) train identically for a given seed, so each distinct network is trained once
per seed and its rows are written for every cell that builds it (they share ``network``).

Resumable: rows are appended (and flushed) as runs finish; a rerun skips every (network, seed)
already in the file. Work goes seed by seed (all networks for seed 0, then seed 1, ...; cheap
networks first within a seed), so a run stopped early leaves whole seeds behind.

Run (the shipped 10-seed table, 1,450 seed-runs: 37 minutes on 2 shared AMD EPYC cores,
2026-12-06; its ``.json`` says how it was made)::

    python experiments/make_tabular.py --workers 2 --seeds 10 --baseline-seeds 20
    python experiments/make_tabular.py --check      # counts, the baseline, the optimum

The older 4-seed table (``nas_digits_senet18.csv``, 2026-11-22, another 2-core machine: an Intel
Xeon) stays in the package so that results made on it replay (``--table``).

The companion ``<out>.json`` records the settings, the grid and the software versions.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from pathlib import Path

import numpy as np

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "hsearch" / "problems" / "data" / \
    "nas_digits_senet18_10seeds.csv"
FIELDS = ("width", "depth", "resolution", "seed", "accuracy", "status", "train_seconds", "macs",
          "params", "input_size", "network")
# grid axes (multipliers of the baseline's): start, stop (inclusive), step
AXES = {"width": (0.25, 1.5, 0.25), "depth": (0.25, 1.5, 0.25), "resolution": (0.5, 1.5, 0.125)}


def axis_values(start: float, stop: float, step: float) -> list[float]:
    """``start, start + step, ..., stop`` (inclusive), rounded to the step's decimals."""
    n = int(round((stop - start) / step))
    return [round(start + i * step, 6) for i in range(n + 1)]


def _arch(settings, cell):
    from hsearch.train import Architecture

    base = settings.arch
    w, d, r = cell
    return Architecture(base.model, width=base.width * w, depth=base.depth * d,
                        resolution=base.resolution * r)


# per worker process: the settings and the data set, loaded once by _init_worker
_WORKER: dict = {}


def _init_worker() -> None:
    import torch

    from hsearch.workflows.demo import demo_settings

    torch.set_num_threads(1)
    settings = demo_settings()
    _WORKER["settings"] = settings
    _WORKER["dataset"] = settings.data.load()


def _train(cell, seed):
    """One (network, seed) run in a worker process; returns (cell, seed, SeedResult dict)."""
    from hsearch.train import train_one_seed

    settings, dataset = _WORKER["settings"], _WORKER["dataset"]
    result = train_one_seed(_arch(settings, cell), settings.train, settings.budget, dataset,
                            seed, sizes=settings.data.sizes(), split="val", device="cpu")
    return cell, seed, {"accuracy": result.accuracy, "status": result.status,
                        "train_seconds": result.train_seconds}


def _estimate_seconds(macs: int) -> float:
    # measured on the 2-core machine: ~1.1 s at 0.3 M MACs, ~3.8 s at 5.9 M, ~17 s at 48 M
    return 0.9 + 3.0 * (macs / 5.9e6) ** 0.75


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def metadata(settings, seeds: list[int], grid: dict) -> dict:
    import ray
    import torch

    import hsearch
    from hsearch.configs import to_mapping
    from hsearch.hardware.latency import device_name

    return {
        "description": "digits NAS table: SENet-18 scaled by width/depth/resolution multipliers "
                       "of the demo baseline, trained for an epoch budget on several subset seeds",
        "generator": "experiments/make_tabular.py",
        "dataset": settings.data.name,
        "sizes": to_mapping(settings.data.sizes()),
        "split": "val",
        "base_arch": to_mapping(settings.arch),
        "train": to_mapping(settings.train),
        "budget": settings.budget.text,
        "seeds": seeds,
        "grid": {k: {"start": a, "stop": b, "step": s} for k, (a, b, s) in grid.items()},
        "baseline_cell": {"width": 1.0, "depth": 1.0, "resolution": 1.0},
        "train_seconds": "measured per run, one torch thread, on the generating machine "
                         "(shared with other jobs: expect noise of tens of percent)",
        "made": {"date": time.strftime("%Y-%m-%d", time.gmtime()), "cpu": device_name("cpu"),
                 "command": " ".join(["python", *sys.argv])},
        "versions": {"hsearch": hsearch.__version__, "torch": torch.__version__,
                     "ray": ray.__version__, "python": platform.python_version(),
                     "machine": platform.machine(), "cpus": os.cpu_count()},
    }


def generate(out: Path, seeds: list[int], workers: int, baseline_seeds: int = 0) -> None:
    """Train what is missing from ``out`` and append it (see the module docstring); the
    baseline network (multipliers 1, 1, 1) also on seeds ``len(seeds) .. baseline_seeds - 1``."""
    from hsearch.workflows.demo import demo_settings
    from hsearch.workflows.seed_cache import network_digest

    settings = demo_settings()
    grid = {k: axis_values(*v) for k, v in AXES.items()}
    cells = list(itertools.product(grid["width"], grid["depth"], grid["resolution"]))
    networks: dict[str, list] = {}
    cost = {}
    for cell in cells:
        arch = _arch(settings, cell)
        key = network_digest(arch)
        networks.setdefault(key, []).append(cell)
        cost[cell] = arch.cost()
    out.parent.mkdir(parents=True, exist_ok=True)
    base_key = network_digest(_arch(settings, (1.0, 1.0, 1.0)))
    extra = list(range(len(seeds), baseline_seeds))
    meta = metadata(settings, seeds, AXES)
    meta["baseline_seeds"] = seeds + extra
    out.with_suffix(".json").write_text(json.dumps(meta, indent=2) + "\n")
    done = {(r["network"], int(r["seed"])) for r in read_rows(out)}
    todo = [(seed, key) for seed in seeds for key in sorted(
        networks, key=lambda k: cost[networks[k][0]].macs) if (key, seed) not in done]
    todo += [(seed, base_key) for seed in extra if (base_key, seed) not in done]
    total_est = sum(_estimate_seconds(cost[networks[k][0]].macs) for _, k in todo)
    print(f"{len(cells)} cells, {len(networks)} distinct networks, seeds {seeds}: "
          f"{len(todo)} runs to do (~{total_est / 60:.0f} core-minutes)", flush=True)
    new_file = not out.exists() or out.stat().st_size == 0
    started = time.time()
    # spawn: the parent has torch loaded (network digests); forking it is not safe
    context = multiprocessing.get_context("spawn")
    with out.open("a", newline="") as f, ProcessPoolExecutor(
            workers, mp_context=context, initializer=_init_worker) as pool:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        if new_file:
            writer.writeheader()
        queue = list(todo)
        running = {}
        finished = 0
        while queue or running:
            while queue and len(running) < workers:
                seed, key = queue.pop(0)
                running[pool.submit(_train, networks[key][0], seed)] = key
            ready, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in ready:
                key = running.pop(future)
                _, seed, res = future.result()
                for cell in networks[key]:
                    c = cost[cell]
                    writer.writerow({"width": cell[0], "depth": cell[1], "resolution": cell[2],
                                     "seed": seed, "accuracy": f"{res['accuracy']:.6f}",
                                     "status": res["status"],
                                     "train_seconds": f"{res['train_seconds']:.4f}",
                                     "macs": c.macs, "params": c.params,
                                     "input_size": c.resolution, "network": key})
                f.flush()
                finished += 1
                if finished % 10 == 0 or not (queue or running):
                    print(f"  {finished}/{len(todo)} runs, {time.time() - started:.0f} s",
                          flush=True)


def check(out: Path) -> None:
    """Print what the table holds: cells, seeds per cell, the baseline, feasible cells."""
    rows = read_rows(out)
    cells: dict = {}
    for r in rows:
        key = (float(r["width"]), float(r["depth"]), float(r["resolution"]))
        cells.setdefault(key, {"macs": int(r["macs"]), "accs": {}, "secs": {}})
        cells[key]["accs"][int(r["seed"])] = float(r["accuracy"])
        cells[key]["secs"][int(r["seed"])] = float(r["train_seconds"])
    seeds = sorted({s for c in cells.values() for s in c["accs"]})
    complete = [s for s in seeds if all(s in c["accs"] for c in cells.values())]
    print(f"{len(rows)} rows, {len(cells)} cells, seeds {seeds} (complete: {complete})")
    if not complete or (1.0, 1.0, 1.0) not in cells:
        return
    # every seed a cell has (the baseline's extra ones too): the table's truth
    mean = {k: float(np.mean(list(c["accs"].values()))) for k, c in cells.items()}
    base = mean[(1.0, 1.0, 1.0)]
    base_macs = cells[(1.0, 1.0, 1.0)]["macs"]
    print(f"baseline seeds: {len(cells[(1.0, 1.0, 1.0)]['accs'])}")
    feasible = sorted((cells[k]["macs"], k) for k in cells if mean[k] >= base)
    print(f"baseline (1,1,1): acc {base:.4f}, {base_macs} MACs; feasible cells: "
          f"{len(feasible)} of {len(cells)}")
    for macs, k in feasible[:8]:
        print(f"  {k}: {macs / base_macs:.3f}x MACs, acc {mean[k]:.4f}")
    secs = sum(float(r["train_seconds"]) for r in rows)
    print(f"recorded training seconds, all rows: {secs:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--baseline-seeds", type=int, default=0,
                        help="train the baseline network on this many seeds (more than --seeds: "
                             "a steadier threshold)")
    parser.add_argument("--check", action="store_true", help="only summarise the table")
    args = parser.parse_args()
    if not args.check:
        generate(args.out, list(range(args.seeds)), args.workers, args.baseline_seeds)
    check(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
