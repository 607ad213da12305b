"""Restarts (for ``asktell``): whether the search ends when a NOMAD run stops, and where the
next NOMAD run starts.

Pure functions of the settings and the evaluation log, so that a replay recomputes the same.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from hsearch.search.nomad.settings import Evaluation, MadsSettings

__all__ = ["EMPTY_RUNS_TO_STOP", "stop_reason", "restart_points", "space_filling", "snap",
           "snap_many"]

#: A NOMAD run that hands out no new point ends the search after this many in a row.
EMPTY_RUNS_TO_STOP = 3

Key = tuple[float, ...]


def stop_reason(settings: MadsSettings, why: str, left: int, n_evaluations: int, n_runs: int,
                empty_runs: int) -> str | None:
    """Why the search ends now that a NOMAD run stopped (``why``), or None to restart: the
    budget is spent (``left <= 0``), restarts are off, ``max_runs`` runs were made, or the last
    :data:`EMPTY_RUNS_TO_STOP` runs proposed no new point."""
    if left <= 0:
        return f"{why}; budget spent ({n_evaluations} trained evaluations)"
    if not settings.restart:
        return f"{why} with {left} evaluations left; restarts are off"
    if n_runs >= settings.max_runs:
        return f"{why} with {left} evaluations left; max_runs={settings.max_runs} reached"
    if empty_runs >= EMPTY_RUNS_TO_STOP:
        return (f"{why} with {left} evaluations left; the last {empty_runs} "
                f"NOMAD runs proposed no new point to train, from the best points and "
                f"from space-filling starts (no untried point that could improve was "
                f"found)")
    return None


def _h(e: Evaluation) -> float:
    return sum(max(c, 0.0) ** 2 for c in e.outputs[1:])


def restart_points(settings: MadsSettings, log: Sequence[Evaluation], add_fresh: bool,
                   rng_seed: int, wanted: Callable[[Key], bool]) -> tuple[list[Key], str]:
    """Starting points of a restart and how they were chosen: the best feasible and the best
    infeasible trained points; with ``add_fresh`` (the last NOMAD run proposed nothing new)
    or when nothing succeeded yet, also up to ``dimension + 1`` space-filling points that
    ``wanted`` accepts (not answered yet, and not screened)."""
    ok = [e for e in log if e.status == "ok"]
    feasible = [e for e in ok if all(c <= 0 for c in e.outputs[1:])]
    infeasible = [e for e in ok if not all(c <= 0 for c in e.outputs[1:])]
    starts, how = [], []
    if feasible:
        starts.append(min(feasible, key=lambda e: e.outputs[0]).x)
        how.append("the best feasible point")
    if infeasible:
        starts.append(min(infeasible, key=lambda e: (_h(e), e.outputs[0])).x)
        how.append("the best infeasible point")
    if not starts or add_fresh:
        fresh = space_filling(settings, settings.dimension + 1, rng_seed, wanted)
        if fresh:
            starts += fresh
            how.append(f"{len(fresh)} space-filling new points")
    return (starts or [settings.x0[0]]), " and ".join(how) or "x0"


def space_filling(settings: MadsSettings, n: int, rng_seed: int,
                  wanted: Callable[[Key], bool]) -> list[Key]:
    """Up to ``n`` Latin-hypercube points on the box's grid that ``wanted`` accepts."""
    rng = np.random.default_rng(rng_seed)
    d = settings.dimension
    points: list[Key] = []
    for _ in range(50):
        u = (rng.permuted(np.tile(np.arange(n), (d, 1)), axis=1).T + rng.random((n, d))) / n
        for row in u:
            key = snap(settings, row)
            if key not in points and wanted(key):
                points.append(key)
        if len(points) >= n:
            break
    return points[:n]


def snap(settings: MadsSettings, u) -> Key:
    """A unit-cube point mapped into the box, on the granularity and integer grid."""
    return snap_many(settings, [u])[0]


def snap_many(settings: MadsSettings, u) -> list[Key]:
    """Unit-cube points (rows of ``u``) mapped into the box, on the granularity and integer
    grid (rounding half to even), as keys."""
    s = settings
    lo, hi = np.array(s.lower, dtype=float), np.array(s.upper, dtype=float)
    step = np.array([g if g > 0 else (1.0 if t == "I" else 0.0)
                     for g, t in zip(s.granularity, s.input_types)])
    on_grid = step > 0
    v = lo + np.asarray(u, dtype=float).reshape(-1, len(lo)) * (hi - lo)
    v = np.where(on_grid, np.round(v / np.where(on_grid, step, 1.0)) * step, v)
    while (over := on_grid & (v > hi + 1e-12)).any():
        v = np.where(over, v - step, v)
    while (under := on_grid & (v < lo - 1e-12)).any():
        v = np.where(under, v + step, v)
    v = np.where(on_grid & (np.array(s.input_types) == "I"), np.round(v), v)
    return [tuple(row) for row in np.minimum(np.maximum(v, lo), hi).tolist()]
