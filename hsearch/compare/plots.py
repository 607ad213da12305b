"""Comparison plots (PNG, no display): convergence curves and data profiles.

* ``convergence_evals.png``: best feasible objective vs evaluations, per searcher the median over
  runs with the interquartile band (where a quantile is infinite, i.e. runs without a feasible
  point yet, the line or band is left out); the reference f* dashed;
* ``convergence_time.png``: the same against the simulated clock (the real problem: training
  seconds), on a common grid of times;
* ``data_profile.png``: one panel per level (5%, 1%): share of runs within that distance of f*
  after k evaluations (Moré & Wild 2009, "data profiles").
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from hsearch.compare.summary import (
    LEVELS,
    best_after,
    data_profile,
    group_runs,
    quantile,
    reference_value,
)
from hsearch.results.plots import readable_axis, short_number

__all__ = ["legend", "line_style", "plot_all", "plot_convergence", "plot_data_profile", "pyplot"]


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def line_style(i: int, name: str) -> dict:
    """NOMAD in thick black; the others in tab10 colours with alternating dashes, so that
    identical curves (e.g. two TPE variants) stay visible on top of each other."""
    if name == "nomad":
        return {"color": "black", "lw": 2.2, "ls": "-", "zorder": 5}
    import matplotlib

    colors = matplotlib.colormaps["tab10"].colors
    return {"color": colors[i % len(colors)], "lw": 1.3, "ls": ("-", "--", "-.", ":")[i % 4]}


def legend(ax, loc: str = "best") -> None:
    """The legend of ``ax``: inside at ``loc`` for a few entries, outside on the right for more
    (a box of many searchers would hide the curves it names)."""
    entries = len(ax.get_legend_handles_labels()[1])
    if entries > 4:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)
    elif entries:
        ax.legend(fontsize=8, loc=loc)


def _running_best(run: Sequence[Mapping]) -> list[float]:
    """Best feasible objective after each row (trained or free)."""
    out, best = [], math.inf
    for r in run:
        if str(r["feasible"]) == "True" or r["feasible"] is True:
            best = min(best, float(r["objective"]))
        out.append(best)
    return out


def _bands(curves: Sequence[Sequence[float]]):
    arr = np.array(curves, dtype=float)
    med, q1, q3 = [], [], []
    for column in arr.T:
        med.append(quantile(column, 0.5))
        q1.append(quantile(column, 0.25))
        q3.append(quantile(column, 0.75))
    nan = lambda v: [x if math.isfinite(x) else np.nan for x in v]  # noqa: E731
    return nan(med), nan(q1), nan(q3)


def _style(ax, reference, objective, positive):
    if math.isfinite(reference):
        ax.axhline(reference, c="k", ls="--", lw=0.8, label=f"f* = {short_number(reference)}")
    if positive:
        ax.set_yscale("log")
        readable_axis(ax, "y", max_ticks=7)
    ax.set_ylabel(f"best feasible {objective}")
    ax.grid(alpha=0.3)
    legend(ax)


def _label(name: str, median: Sequence[float]) -> str:
    """The legend entry of a searcher; one whose median never exists says why it has no line."""
    if all(math.isnan(v) for v in median):
        return f"{name} (no line: fewer than half its runs feasible)"
    return name


def plot_convergence(rows: Sequence[Mapping], meta: Mapping, path: str | Path,
                     against: str = "evals") -> Path:
    """Median best feasible objective (quartile band) vs evaluations or simulated time."""
    plt = pyplot()
    from matplotlib.ticker import MaxNLocator
    budget = int(meta["settings"]["budget"])
    reference, _ = reference_value(rows, meta)
    grouped = group_runs(rows)
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    positive = all(float(r["objective"]) > 0 for r in rows if math.isfinite(float(r["objective"])))
    if against == "evals":
        xs = np.arange(1, budget + 1)
        for i, (name, runs) in enumerate(grouped.items()):
            curves = [[best_after(run, k) for k in xs] for run in runs.values()]
            med, q1, q3 = _bands(curves)
            line, = ax.step(xs, med, where="post", label=_label(name, med), **line_style(i, name))
            ax.fill_between(xs, q1, q3, step="post", alpha=0.15, color=line.get_color())
        ax.set_xlabel("trained evaluations")
        ax.set_xlim(0, budget + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        end = max((float(r["finish"]) for r in rows), default=1.0) or 1.0
        ts = np.linspace(0.0, end, 300)
        for i, (name, runs) in enumerate(grouped.items()):
            curves = []
            for run in runs.values():
                finish = np.array([float(r["finish"]) for r in run])
                best = _running_best(run)
                idx = np.searchsorted(finish, ts, side="right")  # evaluations done by t
                curves.append([best[i - 1] if i > 0 else math.inf for i in idx])
            med, q1, q3 = _bands(curves)
            line, = ax.step(ts, med, where="post", label=_label(name, med), **line_style(i, name))
            ax.fill_between(ts, q1, q3, step="post", alpha=0.15, color=line.get_color())
        ax.set_xlim(0, end)
        ax.set_xlabel("simulated time (s)" if meta["problem"]["name"] != "nas"
                      else "cumulative training seconds / concurrency")
    _style(ax, reference, meta["problem"]["objective"], positive)
    ax.set_title(f"{meta['problem']['name']}: median and quartiles over "
                 f"{meta['settings']['repeats']} runs", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_data_profile(rows: Sequence[Mapping], meta: Mapping, path: str | Path) -> Path:
    """Share of runs within 5% / 1% of f* vs evaluations (one panel per level)."""
    plt = pyplot()
    budget = int(meta["settings"]["budget"])
    reference, kind = reference_value(rows, meta)
    grouped = group_runs(rows)
    fig, axes = plt.subplots(1, len(LEVELS), figsize=(5 * len(LEVELS), 4), sharey=True)
    ks = np.arange(1, budget + 1)
    for ax, level in zip(np.atleast_1d(axes), LEVELS):
        for i, (name, runs) in enumerate(grouped.items()):
            if math.isfinite(reference):
                ax.step(ks, data_profile(runs, reference, level, budget), where="post",
                        label=name, **line_style(i, name))
        ax.set_title(f"within {level:.0%} of f* ({kind})", fontsize=10)
        ax.set_xlabel("trained evaluations")
        ax.set_ylim(-0.02, 1.02)
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("share of runs solved")
    legend(np.atleast_1d(axes)[-1], loc="lower right")
    levels = " and ".join(f"{level:.0%}" for level in LEVELS)
    fig.suptitle(f"{meta['problem']['name']}: share of each searcher's "
                 f"{meta['settings']['repeats']} runs within {levels} of f*", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)


def plot_all(rows: Sequence[Mapping], meta: Mapping, out_dir: str | Path) -> list[Path]:
    """The three PNGs of a comparison directory."""
    out_dir = Path(out_dir)
    if not rows:
        return []
    return [plot_convergence(rows, meta, out_dir / "convergence_evals.png", "evals"),
            plot_convergence(rows, meta, out_dir / "convergence_time.png", "time"),
            plot_data_profile(rows, meta, out_dir / "data_profile.png")]
