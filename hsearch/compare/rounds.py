"""Rounds: how many trainings one after another a run's evaluation waited for.

The *depth* of a trained evaluation (runs.csv rows of one run, on the run's clock) is 1 + the
largest depth among the trained evaluations that had finished by the time it started
(``finish <= start``), 0 when none had: with one trial at a time, the k-th trained evaluation has
depth k; with q workers, a batch started together shares one depth. Free rows (``kind``
duplicate or screened: hsearch.compare.free) are no trainings: they have no depth and add none.
A row without a ``kind`` counts as trained. Two evaluations that start at the same time are
ordered by their row (finish) order, so a zero-cost trained evaluation precedes the ones it
could have informed and the depths stay well defined.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence

__all__ = ["depths", "is_trained"]


def is_trained(row: Mapping) -> bool:
    """True for a trained row (a row without ``kind`` counts as trained)."""
    kind = row.get("kind")
    return kind in (None, "", "trained")


def depths(run: Sequence[Mapping]) -> list[int | None]:
    """The depth of each row of ``run`` (module docstring; None for a free row), in row order."""
    order = sorted((i for i, r in enumerate(run) if is_trained(r)),
                   key=lambda i: (float(run[i]["start"]), i))
    out: list[int | None] = [None] * len(run)
    done: list[tuple[float, int]] = []  # (finish, depth) of trained rows started so far
    deepest = 0  # among those that had finished by the current start
    for i in order:
        start = float(run[i]["start"])
        while done and done[0][0] <= start:
            deepest = max(deepest, heapq.heappop(done)[1])
        out[i] = deepest + 1
        heapq.heappush(done, (float(run[i]["finish"]), out[i]))
    return out
