"""Search progress and accuracy-vs-cost Pareto plots from evaluation rows (PNG, no display)."""

from __future__ import annotations

import math
from collections import Counter
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


#: Statuses of answers given without training (hsearch.workflows.free_rows): not evaluations
#: on the progress plot's axis, only counted in its title.
UNTRAINED_STATUSES = ("screened", "duplicate")


def number_trained(rows: Sequence[Mapping]) -> tuple[list[tuple[int, Mapping]], Counter]:
    """The trained rows numbered 1.. in ``eval_id`` order (the progress plot's x axis), and the
    rows answered without training counted by status (UNTRAINED_STATUSES)."""
    ordered = sorted(rows, key=lambda r: r.get("eval_id") or 0)
    trained = [r for r in ordered if r.get("status") not in UNTRAINED_STATUSES]
    untrained = Counter(r.get("status") for r in ordered if r.get("status") in UNTRAINED_STATUSES)
    return list(enumerate(trained, start=1)), untrained


def plot_progress(rows: Sequence[Mapping], path: str | Path, mode: str = "min",
                  objective_label: str = "objective", baseline: float | None = None) -> Path:
    """Best feasible objective vs trained evaluation (numbered 1.. in ``eval_id`` order, as the
    console numbers them), every one marked feasible, infeasible or failed; answers given
    without training (UNTRAINED_STATUSES) are counted in the title, not drawn."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4.2))
    numbered, untrained = number_trained(rows)
    feasible = [(n, r["objective"]) for n, r in numbered if _ok(r) and r.get("feasible")]
    infeasible = [(n, r["objective"]) for n, r in numbered if _ok(r) and not r.get("feasible")]
    # no result: failures (failed, error), and anything else that ended without an objective
    failed = [n for n, r in numbered if not _ok(r) and r.get("status") in FAILURE_STATUSES]
    no_result = [n for n, r in numbered if not _ok(r) and r.get("status") not in
                 FAILURE_STATUSES]
    steps, best_values, best = [], [], None
    for n, row in numbered:
        if _ok(row) and row.get("feasible"):
            value = row["objective"]
            best = value if best is None else (min(best, value) if mode == "min" else max(best, value))
        if best is not None:
            steps.append(n)
            best_values.append(best)
    if feasible:
        ax.scatter(*zip(*feasible), s=22, c="tab:green", label="feasible", zorder=3)
    if infeasible:
        ax.scatter(*zip(*infeasible), s=22, c="tab:red", marker="x", label="infeasible", zorder=3)
    ymin = min((v for _, v in feasible + infeasible), default=0.0)
    if failed:
        ax.scatter(failed, [ymin] * len(failed), s=22, c="grey", marker="v", label="failed")
    if no_result:
        ax.scatter(no_result, [ymin] * len(no_result), s=22, edgecolors="grey", marker="o",
                   facecolors="none", label="no result (not failed)")
    if steps:
        ax.step(steps, best_values, where="post", c="tab:blue", label="best feasible")
    if baseline is not None:
        ax.axhline(baseline, c="k", ls="--", lw=0.8, label="baseline")
    ax.set_xlabel("trained evaluation")
    ax.set_ylabel(objective_label)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if numbered:
        ax.set_xlim(0.5, len(numbered) + 0.5)
    values = [v for _, v in feasible + infeasible]
    if values and min(values) > 0 and max(values) / min(values) > 20:
        ax.set_yscale("log")
    readable_axis(ax, "y", max_ticks=7)
    title = f"{len(numbered)} trained evaluations"
    if untrained:
        parts = ", ".join(f"{untrained[s]} {s}" for s in UNTRAINED_STATUSES if untrained[s])
        title += f"; {sum(untrained.values())} answered without training ({parts})"
    ax.set_title(title, fontsize=9)
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
    readable_axis(ax, "x", max_ticks=7)
    ax.set_xlabel(cost)
    ax.set_ylabel(score)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def short_number(value: float) -> str:
    """``value`` in at most 3 significant digits with an SI suffix: 300k, 1.5M, 2G, 0.25."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= scale:
            return f"{float(f'{value / scale:.3g}'):g}{suffix}"
    return f"{float(f'{value:.3g}'):g}"


def readable_axis(ax, which: str, max_ticks: int = 5) -> None:
    """Make the ``which`` axis ("x" or "y") of ``ax`` read in a small panel; call it once the
    data are drawn (it reads the axis limits).

    A log axis gets at most ``max_ticks`` labelled ticks (1, 2, 3, 5 x 10^k, thinned to 1, 2, 5,
    then 1, 3 x 10^k, then decades, then every other decade, when they would crowd) and
    unlabelled minor ticks; a log axis or a linear one reaching 10^4 is labelled as
    :func:`short_number` (no "1e6" offset text that lands on the next panel); a linear axis gets
    at most ``max_ticks`` + 1 ticks."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullFormatter

    axis = ax.xaxis if which == "x" else ax.yaxis
    low, high = sorted(ax.get_xlim() if which == "x" else ax.get_ylim())
    label = FuncFormatter(lambda v, _: short_number(v))
    if axis.get_scale() != "log":
        axis.set_major_locator(MaxNLocator(nbins=max_ticks, steps=[1, 2, 2.5, 5, 10]))
        if max(abs(low), abs(high)) >= 1e4:
            axis.set_major_formatter(label)
        return
    if not (low > 0 and math.isfinite(high)):
        return
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for subs, stride in (((1, 2, 3, 5), 1), ((1, 2, 5), 1), ((1, 3), 1), ((1,), 1), ((1,), 2),
                         ((1,), 3)):
        ticks = [m * 10.0 ** k for k in decades[::stride] for m in subs
                 if low <= m * 10.0 ** k <= high]
        if len(ticks) <= max_ticks:
            break
    if len(ticks) < 2:  # within a decade: two round values inside the limits
        ticks = sorted({float(f"{v:.2g}") for v in (low * 1.05, high / 1.05)})
    axis.set_major_locator(FixedLocator(ticks))
    axis.set_major_formatter(label)
    axis.set_minor_formatter(NullFormatter())


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

