"""Reading the tabulated NAS benchmark's CSV into grid cells (hsearch.problems.tabular).

:func:`read_table_csv` checks the columns; :func:`build_cells` groups the rows into
:class:`TableCell` s and refuses an incomplete grid, or cells of one network with different seeds
(UserError); a network may have more seeds than the others (the 10-seed table's baseline has
20), not fewer;
:func:`cut_table` writes the part of a table on a sub-grid (e.g. a search box) as a table of its
own.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from hsearch.errors import UserError
from hsearch.results.feasibility import mean_accuracy

__all__ = ["REQUIRED_COLUMNS", "TableCell", "build_cells", "cut_table", "read_table_csv"]

REQUIRED_COLUMNS = ("width", "depth", "resolution", "seed", "accuracy", "status",
                    "train_seconds", "macs", "params", "input_size", "network")
#: The searched axes, in the table's column order.
AXES = ("width", "depth", "resolution")


@dataclass(frozen=True)
class TableCell:
    """One grid cell: its multipliers, per-seed results (in seed order) and its cost. The cells
    of one network (``network``) hold the same seeds and results."""

    index: tuple[int, int, int]
    multipliers: tuple[float, float, float]
    seeds: tuple[int, ...]
    accs: tuple[float, ...]
    statuses: tuple[str, ...]
    seed_seconds: tuple[float, ...]
    macs: int
    params: int
    input_size: int
    network: str

    @property
    def acc_mean(self) -> float:
        """Mean accuracy over the seeds (failed seeds count as their recorded 0.0)."""
        return mean_accuracy(self.accs)

    @property
    def train_seconds(self) -> float:
        """Training time of one evaluation: the seeds' recorded seconds, summed."""
        return math.fsum(self.seed_seconds)



def read_table_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise UserError(f"no table at {path} (make one with experiments/make_tabular.py)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise UserError(f"{path}: not a NAS table, columns {missing} missing")
        rows = list(reader)
    if not rows:
        raise UserError(f"{path}: the table is empty")
    return rows


def build_cells(rows, axes, path) -> dict[tuple[int, int, int], TableCell]:
    position = {a: {v: i for i, v in enumerate(values)} for a, values in axes.items()}
    grouped: dict[tuple[int, int, int], dict[int, dict[str, str]]] = {}
    for r in rows:
        index = tuple(position[a][float(r[a])] for a in AXES)
        seed = int(r["seed"])
        per_seed = grouped.setdefault(index, {})
        if seed in per_seed:
            raise UserError(f"{path}: cell {index} has seed {seed} twice")
        per_seed[seed] = r
    n_cells = math.prod(len(v) for v in axes.values())
    if len(grouped) != n_cells:
        raise UserError(f"{path}: {len(grouped)} of {n_cells} grid cells present; the grid "
                        f"must be complete")
    by_network: dict[str, set[tuple[int, ...]]] = {}
    for per_seed in grouped.values():
        by_network.setdefault(next(iter(per_seed.values()))["network"], set()).add(
            tuple(sorted(per_seed)))
    split = [key for key, seed_sets in by_network.items() if len(seed_sets) > 1]
    if split:
        raise UserError(f"{path}: the cells of network {split[0]} have different seeds; finish "
                        f"or trim the table")
    # the table's seeds: the seed set most networks have; a network may have more, not fewer
    counts = Counter(next(iter(seed_sets)) for seed_sets in by_network.values())
    common = set(counts.most_common(1)[0][0])
    for key, seed_sets in by_network.items():
        lacking = sorted(common - set(next(iter(seed_sets))))
        if lacking:
            raise UserError(f"{path}: network {key} lacks seeds {lacking} that the table's other "
                            f"networks have; finish or trim the table")
    cells = {}
    for index, per_seed in grouped.items():
        seeds = tuple(sorted(per_seed))
        ordered = [per_seed[s] for s in seeds]
        first = ordered[0]
        cells[index] = TableCell(
            index=index, multipliers=tuple(axes[a][i] for a, i in zip(AXES, index)),
            seeds=seeds, accs=tuple(float(r["accuracy"]) for r in ordered),
            statuses=tuple(r["status"] for r in ordered),
            seed_seconds=tuple(float(r["train_seconds"]) for r in ordered),
            macs=int(first["macs"]), params=int(first["params"]),
            input_size=int(first["input_size"]), network=first["network"])
    return cells


def cut_table(src: Path, grid: dict[str, list[float]], dst: Path) -> Path:
    """Write the rows of the table ``src`` whose multipliers lie on ``grid`` (``{axis: values}``
    for every axis of AXES) to ``dst``, a table of its own; UserError if a value of ``grid`` is
    not on ``src``'s grid (the cut would be incomplete)."""
    missing = [a for a in AXES if a not in grid]
    if missing:
        raise ValueError(f"`grid` must give every axis {AXES}, but lacks {missing}")
    rows = read_table_csv(Path(src))
    wanted = {a: {round(float(v), 6) for v in grid[a]} for a in AXES}
    for a in AXES:
        absent = sorted(wanted[a] - {round(float(r[a]), 6) for r in rows})
        if absent:
            raise UserError(f"{src}: {a} {absent} not on the table's grid")
    kept = [r for r in rows if all(round(float(r[a]), 6) in wanted[a] for a in AXES)]
    dst = Path(dst)
    with dst.open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(kept)
    return dst
