"""A tabulated NAS benchmark: real training runs on a grid, answered from a table.

The shipped table (``hsearch/problems/data/nas_digits_senet18_10seeds.csv``, made by
``experiments/make_tabular.py``; settings, machine and date in the ``.json`` beside it) holds,
for every cell of a grid over width x depth x resolution multipliers of the ``hsearch demo``
baseline (SENet-18 at width 0.25, depth 1, resolution 0.375 = 12 px), the validation accuracy of
10 subset seeds (the baseline network: 20) after a fixed epoch budget, the network's MACs, and
the measured training seconds of each seed. The older 4-seed table
(``nas_digits_senet18.csv``) stays loadable for results made on it (``path=``).

The problem is the NAS workflow's (hsearch.workflows.nas) on that grid::

    minimise  macs_ratio = MACs / MACs(baseline)
    subject to acc_gap = threshold - acc_mean <= 0,   threshold = level - tolerance

where the baseline is the cell at multipliers (1, 1, 1), ``acc_mean`` is the mean over the
table's seeds and ``level`` is the baseline's ``acc_mean`` (the workflow's rule) or an absolute
mean accuracy given as ``threshold=`` (one problem family: higher levels move the optimum from
the cheap edge of the box into its inside; :meth:`NasTable.optimum_position`). Because every cell
is known, so is the true best feasible cell (``best_value``), and the distance of any search
result to the optimum is exact. A level no cell reaches is refused (UserError). Feasibility is
decided as in the workflows (hsearch.results.feasibility: exact mean, ``acc_gap`` exactly 0 at the
threshold), with the tolerance ``TABLE_GAP_TOLERANCE`` since the table stores accuracies to 6
decimals.

The objective is known before training (MACs come from the network, not from training):
:meth:`TabularEvaluator.cost_report` answers what the workflow's cost report says before a trial
trains (hsearch.workflows.trial: accuracy counted as 0, so ``acc_gap = threshold``), which is
what a searcher is told about a point that is not trained (hsearch.compare.free).

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

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hsearch.checks import is_number
from hsearch.errors import UserError
from hsearch.problems.analytic import Problem
from hsearch.problems.table_io import AXES, TableCell, build_cells, read_table_csv
from hsearch.results.feasibility import Threshold, accuracy_gap, meets_threshold

__all__ = ["AXES", "DEFAULT_TABLE", "NasTable", "TableCell", "TabularEvaluator", "check_level",
           "instance_name", "tabular_problem"]

#: The shipped table.
DEFAULT_TABLE = Path(__file__).resolve().parent / "data" / "nas_digits_senet18_10seeds.csv"
#: Gaps this small are 0: the table's 6-decimal accuracies move a mean by up to 5e-7, one image
#: of the shipped table's 300 validation images x 20 seeds moves it by 1/6000.
TABLE_GAP_TOLERANCE = 1e-5


class NasTable:
    """The benchmark table, read and checked: every grid cell present with the same seeds.

    Args:
        path: the CSV file (default: the shipped table).
        tolerance: accuracy below the level still counted feasible.
        level: the absolute mean accuracy to reach (None: the baseline's ``acc_mean``).
    """

    def __init__(self, path: str | Path | None = None, tolerance: float = 0.0,
                 level: float | None = None):
        check_level(level)
        self.path = Path(path) if path is not None else DEFAULT_TABLE
        rows = read_table_csv(self.path)
        meta_path = self.path.with_suffix(".json")
        self.metadata: dict[str, Any] = (json.loads(meta_path.read_text())
                                         if meta_path.exists() else {})
        self.axes: dict[str, tuple[float, ...]] = {
            name: tuple(sorted({float(r[name]) for r in rows})) for name in AXES}
        self.cells = build_cells(rows, self.axes, self.path)
        self.baseline = self.cell_at_multipliers(1.0, 1.0, 1.0)
        self.level = None if level is None else float(level)
        base = self.baseline.acc_mean if level is None else float(level)
        rule = Threshold(base, tolerance)  # checks the tolerance
        self.tolerance = rule.tolerance
        self.threshold = rule.value
        if not self.feasible_cells():
            top = max(c.acc_mean for c in self.cells.values())
            raise UserError(f"no cell of {self.path.name} reaches acc_mean >= {self.threshold:.6g}"
                            f" (threshold {base:.6g} - tolerance {self.tolerance:g}); the best "
                            f"cell's acc_mean is {top:.6g}")

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

    def cost_report(self, cell: TableCell) -> dict[str, Any]:
        """What is known of ``cell`` before training: :meth:`metrics` with the accuracy counted
        as 0 (``acc_gap = threshold``, infeasible) and no training time (module docstring)."""
        out = self.metrics(cell)
        out.update(acc_mean=0.0, acc_gap=self.threshold, feasible=False, train_seconds=0.0)
        return out

    # --- the optimum ---------------------------------------------------------------------------

    def feasible_cells(self) -> list[TableCell]:
        """Cells whose mean accuracy reaches the threshold, cheapest first."""
        return sorted((c for c in self.cells.values()
                       if meets_threshold(c.acc_mean, self.threshold, TABLE_GAP_TOLERANCE)),
                      key=lambda c: (c.macs, c.index))

    def optimum(self) -> TableCell:
        """The best feasible cell (fewest MACs; ties: the lowest index)."""
        return self.feasible_cells()[0]

    def optimum_position(self) -> dict[str, str]:
        """Where the optimum lies in the box, per axis: ``"low"``/``"high"`` when moving that
        axis to its lower/upper bound builds the same network (rounding makes neighbouring
        multipliers equal), else ``"inside"``. A corner is low/high on every axis."""
        best = self.optimum()
        out = {}
        for a, name in enumerate(AXES):
            ends = {"low": 0, "high": self.shape[a] - 1}
            out[name] = "inside"
            for label, i in ends.items():
                index = list(best.index)
                index[a] = i
                if self.cells[tuple(index)].network == best.network:
                    out[name] = label
                    break
        return out

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


def check_level(level: float | None) -> None:
    """UserError unless ``level`` is None or a mean accuracy in (0, 1]."""
    if level is None:
        return
    if not is_number(level) or not (
            math.isfinite(level) and 0.0 < level <= 1.0):
        raise UserError(f"`0 < threshold <= 1` must hold (a mean accuracy), but got "
                        f"threshold={level!r}")


def instance_name(level: float | None) -> str:
    """The problem name of the table at ``level``: ``tabular`` (the baseline's accuracy) or
    ``tabular@0.95``."""
    return "tabular" if level is None else f"tabular@{level:g}"


class TabularEvaluator:
    """Picklable ``config -> metrics`` of the table (loads it lazily, once per process copy)."""

    def __init__(self, path: str | Path | None = None, tolerance: float = 0.0,
                 level: float | None = None):
        self.path = None if path is None else str(path)
        self.tolerance = float(tolerance)
        self.level = level
        self._table: NasTable | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {"path": self.path, "tolerance": self.tolerance, "level": self.level}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"], state["tolerance"], state.get("level"))

    @property
    def table(self) -> NasTable:
        if self._table is None:
            self._table = NasTable(self.path, self.tolerance, self.level)
        return self._table

    def __call__(self, config: Mapping[str, Any]) -> dict[str, Any]:
        table = self.table
        return table.metrics(table.cell(config))

    def cost_report(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """:meth:`NasTable.cost_report` of a config of grid indices."""
        table = self.table
        return table.cost_report(table.cell(config))


def tabular_problem(path: str | Path | None = None, tolerance: float = 0.0,
                    level: float | None = None) -> Problem:
    """The table as a :class:`~hsearch.problems.Problem` (objective ``macs_ratio``, known before
    training; constraint ``acc_gap``), with the exact optimum and the baseline as ``x0``.

    ``level``: the mean accuracy to reach (None: the baseline's); the problem is then named
    :func:`instance_name` of it."""
    from ray import tune

    evaluator = TabularEvaluator(path, tolerance, level)
    table = evaluator.table
    best = table.optimum()
    return Problem(
        name=instance_name(level),
        space={a: tune.randint(0, n) for a, n in zip(AXES, table.shape)},
        evaluate=evaluator,
        objective="macs_ratio",
        constraints=("acc_gap",),
        best_value=best.macs / table.baseline.macs,
        best_config=table.index_config(best),
        x0=table.index_config(table.baseline),
        source=f"{table.path.name} "
               f"({table.metadata.get('generator', 'experiments/make_tabular.py')})",
        cost_report=evaluator.cost_report,
        metadata={"cost_metric": "train_seconds", "cache_metric": "network",
                  "optimum_exact": True,
                  "threshold": table.threshold, "axes": {a: list(v) for a, v in table.axes.items()},
                  "n_feasible": len(table.feasible_cells()), "n_cells": len(table.cells),
                  "n_networks": len({c.network for c in table.cells.values()}),
                  "optimum_position": table.optimum_position()},
    )
