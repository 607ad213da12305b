"""The comparison protocol: settings, problems, and the rule for searchers without constraints.

Protocol (the same for every searcher; :func:`hsearch.compare.run_comparison` applies it):

* **same budget**: ``budget`` evaluations per run (a searcher that stops earlier, e.g. NOMAD once
  its mesh is finer than the grid, keeps its best value for the rest of the budget);
* **same space**: the problem's Tune search space, given to every searcher as Tune would
  (``set_search_properties``); BayesOpt, which takes only continuous domains, gets integer
  domains relaxed to ``uniform(low - 0.5, high + 0.5)`` and its suggestions rounded -- the only
  searcher-specific change;
* **same x0**: every searcher's ``points_to_evaluate`` is the problem's starting point (the
  tabular NAS: the baseline cell; analytic problems: their documented x0, else the box centre),
  so the first evaluation of every run is the same;
* **same concurrency**: ``concurrency`` trials at once, for all (Tune's ``ConcurrencyLimiter``
  around every Searcher, as :func:`hsearch.workflows.runner.run_job` does);
* **repetitions**: ``repeats`` runs per searcher, run ``r`` with searcher seed ``seed + r``;
* **constraints**: searchers with native constraint support (``nomad``; ``optuna-c``, TPE with
  ``constraints_func``; ``ax`` with outcome constraints) get the objective and the constraint
  metrics. Every other searcher minimises one scalar, :class:`InfeasibleRule`:

  - ``penalty`` (default for the tabular and real NAS): ``f + weight * sum(max(0, c_j))``; on the
    NAS problems this is exactly the workflows' ``penalized`` (hsearch.workflows.trial:
    ``macs_ratio + 100 * max(0, acc_gap)``), so the benchmark measures what a user of
    ``hsearch nas --searcher X`` gets;
  - ``barrier`` (default for the analytic problems, whose objectives have unrelated scales): an
    infeasible point scores ``bound + sum(max(0, c_j))``, where ``bound`` is the objective's
    maximum over the box (so every infeasible point ranks behind every feasible one, ordered by
    violation). Unlike a fixed 1e9 it keeps values on the objective's scale, which model-based
    searchers (GPs, TPE) need.

  Neither rule favours NOMAD: both hand the other searchers the same information NOMAD's
  progressive barrier uses (the objective and the aggregate violation), and the barrier is exact
  (its minimiser is the constrained optimum). Whether the penalty is exact on the table is
  reported in ``summary.md`` (the penalised minimiser vs the true optimum).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hsearch.checks import check_int, is_int
from hsearch.compare.suite import SUITE_MAX_SEEDS, SUITE_SEEDS, TABULAR_LEVELS
from hsearch.errors import UserError
from hsearch.problems import get_problem, list_problems
from hsearch.results.feasibility import check_tolerance, penalized
from hsearch.workflows.racing import ConfirmRule

__all__ = ["CompareSettings", "InfeasibleRule", "ProblemSpec", "REAL_PROBLEMS", "SUITE",
           "list_compare_problems", "default_rule", "is_tabular", "suite_specs", "violation"]

#: Problems evaluated by real training through the workflows (not replayed).
REAL_PROBLEMS = ("nas",)
#: The problem name that runs the whole suite (hsearch.compare.suite).
SUITE = "suite"
RULES = ("penalty", "barrier")


def list_compare_problems() -> list[str]:
    """Problem names ``hsearch compare`` knows: the suite, the table, the analytic ones, the
    real NAS."""
    return [SUITE, "tabular", *list_problems(), *REAL_PROBLEMS]


def is_tabular(problem) -> bool:
    """True for an instance of the tabular NAS problem (``tabular``, ``tabular@<level>``, and
    their noisy instances ``...-k4``, ``...-k4-confirm``)."""
    return re.match(r"tabular([@-]|$)", problem.name) is not None


@dataclass(frozen=True)
class ProblemSpec:
    """A replayable problem by name (picklable: Ray tasks rebuild the problem from it).

    table: the tabular problem's CSV (None: the shipped one). tolerance: tabular accuracy slack.
    threshold: the tabular problem's absolute mean accuracy to reach (None: the baseline's).
    seeds_per_eval: K seeds drawn per evaluation of the table (None: the exact all-seed means;
    hsearch.compare.noisy). confirm: the workflows' confirmation rule for the noisy table
    (hsearch.workflows.racing.ConfirmRule; None: none).
    """

    name: str
    table: str | None = None
    tolerance: float = 0.0
    threshold: float | None = None
    seeds_per_eval: int | None = None
    confirm: ConfirmRule | None = None

    def __post_init__(self) -> None:
        known = [n for n in list_compare_problems() if n != SUITE]
        if self.name not in known:
            raise UserError(f"unknown problem {self.name!r}; known problems: {', '.join(known)}")
        check_tolerance(self.tolerance)
        if self.threshold is not None:
            if self.name != "tabular":
                raise UserError(f"`threshold` applies to the tabular problem only, but got "
                                f"problem={self.name!r}")
            from hsearch.problems.tabular import NasTable, check_level  # see tabular_problem

            check_level(self.threshold)
            NasTable(self.table, self.tolerance, self.threshold)  # a level no cell reaches
        if self.seeds_per_eval is None and self.confirm is not None:
            raise UserError("confirmation needs noisy evaluations: give `seeds_per_eval` too")
        if self.seeds_per_eval is not None:
            if self.name != "tabular":
                raise UserError(f"`seeds_per_eval` applies to the tabular problem only, but got "
                                f"problem={self.name!r}")
            self.build()  # the draws checked against the table

    @property
    def real(self) -> bool:
        return self.name in REAL_PROBLEMS

    @property
    def label(self) -> str:
        """The instance's name in outputs (``tabular@0.95`` for a threshold)."""
        if self.name == "tabular":
            from hsearch.problems.tabular import instance_name  # see tabular_problem

            label = instance_name(self.threshold)
            if self.seeds_per_eval is not None:
                label += f"-k{self.seeds_per_eval}" + ("-confirm" if self.confirm else "")
            return label
        return self.name

    def build(self, seed: int = 0):
        """The :class:`hsearch.problems.Problem` (not for real problems); ``seed``: the run's,
        for the draws of a noisy table."""
        if self.real:
            raise ValueError(f"problem {self.name!r} is evaluated by training, not replayed")
        if self.name == "tabular":
            # import cost: the table pulls in hsearch.results (yaml, numpy), and `hsearch --help`
            # imports this module (cli/compare)
            from hsearch.problems.tabular import tabular_problem

            if self.seeds_per_eval is None:
                return tabular_problem(self.table, self.tolerance, self.threshold)
            from hsearch.compare.noisy import noisy_tabular_problem

            return noisy_tabular_problem(self.table, self.tolerance, self.threshold,
                                         self.seeds_per_eval, self.confirm or ConfirmRule(),
                                         seed, name=self.label)
        return get_problem(self.name)


