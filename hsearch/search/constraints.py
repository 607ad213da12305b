"""Constraints on reported metrics, in NOMAD's sign convention (``c(x) <= 0`` is feasible).

Users say what they mean and never hand-write the sign:

>>> round(parse_constraint("acc >= 0.93").value({"acc": 0.95}), 6)   # 0.93 - 0.95
-0.02
>>> round(at_least("acc", baseline=0.93, tolerance=0.01).value({"acc": 0.925}), 6)  # 0.92 - 0.925
-0.005
>>> parse_constraint("acc_gap").value({"acc_gap": 0.1})     # a bare name: the metric is c
0.1
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

__all__ = ["Constraint", "at_least", "at_most", "parse_constraint", "parse_constraints"]

_PATTERN = re.compile(r"^\s*(?P<metric>[^\s<>=!]+)\s*(?:(?P<op><=|>=)\s*(?P<bound>\S+))?\s*$")


@dataclass(frozen=True)
class Constraint:
    """``metric <op> bound`` with ``op`` in ``"<="``/``">="``; ``value`` gives NOMAD's ``c``.

    ``value(metrics)`` is ``bound - metric`` for ``>=`` and ``metric - bound`` for ``<=``,
    so feasible means ``value <= 0``, and its magnitude is the violation in the metric's
    own units (what NOMAD's progressive barrier aggregates).
    """

    metric: str
    op: str = "<="
    bound: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.metric, str) or not self.metric:
            raise ValueError(f"`metric` must be a non-empty string, but got {self.metric!r}")
        if self.op not in ("<=", ">="):
            raise ValueError(f"`op` must be '<=' or '>=', but got {self.op!r}")
        bound = float(self.bound)
        if not math.isfinite(bound):
            raise ValueError(f"`bound` must be finite, but got {self.bound!r}")
        object.__setattr__(self, "bound", bound)

    def value(self, metrics: Mapping[str, object]) -> float | None:
        """The constraint value ``c`` (feasible if ``<= 0``); None if the metric is missing,
        not a number, or not finite."""
        raw = metrics.get(self.metric)
        if raw is None or isinstance(raw, (bool, str, bytes)):
            return None
        try:
            m = float(raw)
        except (TypeError, ValueError):
            return None
        if not math.isfinite(m):
            return None
        return self.bound - m if self.op == ">=" else m - self.bound

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.bound!r}"


def at_least(metric: str, baseline: float, tolerance: float = 0.0) -> Constraint:
    """``metric >= baseline - tolerance`` (e.g. accuracy no worse than a baseline's)."""
    if not tolerance >= 0:
        raise ValueError(f"`tolerance >= 0` must hold, but got tolerance={tolerance}")
    return Constraint(metric, ">=", float(baseline) - float(tolerance))


def at_most(metric: str, limit: float, tolerance: float = 0.0) -> Constraint:
    """``metric <= limit + tolerance`` (e.g. latency or parameter count under a cap)."""
    if not tolerance >= 0:
        raise ValueError(f"`tolerance >= 0` must hold, but got tolerance={tolerance}")
    return Constraint(metric, "<=", float(limit) + float(tolerance))


def parse_constraint(spec: str | Constraint) -> Constraint:
    """Parse ``"metric >= value"``, ``"metric <= value"`` or a bare ``"metric"`` (meaning
    ``metric <= 0``, the metric already is NOMAD's ``c``). Constraint objects pass through.

    Raises:
        ValueError: anything else (strict ``<``/``>``, ``==``, a non-numeric bound...).
    """
    if isinstance(spec, Constraint):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"a constraint must be a string or Constraint, but got {spec!r}")
    match = _PATTERN.match(spec)
    if match is None:
        raise ValueError(
            f"cannot parse constraint {spec!r}: expected 'metric >= value', 'metric <= value' "
            "or a bare metric name (feasible when <= 0); strict < and > are not supported"
        )
    if match["op"] is None:
        return Constraint(match["metric"])
    try:
        bound = float(match["bound"])
    except ValueError:
        raise ValueError(
            f"cannot parse constraint {spec!r}: the bound {match['bound']!r} is not a number"
        ) from None
    return Constraint(match["metric"], match["op"], bound)


def parse_constraints(
    specs: Iterable[str | Constraint] | str | Constraint | None,
) -> tuple[Constraint, ...]:
    """Parse a list of constraint specs (a single spec is accepted too)."""
    if specs is None:
        return ()
    if isinstance(specs, (str, Constraint)):
        specs = [specs]
    return tuple(parse_constraint(s) for s in specs)
