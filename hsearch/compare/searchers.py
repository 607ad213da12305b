"""Searchers as a comparison drives them: the factory's objects, set up as Tune sets them up.

:func:`prepare_searcher` builds searcher ``name`` with :func:`hsearch.search.factory.make_searcher`
(the same object ``hsearch nas --searcher name`` gives Tune), wraps it in Tune's
``ConcurrencyLimiter`` and calls ``set_search_properties`` with the problem's space -- what
``tune.Tuner`` does -- so the replay drives exactly what a Tune run would. Two documented
exceptions:

* ``random``: the factory gives Tune's ``BasicVariantGenerator``, a SearchAlgorithm that makes
  Trial objects rather than a ``Searcher`` with ``suggest``; :class:`VariantSampler` is a Searcher
  that draws with the same routine (``generate_variants`` with a seeded numpy generator, the x0
  first), i.e. the same distribution;
* searchers whose entry says ``continuous=True`` (BayesOpt) get integer domains relaxed to
  ``uniform(low - 0.5, high + 0.5)``; :func:`snap` rounds their suggestions back to the grid.

NOMAD is given what the NAS workflow gives it (hsearch.workflows.nas): the problem's known
objective (:class:`KnownObjective`, where the problem has one: the table's MACs ratio) for
surrogate ordering and screening, and its network key (:class:`NetworkKey`) so that configs of
one network are one evaluation. It then never suggests the points it screens or answers from its
own cache (they reach no trial); :func:`own_free_points` counts them for the comparison.

Searchers that draw from the global ``random``/``numpy`` generators (Nevergrad's, ZOOpt's and
BOHB's internals) are made reproducible by seeding both with the run's seed before building.
"""

from __future__ import annotations

import copy
import logging
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from ray.tune.search import Searcher

from hsearch.search.factory import SearchRequest, check_searcher_name, make_searcher
from hsearch.search.space import SpaceCodec

logger = logging.getLogger(__name__)

__all__ = ["KnownObjective", "NetworkKey", "PreparedSearcher", "VariantSampler",
           "own_free_points", "prepare_searcher", "relax_space", "snap", "start_point"]


class KnownObjective:
    """``config -> objective`` known before training (the problem's ``cost_report``)."""

    def __init__(self, problem):
        self.report = problem.cost_report
        self.objective = problem.objective

    def __call__(self, config) -> float:
        return float(self.report(config)[self.objective])


class NetworkKey:
    """``config -> the network it builds`` (the problem's ``cache_metric``)."""

    def __init__(self, problem):
        self.evaluate = problem.evaluate
        self.metric = problem.metadata["cache_metric"]

    def __call__(self, config):
        return self.evaluate(config)[self.metric]


def own_free_points(inner) -> tuple[int, str]:
    """(points the searcher answered itself without a trial, its stop reason): NOMAD's screened
    and duplicate points; (0, "") for searchers that have no such answers."""
    free = getattr(inner, "free_evaluations", None)
    reason = getattr(inner, "stop_reason", "")
    return (len(free) if free is not None else 0), (reason if isinstance(reason, str) else "")


class VariantSampler(Searcher):
    """Random search as a ``Searcher``: the points to evaluate, then draws from the space with
    Tune's variant generator (what ``BasicVariantGenerator`` samples), seeded.

    Args:
        points_to_evaluate: configs suggested first, in order.
        seed: seed of the numpy generator of the draws.
    """

    def __init__(self, points_to_evaluate=None, seed: int = 0, metric=None, mode=None):
        super().__init__(metric=metric, mode=mode)
        self._points = [copy.deepcopy(dict(p)) for p in (points_to_evaluate or [])]
        self._rng = np.random.default_rng(seed)
        self._space: dict | None = None

    def set_search_properties(self, metric, mode, config, **spec) -> bool:
        if self._space is not None:
            return False
        self._metric = metric or self._metric
        self._mode = mode or self._mode
        self._space = dict(config)
        return True

    def suggest(self, trial_id: str) -> dict | None:
        from ray.tune.search.variant_generator import generate_variants

        if self._space is None:
            raise RuntimeError("VariantSampler.suggest called before set_search_properties")
        if self._points:
            return self._points.pop(0)
        _, config = next(generate_variants(self._space, random_state=self._rng))
        return config

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        """Random search learns nothing."""