def violation(metrics: Mapping[str, Any], constraints: Sequence[str]) -> float:
    """Total violation ``sum(max(0, c_j))``; inf when a constraint value is missing or NaN."""
    total = 0.0
    for name in constraints:
        value = metrics.get(name)
        if value is None or not math.isfinite(float(value)):
            return math.inf
        total += max(0.0, float(value))
    return total


@dataclass(frozen=True)
class InfeasibleRule:
    """The scalar a searcher without constraint support minimises (module docstring).

    kind: "penalty" (``f + weight * v``) or "barrier" (``f`` if feasible, else ``bound + v``),
    with ``v = sum(max(0, c_j))``.
    """

    kind: str = "penalty"
    weight: float = 100.0
    bound: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in RULES:
            raise UserError(f"`kind` must be one of {', '.join(RULES)}, but got {self.kind!r}")
        if not (math.isfinite(self.weight) and self.weight > 0):
            raise UserError(f"`weight > 0` must hold, but got weight={self.weight!r}")
        if not math.isfinite(self.bound):
            raise UserError(f"`bound` must be finite, but got bound={self.bound!r}")

    def value(self, objective: float, total_violation: float) -> float:
        """The penalised objective (inf for a failed evaluation: NaN objective or violation)."""
        if not (math.isfinite(objective) and math.isfinite(total_violation)):
            return math.inf
        if self.kind == "penalty":
            return penalized(objective, total_violation, self.weight)
        return objective if total_violation <= 0.0 else self.bound + total_violation

    def describe(self) -> str:
        if self.kind == "penalty":
            return f"penalty: f + {self.weight:g} x sum(max(0, c))"
        return f"barrier: f if feasible, else {self.bound:.6g} + sum(max(0, c))"


