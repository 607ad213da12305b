"""What a suggested point costs: trained, or free (a duplicate network, or screened).

One rule for every searcher, applied by the replay (hsearch.compare.replay) to every suggestion:

* ``duplicate``: the config builds a network (the problem's ``cache_metric``) that this run has
  already trained and finished: answered with its result, no training, no simulated seconds (the
  workflows' seed cache answers such a trial the same way; on the table, the cells of one
  network hold the same results, so the answer is the cell's own row);
* ``screened``: the problem's objective is known before training (``Problem.cost_report``: MACs
  come from the network) and a feasible point has finished: a point whose known objective is
  ``>=`` the best feasible one cannot improve, so it is not trained. The searcher is told what
  the NAS workflow's pruning tells it (hsearch.workflows.pruning: the trial stops at its cost
  report, the accuracy counts as 0, so it is infeasible). NomadSearcher given the known objective
  screens such points itself before suggesting them; the rule here then finds nothing left to
  screen in its suggestions (it sees the same finished results);
* ``trained``: everything else; it counts against the budget and its recorded seconds run on the
  simulated clock.

Two states end a run early, because nothing reported can change after them (:meth:`CostRule.
settled`): "optimum", the best feasible value equals the problem's exact optimum (the table's is
exact: no point can improve, so the best at every later budget, the evaluations and time to reach
any level, the data profiles and pairwise wins are what they would be at the end of the budget);
and "exhausted", every point of a finite, enumerated space is free (trained or screened). Going
on would only spend the wall time of a searcher proposing points that cannot matter. Only the
count of trained evaluations per run (not reported as a result of the search) would differ.

Duplicates are checked first: their true result is known, and telling it is what a cache does
(the workflow's pruner would stop a re-proposed incumbent at its cost report and call it
infeasible; a cache answer is the better-informed of the two, and costs the same: nothing).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = ["DUPLICATE", "FREE_KINDS", "SCREENED", "TRAINED", "CostRule"]

TRAINED, DUPLICATE, SCREENED = "trained", "duplicate", "screened"
FREE_KINDS = (DUPLICATE, SCREENED)


class CostRule:
    """Classifies suggestions of one run (module docstring); told each finished evaluation.

    Args:
        problem: a :class:`hsearch.problems.Problem` (its objective, ``cost_report``,
            ``is_feasible`` and ``metadata["cache_metric"]`` are used).
        points: every point of a finite space as ``(network key, known objective)`` (None: the
            space is not enumerated; :meth:`exhausted` is then always False).
    """

    def __init__(self, problem, points: list[tuple[Any, float]] | None = None):
        self.problem = problem
        self.cache_metric = (problem.metadata or {}).get("cache_metric")
        self.best_feasible = math.inf
        self._networks: set = set()
        self._points = None if points is None else sorted(points, key=lambda p: p[1])

    def settled(self) -> str | None:
        """``"optimum"`` or ``"exhausted"`` when nothing can change any more (module docstring),
        else None."""
        meta = self.problem.metadata or {}
        if meta.get("optimum_exact") and self.best_feasible <= self.problem.best_value:
            return "optimum"
        return "exhausted" if self.exhausted() else None

    def exhausted(self) -> bool:
        """True when every point of the (enumerated) space is free: trained or screened."""
        if self._points is None or self.problem.cost_report is None:
            return False
        for key, known in self._points:  # cheapest first: the first non-free one answers
            if known >= self.best_feasible:
                return True
            if key not in self._networks:
                return False
        return True

    def classify(self, config: Mapping[str, Any],
                 metrics: Mapping[str, Any]) -> tuple[str, dict]:
        """``(kind, metrics to report)`` for a suggestion whose full evaluation is ``metrics``
        (the replay knows it; only the kind decides what is revealed and charged)."""
        key = metrics.get(self.cache_metric) if self.cache_metric else None
        if key is not None and key in self._networks:
            return DUPLICATE, dict(metrics)
        report = self.problem.cost_report
        if report is not None and math.isfinite(self.best_feasible):
            known = report(config)
            if float(known[self.problem.objective]) >= self.best_feasible:
                return SCREENED, dict(known)
        return TRAINED, dict(metrics)

    def finished(self, kind: str, metrics: Mapping[str, Any]) -> None:
        """Learn from a finished evaluation (only trained ones teach anything new)."""
        if kind != TRAINED:
            return
        if self.cache_metric and metrics.get(self.cache_metric) is not None:
            self._networks.add(metrics[self.cache_metric])
        if self.problem.is_feasible(metrics):
            self.best_feasible = min(self.best_feasible, float(metrics[self.problem.objective]))
