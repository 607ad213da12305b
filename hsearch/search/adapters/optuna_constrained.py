"""Ray's ``OptunaSearch`` with Optuna's own constraint support (constrained TPE, c-TPE).

Ray's wrapper has no constraints argument and reports only the metric to the Optuna study. Optuna's
TPE handles constraints from the trial: since Optuna 5, values set with
``Trial.set_constraint(name, value)`` (feasible when ``<= 0``); before, through the sampler's
``constraints_func``. :class:`ConstrainedOptunaSearch` copies the constraint metrics of each
finished trial's result onto the Optuna trial just before Ray's code tells the study, so the
sampler sees them: infeasible trials are ranked by total violation behind the feasible ones
(Optuna's c-TPE rule). A trial whose result lacks a constraint value is told as failed.

It relies on one detail of Ray 2.x's wrapper: the live Optuna trials are kept in ``_ot_trials``
(keyed by Tune trial id). If that changes, :meth:`on_trial_complete` raises instead of silently
dropping the constraints.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from ray.tune.search.optuna import OptunaSearch

logger = logging.getLogger(__name__)

__all__ = ["ConstrainedOptunaSearch", "constraints_from_user_attrs"]

_USER_ATTR = "hsearch_constraints"


def constraints_from_user_attrs(trial) -> list[float]:
    """``constraints_func`` for Optuna < 5: the values stored by ConstrainedOptunaSearch."""
    return list(trial.user_attrs.get(_USER_ATTR, ()))


class ConstrainedOptunaSearch(OptunaSearch):
    """``OptunaSearch`` whose TPE sampler knows the constraints (module docstring).

    Args:
        constraints: result metrics that must be ``<= 0``.
        seed: the TPE sampler's seed.
        **kwargs: passed to ``OptunaSearch`` (``points_to_evaluate``, ``metric``, ``mode``, ...);
            a ``sampler`` must not be given.
    """

    def __init__(self, constraints: Sequence[str], seed: int | None = None, **kwargs):
        import optuna

        if "sampler" in kwargs:
            raise ValueError("ConstrainedOptunaSearch builds its own sampler; do not pass one")
        if not constraints:
            raise ValueError("`constraints` must name at least one metric")
        self._constraint_names = tuple(constraints)
        self._new_api = hasattr(optuna.trial.Trial, "set_constraint")
        if self._new_api:
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:  # pragma: no cover - Optuna < 5
            sampler = optuna.samplers.TPESampler(seed=seed,
                                                 constraints_func=constraints_from_user_attrs)
        super().__init__(sampler=sampler, **kwargs)

    def on_trial_complete(self, trial_id: str, result: dict | None = None,
                          error: bool = False) -> None:
        """Attach the constraint values to the Optuna trial, then complete it as Ray does."""
        trials = getattr(self, "_ot_trials", None)
        if trials is None:
            raise RuntimeError("Ray's OptunaSearch no longer keeps `_ot_trials`; "
                               "ConstrainedOptunaSearch needs updating")
        ot_trial = trials.get(trial_id)
        if ot_trial is not None and result and trial_id not in self._completed_trials:
            values = []
            for name in self._constraint_names:
                value = result.get(name)
                try:
                    value = float(value)
                except (TypeError, ValueError):
                    value = math.nan
                values.append(value)
            if all(math.isfinite(v) for v in values):
                if self._new_api:
                    for name, value in zip(self._constraint_names, values):
                        ot_trial.set_constraint(name, value)
                else:  # pragma: no cover - Optuna < 5
                    ot_trial.set_user_attr(_USER_ATTR, values)
            else:
                logger.warning("trial %s lacks a finite value of %s; told as failed", trial_id,
                               list(self._constraint_names))
                result, error = None, True
        super().on_trial_complete(trial_id, result, error)
