"""The metrics a NAS can minimise or constrain, in one table.

Every metric here is known **before training** (from the network alone: counted or timed), so
the screening of points that cannot improve (hsearch.workflows.pruning) works with any of them,
and a constraint on one is decided at the trial's cost report.

==================  ====  =======================================================
name                sense what
==================  ====  =======================================================
``macs``            min   multiply-accumulates of one image (hsearch.models.cost)
``params``          min   parameters
``latency_ms``      min   median inference latency at batch 1 (hsearch.hardware)
``throughput_ips``  max   images per second at the larger batch (hsearch.hardware)
==================  ====  =======================================================

``--objective`` takes one of the ``min`` rows; ``--constraint "METRIC <= BOUND"`` (or ``>=``)
any row. The accuracy constraint is the run's threshold (``acc_gap``), added by the workflow.
"""

from __future__ import annotations

from typing import Iterable

from hsearch.errors import UserError

#: metric -> ("min" | "max", description)
METRICS: dict[str, tuple[str, str]] = {
    "macs": ("min", "multiply-accumulates of one image"),
    "params": ("min", "parameters"),
    "latency_ms": ("min", "median inference latency at batch 1, ms"),
    "throughput_ips": ("max", "images per second at the throughput batch"),
}
#: metrics that can be the objective (minimised)
OBJECTIVES = tuple(name for name, (sense, _) in METRICS.items() if sense == "min")
#: objectives counted exactly from the network alone: NOMAD sorts and screens with them
KNOWN_OBJECTIVES = ("macs", "params")
#: metrics that need the network to be timed
TIMED = ("latency_ms", "throughput_ips")


def check_objective(name: str) -> str:
    """``name`` if it is a known objective, else UserError listing the known ones."""
    if name not in OBJECTIVES:
        raise UserError(f"unknown objective {name!r}; known objectives: {', '.join(OBJECTIVES)}")
    return name


def check_constraints(specs: Iterable[str]) -> tuple[str, ...]:
    """The constraint strings, each parsed (hsearch.search.constraints) and naming a metric of
    :data:`METRICS` with a bound; UserError for anything else. Returned normalised
    (``"params <= 1000000.0"``)."""
    from hsearch.search.constraints import parse_constraint  # hsearch.search imports Ray

    out = []
    for spec in specs:
        if not isinstance(spec, str):
            raise UserError(f"a constraint must be a string like 'latency_ms <= 2.5', but got "
                            f"{spec!r}")
        try:
            constraint = parse_constraint(spec)
        except ValueError as exc:
            raise UserError(str(exc)) from None
        if constraint.metric not in METRICS:
            raise UserError(f"unknown metric {constraint.metric!r} in constraint {spec!r}; known "
                            f"metrics: {', '.join(METRICS)}")
        if "<=" not in spec and ">=" not in spec:
            raise UserError(f"constraint {spec!r} needs a bound, e.g. "
                            f"'{constraint.metric} <= 2.5'")
        out.append(str(constraint))
    return tuple(out)


def needs_latency(objective: str, constraints: Iterable[str]) -> bool:
    """Whether the objective or a constraint is a timed metric."""
    from hsearch.search.constraints import parse_constraint  # hsearch.search imports Ray

    return objective in TIMED or any(parse_constraint(c).metric in TIMED for c in constraints)


def violation(constraint: str, metrics) -> float | None:
    """How far ``metrics`` break ``constraint``, as a fraction of its bound (0 when met; None
    when the metric is missing). The penalised objective adds ``penalty`` times this."""
    from hsearch.search.constraints import parse_constraint  # hsearch.search imports Ray

    parsed = parse_constraint(constraint)
    c = parsed.value(metrics)
    if c is None:
        return None
    return max(0.0, c) / max(abs(parsed.bound), 1e-12)