def default_rule(problem, kind: str | None = None, weight: float | None = None) -> InfeasibleRule:
    """The rule for ``problem``: ``penalty`` (weight 100) for NAS problems, ``barrier`` for the
    analytic ones (``bound``: the objective's maximum over the box, see :func:`objective_bound`)."""
    if kind is None:
        kind = "penalty" if is_tabular(problem) or problem.name in REAL_PROBLEMS else "barrier"
    if kind == "penalty":
        return InfeasibleRule("penalty", weight=100.0 if weight is None else float(weight))
    return InfeasibleRule("barrier", bound=objective_bound(problem))


def objective_bound(problem) -> float:
    """The largest objective over the problem's box.

    The tabular problem: the largest ``macs_ratio`` in the table (exact). An analytic problem: the
    maximum over the box's vertices, which is the maximum over the box for the shipped problems
    (their objectives are monotone in every variable or convex).
    """
    if is_tabular(problem):
        table = problem.evaluate.table
        return max(c.macs for c in table.cells.values()) / table.baseline.macs
    from ray.tune.search.sample import Categorical, Domain, Float, Integer

    corners: list[list[Any]] = []
    for value in problem.space.values():
        if isinstance(value, Float):
            corners.append([value.lower, value.upper])
        elif isinstance(value, Integer):
            corners.append([value.lower, value.upper - 1])  # randint's upper is exclusive
        elif isinstance(value, Categorical):
            corners.append(list(value.categories))
        elif isinstance(value, Domain):
            raise ValueError(f"no vertices for domain {value!r}")
        else:
            corners.append([value])
    names = list(problem.space)
    best = -math.inf
    for vertex in itertools.product(*corners):
        metrics = problem.evaluate(dict(zip(names, vertex)))
        best = max(best, float(metrics[problem.objective]))
    return best