@dataclass
class PreparedSearcher:
    """A searcher ready to drive: Tune's limiter around it, and how to read its suggestions.

    searcher: the ConcurrencyLimiter. inner: the factory's object (or VariantSampler).
    metric: what it minimises (the objective, or ``"penalized"`` without constraint support).
    native_constraints: whether it received the constraints. relaxed: names of integer domains
    relaxed to continuous ones (their suggestions must be :func:`snap`-ped).
    """

    name: str
    searcher: Any
    inner: Any
    metric: str
    native_constraints: bool
    relaxed: tuple[str, ...]
    space: dict

    def close(self) -> None:
        """End helper processes (NOMAD's child)."""
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()


def start_point(problem) -> dict:
    """The x0 every searcher gets: the problem's ``x0``, else the centre of its box."""
    if problem.x0 is not None:
        return dict(problem.x0)
    codec = SpaceCodec(problem.space)
    return dict(codec.decode(codec.center()))


def relax_space(space: Mapping[str, Any]) -> tuple[dict, tuple[str, ...]]:
    """Integer domains as ``uniform(low - 0.5, high + 0.5)`` (each integer owns a unit interval);
    returns the new space and the relaxed names."""
    from ray import tune
    from ray.tune.search.sample import Integer

    out, relaxed = {}, []
    for name, value in space.items():
        if isinstance(value, Integer):
            # Ray's Integer upper bound is exclusive: the values are lower .. upper - 1
            out[name] = tune.uniform(value.lower - 0.5, value.upper - 1 + 0.5)
            relaxed.append(name)
        else:
            out[name] = value
    return out, tuple(relaxed)


def snap(config: Mapping[str, Any], relaxed: tuple[str, ...], space: Mapping[str, Any]) -> dict:
    """``config`` with the relaxed values rounded to the nearest integer inside the original
    domain (half-way values round up)."""
    out = dict(config)
    for name in relaxed:
        domain = space[name]
        value = int(np.floor(float(config[name]) + 0.5))
        out[name] = min(max(value, domain.lower), domain.upper - 1)
    return out


def prepare_searcher(name: str, problem, budget: int, concurrency: int, seed: int,
                     nomad_params: tuple[str, ...] = ()) -> PreparedSearcher:
    """Build and set up searcher ``name`` for ``problem`` (module docstring).

    ``nomad_params``: extra NOMAD parameter lines (only NOMAD reads them).

    Raises UserError when the searcher's package is missing (the caller skips it).
    """
    from ray.tune.search import ConcurrencyLimiter
    from ray.tune.search.basic_variant import BasicVariantGenerator

    entry = check_searcher_name(name)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    x0 = start_point(problem)
    space = dict(problem.space)
    relaxed: tuple[str, ...] = ()
    if entry.continuous:
        space, relaxed = relax_space(space)
    meta = problem.metadata or {}
    made = make_searcher(name, SearchRequest(
        points_to_evaluate=(x0,), max_evals=budget, max_concurrent=concurrency, seed=seed,
        constraints=tuple(problem.constraints), nomad_params=tuple(nomad_params),
        known_objective=KnownObjective(problem) if problem.cost_report is not None else None,
        network_key=NetworkKey(problem) if meta.get("cache_metric") else None))
    inner = made.algorithm
    if isinstance(inner, BasicVariantGenerator):
        inner = VariantSampler(points_to_evaluate=[x0], seed=seed)
    metric = problem.objective if made.handles_constraints else "penalized"
    limiter = ConcurrencyLimiter(inner, max_concurrent=concurrency)
    if not limiter.set_search_properties(metric, "min", space):
        raise RuntimeError(f"searcher {name!r} refused the search space")
    return PreparedSearcher(name, limiter, inner, metric, made.handles_constraints, relaxed,
                            dict(problem.space))
