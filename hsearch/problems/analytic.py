"""Constrained analytic test problems from the derivative-free optimisation literature.

Each problem is a :class:`Problem`: a Ray Tune search space, a function that turns one
config into a metrics dict (the objective and every constraint, constraints meaning
``value <= 0`` is feasible), the known optimum and a starting point. The same object
drives standalone NOMAD, :class:`hsearch.search.NomadSearcher` under Tune, and the
other Tune searchers, so the benchmark compares like with like.

Problems (all minimisation):

* ``g06`` -- 2 real variables, 2 non-linear constraints; a thin crescent-shaped
  feasible region (Floudas & Pardalos 1987; CEC 2006 suite, problem g06).
* ``g04`` -- 5 real variables, 6 non-linear constraints (Himmelblau's problem;
  CEC 2006 suite, problem g04).
* ``pressure_vessel`` -- 4 variables, 2 of them integer (shell and head thickness are
  integer multiples of 0.0625 inch), 4 constraints (Sandgren 1990; the mixed-discrete
  form used in the MADS literature).
* ``g07`` -- 10 real variables, 8 constraints (Hock & Schittkowski problem 113;
  CEC 2006 suite, problem g07).

Search spaces are built on demand (``get_problem``), so importing this module does not
import Ray.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hsearch.errors import UserError

__all__ = ["Problem", "ProblemBlackbox", "get_problem", "list_problems"]


@dataclass(frozen=True)
class Problem:
    """A black-box test problem with a Tune search space and a known optimum.

    Attributes:
        name: Registry name.
        space: Ray Tune search space (a dict of ``tune.*`` domains and constants).
        evaluate: ``config -> metrics``; must be a picklable module-level callable so
            Ray workers and NOMAD child processes can run it.
        objective: Name of the metric to minimise (or maximise, see ``mode``).
        constraints: Metric names whose value must be ``<= 0`` for feasibility.
        best_value: Known optimal objective value (best feasible).
        best_config: A config reaching ``best_value`` (may be rounded), or None.
        x0: Starting config given to the searchers, or None (box centre).
        mode: ``"min"`` or ``"max"``.
        source: Where the problem and its optimum come from.
        metadata: Facts for reports (picklable values).
        cost_report: ``config -> metrics`` known *before* evaluating (the objective, e.g. MACs),
            with the constraints as an untrained point reports them; None when nothing is known
            before evaluating (then no point is screened: hsearch.compare.free).
    """

    name: str
    space: Mapping[str, Any]
    evaluate: Callable[[Mapping[str, Any]], dict[str, float]]
    objective: str = "objective"
    constraints: tuple[str, ...] = ()
    best_value: float = math.nan
    best_config: Mapping[str, Any] | None = None
    x0: Mapping[str, Any] | None = None
    mode: str = "min"
    source: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    cost_report: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    def __post_init__(self) -> None:
        if self.mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', but got mode={self.mode!r}")
        if not callable(self.evaluate):
            raise TypeError(f"`evaluate` must be callable, but got {self.evaluate!r}")

    @property
    def dimension(self) -> int:
        """Number of searched variables (entries of ``space`` that are Tune domains)."""
        from ray.tune.search.sample import Domain

        return sum(isinstance(v, Domain) for v in self.space.values())

    def outputs(self, metrics: Mapping[str, float]) -> list[float]:
        """``[objective, c_1, ..., c_m]`` in NOMAD's convention (minimised, ``c <= 0``)."""
        sign = -1.0 if self.mode == "max" else 1.0
        return [sign * float(metrics[self.objective])] + [
            float(metrics[c]) for c in self.constraints
        ]

    def is_feasible(self, metrics: Mapping[str, float], tol: float = 0.0) -> bool:
        """True when every constraint metric is ``<= tol`` and the objective is finite."""
        values = [metrics.get(self.objective, math.nan)] + [
            metrics.get(c, math.nan) for c in self.constraints
        ]
        if not all(math.isfinite(v) for v in values):
            return False
        return all(metrics[c] <= tol for c in self.constraints)


# --- objective functions (module level: picklable for Ray workers) ---------------------


