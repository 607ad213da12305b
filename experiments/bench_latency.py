"""MACs-optimal vs latency-optimal network on this machine, and what timing one network costs.

On the shipped tabulated NAS benchmark (hsearch.problems.tabular.DEFAULT_TABLE: the
``hsearch demo`` box, every cell trained on several seeds), the feasible cells are those whose
mean accuracy reaches the baseline cell's (1, 1, 1). This script times every distinct feasible
network with hsearch.hardware (batch 1, float32 on CPU, 1 torch thread as a demo trial uses),
then re-times the MACs-optimal network and the fastest few, interleaved over ``--rounds``
rounds, and reports the median over rounds: which network is fastest, how its latency and MACs
compare with the MACs-optimal one, the seconds one measurement cost, the rank correlation of
latency with MACs and with depth over the feasible networks, and the network of the highest
throughput (batch 32) beside the MACs-optimal one's. Prints figures and
writes them to experiments/results/latency_macs_vs_latency.json (no asserts).

Usage::

    python experiments/bench_latency.py               # about 2-4 min on 2 shared cores
    python experiments/bench_latency.py --threads 2 --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from hsearch.hardware import LatencySettings, device_name, network_latency
from hsearch.problems.tabular import NasTable
from hsearch.train import Architecture


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="re-timing rounds of the finalists")
    parser.add_argument("--finalists", type=int, default=5)
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"
                                             / "latency_macs_vs_latency.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    table = NasTable()
    base = table.metadata["base_arch"]
    feasible = {}
    for cell in table.cells.values():
        if cell.acc_mean >= table.threshold:
            feasible.setdefault(cell.network, cell)  # one cell per distinct network
    load_before = os.getloadavg()
    settings = LatencySettings()
    timed, seconds, throughput = [], [], {}
    for cell in feasible.values():
        w, d, r = cell.multipliers
        arch = Architecture(base["model"], width=base["width"] * w, depth=base["depth"] * d,
                            resolution=base["resolution"] * r)
        latency, _ = network_latency(arch, 10, "cpu", None, args.threads, settings)
        timed.append((latency.latency_ms, cell, arch))
        throughput[cell.network] = latency.throughput_ips
        seconds.append(latency.seconds)
    smallest = min(timed, key=lambda t: (t[1].macs, t[0]))
    finalists = sorted(timed, key=lambda t: t[0])[:args.finalists]
    if all(f[1] is not smallest[1] for f in finalists):
        finalists.append(smallest)
    medians = {f[1].network: [] for f in finalists}
    for _ in range(args.rounds):  # interleaved, so a burst of load hits them all alike
        for _, cell, arch in finalists:
            latency, _ = network_latency(arch, 10, "cpu", None, args.threads, settings)
            medians[cell.network].append(latency.latency_ms)
    final = [(statistics.median(medians[c.network]), c, a) for _, c, a in finalists]
    fastest = min(final, key=lambda t: t[0])
    small = next(t for t in final if t[1] is smallest[1])

    def describe(entry):
        ms, cell, arch = entry
        rounds = medians[cell.network]
        return {"multipliers": dict(zip(("width", "depth", "resolution"), cell.multipliers)),
                "input_size": cell.input_size, "macs": cell.macs, "params": cell.params,
                "acc_mean": round(cell.acc_mean, 4), "latency_ms": round(ms, 3),
                "latency_ms_rounds": [round(v, 3) for v in rounds]}

    result = {
        "machine": device_name("cpu"), "threads": args.threads, "cores": os.cpu_count(),
        "load_before": [round(v, 2) for v in load_before],
        "load_after": [round(v, 2) for v in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M"), "settings": settings.__dict__,
        "threshold": round(table.threshold, 4), "feasible_networks": len(feasible),
        "seconds_per_network": {"median": round(statistics.median(seconds), 3),
                                "max": round(max(seconds), 3)},
        "macs_optimal": describe(small), "latency_optimal": describe(fastest),
        "speedup_of_latency_optimal": round(small[0] / fastest[0], 3),
        "macs_ratio_of_latency_optimal": round(fastest[1].macs / small[1].macs, 3),
    }
    lat = np.array([t[0] for t in timed])
    result["spearman_macs_vs_latency"] = round(_spearman([t[1].macs for t in timed], lat), 3)
    result["spearman_depth_vs_latency"] = round(
        _spearman([t[1].multipliers[1] for t in timed], lat), 3)
    best_ips = max(timed, key=lambda t: throughput[t[1].network])
    result["throughput_optimal"] = {
        "multipliers": dict(zip(("width", "depth", "resolution"), best_ips[1].multipliers)),
        "macs": best_ips[1].macs, "throughput_ips": round(throughput[best_ips[1].network], 1),
        "macs_optimal_throughput_ips": round(throughput[smallest[1].network], 1)}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


def _spearman(x, y) -> float:
    """Spearman's rank correlation (average ranks for ties)."""
    from scipy.stats import spearmanr

    return float(spearmanr(x, y).statistic)


if __name__ == "__main__":
    main()
