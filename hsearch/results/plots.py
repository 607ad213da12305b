"""Search progress and accuracy-vs-cost Pareto plots from evaluation rows (PNG, no display)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping, Sequence

from hsearch.results.counts import FAILURE_STATUSES
from hsearch.results.store import STATUS_OK, is_finite_number


def pareto_front(rows: Sequence[Mapping], cost: str = "macs", score: str = "acc_mean") -> list[dict]:
    """Rows not dominated in (lower ``cost``, higher ``score``), sorted by cost.

    Only successful rows with finite values take part; a row is dominated when another is at
    least as cheap and at least as good, and strictly better in one of the two.
    """
    points = [
        dict(r) for r in rows
        if r.get("status") == STATUS_OK
        and is_finite_number(r.get(cost)) and is_finite_number(r.get(score))
    ]
    points.sort(key=lambda r: (r[cost], -r[score]))
    front, best_score = [], -math.inf
    for row in points:
        if row[score] > best_score:
            front.append(row)
            best_score = row[score]
    return front


def plot_progress(rows: Sequence[Mapping], path: str | Path, mode: str = "min",
                  objective_label: str = "objective", baseline: float | None = None) -> Path:
    """Best feasible objective vs evaluation number; every evaluation marked feasible or not."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ordered = sorted(rows, key=lambda r: r.get("eval_id") or 0)
    feasible = [(r["eval_id"], r["objective"]) for r in ordered if _ok(r) and r.get("feasible")]
    infeasible = [(r["eval_id"], r["objective"]) for r in ordered if _ok(r) and not r.get("feasible")]
    # no result: failures (failed, error) apart from what was never trained (e.g. screened)
    failed = [r["eval_id"] for r in ordered if not _ok(r) and r.get("status") in FAILURE_STATUSES]
    untrained = [r["eval_id"] for r in ordered if not _ok(r) and r.get("status") not in
                 FAILURE_STATUSES]
    steps, best_values, best = [], [], None
    for row in ordered:
        if _ok(row) and row.get("feasible"):
            value = row["objective"]
            best = value if best is None else (min(best, value) if mode == "min" else max(best, value))
        if best is not None:
            steps.append(row["eval_id"])
            best_values.append(best)
    if feasible:
        ax.scatter(*zip(*feasible), s=18, c="tab:green", label="feasible", zorder=3)
    if infeasible:
        ax.scatter(*zip(*infeasible), s=18, c="tab:red", marker="x", label="infeasible", zorder=3)
    ymin = min((v for _, v in feasible + infeasible), default=0.0)
    if failed:
        ax.scatter(failed, [ymin] * len(failed), s=18, c="grey", marker="v", label="failed")
    if untrained:
        ax.scatter(untrained, [ymin] * len(untrained), s=18, edgecolors="grey", marker="o",
                   facecolors="none", label="no result (not failed)")
    if steps:
        ax.step(steps, best_values, where="post", c="tab:blue", label="best feasible")
    if baseline is not None:
        ax.axhline(baseline, c="k", ls="--", lw=0.8, label="baseline")
    ax.set_xlabel("evaluation")
    ax.set_ylabel(objective_label)
    values = [v for _, v in feasible + infeasible]
    if values and min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_pareto(rows: Sequence[Mapping], path: str | Path, cost: str = "macs",
                score: str = "acc_mean", baseline: Mapping | None = None) -> Path:
    """``score`` vs ``cost`` for every successful evaluation, the non-dominated set highlighted."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    points = [r for r in rows
              if _ok(r) and is_finite_number(r.get(cost)) and is_finite_number(r.get(score))]
    if points:
        ax.scatter([r[cost] for r in points], [r[score] for r in points], s=14, c="lightgrey",
                   edgecolors="grey", label="evaluations")
    front = pareto_front(rows, cost, score)
    if front:
        ax.plot([r[cost] for r in front], [r[score] for r in front], "-o", c="tab:orange",
                ms=5, label="non-dominated")
    if (baseline is not None
            and is_finite_number(baseline.get(cost)) and is_finite_number(baseline.get(score))):
        ax.scatter([baseline[cost]], [baseline[score]], marker="*", s=140, c="k", label="baseline",
                   zorder=4)
    if points and min(r[cost] for r in points) > 0:
        ax.set_xscale("log")
    ax.set_xlabel(cost)
    ax.set_ylabel(score)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: str | Path) -> Path:
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.tight_layout()
    fig.savefig(tmp, dpi=110)
    fig.clf()
    pyplot().close(fig)
    tmp.replace(path)
    return path


def _ok(row: Mapping) -> bool:
    return row.get("status") == STATUS_OK and is_finite_number(row.get("objective"))

