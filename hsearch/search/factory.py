"""Searchers by name: one table, so adding a searcher is one entry.

Example::

    made = make_searcher("nomad", SearchRequest(max_evals=30, max_concurrent=2,
                                                constraints=("acc_gap",)))
    made.algorithm            # a NomadSearcher, given the constraint acc_gap <= 0
    made.handles_constraints  # True; False for "random", "optuna", ...

Every searcher is built *without* ``metric``/``mode``: the runner passes them through
``tune.TuneConfig`` (Tune refuses both at once). The search space is Tune's ``param_space``.

Constraints: a searcher whose entry says ``constraints=True`` gets the constraint metrics
(``c <= 0`` feasible) and optimises the raw objective (NOMAD's progressive or extreme barrier).
For every other searcher the workflow optimises a penalised objective instead, the same rule for
all of them (hsearch.workflows.trial documents it: ``penalized``).
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field, replace
from typing import Any, Callable

from hsearch.errors import UserError
from hsearch.search.nomad_searcher import NomadSearcher

__all__ = ["SearchRequest", "MadeSearcher", "SearcherEntry", "SEARCHERS", "list_searchers",
           "available_searchers", "check_searcher_name", "is_available", "make_searcher"]


@dataclass(frozen=True)
class SearchRequest:
    """What a workflow asks of a searcher (all searchers get the same request).

    points_to_evaluate: configs evaluated first (NAS: the baseline; HPO: the default config).
    max_evals: evaluations in all (searchers that need a budget use it; Tune's ``num_samples``
    enforces it for every searcher). max_concurrent: trials at once. seed: the searcher's seed.
    constraints: metrics that must be ``<= 0`` (only for searchers with constraint support).
    constraint_type, nomad_params: NOMAD options (ignored by other searchers).
    known_objective, network_key, on_free: NOMAD only (``NomadSearcher``): an exact cheap
    objective of a config (used to sort and screen), a key under which configs are one
    evaluation, and a hook that receives each point answered without training.
    """

    points_to_evaluate: tuple[dict, ...] = ()
    max_evals: int = 50
    max_concurrent: int = 1
    seed: int = 0
    constraints: tuple[str, ...] = ()
    constraint_type: str = "PB"
    nomad_params: tuple[str, ...] = ()
    known_objective: Callable[[dict], float] | None = None
    network_key: Callable[[dict], Any] | None = None
    on_free: Callable[[int, Any], None] | None = None


@dataclass(frozen=True)
class MadeSearcher:
    """A built search algorithm and whether it received the constraints natively."""

    algorithm: Any
    handles_constraints: bool


@dataclass(frozen=True)
class SearcherEntry:
    """One row of the table: a name, the modules that must be importable, how to build it.

    module / extra_modules: importable modules the searcher needs (``requires`` lists both).
    install: the pip requirement that provides them. constraints: the searcher takes the
    constraint metrics natively. continuous: its Tune wrapper accepts only continuous domains
    (hsearch.compare relaxes integer domains for it).
    """

    name: str
    module: str
    install: str
    constraints: bool
    build: Callable[[SearchRequest], Any] = field(repr=False)
    description: str = ""
    extra_modules: tuple[str, ...] = ()
    continuous: bool = False

    @property
    def requires(self) -> tuple[str, ...]:
        """Every module that must be importable."""
        return (self.module, *self.extra_modules)


# The builders below import their searcher when it is built: each but NOMAD and random needs an
# optional package (optuna, hyperopt, nevergrad, zoopt, ...), which Ray's wrapper imports when it
# is installed; the table itself imports none of them.


def _nomad(r: SearchRequest, model_search: bool = True):
    return NomadSearcher(constraints=list(r.constraints), constraint_type=r.constraint_type,
                         points_to_evaluate=[dict(p) for p in r.points_to_evaluate],
                         max_evals=r.max_evals, max_concurrent=r.max_concurrent, seed=r.seed,
                         nomad_params=r.nomad_params, model_search=model_search,
                         known_objective=r.known_objective, network_key=r.network_key,
                         on_free=r.on_free)


def _nomad_plain(r: SearchRequest):
    return _nomad(r, model_search=False)


def _random(r: SearchRequest):
    from ray.tune.search.basic_variant import BasicVariantGenerator

    return BasicVariantGenerator(points_to_evaluate=[dict(p) for p in r.points_to_evaluate],
                                 max_concurrent=r.max_concurrent, random_state=r.seed)


def _points(r: SearchRequest) -> list[dict] | None:
    return [dict(p) for p in r.points_to_evaluate] or None


def _optuna(r: SearchRequest):
    from ray.tune.search.optuna import OptunaSearch

    return OptunaSearch(points_to_evaluate=_points(r), seed=r.seed)


def _optuna_constrained(r: SearchRequest):
    # optional: optuna
    from hsearch.search.adapters.optuna_constrained import ConstrainedOptunaSearch

    return ConstrainedOptunaSearch(constraints=r.constraints, seed=r.seed,
                                   points_to_evaluate=_points(r))


def _hyperopt(r: SearchRequest):
    from ray.tune.search.hyperopt import HyperOptSearch

    return HyperOptSearch(points_to_evaluate=_points(r), random_state_seed=r.seed)


def _bayesopt(r: SearchRequest):
    from hsearch.search.adapters.bayesopt import ErrorTolerantBayesOptSearch  # optional: bayes_opt

    return ErrorTolerantBayesOptSearch(points_to_evaluate=_points(r), random_state=r.seed)


def _hebo(r: SearchRequest):
    from hsearch.search.adapters.hebo import GridHEBOSearch  # optional: HEBO

    return GridHEBOSearch(points_to_evaluate=_points(r), random_state_seed=r.seed,
                          max_concurrent=r.max_concurrent)


def _nevergrad(r: SearchRequest):
    import nevergrad as ng

    from hsearch.search.adapters.nevergrad import SeededNevergradSearch  # optional: nevergrad

    return SeededNevergradSearch(r.seed, optimizer=ng.optimizers.OnePlusOne,
                                 points_to_evaluate=_points(r))


def _zoopt(r: SearchRequest):
    from hsearch.search.adapters.zoopt import SequentialSafeZOOptSearch  # optional: zoopt

    return SequentialSafeZOOptSearch(algo="asracos", budget=r.max_evals,
                                     points_to_evaluate=_points(r),
                                     parallel_num=r.max_concurrent, seed=r.seed)


def _ax(r: SearchRequest):
    from hsearch.search.adapters.ax import FixedAwareAxSearch  # optional: ax-platform

    constraints = [f"{c} <= 0.0" for c in r.constraints] or None
    # the AxClient options go through AxSearch's **ax_kwargs: AxSearch builds the client when
    # Tune hands it the space (an AxClient passed in must already hold an experiment)
    return FixedAwareAxSearch(points_to_evaluate=_points(r), outcome_constraints=constraints,
                              random_seed=r.seed, verbose_logging=False,
                              enforce_sequential_optimization=False)


def _bohb(r: SearchRequest):
    from hsearch.search.adapters.bohb import GridBOHB  # optional: hpbandster, ConfigSpace

    return GridBOHB(points_to_evaluate=_points(r), seed=r.seed, max_concurrent=r.max_concurrent)


#: The searchers hsearch knows, in the order ``--help`` lists them. ``constraints`` says whether
#: the searcher is given the constraints (else the workflow optimises a penalised objective).
SEARCHERS: dict[str, SearcherEntry] = {e.name: e for e in (
    SearcherEntry("nomad", "PyNomad", "PyNomadBBO", True, _nomad,
                  "NOMAD's MADS with the model search step, constrained "
                  "(hsearch.search.NomadSearcher)"),
    SearcherEntry("nomad-plain", "PyNomad", "PyNomadBBO", True, _nomad_plain,
                  "NOMAD's MADS alone, without the model search step"),
    SearcherEntry("random", "ray.tune", "ray[tune]", False, _random,
                  "random sampling (Tune's BasicVariantGenerator)"),
    SearcherEntry("optuna", "optuna", "optuna", False, _optuna, "Optuna's TPE (OptunaSearch)"),
    SearcherEntry("optuna-c", "optuna", "optuna", True, _optuna_constrained,
                  "Optuna's TPE with its constraint support (c-TPE; OptunaSearch subclass)"),
    SearcherEntry("hyperopt", "hyperopt", "hyperopt", False, _hyperopt,
                  "HyperOpt's TPE (HyperOptSearch)"),
    SearcherEntry("bayesopt", "bayes_opt", "bayesian-optimization<2", False, _bayesopt,
                  "Gaussian-process BO (BayesOptSearch; continuous domains only)",
                  continuous=True),
    SearcherEntry("hebo", "hebo", "HEBO", False, _hebo, "HEBO (HEBOSearch)"),
    SearcherEntry("nevergrad", "nevergrad", "nevergrad", False, _nevergrad,
                  "Nevergrad's (1+1) evolution strategy (NevergradSearch)"),
    SearcherEntry("zoopt", "zoopt", "zoopt", False, _zoopt, "ZOOpt's ASRacos (ZOOptSearch)"),
    SearcherEntry("bohb", "hpbandster", "hpbandster ConfigSpace", False, _bohb,
                  "BOHB's model-based sampler (TuneBOHB, as a plain searcher)",
                  extra_modules=("ConfigSpace",)),
    SearcherEntry("ax", "ax", "ax-platform", True, _ax,
                  "Ax's Bayesian optimisation with outcome constraints (AxSearch)"),
)}


def list_searchers() -> list[str]:
    """Every searcher name in the table (installed or not)."""
    return list(SEARCHERS)


def available_searchers() -> list[str]:
    """Searcher names whose packages are installed here."""
    return [name for name in SEARCHERS if is_available(name)]


def is_available(name: str) -> bool:
    """True when every module searcher ``name`` needs is importable (False for unknown names)."""
    entry = SEARCHERS.get(name)
    return entry is not None and all(_installed(m) for m in entry.requires)


def check_searcher_name(name: str) -> SearcherEntry:
    """The entry of ``name``; UserError for an unknown name or a searcher not installed."""
    entry = SEARCHERS.get(name)
    if entry is None:
        raise UserError(f"unknown searcher {name!r}; known searchers: {', '.join(SEARCHERS)} "
                        f"(installed: {', '.join(available_searchers())})")
    if not is_available(name):
        raise UserError(f"searcher {name!r} needs the package {entry.install!r}: "
                        f"pip install {entry.install} (or pip install \"hsearch[compare]\")")
    return entry


def make_searcher(name: str, request: SearchRequest) -> MadeSearcher:
    """Build searcher ``name`` for ``request``; constraints go only to searchers that take them."""
    entry = check_searcher_name(name)
    if not entry.constraints and request.constraints:
        request = replace(request, constraints=())
    return MadeSearcher(entry.build(request), entry.constraints)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False
