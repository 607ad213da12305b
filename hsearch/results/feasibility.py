"""Feasibility at an accuracy threshold: one rule for the trial, every searcher, racing, the
report and the tabular benchmark.

An accuracy is a count of correct predictions over a fixed number ``n`` of images, and the mean
over ``K`` seeds is ``sum(c_i) / (n K)``: two different means of the same ``n`` and ``K`` differ
by at least ``1 / (n K)`` (1 / 1200 for the demo's 300 validation images and 4 seeds). Floats
carry these ratios with rounding errors near 1e-16, and the same accuracies summed in another
order can move a float mean by one unit in the last place -- enough to flip ``mean >= threshold``
when a configuration scores exactly the threshold (e.g. NAS's start point, the baseline itself).
So:

* :func:`mean_accuracy` is the exact mean of the given floats (rational arithmetic, rounded once):
  the same multiset of accuracies gives the same float in any order;
* :func:`accuracy_gap` is ``threshold - mean``, and exactly ``0.0`` when
  ``|threshold - mean| <= GAP_TOLERANCE``;
* a mean is feasible when its gap is ``<= 0`` (:func:`meets_threshold`) -- NOMAD's own rule on the
  constraint value ``acc_gap``, so every searcher, the pruner and the report see one decision.

``GAP_TOLERANCE`` (1e-9) is far above float rounding (~1e-16 for values in [0, 1]) and far below
one image's step ``1 / (n K)`` whenever ``n K < 10^9``; a threshold's tolerance given with more
than 9 decimals is the only way to place a mean within it and yet not equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Sequence

from hsearch.checks import is_number
from hsearch.errors import UserError

#: Gaps this small count as exactly 0 (see the module docstring).
GAP_TOLERANCE = 1e-9


def check_tolerance(tolerance) -> float:
    """``tolerance`` as a float; UserError unless ``0 <= tolerance < 1`` (the one check of the
    rule: NAS settings, the compare protocol and the tabular problem all ask here)."""
    if not (is_number(tolerance) and math.isfinite(tolerance) and 0.0 <= tolerance < 1.0):
        raise UserError(f"`0 <= tolerance < 1` must hold, but got tolerance={tolerance!r}")
    return float(tolerance)


@dataclass(frozen=True)
class Threshold:
    """The accuracy a result must reach: ``value = level - tolerance``, computed here only.

    level: the mean accuracy the threshold is taken from (NAS: the baseline's ``acc_mean``, or
    ``--baseline-acc``; the tabular problem: its baseline cell's, or an absolute level).
    tolerance: how far below ``level`` still counts (:func:`check_tolerance`). A run records
    all three (``baseline.json``: ``acc_mean``, ``tolerance``, ``threshold``) and reads the
    value back from there.
    """

    level: float
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if not (is_number(self.level) and math.isfinite(self.level)):
            raise UserError(f"`level` must be a finite mean accuracy, but got level={self.level!r}")
        object.__setattr__(self, "level", float(self.level))
        object.__setattr__(self, "tolerance", check_tolerance(self.tolerance))

    @property
    def value(self) -> float:
        """``level - tolerance``: the accuracy a feasible result reaches."""
        return self.level - self.tolerance


def penalized(objective: float, violation: float, weight: float) -> float:
    """The penalised objective ``objective + weight * violation`` of a searcher without
    constraint support (the workflows' ``penalized`` and hsearch compare's penalty rule);
    NaN or inf in, NaN or inf out: the callers decide what a failed evaluation scores."""
    return objective + weight * violation


def mean_accuracy(accs: Sequence[float]) -> float:
    """The mean of ``accs``, computed exactly and rounded once (independent of their order).

    A non-finite value makes the mean NaN or infinite, as a float sum would.
    """
    values = [float(a) for a in accs]
    if not values:
        raise ValueError("`accs` must not be empty")
    if not all(math.isfinite(v) for v in values):
        return math.fsum(values) / len(values)
    return float(sum(map(Fraction, values), Fraction(0)) / len(values))


def accuracy_gap(threshold: float, acc_mean: float, tolerance: float = GAP_TOLERANCE) -> float:
    """``threshold - acc_mean`` (feasible when ``<= 0``); exactly 0.0 within ``tolerance``.

    NaN (a failed evaluation) stays NaN: it is never feasible. ``tolerance``: GAP_TOLERANCE for
    accuracies as measured; larger for accuracies stored rounded (e.g. a table's 6 decimals),
    always well below one image's step ``1 / (n K)``.
    """
    gap = float(threshold) - float(acc_mean)
    return 0.0 if abs(gap) <= tolerance else gap


def meets_threshold(acc_mean: float, threshold: float, tolerance: float = GAP_TOLERANCE) -> bool:
    """True when ``acc_mean`` reaches ``threshold`` under the rule above (NaN never does)."""
    return accuracy_gap(threshold, acc_mean, tolerance) <= 0.0
