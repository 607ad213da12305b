"""Racing: stop evaluating a configuration once its first seeds show it cannot reach a threshold.

The rule (:class:`RacingRule`), stated once
-------------------------------------------
A configuration is evaluated on ``K`` seeds; its score is the mean ``M`` of the ``K`` seed
accuracies, and it is feasible when ``M >= threshold``. After ``n`` seeds (``min_seeds <= n < K``)
with mean ``m`` and sample standard deviation ``s`` (ddof=1), the seeds are modelled as i.i.d.
normal draws. The mean ``R`` of the ``K - n`` seeds still to run then satisfies
``(R - m) / (s * sqrt(1/n + 1/(K - n))) ~ Student-t with n - 1 degrees of freedom``, and since
``M = m + (K - n)/K * (R - m)``, the one-sided upper prediction bound of ``M`` at level
``confidence`` is::

    UPB = m + (K - n)/K * t_{confidence, n-1} * max(s, std_floor) * sqrt(1/n + 1/(K - n))

The configuration is **rejected when UPB < threshold** (decided by
hsearch.results.feasibility, the rule every other layer uses): under the model, the chance that
its final mean would still have reached the threshold is below ``1 - confidence``.

``std_floor`` guards against a tiny ``s`` from a few seeds that happen to agree (two seeds with the
same accuracy would otherwise give a zero-width bound). Because ``UPB >= m``, a configuration
whose seeds so far meet the threshold on average is never rejected, and a rejected one has a
partial mean below the threshold (it is reported infeasible with that partial mean).

Which seeds: the rule is applied to the seeds in seed order -- to the first ``n`` seeds of the
list, for ``n = min_seeds, ..., K - 1`` -- and a configuration is rejected at the first ``n``
whose bound falls below the threshold (:meth:`RacingRule.first_rejection`), with the mean of
those ``n`` seeds as its partial result. Seeds run one after the other stop right there; seeds
run in parallel may finish out of order, so every prefix that has finished is checked, and the
outcome (rejected or not, at which ``n``, with which partial mean) is the same as in sequence:
it depends on the seeds' results only, not on which finished first.

Confirmation (:class:`ConfirmRule`) is the mirror: a configuration whose ``K``-seed mean meets
the threshold but whose one-sided lower confidence bound does not trains more seeds, one at a
time, until the rule's verdict (hsearch.workflows.trial applies it; NasSettings.confirm).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from hsearch.checks import is_int
from hsearch.errors import UserError
from hsearch.results.feasibility import GAP_TOLERANCE, mean_accuracy, meets_threshold


@dataclass(frozen=True)
class RacingRule:
    """Early rejection of hopeless configurations (see the module docstring for the rule).

    enabled: off by default; a workflow applies the rule only when True.
    min_seeds: seeds needed before any decision (>= 2: the rule needs a standard deviation).
    confidence: one-sided level of the prediction bound, in (0.5, 1).
    std_floor: smallest standard deviation used in the bound (accuracy units, >= 0).
    """

    enabled: bool = False
    min_seeds: int = 3
    confidence: float = 0.95
    std_floor: float = 0.01

    def __post_init__(self) -> None:
        if not is_int(self.min_seeds) or self.min_seeds < 2:
            raise UserError(f"`racing.min_seeds >= 2` must hold, but got "
                            f"min_seeds={self.min_seeds!r}")
        _check_bound("racing", self.confidence, self.std_floor)

    def upper_bound(self, accs: Sequence[float], total_seeds: int) -> float:
        """UPB of the final ``total_seeds``-seed mean from the seeds in ``accs`` (module docs).

        With every seed done (``len(accs) == total_seeds``) the bound is the mean itself; with
        fewer than two seeds nothing is known and the bound is ``+inf``.
        """
        n = len(accs)
        if n > total_seeds:
            raise ValueError(f"`len(accs) <= total_seeds` must hold, but got len(accs)={n}, "
                             f"total_seeds={total_seeds}")
        if n == 0:
            return math.inf
        mean = mean_accuracy(accs)  # with every seed: exactly the trial's acc_mean
        if n == total_seeds:
            return mean
        if n < 2:
            return math.inf
        std, quantile = _spread(accs, mean, self.confidence)
        rest = total_seeds - n
        spread = max(std, self.std_floor) * math.sqrt(1.0 / n + 1.0 / rest)
        return mean + rest / total_seeds * quantile * spread

    def first_rejection(self, prefix: Sequence[float], total_seeds: int,
                        threshold: float) -> int | None:
        """The smallest ``n`` (``min_seeds <= n < total_seeds``, ``n <= len(prefix)``) at which
        the first ``n`` values of ``prefix`` (seeds in seed order) are rejected; None if none."""
        if not self.enabled:
            return None
        for n in range(self.min_seeds, min(len(prefix), total_seeds - 1) + 1):
            if not meets_threshold(self.upper_bound(prefix[:n], total_seeds), threshold):
                return n
        return None

    def should_reject(self, accs: Sequence[float], total_seeds: int, threshold: float) -> bool:
        """True when the rule rejects: enough seeds, some still to run, and UPB < threshold."""
        n = len(accs)
        if not self.enabled or n < self.min_seeds or n >= total_seeds:
            return False
        return not meets_threshold(self.upper_bound(accs, total_seeds), threshold)


def _check_bound(name: str, confidence: float, std_floor: float) -> None:
    """The settings racing and confirmation share: a one-sided level in (0.5, 1) and a
    standard deviation floor >= 0 (``name``: the settings' section in messages)."""
    if not 0.5 < confidence < 1.0:
        raise UserError(f"`0.5 < {name}.confidence < 1` must hold, but got "
                        f"confidence={confidence!r}")
    if not (math.isfinite(std_floor) and std_floor >= 0):
        raise UserError(f"`{name}.std_floor >= 0` must hold, but got std_floor={std_floor!r}")


def _spread(accs: Sequence[float], mean: float, confidence: float) -> tuple[float, float]:
    """The sample standard deviation (ddof=1) of two or more seeds' ``accs`` around their
    ``mean``, and Student's t quantile at ``confidence`` for them (n - 1 degrees of freedom)."""
    from scipy.stats import t as student_t

    n = len(accs)
    std = math.sqrt(math.fsum((a - mean) ** 2 for a in accs) / (n - 1))
    return std, float(student_t.ppf(confidence, n - 1))


def finished_prefix(results: dict[int, float], seeds: Sequence[int]) -> list[float]:
    """Values of the longest run of seeds, in ``seeds`` order, that all have a result."""
    prefix = []
    for seed in seeds:
        if seed not in results:
            break
        prefix.append(results[seed])
    return prefix


# --- confirmation: the mirror of racing ----------------------------------------------------------

#: Verdicts of :meth:`ConfirmRule.verdict` (None: train another seed).
CLEAR, CONFIRMED, FELL, MAX_SEEDS = "clear", "confirmed", "fell", "max_seeds"


@dataclass(frozen=True)
class ConfirmRule:
    """More seeds for a feasible result that may be a lucky draw, before it is believed.

    Racing stops a configuration whose final mean cannot reach the threshold; confirmation is its
    mirror. A trial whose ``K``-seed mean ``m`` meets the threshold is *within reach* of it when
    the one-sided lower confidence bound of its true mean,

        LCB = m - t_{confidence, n-1} * max(s, std_floor) / sqrt(n)     (n seeds, s: ddof=1)

    is below the threshold. Such a trial trains one more seed at a time (seeds ``K, K+1, ...``
    after its own) until :meth:`verdict` decides: ``"confirmed"`` (the lower bound clears the
    threshold), ``"fell"`` (the mirror upper bound fell below it, or ``max_seeds`` seeds were
    trained and their mean is below it: reported infeasible, with every seed) or ``"max_seeds"``
    (``max_seeds`` seeds trained and their mean meets it). ``"clear"``: the ``K`` seeds were
    enough. A mean that dips below the threshold while its upper bound does not goes on: stopping
    at the first dip would reject networks whose true mean sits just above the threshold (on the
    shipped table, the optima of the higher levels; docs/compare.md). A seed is never removed,
    and a result whose mean of all its seeds is below the threshold is never feasible.

    enabled: off by default. max_seeds: seeds a confirmed trial may reach (> the trial's K;
    None: twice the trial's K, :meth:`limit`).
    confidence: one-sided level of the bound, in (0.5, 1). std_floor: smallest standard
    deviation used (as racing's: two agreeing seeds must not make a zero-width bound).
    The settings that hold a rule check ``max_seeds`` against their K.
    """

    enabled: bool = False
    max_seeds: int | None = None
    confidence: float = 0.95
    std_floor: float = 0.01

    def __post_init__(self) -> None:
        if self.max_seeds is not None and (not is_int(self.max_seeds) or self.max_seeds < 2):
            raise UserError(f"`confirm.max_seeds >= 2` must hold, but got "
                            f"max_seeds={self.max_seeds!r}")
        _check_bound("confirm", self.confidence, self.std_floor)

    def limit(self, own_seeds: int) -> int:
        """The seeds a trial with ``own_seeds`` seeds may reach: ``max_seeds``, or twice
        ``own_seeds`` when it is None."""
        return 2 * own_seeds if self.max_seeds is None else self.max_seeds

    def lower_bound(self, accs: Sequence[float]) -> float:
        """LCB of the true mean from the seeds in ``accs`` (class docstring); ``-inf`` with
        fewer than two seeds."""
        return mean_accuracy(accs) - self._half_width(accs) if len(accs) >= 2 else -math.inf

    def upper_bound(self, accs: Sequence[float]) -> float:
        """UCB, the mirror of :meth:`lower_bound`; ``+inf`` with fewer than two seeds."""
        return mean_accuracy(accs) + self._half_width(accs) if len(accs) >= 2 else math.inf

    def _half_width(self, accs: Sequence[float]) -> float:
        std, quantile = _spread(accs, mean_accuracy(accs), self.confidence)
        return quantile * max(std, self.std_floor) / math.sqrt(len(accs))

    def verdict(self, accs: Sequence[float], own_seeds: int, threshold: float,
                tolerance: float = GAP_TOLERANCE) -> str | None:
        """What ``accs`` (the trial's ``own_seeds`` seeds, then the added ones, in order) decide:
        None for "train another seed", else a verdict (class docstring). A mean below the
        threshold on the trial's own seeds is no matter for confirmation (``""``).
        ``tolerance``: the threshold's (hsearch.results.feasibility)."""
        n = len(accs)
        if n < own_seeds:
            raise ValueError(f"`len(accs) >= own_seeds` must hold, but got len(accs)={n}, "
                             f"own_seeds={own_seeds}")
        meets = meets_threshold(mean_accuracy(accs), threshold, tolerance)
        if n == own_seeds and not meets:
            return ""
        if meets_threshold(self.lower_bound(accs), threshold, tolerance):
            return CLEAR if n == own_seeds else CONFIRMED
        if n >= self.limit(own_seeds):
            return MAX_SEEDS if meets else FELL
        if n > own_seeds and not meets_threshold(self.upper_bound(accs), threshold, tolerance):
            return FELL
        return None

    def confirm(self, accs: Sequence[float], more: Sequence[float], threshold: float,
                tolerance: float = GAP_TOLERANCE) -> tuple[list[float], str]:
        """The whole confirmation of a trial whose own seeds gave ``accs``, with ``more`` the
        accuracies its next seeds would give, in order: ``(every seed's accuracy, verdict)``
        (the verdict ``""`` when the own mean is below the threshold). The replay's model of
        what a trial does one seed at a time."""
        used = list(accs)
        if not self.enabled:
            return used, ""
        extra = iter(more)
        while True:
            decided = self.verdict(used, len(accs), threshold, tolerance)
            if decided is not None:
                return used, decided
            try:
                used.append(next(extra))
            except StopIteration:
                return used, MAX_SEEDS
