"""``pareto.png``: a scatter matrix of the Pareto dimensions, front highlighted, points shaded by
``p_front`` (hsearch.results.pareto)."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from hsearch.results.plots import pyplot, readable_axis
from hsearch.results.store import is_finite_number

LABELS = {"acc_mean": "accuracy", "macs": "MACs", "params": "parameters",
          "latency_ms": "latency (ms)"}


def plot_front(table: Sequence[Mapping], dims: Sequence[tuple[str, str]], path: str | Path,
               baseline: Mapping | None = None) -> Path:
    """Every pair of dimensions (lower triangle): evaluations coloured by ``p_front``, those on
    the front of the means ringed in red, the baseline as a black star."""

    plt = pyplot()
    keys = [k for k, _ in dims]
    points = [r for r in table if r.get("p_front") is not None]
    n = max(len(keys) - 1, 1)
    fig, axes = plt.subplots(n, n, figsize=(2.6 * n + 1.2, 2.4 * n + 0.4), squeeze=False)
    mappable = None
    for i in range(n):
        for j in range(n):
            ax = axes[i][j]
            if len(keys) < 2 or j > i:
                ax.axis("off")
                continue
            x, y = keys[j], keys[i + 1]
            if points:
                mappable = ax.scatter([r[x] for r in points], [r[y] for r in points],
                                      c=[r["p_front"] for r in points], cmap="viridis",
                                      vmin=0, vmax=1, s=16, zorder=2)
                front = [r for r in points if r["on_front"]]
                ax.scatter([r[x] for r in front], [r[y] for r in front], s=60,
                           facecolors="none", edgecolors="tab:red", lw=1.2, zorder=3)
            if baseline is not None and is_finite_number(baseline.get(x)) \
                    and is_finite_number(baseline.get(y)):
                ax.scatter([baseline[x]], [baseline[y]], marker="*", s=110, c="k", zorder=4)
            for key, which in ((x, "x"), (y, "y")):
                values = [r[key] for r in points]
                if key != "acc_mean" and values and min(values) > 0 \
                        and max(values) / min(values) > 20:
                    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
                readable_axis(ax, which, max_ticks=4)
            if i == n - 1:
                ax.set_xlabel(LABELS.get(x, x), fontsize=8)
            if j == 0:
                ax.set_ylabel(LABELS.get(y, y), fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    if mappable is not None:
        _key(fig, axes, mappable, n, baseline is not None)
    else:
        axes[0][0].text(0.5, 0.5, "no finished evaluation yet", ha="center", va="center",
                        transform=axes[0][0].transAxes)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp.png")
    fig.savefig(tmp, dpi=110, bbox_inches="tight")  # not tight_layout: it fights the colorbar
    plt.close(fig)
    tmp.replace(path)
    return path


def _key(fig, axes, mappable, n: int, baseline: bool) -> None:
    """The colour bar and what the marks mean: in the empty upper-right panel when there is one,
    else (one panel) beside the plot."""
    from matplotlib.lines import Line2D

    marks = [Line2D([], [], ls="", marker="o", ms=8, mfc="none", mec="tab:red", mew=1.2,
                    label="on the front of the means")]
    if baseline:
        marks.append(Line2D([], [], ls="", marker="*", ms=11, c="k", label="baseline"))
    if n < 2:
        fig.colorbar(mappable, ax=axes, shrink=0.8, label="p_front")
        axes[0][0].legend(handles=marks, fontsize=7, loc="best")
        return
    corner = axes[0][n - 1]
    cax = corner.inset_axes([0.05, 0.78, 0.9, 0.1])
    fig.colorbar(mappable, cax=cax, orientation="horizontal")
    cax.set_title("p_front: probability of being on the front", fontsize=8)
    cax.tick_params(labelsize=7)
    corner.legend(handles=marks, fontsize=8, loc="lower center", frameon=False)
