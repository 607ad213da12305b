"""Where a restarted NOMAD run starts, and the surrogate's constraint estimate (for ``mads``).

Pure functions of the settings and the evaluation log, so that a replay recomputes the same.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from hsearch.search.mads_settings import Evaluation, MadsSettings

__all__ = ["restart_points", "space_filling", "snap", "constraint_estimate"]

Key = tuple[float, ...]


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
    s = settings
    out = []
    for ui, lo, hi, g, t in zip(u, s.lower, s.upper, s.granularity, s.input_types):
        v = lo + float(ui) * (hi - lo)
        step = g if g > 0 else (1.0 if t == "I" else 0.0)
        if step > 0:
            v = round(v / step) * step
            while v > hi + 1e-12:
                v -= step
            while v < lo - 1e-12:
                v += step
            v = float(round(v)) if t == "I" else float(v)
        out.append(min(max(v, lo), hi))
    return tuple(out)


def constraint_estimate(settings: MadsSettings, log: Sequence[Evaluation], key: Key) -> list[float]:
    """Constraint values for NOMAD's static surrogate at ``key``: 0 (unknown) unless
    ``settings.monotone_constraints``; then ``min c(y)`` over trained ``y <= key`` if that is
    ``<= 0`` (a smaller point is feasible), else ``max c(z)`` over trained ``z >= key`` if
    that is ``> 0`` (a larger point is infeasible), else 0."""
    m = settings.n_constraints
    if not settings.monotone_constraints or m == 0:
        return [0.0] * m
    x = np.array(key)
    upper, lower = [math.inf] * m, [-math.inf] * m
    for e in log:
        if e.status != "ok":
            continue
        y = np.array(e.x)
        if np.all(y <= x):
            upper = [min(u, c) for u, c in zip(upper, e.outputs[1:])]
        if np.all(y >= x):
            lower = [max(lo, c) for lo, c in zip(lower, e.outputs[1:])]
    return [u if u <= 0 else (lo if lo > 0 else 0.0) for u, lo in zip(upper, lower)]
