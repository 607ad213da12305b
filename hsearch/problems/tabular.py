"""A tabulated NAS benchmark: real training runs on a grid, answered from a table.

The shipped table (``hsearch/problems/data/nas_digits_senet18.csv``, made by
``experiments/make_tabular.py``; settings in the ``.json`` beside it) holds, for every cell of a
grid over width x depth x resolution multipliers of the ``hsearch demo`` baseline (SENet-18 at
width 0.25, depth 1, resolution 0.375 = 12 px), the validation accuracy of several subset seeds
after a fixed epoch budget, the network's MACs, and the measured training seconds of each seed.

The problem is the NAS workflow's (hsearch.workflows.nas) on that grid::

    minimise  macs_ratio = MACs / MACs(baseline)
    subject to acc_gap = threshold - acc_mean <= 0,   threshold = acc_mean(baseline) - tolerance

where the baseline is the cell at multipliers (1, 1, 1) and ``acc_mean`` is the mean over the
table's seeds. Because every cell is known, so is the true best feasible cell (``best_value``),
and the distance of any search result to the optimum is exact. Feasibility is decided as in the
workflows (hsearch.results.feasibility: exact mean, ``acc_gap`` exactly 0 at the threshold), with
the tolerance ``TABLE_GAP_TOLERANCE`` since the table stores accuracies to 6 decimals.

Search space: one integer **grid index** per axis (``tune.randint(0, n)``, i.e. 0..n-1), so every
suggestion of every searcher is a table entry; :meth:`NasTable.multipliers` maps indices to the
multipliers and ``evaluate`` reports both. Integer domains are understood by every Tune searcher
here except BayesOpt (hsearch.compare relaxes them for it and rounds).

Use::

    problem = tabular_problem()              # a hsearch.problems.Problem
    metrics = problem.evaluate({"width": 1, "depth": 1, "resolution": 4})
    metrics["macs_ratio"], metrics["acc_gap"], metrics["train_seconds"]

``train_seconds`` in the metrics is the training time of the evaluation as the table recorded it
(the sum over the seeds, trained one after the other as a trial does): a replay backend charges it
on a simulated clock (hsearch.compare.replay).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hsearch.errors import UserError
from hsearch.problems.analytic import Problem
from hsearch.results.feasibility import accuracy_gap, mean_accuracy, meets_threshold

__all__ = ["AXES", "DEFAULT_TABLE", "NasTable", "TableCell", "TabularEvaluator",
           "tabular_problem"]

#: The searched axes, in the table's column order.
AXES = ("width", "depth", "resolution")
#: The shipped table.
DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "nas_digits_senet18.csv"
#: Gaps this small are 0: the table's 6-decimal accuracies move a mean by up to 5e-7, one image
#: of the shipped table's 300 validation images x 4 seeds moves it by 1/1200.
TABLE_GAP_TOLERANCE = 1e-5
_REQUIRED = ("width", "depth", "resolution", "seed", "accuracy", "status", "train_seconds",
             "macs", "params", "input_size", "network")


@dataclass(frozen=True)
class TableCell:
    """One grid cell: its multipliers, per-seed results (in seed order) and its cost."""

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


class NasTable:
    """The benchmark table, read and checked: every grid cell present with the same seeds.

    Args:
        path: the CSV file (default: the shipped table).
        tolerance: accuracy below the baseline's mean still counted feasible.
    """

    def __init__(self, path: str | Path | None = None, tolerance: float = 0.0):
        if not (math.isfinite(tolerance) and 0.0 <= tolerance < 1.0):
            raise ValueError(f"`0 <= tolerance < 1` must hold, but got tolerance={tolerance!r}")
        self.path = Path(path) if path is not None else DEFAULT_TABLE
        self.tolerance = float(tolerance)
        rows = _read_csv(self.path)
        meta_path = self.path.with_suffix(".json")
        self.metadata: dict[str, Any] = (json.loads(meta_path.read_text())
                                         if meta_path.exists() else {})
        self.axes: dict[str, tuple[float, ...]] = {
            name: tuple(sorted({float(r[name]) for r in rows})) for name in AXES}
        self.cells = _build_cells(rows, self.axes, self.path)
        self.baseline = self.cell_at_multipliers(1.0, 1.0, 1.0)
        self.threshold = self.baseline.acc_mean - self.tolerance

    # --- lookups -------------------------------------------------------------------------------

    @property
    def shape(self) -> tuple[int, ...]:
        """Grid points per axis."""
        return tuple(len(self.axes[a]) for a in AXES)

    def cell_at_multipliers(self, width: float, depth: float, resolution: float) -> TableCell:
        """The cell at these multipliers (exact grid values); UserError if not on the grid."""
        index = []
        for name, value in zip(AXES, (width, depth, resolution)):
            values = self.axes[name]
            hits = [i for i, v in enumerate(values) if abs(v - float(value)) < 1e-9]
            if not hits:
                raise UserError(f"{name}={value} is not on the table's grid {list(values)}")
            index.append(hits[0])
        return self.cells[tuple(index)]

    def cell(self, config: Mapping[str, Any]) -> TableCell:
        """The cell of a config of grid indices ``{"width": i, "depth": j, "resolution": k}``."""
        index = []
        for name, n in zip(AXES, self.shape):
            if name not in config:
                raise ValueError(f"the config lacks {name!r}: {dict(config)}")
            raw = config[name]
            value = float(raw)
            i = int(round(value))
            if abs(value - i) > 1e-9 or not 0 <= i < n:
                raise ValueError(f"`{name}` must be a grid index in 0..{n - 1}, but got {raw!r}")
            index.append(i)
        return self.cells[tuple(index)]

    def multipliers(self, config: Mapping[str, Any]) -> dict[str, float]:
        """The multipliers a config of grid indices stands for."""
        return dict(zip(AXES, self.cell(config).multipliers))

    def index_config(self, cell: TableCell) -> dict[str, int]:
        """The config of grid indices of ``cell``."""
        return dict(zip(AXES, cell.index))

    def metrics(self, cell: TableCell) -> dict[str, Any]:
        """What an evaluation of ``cell`` reports (see the module docstring)."""
        gap = accuracy_gap(self.threshold, cell.acc_mean, TABLE_GAP_TOLERANCE)
        return {
            "macs_ratio": cell.macs / self.baseline.macs,
            "acc_gap": gap,
            "acc_mean": cell.acc_mean,
            "feasible": gap <= 0.0,
            "macs": cell.macs,
            "params": cell.params,
            "input_size": cell.input_size,
            "train_seconds": cell.train_seconds,
            "network": cell.network,
            **{f"{a}_mult": m for a, m in zip(AXES, cell.multipliers)},
        }

    # --- the optimum ---------------------------------------------------------------------------

    def feasible_cells(self) -> list[TableCell]:
        """Cells whose mean accuracy reaches the threshold, cheapest first."""
        return sorted((c for c in self.cells.values()
                       if meets_threshold(c.acc_mean, self.threshold, TABLE_GAP_TOLERANCE)),
                      key=lambda c: (c.macs, c.index))

    def optimum(self) -> TableCell:
        """The best feasible cell (fewest MACs; ties: the lowest index)."""
        return self.feasible_cells()[0]

    def describe(self) -> str:
        """A few lines: grid, seeds, baseline, threshold, feasible cells and the optimum."""
        best = self.optimum()
        feasible = self.feasible_cells()
        first = next(iter(self.cells.values()))
        axes = "; ".join(f"{a} {list(self.axes[a])}" for a in AXES)
        return (f"{len(self.cells)} cells ({' x '.join(map(str, self.shape))}): {axes}; seeds "
                f"{list(first.seeds)}\nbaseline (1, 1, 1): acc_mean {self.baseline.acc_mean:.4f}, "
                f"{self.baseline.macs} MACs; threshold {self.threshold:.4f}\n"
                f"feasible cells: {len(feasible)}; optimum {best.multipliers}: macs_ratio "
                f"{best.macs / self.baseline.macs:.4f}, acc_mean {best.acc_mean:.4f}")


class TabularEvaluator:
    """Picklable ``config -> metrics`` of the table (loads it lazily, once per process copy)."""

    def __init__(self, path: str | Path | None = None, tolerance: float = 0.0):
        self.path = None if path is None else str(path)
        self.tolerance = float(tolerance)
        self._table: NasTable | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "tolerance": self.tolerance}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["tolerance"])

    @property
    def table(self) -> NasTable:
        if self._table is None:
            self._table = NasTable(self.path, self.tolerance)
        return self._table

    def __call__(self, config: Mapping[str, Any]) -> dict[str, Any]:
        table = self.table
        return table.metrics(table.cell(config))


def tabular_problem(path: str | Path | None = None, tolerance: float = 0.0) -> Problem:
    """The table as a :class:`~hsearch.problems.Problem` (objective ``macs_ratio``, constraint
    ``acc_gap``), with the exact optimum and the baseline as ``x0``."""
    from ray import tune

    evaluator = TabularEvaluator(path, tolerance)
    table = evaluator.table
    best = table.optimum()
    return Problem(
        name="tabular",
        space={a: tune.randint(0, n) for a, n in zip(AXES, table.shape)},
        evaluate=evaluator,
        objective="macs_ratio",
        constraints=("acc_gap",),
        best_value=best.macs / table.baseline.macs,
        best_config=table.index_config(best),
        x0=table.index_config(table.baseline),
        source=f"{table.path.name} "
               f"({table.metadata.get('generator', 'experiments/make_tabular.py')})",
        metadata={"cost_metric": "train_seconds", "cache_metric": "network",
                  "threshold": table.threshold, "axes": {a: list(v) for a, v in table.axes.items()},
                  "n_feasible": len(table.feasible_cells()), "n_cells": len(table.cells)},
    )


# --- reading -----------------------------------------------------------------------------------


def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        raise UserError(f"no table at {path} (make one with experiments/make_tabular.py)")
    with path.open(newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in _REQUIRED if c not in (reader.fieldnames or ())]
        if missing:
            raise UserError(f"{path}: not a NAS table, columns {missing} missing")
        rows = list(reader)
    if not rows:
        raise UserError(f"{path}: the table is empty")
    return rows


def _build_cells(rows, axes, path) -> dict[tuple[int, int, int], TableCell]:
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
    seed_sets = {tuple(sorted(s)) for s in grouped.values()}
    if len(seed_sets) != 1:
        raise UserError(f"{path}: cells have different seeds ({sorted(seed_sets)[:3]} ...); "
                        f"finish or trim the table")
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
