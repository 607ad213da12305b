"""What a NomadSearcher evaluation was, as a record: trained trials and free answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from hsearch.checks import is_number

__all__ = ["EvaluationRecord", "numeric_metrics"]

# Tune's bookkeeping keys (ray.tune.result.AUTO_RESULT_KEYS and friends): not metrics.
_TUNE_KEYS = frozenset(
    {
        "training_iteration", "episodes_total", "timesteps_total", "node_ip", "hostname", "pid",
        "time_this_iter_s", "timestamp", "date", "time_since_restore", "timesteps_since_restore",
        "iterations_since_restore", "checkpoint_dir_name", "done", "should_checkpoint",
        "trial_id", "experiment_tag", "experiment_id", "episodes_this_iter",
        "timesteps_this_iter",
    }
)

@dataclass(frozen=True)
class EvaluationRecord:
    """One finished trial as the searcher saw it (for Pareto views and audits).

    ``objective`` is the metric as reported (not sign-flipped); ``constraints`` maps each
    constraint's text to NOMAD's ``c`` (feasible ``<= 0``); ``metrics`` holds every numeric
    value the trial reported (Tune's bookkeeping keys and the config removed).
    """

    trial_id: str
    config: dict[str, Any]
    x: tuple[float, ...]
    objective: float | None
    constraints: dict[str, float | None]
    metrics: dict[str, float]
    # "ok" or "failed" (trained); "pruned" (a trial stopped before training); "screened" or
    # "duplicate" (no trial)
    status: str
    feasible: bool
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def numeric_metrics(result: Mapping[str, Any]) -> dict[str, float]:
    """Every numeric value of a result, Tune's bookkeeping keys and the config removed."""
    out = {}
    for key, value in result.items():
        if key in _TUNE_KEYS or key.startswith("config/") or key == "config":
            continue
        if not is_number(value):
            continue
        out[key] = float(value)
    return out
