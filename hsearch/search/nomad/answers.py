"""What a point's answer can be without training it (for ``asktell``): networks, screening,
the known objective and the surrogate's constraint estimate.

:class:`FreeAnswers` holds the user's ``known`` (``x -> objective``) and ``network_key``
(``x -> hashable``), calls each at most once per point (cached) and never raises (a failure
means "unknown": PyNomad segfaults when a callback raises). It remembers which point stands
for each network (the first trained or handed-out one) and the duplicates waiting for a
handed-out point's result. Every decision depends only on results already told, so a replay
repeats it. Why duplicates and screening: ``docs/search-nomad.md``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np

from hsearch.search.nomad.settings import Evaluation, MadsSettings

logger = logging.getLogger(__name__)

__all__ = ["FreeAnswers", "constraint_estimate"]

Key = tuple[float, ...]


class FreeAnswers:
    """The known objective and network identity of points, cached, and duplicates by network.

    Args:
        known: exact, cheap ``x -> objective`` (minimised), or None. May return None.
        network_key: ``x -> hashable``: points with equal keys are one evaluation, or None.
    """

    def __init__(self, known: Callable[[np.ndarray], float] | None = None,
                 network_key: Callable[[np.ndarray], Hashable] | None = None):
        self.known = known
        self.network_key = network_key
        self._known_cache: dict[Key, float | None] = {}
        self._net_cache: dict[Key, Hashable] = {}
        self._net_first: dict[Hashable, Key] = {}  # network -> its trained/handed point
        self._waiting: dict[Key, list[Key]] = {}  # handed point -> duplicates awaiting it
        self._warned_known = False

    def known_value(self, key: Key) -> float | None:
        """``known(x)``, cached; None when there is none or it fails (never raises)."""
        if self.known is None:
            return None
        if key not in self._known_cache:
            try:
                value = float(self.known(np.array(key)))
                value = value if math.isfinite(value) else None
            except Exception as exc:  # a user function: never let it reach NOMAD
                if not self._warned_known:
                    logger.warning("known objective failed at %s (%s); such points are "
                                   "neither sorted nor screened", key, exc)
                    self._warned_known = True
                value = None
            self._known_cache[key] = value
        return self._known_cache[key]

    def network(self, key: Key) -> Hashable | None:
        """``network_key(x)``, cached; None without ``network_key``; the point itself on failure."""
        if self.network_key is None:
            return None
        if key not in self._net_cache:
            try:
                self._net_cache[key] = self.network_key(np.array(key))
            except Exception as exc:
                logger.warning("network_key failed at %s (%s); treated as its own network",
                               key, exc)
                self._net_cache[key] = ("point", key)
        return self._net_cache[key]

    def first_of_network(self, key: Key) -> Key | None:
        """The point standing for ``key``'s network (trained or handed out), if any."""
        net = self.network(key)
        return None if net is None else self._net_first.get(net)

    def claim(self, key: Key) -> None:
        """``key`` stands for its network unless an earlier point does."""
        if (net := self.network(key)) is not None:
            self._net_first.setdefault(net, key)

    def unclaim(self, key: Key) -> None:
        """``key`` no longer stands for its network (it was screened before it ran)."""
        net = self.network(key)
        if net is not None and self._net_first.get(net) == key:
            del self._net_first[net]

    def index(self, log: Sequence[Evaluation], handed: Iterable[Key]) -> None:
        """Rebuild network -> first trained/handed point (after a restore)."""
        self._net_first = {}
        for e in log:
            if e.trained:
                self.claim(e.x)
        for key in handed:
            self.claim(key)

    def wait_for(self, first: Key, key: Key) -> None:
        """``key`` is answered with ``first``'s result when that is told."""
        self._waiting.setdefault(first, []).append(key)

    def release(self, first: Key) -> list[Key]:
        """The duplicates that waited for ``first`` (now told), forgotten."""
        return self._waiting.pop(first, [])

    def is_waiting(self, key: Key) -> bool:
        """True if ``key`` waits for another point's result."""
        return any(key in d for d in self._waiting.values())

    def screened_value(self, key: Key, best_objective: float) -> float | None:
        """``key``'s known objective if it cannot improve ``best_objective`` (``>=``), else None."""
        value = self.known_value(key)
        return value if value is not None and value >= best_objective else None


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
