"""How a run's evaluations ended: counts by the ``status`` column of ``evaluations.csv``.

Statuses (set by hsearch.workflows): ``ok`` (a result, split into ``feasible`` and
``infeasible`` by the ``feasible`` column), ``pruned`` (not trained: its MACs could not beat the
best feasible), ``rejected`` (racing stopped it), ``screened`` (NOMAD's screened points),
``failed`` (every seed failed), ``error`` (the trial raised or its process died); a status not in
this list (e.g. ``stopped``) is counted under its own name. Only ``failed`` and ``error`` are
failures: best.json's ``failed`` is their sum and nothing else.
"""

from __future__ import annotations

from typing import Iterable, Mapping

#: Statuses always present in the counts (0 when none), in this order.
STATUS_ORDER = ("ok", "pruned", "rejected", "screened", "failed", "error")
#: The statuses that are failures.
FAILURE_STATUSES = ("failed", "error")


def status_counts(rows: Iterable[Mapping]) -> dict[str, int]:
    """Evaluations per status: every status of STATUS_ORDER (0 if absent), then any other
    status found, in first-seen order. A row without a status is ``ok`` (as EvaluationLog
    records it)."""
    counts = dict.fromkeys(STATUS_ORDER, 0)
    for row in rows:
        status = row.get("status") or "ok"
        counts[status] = counts.get(status, 0) + 1
    return counts


def outcome_counts(rows: Iterable[Mapping]) -> dict:
    """The counts of best.json: ``evaluations``; ``feasible`` and ``infeasible`` (``ok`` rows
    by their ``feasible`` column); ``failed`` (``failed`` + ``error``); ``statuses``
    (status_counts)."""
    rows = list(rows)
    ok = [r for r in rows if (r.get("status") or "ok") == "ok"]
    statuses = status_counts(rows)
    feasible = sum(bool(r.get("feasible")) for r in ok)
    return {
        "evaluations": len(rows),
        "feasible": feasible,
        "infeasible": len(ok) - feasible,
        "failed": sum(statuses[s] for s in FAILURE_STATUSES),
        "statuses": statuses,
    }
