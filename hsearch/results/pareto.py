"""A noise-aware, multi-dimensional Pareto front over every evaluation of a run.

Dimensions (:data:`DIMENSIONS`): accuracy up (``acc_mean``); MACs, parameters and latency down
(``macs``, ``params``, ``latency_ms``). A dimension no evaluation measured (latency in a run
that timed nothing) is left out.

* :func:`nondominated`: the exact non-dominated set. A point is dominated when another is at
  least as good in every dimension and strictly better in one; so equal points (ties in every
  dimension) do not dominate each other and are all on the front.
* ``on_front``: the non-dominated set of the evaluations' means (``acc_mean``, the median
  ``latency_ms``, the exact MACs and parameters).
* ``p_front``: the probability that an evaluation is non-dominated given the noise of its
  measurements, estimated by the bootstrap. In each of ``samples`` resamples every evaluation
  gets an accuracy = the mean of its K per-seed accuracies drawn with replacement (``accs``),
  and a latency = the median of its timed passes drawn with replacement
  (``latency_samples_ms``); MACs and parameters are exact. The non-dominated set of that
  resampled table is computed; ``p_front`` is the fraction of resamples in which the
  evaluation is in it. An evaluation with one seed (or one timing) keeps that value in every
  resample. Seeded (``seed``), so the same rows give the same figures.

Only evaluations that finished (``status == "ok"``) with every dimension finite take part
(pruned configurations were not trained; racing-rejected ones have only a partial mean); the
others are written with an empty ``p_front``.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from hsearch.files import write_atomic
from hsearch.results.store import STATUS_OK, is_finite_number

#: (column, "max" | "min") of the front's dimensions.
DIMENSIONS = (("acc_mean", "max"), ("macs", "min"), ("params", "min"), ("latency_ms", "min"))
PARETO_FILE = "pareto.csv"
COLUMNS = ("eval_id", "trial_id", "status", "feasible", "arch_model", "arch_width",
           "arch_depth", "arch_resolution", "input_size", "acc_mean", "acc_std", "macs",
           "params", "latency_ms", "latency_ms_iqr", "throughput_ips", "on_front", "p_front")


def nondominated(values, senses: Sequence[str]) -> np.ndarray:
    """Boolean mask of the non-dominated rows of ``values`` (n x d), each column maximised
    (``"max"``) or minimised (``"min"``) as ``senses`` says (ties: module docstring)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 2 or x.shape[1] != len(senses):
        raise ValueError(f"`values` must be n x {len(senses)}, but got shape {x.shape}")
    if any(s not in ("min", "max") for s in senses):
        raise ValueError(f"`senses` must be 'min' or 'max', but got {list(senses)}")
    sign = np.array([-1.0 if s == "max" else 1.0 for s in senses])
    x = x * sign  # every column minimised
    # dominated[i] = any j with x[j] <= x[i] everywhere and x[j] < x[i] somewhere
    le = (x[:, None, :] <= x[None, :, :]).all(axis=2)  # [j, i]: j at least as good as i
    lt = (x[:, None, :] < x[None, :, :]).any(axis=2)
    return ~(le & lt).any(axis=0)


def dimensions(rows: Sequence[Mapping]) -> tuple[tuple[str, str], ...]:
    """The dimensions some finished evaluation measured."""
    return tuple((k, s) for k, s in DIMENSIONS
                 if any(r.get("status") == STATUS_OK and is_finite_number(r.get(k)) for r in rows))


def pareto_table(rows: Sequence[Mapping], samples: int = 1000, seed: int = 0) -> list[dict]:
    """One row per evaluation (``COLUMNS``) with ``on_front`` and ``p_front`` (module docstring)."""
    dims = dimensions(rows)
    keys = [k for k, _ in dims]
    senses = [s for _, s in dims]
    eligible = [i for i, r in enumerate(rows)
                if r.get("status") == STATUS_OK and all(is_finite_number(r.get(k)) for k in keys)]
    out = [{c: r.get(c) for c in COLUMNS[:-2]} | {"on_front": False, "p_front": None}
           for r in rows]
    if not eligible or not dims:
        return out
    means = np.array([[float(rows[i][k]) for k in keys] for i in eligible])
    front = nondominated(means, senses)
    p = bootstrap_front(rows, eligible, dims, samples, seed)
    for n, i in enumerate(eligible):
        out[i]["on_front"] = bool(front[n])
        out[i]["p_front"] = float(p[n])
    return out


