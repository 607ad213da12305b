"""The table as real training answers it: every evaluation a K-seed mean (issue 19).

The exact tabular problem (hsearch.problems.tabular) answers a network with the mean over all the
table's seeds, as if a search could afford them. A real search trains K (the demo: 4), and a
K-seed mean is a draw: on the 10-seed table a cell's 4-seed mean has a standard error of about
0.01, the size of the steps between the suite's thresholds. :class:`NoisyTabularEvaluator`
replays that:

* **draws**: an evaluation of a network trains K of its seeds, drawn without replacement. The
  draw is a permutation of the network's table seeds from a generator seeded by the run's seed
  and the network's digest: reproducible from the run (a rerun or a resumed run draws the same
  seeds), different between runs (another seed, another permutation). The first K of it are the
  evaluation's seeds;
* **a repeated evaluation** of a network (another cell that builds it, or the same cell proposed
  again) is answered with the same seeds: the workflows' seed cache answers a network it has
  trained with the seeds it trained (and the replay's duplicate rule, hsearch.compare.free,
  charges nothing for it);
* **confirmation** (``ConfirmRule``, hsearch.workflows.racing, as the workflows apply it): a
  feasible mean within reach of the threshold takes the permutation's next seeds one at a time
  until the rule's verdict, at most ``max_seeds``; their seconds are charged as well;
* **the truth**: the threshold is the one of the exact problem (the baseline's mean over all its
  seeds, or the level given), and every answer carries ``true_acc_mean`` and ``true_feasible``,
  the network's all-seed mean and whether it meets the threshold, for scoring what a searcher
  returns (hsearch.compare.summary); the searcher is not told them (hsearch.compare.replayed).

The objective (MACs) is exact, known before training as in the exact problem; the optimum is the
true one (all-seed means). A run does not end at the optimum's value (``optimum_exact`` is False):
a cheaper network seen feasible by luck can still replace it, as it would in a real search.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from hsearch.checks import check_int
from hsearch.errors import UserError
from hsearch.problems.analytic import Problem
from hsearch.problems.tabular import TABLE_GAP_TOLERANCE, NasTable, TableCell, tabular_problem
from hsearch.results.feasibility import accuracy_gap, mean_accuracy
from hsearch.workflows.racing import ConfirmRule

__all__ = ["NoisyTabularEvaluator", "noisy_tabular_problem"]


class NoisyTabularEvaluator:
    """Picklable ``config -> metrics`` of the table with K drawn seeds per evaluation (module
    docstring); loads the table lazily, once per process copy.

    Args:
        path, tolerance, level: the table, as hsearch.problems.tabular.TabularEvaluator.
        per_eval: K, seeds per evaluation (at most the table's seeds per network).
        confirm: the confirmation rule (disabled: none); ``max_seeds`` at most the table's seeds.
        seed: the run's seed (draws are a function of it and the network).
    """

    def __init__(self, path: str | None, tolerance: float, level: float | None, per_eval: int,
                 confirm: ConfirmRule, seed: int):
        self.path = None if path is None else str(path)
        self.tolerance = float(tolerance)
        self.level = level
        self.per_eval = per_eval
        self.confirm = confirm
        self.seed = int(seed)
        self._table: NasTable | None = None

    def __getstate__(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "_table"}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state, _table=None)

    @property
    def table(self) -> NasTable:
        if self._table is None:
            table = NasTable(self.path, self.tolerance, self.level)
            check_draws(table, self.per_eval, self.confirm)
            self._table = table
        return self._table

    def draw(self, cell: TableCell) -> list[int]:
        """Positions in ``cell.seeds`` in the order this run trains them (module docstring)."""
        key = int.from_bytes(hashlib.sha256(cell.network.encode()).digest()[:8], "little")
        rng = np.random.default_rng([self.seed, key])
        return [int(i) for i in rng.permutation(len(cell.seeds))]

    def __call__(self, config: Mapping[str, Any]) -> dict[str, Any]:
        table = self.table
        cell = table.cell(config)
        order = self.draw(cell)
        k = self.per_eval
        own = [cell.accs[i] for i in order[:k]]
        more = [cell.accs[i] for i in order[k:self.confirm.limit(k)]]
        used, verdict = self.confirm.confirm(own, more, table.threshold, TABLE_GAP_TOLERANCE)
        positions = order[:len(used)]
        out = table.metrics(cell)
        mean = mean_accuracy(used)
        gap = accuracy_gap(table.threshold, mean, TABLE_GAP_TOLERANCE)
        out.update(
            true_acc_mean=out["acc_mean"], true_feasible=out["feasible"],
            acc_mean=mean, acc_gap=gap, feasible=gap <= 0.0,
            train_seconds=math.fsum(cell.seed_seconds[i] for i in positions),
            seeds_used=len(used), seeds_added=len(used) - k, confirm=verdict,
            drawn_seeds=" ".join(str(cell.seeds[i]) for i in positions))
        return out

    def cost_report(self, config: Mapping[str, Any]) -> dict[str, Any]:
        """What is known before training: the exact problem's cost report (MACs)."""
        table = self.table
        return table.cost_report(table.cell(config))


def check_draws(table: NasTable, per_eval: int, confirm: ConfirmRule) -> None:
    """UserError unless every network of ``table`` has ``per_eval`` seeds (and ``max_seeds``
    when confirming) and the numbers are sound."""
    check_int("seeds_per_eval", per_eval, 1)
    fewest = min(len(c.seeds) for c in table.cells.values())
    if per_eval > fewest:
        raise UserError(f"{table.path.name}: networks with {fewest} seeds, fewer than "
                        f"seeds_per_eval={per_eval}; pick at most {fewest} or a table with more "
                        f"seeds (experiments/make_tabular.py)")
    if confirm.enabled and not per_eval < confirm.limit(per_eval) <= fewest:
        raise UserError(f"`seeds_per_eval < max_seeds <= {fewest}` (the table's seeds per "
                        f"network) must hold, but got seeds_per_eval={per_eval}, "
                        f"max_seeds={confirm.limit(per_eval)}")


def noisy_tabular_problem(path: str | None, tolerance: float, level: float | None,
                          per_eval: int, confirm: ConfirmRule, seed: int = 0,
                          name: str | None = None) -> Problem:
    """The tabular problem answered by :class:`NoisyTabularEvaluator` (module docstring): the
    exact problem's space, x0, objective, constraint and true optimum."""
    exact = tabular_problem(path, tolerance, level)
    evaluator = NoisyTabularEvaluator(path, tolerance, level, per_eval, confirm, seed)
    evaluator.table  # checks the draws against the table now
    meta = dict(exact.metadata)
    meta.update(optimum_exact=False, noisy={
        "seeds_per_eval": per_eval, "confirm": confirm.enabled,
        "max_seeds": confirm.limit(per_eval) if confirm.enabled else per_eval,
        "confidence": confirm.confidence, "std_floor": confirm.std_floor})
    return Problem(name=name or exact.name, space=exact.space, evaluate=evaluator,
                   objective=exact.objective, constraints=exact.constraints,
                   best_value=exact.best_value, best_config=exact.best_config, x0=exact.x0,
                   source=exact.source, cost_report=evaluator.cost_report, metadata=meta)
