"""A tiny NAS table the compare tests build themselves (they must not depend on the shipped one).

Grid: width {0.5, 0.75, 1, 1.25, 1.5} x depth {0.5, 1, 1.5} x resolution {0.5, 0.75, 1, 1.25,
1.5}, 2 seeds per cell (75 cells: big enough that a short search does not exhaust it). MACs
grow with every multiplier; accuracy grows with width and resolution, so small cells are
infeasible and the optimum is an interior trade-off. At width 0.5 every depth builds "the same
network" (shared ``network`` digest, identical rows), as rounding does in
the real table, so the replay's per-network cache can be tested.
"""

from __future__ import annotations

import csv
import itertools
from pathlib import Path

WIDTHS = (0.5, 0.75, 1.0, 1.25, 1.5)
DEPTHS = (0.5, 1.0, 1.5)
RESOLUTIONS = (0.5, 0.75, 1.0, 1.25, 1.5)
SEEDS = (0, 1)
FIELDS = ("width", "depth", "resolution", "seed", "accuracy", "status", "train_seconds", "macs",
          "params", "input_size", "network")


def cell_values(w: float, d: float, r: float, seed: int) -> dict:
    """The row values of one (cell, seed); exact binary fractions so sums are exact."""
    if w == 0.5:
        d = 1.0  # width 0.5: every depth builds the same network
    macs = int(1000 * w * w * d * r * r * 4)
    acc = 0.5 + 0.125 * w + 0.125 * r + 0.0625 * d + (0.015625 if seed else -0.015625)
    seconds = 0.5 + 2.0 * w * d * r + 0.25 * seed
    return {"seed": seed, "accuracy": acc, "status": "ok",
            "train_seconds": seconds, "macs": macs, "params": int(100 * w * w * d),
            "input_size": int(12 * r), "network": f"net-{w}-{d}-{r}"}


def write_tiny_table(path: str | Path) -> Path:
    """Write the table (CSV) to ``path`` and return it."""
    path = Path(path)
    with path.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=FIELDS)
        writer.writeheader()
        for w, d, r in itertools.product(WIDTHS, DEPTHS, RESOLUTIONS):
            for seed in SEEDS:
                row = cell_values(w, d, r, seed)
                row.update(width=w, depth=d, resolution=r)
                writer.writerow(row)
    return path


def brute_force_optimum() -> tuple[float, tuple[float, float, float]]:
    """(macs_ratio, multipliers) of the best feasible cell, computed directly from the values."""
    def mean(key, w, d, r):
        return sum(cell_values(w, d, r, s)[key] for s in SEEDS) / len(SEEDS)

    base_acc = mean("accuracy", 1.0, 1.0, 1.0)
    base_macs = cell_values(1.0, 1.0, 1.0, 0)["macs"]
    best = None
    for w, d, r in itertools.product(WIDTHS, DEPTHS, RESOLUTIONS):
        if mean("accuracy", w, d, r) >= base_acc:
            ratio = cell_values(w, d, r, 0)["macs"] / base_macs
            if best is None or ratio < best[0]:
                best = (ratio, (w, d, r))
    return best