def _g06(config: Mapping[str, Any]) -> dict[str, float]:
    x1, x2 = float(config["x1"]), float(config["x2"])
    return {
        "objective": (x1 - 10.0) ** 3 + (x2 - 20.0) ** 3,
        "g1": -((x1 - 5.0) ** 2) - (x2 - 5.0) ** 2 + 100.0,
        "g2": (x1 - 6.0) ** 2 + (x2 - 5.0) ** 2 - 82.81,
    }


def _g04(config: Mapping[str, Any]) -> dict[str, float]:
    x1, x2, x3, x4, x5 = (float(config[f"x{i}"]) for i in range(1, 6))
    u = 85.334407 + 0.0056858 * x2 * x5 + 0.0006262 * x1 * x4 - 0.0022053 * x3 * x5
    v = 80.51249 + 0.0071317 * x2 * x5 + 0.0029955 * x1 * x2 + 0.0021813 * x3**2
    w = 9.300961 + 0.0047026 * x3 * x5 + 0.0012547 * x1 * x3 + 0.0019085 * x3 * x4
    return {
        "objective": 5.3578547 * x3**2 + 0.8356891 * x1 * x5 + 37.293239 * x1 - 40792.141,
        "g1": u - 92.0,
        "g2": -u,
        "g3": v - 110.0,
        "g4": -v + 90.0,
        "g5": w - 25.0,
        "g6": -w + 20.0,
    }


_VESSEL_STEP = 0.0625  # plate thicknesses come in 1/16 inch


def _pressure_vessel(config: Mapping[str, Any]) -> dict[str, float]:
    ts = _VESSEL_STEP * int(config["shell_k"])
    th = _VESSEL_STEP * int(config["head_k"])
    r, length = float(config["radius"]), float(config["length"])
    return {
        "objective": 0.6224 * ts * r * length
        + 1.7781 * th * r**2
        + 3.1661 * ts**2 * length
        + 19.84 * ts**2 * r,
        "g1": -ts + 0.0193 * r,
        "g2": -th + 0.00954 * r,
        "g3": -math.pi * r**2 * length - 4.0 / 3.0 * math.pi * r**3 + 1296000.0,
        "g4": length - 240.0,
    }


def _g07(config: Mapping[str, Any]) -> dict[str, float]:
    x = [float(config[f"x{i}"]) for i in range(1, 11)]
    x1, x2, x3, x4, x5, x6, x7, x8, x9, x10 = x
    f = (
        x1**2 + x2**2 + x1 * x2 - 14 * x1 - 16 * x2 + (x3 - 10) ** 2 + 4 * (x4 - 5) ** 2
        + (x5 - 3) ** 2 + 2 * (x6 - 1) ** 2 + 5 * x7**2 + 7 * (x8 - 11) ** 2
        + 2 * (x9 - 10) ** 2 + (x10 - 7) ** 2 + 45
    )
    return {
        "objective": f,
        "g1": -105 + 4 * x1 + 5 * x2 - 3 * x7 + 9 * x8,
        "g2": 10 * x1 - 8 * x2 - 17 * x7 + 2 * x8,
        "g3": -8 * x1 + 2 * x2 + 5 * x9 - 2 * x10 - 12,
        "g4": 3 * (x1 - 2) ** 2 + 4 * (x2 - 3) ** 2 + 2 * x3**2 - 7 * x4 - 120,
        "g5": 5 * x1**2 + 8 * x2 + (x3 - 6) ** 2 - 2 * x4 - 40,
        "g6": x1**2 + 2 * (x2 - 2) ** 2 - 2 * x1 * x2 + 14 * x5 - 6 * x6,
        "g7": 0.5 * (x1 - 8) ** 2 + 2 * (x2 - 4) ** 2 + 3 * x5**2 - x6 - 30,
        "g8": -3 * x1 + 6 * x2 + 12 * (x9 - 8) ** 2 - 7 * x10,
    }


# --- builders (import Ray lazily) ------------------------------------------------------


def _build_g06() -> Problem:
    from ray import tune

    return Problem(
        name="g06",
        space={"x1": tune.uniform(13.0, 100.0), "x2": tune.uniform(0.0, 100.0)},
        evaluate=_g06,
        constraints=("g1", "g2"),
        best_value=-6961.81387558015,
        best_config={"x1": 14.095, "x2": 0.8429607892154796},
        x0={"x1": 20.0, "x2": 50.0},
        source="Floudas & Pardalos (1987); CEC 2006 constrained suite g06",
    )


