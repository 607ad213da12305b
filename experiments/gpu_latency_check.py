"""Latency on the trial's device for a few networks (hsearch.hardware), timed twice: the figures,
their spread, and whether the second timing falls in the first one's spread. No Ray, no PyNomad.

    PYTHONPATH=. python experiments/gpu_latency_check.py [--device cuda]
"""

from __future__ import annotations

import argparse
import json

from hsearch.hardware.latency import network_latency
from hsearch.train import Architecture

NETWORKS = (("senet18", 0.25, 1.0, 0.375), ("senet18", 0.25, 1.0, 1.0), ("resnet18", 1.0, 1.0, 1.0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    rows = []
    for model, width, depth, resolution in NETWORKS:
        arch = Architecture(model, width, depth, resolution)
        first, _ = network_latency(arch, device=args.device)
        second, _ = network_latency(arch, device=args.device)
        row = {"network": f"{model} w{width:g} d{depth:g} r{resolution:g}",
               "first": first.__dict__, "second_latency_ms": second.latency_ms}
        rows.append(row)
        print(f"{row['network']}: latency {first.latency_ms:.3f} ms (IQR {first.latency_ms_iqr:.3f}), "
              f"again {second.latency_ms:.3f} ms; throughput {first.throughput_ips:.0f} img/s; "
              f"{first.device_name}, {first.dtype}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1, default=str)


if __name__ == "__main__":
    main()
