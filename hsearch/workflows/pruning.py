"""Skip training configurations whose cost alone shows they cannot be the best.

When minimising MACs subject to an accuracy constraint, a configuration whose MACs are not below
the best *feasible* configuration found so far cannot improve on it, whatever its accuracy.
:class:`IncumbentPruner` is a Tune scheduler that stops such a trial at its first report (the
cost report, ``status="cost"``, sent before any training; see hsearch.workflows.trial). The trial
ends with that report as its last result, which says ``acc_gap = threshold`` (nothing trained:
accuracy 0), so every searcher is told the configuration is infeasible; the run's recorder marks
it ``pruned``. NomadSearcher, which knows the cost, tells NOMAD what a screened point tells it,
and keeps the accuracy, never measured, out of its models.

Constraints on metrics known before training (``constraints``, e.g. ``"params <= 1e6"``, see
hsearch.workflows.objectives) are decided at the same report: a configuration that breaks one is
infeasible whatever it would score, so it is stopped too (before training, even before any
feasible configuration is known).

The pruner keeps no state: the incumbent is recomputed from the finished trials Tune holds (their
last results), so it is right after ``Tuner.restore`` too.
"""

from __future__ import annotations

from ray.tune.experiment import Trial
from ray.tune.schedulers import FIFOScheduler, TrialScheduler

from hsearch.search.constraints import parse_constraints
from hsearch.workflows.trial_spec import COST, OK


class IncumbentPruner(FIFOScheduler):
    """Stop a trial at its cost report when ``cost >= best feasible cost so far``.

    Args:
        cost: the reported cost metric (minimised), default ``"macs"``.
        constraints: constraint strings on metrics in the cost report; a trial breaking one is
            stopped there too.
    """

    # One result at a time: the decision must come before the trial starts training.
    _supports_buffered_results = False

    def __init__(self, cost: str = "macs", constraints: tuple[str, ...] = ()):
        super().__init__()
        self.cost = cost
        self.constraints = parse_constraints(constraints)

    def incumbent(self, tune_controller, exclude: Trial | None = None) -> float | None:
        """The lowest cost among finished, successful, feasible trials (None if none)."""
        best = None
        for trial in tune_controller.get_trials():
            if trial is exclude or trial.status != Trial.TERMINATED:
                continue
            result = trial.last_result or {}
            if result.get("status") != OK or not result.get("feasible"):
                continue
            value = result.get(self.cost)
            if isinstance(value, (int, float)) and (best is None or value < best):
                best = value
        return best

    def on_trial_result(self, tune_controller, trial: Trial, result: dict) -> str:
        if result.get("status") != COST:
            return TrialScheduler.CONTINUE
        for constraint in self.constraints:
            c = constraint.value(result)
            if c is not None and c > 0:
                return TrialScheduler.STOP
        best = self.incumbent(tune_controller, exclude=trial)
        value = result.get(self.cost)
        if best is not None and isinstance(value, (int, float)) and value >= best:
            return TrialScheduler.STOP
        return TrialScheduler.CONTINUE

    def debug_string(self) -> str:
        return f"IncumbentPruner: stop trials whose {self.cost} is not below the best feasible"