def _build_g04() -> Problem:
    from ray import tune

    return Problem(
        name="g04",
        space={
            "x1": tune.uniform(78.0, 102.0),
            "x2": tune.uniform(33.0, 45.0),
            "x3": tune.uniform(27.0, 45.0),
            "x4": tune.uniform(27.0, 45.0),
            "x5": tune.uniform(27.0, 45.0),
        },
        evaluate=_g04,
        constraints=tuple(f"g{i}" for i in range(1, 7)),
        best_value=-30665.53867178332,
        best_config={"x1": 78.0, "x2": 33.0, "x3": 29.9952560256816, "x4": 45.0,
                     "x5": 36.7758129057882},
        x0=None,
        source="Himmelblau (1972); CEC 2006 constrained suite g04",
    )


def _build_pressure_vessel() -> Problem:
    from ray import tune

    return Problem(
        name="pressure_vessel",
        space={
            # thickness = 0.0625 * k, k in 1..99 (randint's upper bound is exclusive)
            "shell_k": tune.randint(1, 100),
            "head_k": tune.randint(1, 100),
            "radius": tune.uniform(10.0, 200.0),
            "length": tune.uniform(10.0, 200.0),
        },
        evaluate=_pressure_vessel,
        constraints=("g1", "g2", "g3", "g4"),
        best_value=6059.714335048436,
        best_config={"shell_k": 13, "head_k": 7, "radius": 42.09844559585492,
                     "length": 176.6365958424394},
        x0={"shell_k": 20, "head_k": 10, "radius": 60.0, "length": 100.0},
        source="Sandgren (1990), mixed-discrete form; optimum from Kannan & Kramer (1994) "
        "and later MADS/PSO studies",
    )


def _build_g07() -> Problem:
    from ray import tune

    return Problem(
        name="g07",
        space={f"x{i}": tune.uniform(-10.0, 10.0) for i in range(1, 11)},
        evaluate=_g07,
        constraints=tuple(f"g{i}" for i in range(1, 9)),
        best_value=24.30620906818,
        best_config={"x1": 2.17199634142692, "x2": 2.3636830416034, "x3": 8.77392573913157,
                     "x4": 5.09598443745173, "x5": 0.990654756560493,
                     "x6": 1.43057392853463, "x7": 1.32164415364306,
                     "x8": 9.82872576524495, "x9": 8.2800915887356,
                     "x10": 8.3759266477347},
        x0=None,
        source="Hock & Schittkowski (1981) problem 113; CEC 2006 constrained suite g07",
    )


def _registry() -> dict[str, Callable[[], Problem]]:
    return {
        "g06": _build_g06,
        "g04": _build_g04,
        "pressure_vessel": _build_pressure_vessel,
        "g07": _build_g07,
    }


class ProblemBlackbox:
    """Picklable ``x -> [objective, c_1..c_m]`` for a registered problem, in encoded space.

    Decodes the NOMAD vector with :class:`hsearch.search.SpaceCodec` over the problem's
    space: the black box a standalone ``PyNomad.optimize`` run sees. Built from the name,
    so it pickles small and rebuilds itself in another process.
    """

    def __init__(self, name: str):
        self.name = name
        self._cache = None

    def __getstate__(self) -> dict[str, Any]:
        return {"name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["name"])

    def __call__(self, x) -> list[float]:
        if self._cache is None:
            from hsearch.search.space import SpaceCodec  # Ray: hsearch.search imports ray.tune

            problem = get_problem(self.name)
            self._cache = (problem, SpaceCodec(problem.space))
        problem, codec = self._cache
        return problem.outputs(problem.evaluate(codec.decode(x)))


def list_problems() -> list[str]:
    """Names of the registered analytic problems."""
    return list(_registry())


def get_problem(name: str) -> Problem:
    """Build the problem registered under ``name``.

    Raises:
        UserError: unknown name (the message lists the known ones).
    """
    builders = _registry()
    if name not in builders:
        raise UserError(f"unknown problem {name!r}; known problems: {', '.join(builders)}")
    return builders[name]()
