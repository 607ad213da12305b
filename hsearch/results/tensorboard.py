"""Experiment-level TensorBoard events: the search itself, one step per evaluation."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping

from hsearch.results.counts import FAILURE_STATUSES
from hsearch.results.store import STATUS_OK, is_finite_number


class SearchProgressWriter:
    """Writes ``search/*`` scalars under ``log_dir`` for each evaluation recorded.

    Tags: ``search/objective``, ``search/best_feasible_objective`` (from the first feasible
    evaluation on), ``search/feasible`` (0/1) and ``search/constraint/<name>`` for each constraint;
    a row without a result logs ``search/failed`` (status failed or error) or ``search/<status>``
    (e.g. ``search/screened``): only failures are called failed.
    ``best``: the best feasible objective already reached (a resumed run's writer continues it).
    """

    def __init__(self, log_dir: str | Path, mode: str = "min", constraints: tuple[str, ...] = (),
                 best: float | None = None):
        from torch.utils.tensorboard import SummaryWriter

        self._writer = SummaryWriter(str(log_dir))
        self.mode = mode
        self.constraints = tuple(constraints)
        # a resumed run continues from the best feasible objective it had reached
        self._best: float | None = best

    def add(self, row: Mapping) -> None:
        """Log one evaluation row (needs ``eval_id``; a row without a result logs one tag)."""
        step = int(row["eval_id"])
        objective = row.get("objective")
        if row.get("status") != STATUS_OK or not is_finite_number(objective):
            status = row.get("status") or STATUS_OK
            tag = "failed" if status in FAILURE_STATUSES or status == STATUS_OK else status
            self._writer.add_scalar(f"search/{tag}", 1.0, step)
            self._writer.flush()
            return
        self._writer.add_scalar("search/objective", float(objective), step)
        self._writer.add_scalar("search/feasible", float(bool(row.get("feasible"))), step)
        for name in self.constraints:
            if is_finite_number(row.get(name)):
                self._writer.add_scalar(f"search/constraint/{name}", float(row[name]), step)
        if row.get("feasible"):
            better = self._best is None or (
                objective < self._best if self.mode == "min" else objective > self._best)
            self._best = float(objective) if better else self._best
        if self._best is not None:
            self._writer.add_scalar("search/best_feasible_objective", self._best, step)
        self._writer.flush()

    def close(self) -> None:
        self._writer.close()