def bootstrap_front(rows: Sequence[Mapping], eligible: Sequence[int], dims, samples: int,
                    seed: int) -> np.ndarray:
    """``p_front`` of the rows ``eligible`` (indices into ``rows``) over ``dims``."""
    if samples < 1:
        raise ValueError(f"`samples >= 1` must hold, but got samples={samples}")
    rng = np.random.default_rng(seed)
    table = np.empty((samples, len(eligible), len(dims)))
    for n, i in enumerate(eligible):
        row = rows[i]
        for d, (key, _) in enumerate(dims):
            table[:, n, d] = _resampled(row, key, samples, rng)
    senses = [s for _, s in dims]
    hits = np.zeros(len(eligible))
    for b in range(samples):
        hits += nondominated(table[b], senses)
    return hits / samples


def _resampled(row: Mapping, key: str, samples: int, rng) -> np.ndarray:
    """``samples`` bootstrap values of one evaluation's ``key`` (module docstring)."""
    source = {"acc_mean": ("accs", np.mean), "latency_ms": ("latency_samples_ms", np.median)}
    if key in source:
        column, statistic = source[key]
        values = np.asarray([v for v in (row.get(column) or []) if is_finite_number(v)], float)
        if len(values) > 1:
            draws = values[rng.integers(0, len(values), size=(samples, len(values)))]
            return statistic(draws, axis=1)
    return np.full(samples, float(row[key]))


def write_pareto(run_dir: str | Path, rows: Sequence[Mapping], samples: int = 1000,
                 baseline: Mapping | None = None) -> list[dict]:
    """Write ``pareto.csv`` and ``pareto.png`` (hsearch.results.pareto_plot) for ``rows``."""
    from hsearch.results.pareto_plot import plot_front  # matplotlib: only when drawn

    table = pareto_table(rows, samples)
    write_pareto_csv(run_dir, table)
    plot_front(table, dimensions(rows), Path(run_dir) / "pareto.png", baseline)
    return table


def write_pareto_csv(run_dir: str | Path, table: Sequence[Mapping]) -> Path:
    """``pareto.csv`` (atomically) from a :func:`pareto_table`."""

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: _cell(v) for k, v in row.items()} for row in table)
    path = Path(run_dir) / PARETO_FILE
    write_atomic(path, buffer.getvalue())
    return path


def format_pareto(table: Sequence[Mapping]) -> str:
    """The table as ``hsearch report DIR --pareto`` prints it: the evaluations on the front of
    the means, then those with ``p_front >= 0.05`` off it, by decreasing ``p_front``."""
    scored = [r for r in table if r.get("p_front") is not None]
    if not scored:
        return "pareto    no finished evaluation yet"
    shown = sorted((r for r in scored if r["on_front"] or r["p_front"] >= 0.05),
                   key=lambda r: (not r["on_front"], -r["p_front"], r.get("eval_id") or 0))
    lines = [f"{'#':>4} {'network':<34} {'acc':>7} {'MMACs':>8} {'Mparams':>8} "
             f"{'lat ms':>8} {'IQR':>6} {'front':>5} {'p_front':>7}"]
    for r in shown:
        net = (f"{r.get('arch_model')} w{r.get('arch_width') or 0:.3g} "
               f"d{r.get('arch_depth') or 0:.3g} {r.get('input_size')}px")
        lat = r.get("latency_ms")
        iqr = r.get("latency_ms_iqr")
        lines.append(f"{r.get('eval_id') or '?':>4} {net:<34} {r['acc_mean']:>7.4f} "
                     f"{r['macs'] / 1e6:>8.3f} {r['params'] / 1e6:>8.4f} "
                     f"{_num(lat, 8, 3)} {_num(iqr, 6, 3)} {'yes' if r['on_front'] else 'no':>5} "
                     f"{r['p_front']:>7.3f}")
    on = sum(bool(r["on_front"]) for r in scored)
    lines.append(f"pareto    {on} of {len(scored)} finished evaluations on the front of the means; "
                 f"p_front: bootstrap of per-seed accuracies and latency samples")
    return "\n".join(lines)


def _num(value, width: int, digits: int) -> str:
    return f"{value:>{width}.{digits}f}" if is_finite_number(value) else f"{'-':>{width}}"


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