@dataclass(frozen=True)
class CompareSettings:
    """One comparison: which problem and searchers, and the protocol's numbers.

    problem: a :func:`list_compare_problems` name (``suite``: every instance of
    hsearch.compare.suite). threshold: the tabular problem's absolute mean accuracy to reach
    (None: the baseline's). instances: the suite's instances to run (empty: all). searchers:
    names of
    hsearch.search.factory.SEARCHERS (missing packages are skipped with a message). budget:
    evaluations per run. repeats: runs per searcher (seeds ``seed .. seed + repeats - 1``).
    concurrency: trials at once. rule / penalty: constraint handling for searchers without
    constraint support (None: the problem's default, see :func:`default_rule`). table /
    tolerance: the tabular problem's table and accuracy slack. num_cpus: CPUs of a local Ray
    (None: all). nas_config: the real NAS problem's experiment YAML (None: the demo's settings).
    nomad_params: extra NOMAD parameter lines, e.g. ``("NM_SEARCH no",)`` (NOMAD only; default
    none: NOMAD as ``hsearch nas`` runs it). seeds_per_eval: the tabular problem answered with K
    drawn seeds per evaluation (None: exact means; hsearch.compare.noisy); the suite's noisy
    instances use it (None there: 4). confirm, max_seeds, confidence: the workflows' confirmation
    of feasible results (hsearch.workflows.racing.ConfirmRule) for the noisy table; the suite
    runs each noisy instance with and without it.
    """

    problem: str = "tabular"
    searchers: tuple[str, ...] = ("nomad", "random", "optuna")
    budget: int = 60
    repeats: int = 10
    concurrency: int = 1
    seed: int = 0
    rule: str | None = None
    penalty: float | None = None
    table: str | None = None
    tolerance: float = 0.0
    num_cpus: int | None = None
    nas_config: str | None = None
    nomad_params: tuple[str, ...] = ()
    threshold: float | None = None
    instances: tuple[str, ...] = ()
    seeds_per_eval: int | None = None
    confirm: bool = False
    max_seeds: int = SUITE_MAX_SEEDS
    confidence: float = 0.95
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.problem == SUITE:
            if self.threshold is not None:
                raise UserError("`threshold` picks one tabular instance; the suite has its own "
                                "thresholds (drop --baseline-acc or pick --problem tabular)")
            ProblemSpec("tabular", self.table, self.tolerance)  # validates tolerance
            if self.confirm:
                raise UserError("the suite runs its noisy instances with and without "
                                "confirmation: drop --confirm (keep --max-seeds/--confidence)")
            self.specs  # validates the instance names
        else:
            if self.instances:
                raise UserError("`instances` picks instances of the suite: use it with "
                                "problem 'suite'")
            self.spec  # validates name, tolerance and threshold
        if not self.searchers:
            raise UserError("`searchers` must name at least one searcher")
        if len(set(self.searchers)) != len(self.searchers):
            raise UserError(f"`searchers` must not repeat a name, but got {list(self.searchers)}")
        from hsearch.search.factory import SEARCHERS  # Ray (seconds): not at parse time

        unknown = [s for s in self.searchers if s not in SEARCHERS]
        if unknown:
            raise UserError(f"unknown searcher {unknown[0]!r}; known searchers: "
                            f"{', '.join(SEARCHERS)}")
        for name in ("budget", "repeats", "concurrency"):
            value = getattr(self, name)
            check_int(name, value, 1)
        if self.concurrency > self.budget:
            raise UserError(f"`concurrency <= budget` must hold, but got "
                            f"concurrency={self.concurrency}, budget={self.budget}")
        check_int("seed", self.seed, 0)
        if self.rule is not None and self.rule not in RULES:
            raise UserError(f"`rule` must be one of {', '.join(RULES)}, but got {self.rule!r}")
        if self.penalty is not None and not (math.isfinite(self.penalty) and self.penalty > 0):
            raise UserError(f"`penalty > 0` must hold, but got penalty={self.penalty!r}")
        if isinstance(self.nomad_params, str) or not all(
                isinstance(line, str) and line.strip() for line in self.nomad_params):
            raise UserError(f"`nomad_params` must be a sequence of non-empty NOMAD parameter "
                            f"lines, but got {self.nomad_params!r}")
        self.confirm_rule  # validates max_seeds and confidence
        if self.confirm and self.seeds_per_eval is None:
            raise UserError("confirmation needs noisy evaluations: give --seeds-per-eval K too")
        if self.num_cpus is not None and (not is_int(self.num_cpus) or self.num_cpus < 1):
            raise UserError(f"`num_cpus >= 1` must hold, but got num_cpus={self.num_cpus!r}")

    @property
    def spec(self) -> ProblemSpec:
        """The one problem (not for the suite: :attr:`specs`)."""
        if self.problem == SUITE:
            raise ValueError("the suite has several problems: use `specs`")
        return ProblemSpec(self.problem, self.table, self.tolerance, self.threshold,
                           self.seeds_per_eval, self.confirm_rule if self.confirm else None)

    @property
    def confirm_rule(self) -> ConfirmRule:
        """The confirmation rule of these settings (enabled)."""
        return ConfirmRule(enabled=True, max_seeds=self.max_seeds, confidence=self.confidence)

    @property
    def specs(self) -> tuple[ProblemSpec, ...]:
        """Every problem these settings run: the suite's instances, or the one problem."""
        if self.problem == SUITE:
            specs = suite_specs(self.table, self.tolerance, self.seeds_per_eval or SUITE_SEEDS,
                                self.confirm_rule)
            if not self.instances:
                return specs
            labels = [s.label for s in specs]
            unknown = [i for i in self.instances if i not in labels]
            if unknown:
                raise UserError(f"unknown suite instance {unknown[0]!r}; the suite's instances: "
                                f"{', '.join(labels)}")
            return tuple(s for s in specs if s.label in self.instances)
        return (self.spec,)


def suite_specs(table: str | None = None, tolerance: float = 0.0, seeds_per_eval: int = 4,
                confirm: ConfirmRule | None = None) -> tuple[ProblemSpec, ...]:
    """The suite's problems (hsearch.compare.suite): the table at its TABULAR_LEVELS (a custom
    ``table``: its baseline level only), each exact, then with ``seeds_per_eval`` drawn seeds
    per evaluation without and with ``confirm`` (default: up to SUITE_MAX_SEEDS; left out for a
    table with fewer seeds per network than its ``max_seeds``), then the analytic problems."""
    levels = TABULAR_LEVELS if table is None else (None,)
    rule = confirm or ConfirmRule(enabled=True, max_seeds=SUITE_MAX_SEEDS)
    exact = tuple(ProblemSpec("tabular", table, tolerance, level) for level in levels)
    noisy: tuple[ProblemSpec, ...] = ()
    if _fewest_seeds(table, tolerance) >= rule.limit(seeds_per_eval):
        noisy = tuple(ProblemSpec("tabular", table, tolerance, level, seeds_per_eval, how)
                      for how in (None, rule) for level in levels)
    return exact + noisy + tuple(ProblemSpec(name) for name in list_problems())


def _fewest_seeds(table: str | None, tolerance: float) -> int:
    from hsearch.problems.tabular import NasTable  # see ProblemSpec.build

    return min(len(c.seeds) for c in NasTable(table, tolerance).cells.values())
