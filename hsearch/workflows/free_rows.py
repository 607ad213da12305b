"""NAS with NOMAD: the known cost of a config, its network, and rows for untrained points.

:class:`NasKnownCost` gives NomadSearcher its ``known_objective`` (MACs from fvcore through
``Architecture.cost``, computed without training) and ``network_key``
(hsearch.workflows.seed_cache's ``network_digest``: configs that round to the same channels, blocks
and pixels are one network), both cached per distinct network. :class:`FreeRowRecorder` is the
searcher's ``on_free`` hook: each point it answered without training becomes an ``evaluations.csv``
row with status ``screened`` (its MACs are not below the best feasible network's) or ``duplicate``
(the network of a trained row, whose result it repeats). Both pickle as their constructor arguments
(Tune pickles the searcher into tuner.pkl).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Mapping, Sequence

from hsearch.results import EvaluationLog
from hsearch.workflows.seed_cache import network_digest
from hsearch.workflows.trial_spec import resolve_config

logger = logging.getLogger(__name__)

__all__ = ["NasKnownCost", "FreeRowRecorder"]


class NasKnownCost:
    """``config -> MACs`` (or parameters) and ``config -> network digest`` of NAS configs
    (multipliers of ``arch``).

    Args:
        arch, train: the base architecture and training config (the TrialSpec's).
        num_classes: classes of the data set (the classifier's size counts in MACs).
        metric: ``"macs"`` or ``"params"`` (hsearch.workflows.objectives.KNOWN_OBJECTIVES).
    """

    def __init__(self, arch, train, num_classes: int, metric: str = "macs"):
        if metric not in ("macs", "params"):
            raise ValueError(f"`metric` must be 'macs' or 'params', but got {metric!r}")
        self._init = (arch, train, int(num_classes), metric)
        self._digests: dict[tuple, str] = {}
        self._macs: dict[str, float] = {}

    def __getstate__(self) -> dict:
        return {"_init": self._init}

    def __setstate__(self, state: dict) -> None:
        self.__init__(*state["_init"])

    def _arch(self, config: Mapping[str, Any]):
        arch, train = self._init[:2]
        return resolve_config(dict(config), arch, train)[0]

    def network(self, config: Mapping[str, Any]) -> str:
        """The digest of the network ``config`` builds."""
        key = tuple(sorted((k, float(v)) for k, v in config.items()
                           if isinstance(v, (int, float))))
        if key not in self._digests:
            self._digests[key] = network_digest(self._arch(config), self._init[2])
        return self._digests[key]

    def __call__(self, config: Mapping[str, Any]) -> float:
        """MACs (or parameters) of the network ``config`` builds (computed once per network)."""
        digest = self.network(config)
        if digest not in self._macs:
            cost = self._arch(config).cost(num_classes=self._init[2])
            self._macs[digest] = float(getattr(cost, self._init[3]))
        return self._macs[digest]


class FreeRowRecorder:
    """Writes each untrained point of a NomadSearcher (its ``on_free`` hook) to the run's
    ``evaluations.csv`` as a ``screened`` or ``duplicate`` row (trial id ``screened-<k>`` /
    ``duplicate-<k>``, k its place in NOMAD's answers: a resumed run rewrites the same row).

    Args:
        run_dir: the run directory. objective: the optimised column (``"macs"``).
        mode: ``"min"``/``"max"``. variables: the searched config keys. baseline_macs: to
        write ``macs_ratio`` (optional).
    """

    def __init__(self, run_dir: str | Path, objective: str, mode: str,
                 variables: Sequence[str], baseline_macs: float | None = None,
                 echo: bool = False):
        self._init = dict(run_dir=str(run_dir), objective=objective, mode=mode,
                          variables=tuple(variables), baseline_macs=baseline_macs, echo=echo)

    def __getstate__(self) -> dict:
        return {"_init": self._init}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state["_init"])

    def __call__(self, index: int, record) -> None:
        o = self._init
        row: dict[str, Any] = {"trial_id": f"{record.status}-{index}", "status": record.status,
                               "feasible": bool(record.feasible) and record.status == "duplicate"}
        for name in o["variables"]:
            row[name] = record.config.get(name)
        metrics = dict(record.metrics)
        if record.status == "screened":
            metrics = {o["objective"]: record.objective}
        for key in ("acc_mean", "acc_std", "macs", "params", "input_size", "acc_gap"):
            value = metrics.get(key)
            if key in ("macs", "params", "input_size") and isinstance(value, float) \
                    and value.is_integer():
                value = int(value)  # counts, as the trial rows write them
            row[key] = value
        if o["baseline_macs"] and row.get("macs") is not None:
            row["macs_ratio"] = row["macs"] / o["baseline_macs"]
        row["objective"] = metrics.get(o["objective"], record.objective)
        row["message"] = record.reason
        row["train_seconds"] = 0.0
        EvaluationLog(Path(o["run_dir"]), o["objective"], o["mode"]).record(row)
        if o["echo"]:
            print(f"[{record.status}] {', '.join(f'{v}={row[v]}' for v in o['variables'])}: "
                  f"{record.reason}", flush=True)
