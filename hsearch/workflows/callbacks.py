"""Driver-side Tune callback: every finished trial becomes one row of the run's results.

:class:`RecorderCallback` records each finished (or errored) trial into
:class:`hsearch.results.EvaluationLog` (``evaluations.csv`` + ``best.json``), writes the
experiment-level search-progress events (:class:`hsearch.results.SearchProgressWriter`, into
``<run>/tensorboard``), redraws ``progress.png`` and ``pareto.png``, and with ``echo=True``
prints one line per evaluation (variables, MACs, accuracy ± std, feasible or not, best so far).

``Tuner.restore`` re-uses the callbacks pickled when the Tuner was built, so this one pickles as
its constructor arguments only and re-reads the run directory in ``setup()``. On a resumed run it
also drops rows of trials the restored experiment does not know (trials that finished after the
last experiment snapshot: Tune runs their configurations again under new trial ids), so that no
evaluation is counted twice.
"""

from __future__ import annotations

import logging
import math
import re
import sys
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from ray.tune import Callback

from hsearch.results import EvaluationLog, SearchProgressWriter, plot_progress
from hsearch.results.pareto import write_pareto
from hsearch.results.store import STATUS_DUPLICATE, STATUS_SCREENED
from hsearch.workflows.racing import CONFIRMED, FELL, MAX_SEEDS
from hsearch.workflows.trial_spec import (
    COST,
    ERROR,
    OK,
    PRUNED,
    REJECTED,
    RUNNING,
    TrialSpec,
    resolve_config,
)

logger = logging.getLogger(__name__)

#: The latency figures a timed trial reports (hsearch.hardware.Latency.metrics), kept as columns.
LATENCY_COLUMNS = ("latency_ms", "latency_ms_iqr", "throughput_ips", "latency_samples_ms",
                   "latency_device", "latency_threads", "latency_dtype", "latency_seconds",
                   "latency_cached")
PLOT_INTERVAL_S = 5.0  # plots are redrawn at most this often while a run goes on, and at its end


class RecorderCallback(Callback):
    """Records every evaluation of a Tune run into ``run_dir`` (module docstring).

    Args:
        run_dir: the run directory.
        spec: the runs' TrialSpec (base architecture/config, threshold) to resolve configs.
        objective: the column optimised (``"macs"`` for NAS, ``"acc_mean"`` otherwise).
        mode: ``"min"`` or ``"max"``.
        variables: the searched config keys (columns of their own in evaluations.csv).
        total: the evaluation budget (shown as ``[i/total]``); None: Tune's own count, which
            ``setup`` receives (the job's ``num_samples``: the budget is handed to Tune once).
        baseline: the baseline's ``macs`` and ``acc_mean`` (drawn in the plots), if any.
        echo: print one line per evaluation to stdout.
    """

    def __init__(self, run_dir: str | Path, spec: TrialSpec, objective: str, mode: str,
                 variables: Sequence[str] = (), total: int | None = None,
                 baseline: Mapping[str, Any] | None = None, echo: bool = False):
        self._init = dict(run_dir=str(run_dir), spec=spec, objective=objective, mode=mode,
                          variables=tuple(variables), total=total,
                          baseline=dict(baseline) if baseline else None, echo=echo)
        self.run_dir = Path(run_dir)
        self.spec = spec
        self.objective = objective
        self.mode = mode
        self.variables = tuple(variables)
        self.total = total
        self.baseline = self._init["baseline"]
        self.echo = echo
        self._log = None
        self._writer = None
        self._reconciled = False
        self._last_plot = 0.0

    # Tune pickles callbacks into tuner.pkl: keep only the constructor arguments.
    def __getstate__(self) -> dict:
        return {"_init": self._init}

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state["_init"])

    # --- Tune hooks ------------------------------------------------------------------------

    def setup(self, total_num_samples: int | None = None, **info) -> None:
        if self.total is None:
            self.total = total_num_samples
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._log = EvaluationLog(self.run_dir, objective=self.objective, mode=self.mode)
        best = self._log.best()
        constraints = ("acc_gap",) if self.spec.threshold is not None else ()
        self._writer = SearchProgressWriter(self.run_dir / "tensorboard", mode=self.mode,
                                            constraints=constraints,
                                            best=best["objective"] if best else None)
        self._reconciled = False

    def on_step_begin(self, iteration: int, trials: list, **info) -> None:
        if self._reconciled or self._log is None:
            return
        self._reconciled = True
        known = {t.trial_id for t in trials}
        # rows a searcher answered without training are no Tune trials (free_rows)
        stale = [row["trial_id"] for row in self._log.rows if row.get("trial_id") not in known
                 and row.get("status") not in (STATUS_SCREENED, STATUS_DUPLICATE)]
        if stale:
            logger.info("dropping %d evaluation(s) recorded after the last experiment snapshot; "
                        "they run again: %s", len(stale), ", ".join(map(str, stale)))
            self._log.drop(stale)

    def on_trial_complete(self, iteration: int, trials: list, trial, **info) -> None:
        self._record(trial, dict(trial.last_result or {}), error=False)

    def on_trial_error(self, iteration: int, trials: list, trial, **info) -> None:
        self._record(trial, dict(trial.last_result or {}), error=True)

    def on_experiment_end(self, trials: list, **info) -> None:
        if self._log is not None:
            self._plot()
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    # --- internals -------------------------------------------------------------------------

    def _record(self, trial, result: dict, error: bool) -> None:
        if self._log is None:
            self.setup()
        seen = self._log.find(trial.trial_id) is not None
        row = evaluation_row(trial.trial_id, trial.config, result, self.spec, self.variables,
                             objective=self.objective, error=error)
        row["failures"] = getattr(getattr(trial, "run_metadata", None), "num_failures", 0)
        if error:
            row["message"] = _error_line(trial) or row.get("message")
        try:
            row["trial_dir"] = str(Path(trial.storage.trial_fs_path).relative_to(self.run_dir))
        except (AttributeError, ValueError):
            pass
        row = self._log.record(row)
        if not seen:  # a trial re-run after a restore is the same evaluation, logged once
            self._writer.add(as_search_row(row))
        if self.echo:
            trained = sum(r.get("status") not in (STATUS_SCREENED, STATUS_DUPLICATE)
                          for r in self._log.rows)
            print(format_evaluation(row, self._log.best(), self.variables, self.total,
                                    self.objective, trained), flush=True, file=sys.stdout)
        if time.monotonic() - self._last_plot >= PLOT_INTERVAL_S:
            self._plot()

    def _plot(self) -> None:
        try:
            write_plots(self.run_dir, self._log.rows, self.objective, self.mode, self.baseline)
        except Exception as exc:  # noqa: BLE001 - a plot must never stop a search
            logger.warning("could not draw the plots: %s", exc)
        self._last_plot = time.monotonic()


def evaluation_row(trial_id: str, config: Mapping[str, Any], result: Mapping[str, Any],
                   spec: TrialSpec, variables: Sequence[str], objective: str,
                   error: bool = False) -> dict:
    """One evaluations.csv row from a trial's config and last result.

    Columns: trial_id, status, feasible, objective, the searched variables, the resolved
    architecture (``arch_*``, ``input_size``) and training fields (``train_*``, lr as used), and
    every metric of the trial (hsearch.workflows.trial; ``seeds_added`` and ``confirm``: the
    extra seeds of a confirmation and its verdict, racing.ConfirmRule), and
    ``node_id``/``node_ip``, the Ray node it ran on (``seed_nodes``: where each seed trained, comma-separated). A trial stopped
    at its cost report is ``pruned`` (no accuracy); one whose last report was not final is
    ``stopped``; an errored trial is ``error``; a trial whose every seed failed is ``failed``,
    with empty accuracy cells. (RecorderCallback adds ``failures``,
    Tune's count of failed attempts, and for an errored trial its error line as ``message``.)
    """
    status = result.get("status")
    if error:
        status = ERROR
    elif status == COST:
        status = PRUNED
    elif status in (None, RUNNING):
        status = "stopped"
    row: dict[str, Any] = {"trial_id": trial_id, "status": status,
                           "feasible": bool(result.get("feasible")) and status == OK}
    for name in variables:
        row[name] = config.get(name)
    try:
        arch, train = resolve_config(config, spec.arch, spec.train)
        row.update(arch_model=arch.model, arch_width=arch.width, arch_depth=arch.depth,
                   arch_resolution=arch.resolution, train_optimizer=train.optimizer,
                   train_lr=train.lr, train_weight_decay=train.weight_decay,
                   train_batch_size=train.batch_size)
    except ValueError as exc:
        row["message"] = str(exc)
    keys = ("acc_mean", "acc_std", "macs", "macs_ratio", "params", "input_size", "acc_gap",
            "penalized", "accs", "seeds", "seed_statuses", "seed_seconds", "seed_nodes",
            "seeds_done", "seeds_total", "seeds_trained", "seeds_reused", "seed_runs_saved",
            "seeds_added", "confirm", "n_failed", "train_seconds", "wall_seconds", "gpu_share")
    keys += tuple(k for k in LATENCY_COLUMNS if k in result)  # when the network was timed
    for key in keys:
        row[key] = result.get(key)
    for key in ("acc_mean", "acc_std", "acc_gap", "penalized"):
        value = row[key]
        if isinstance(value, float) and not math.isfinite(value):
            row[key] = None  # a failed evaluation has no accuracy (the trial reports NaN)
    row["node_id"] = result.get("node_id")
    row["node_ip"] = result.get("node_ip")
    if row["wall_seconds"] is None:
        row["wall_seconds"] = result.get("time_total_s")
    if status == PRUNED:
        # stopped before training: no accuracy, every seed saved
        row.update(acc_mean=None, acc_std=None, accs=[], seeds_trained=0, seeds_reused=0,
                   seed_runs_saved=len(spec.seeds), seeds_added=0, confirm=None)
    row["objective"] = row.get(objective)
    return row


def as_search_row(row: Mapping[str, Any]) -> dict:
    """A row as the progress plot and events show it: rejected and pruned configurations are
    infeasible points with their objective (MACs), not failures."""
    if row.get("status") in (REJECTED, PRUNED) and row.get("objective") is not None:
        return {**row, "status": OK, "feasible": False}
    return dict(row)


def write_plots(run_dir: str | Path, rows: Sequence[Mapping], objective: str, mode: str,
                baseline: Mapping[str, Any] | None = None) -> None:
    """``progress.png`` (best feasible objective vs evaluation), ``pareto.csv`` and
    ``pareto.png`` (the multi-dimensional front with p_front, hsearch.results.pareto)."""
    run_dir = Path(run_dir)
    label = {"macs": "MACs", "acc_mean": "mean accuracy", "params": "parameters",
             "latency_ms": "latency (ms)"}.get(objective, objective)
    reference = baseline.get(objective) if baseline else None
    plot_progress([as_search_row(r) for r in rows], run_dir / "progress.png", mode=mode,
                  objective_label=label, baseline=reference)
    write_pareto(run_dir, rows, baseline=baseline)


def format_evaluation(row: Mapping[str, Any], best: Mapping[str, Any] | None,
                      variables: Sequence[str], total: int | None = None,
                      objective: str = "macs", trained: int | None = None) -> str:
    """The one printed line of an evaluation: variables | cost | accuracy | verdict | best.
    It opens with ``[trained/total]`` (the trained evaluations so far against the budget;
    ``eval_id`` when ``trained`` is not given); ``#`` marks an ``eval_id`` of evaluations.csv."""
    count = row.get("eval_id", "?") if trained is None else trained
    number = f"[{count:>3}/{total}]" if total else f"[{count:>3}]"
    values = " ".join(f"{name}={_short(row.get(name))}" for name in variables) or "-"
    parts = [f"{number} {values}"]
    if row.get("macs") is not None:
        ratio = f" ({row['macs_ratio']:.2f}x)" if row.get("macs_ratio") is not None else ""
        parts.append(f"{_mega(row['macs'])} MACs{ratio}")
    if isinstance(row.get("latency_ms"), (int, float)):
        parts.append(f"{row['latency_ms']:.2f} ms")
    status = row.get("status")
    if row.get("acc_mean") is not None:
        partial = (f" ({row.get('seeds_done')}/{row.get('seeds_total')} seeds)"
                   if row.get("seeds_done") != row.get("seeds_total") else "")
        parts.append(f"acc {row['acc_mean']:.3f} ± {row.get('acc_std') or 0.0:.3f}{partial}")
    verdicts = {OK: "feasible" if row.get("feasible") else "infeasible",
                REJECTED: f"rejected by racing ({row.get('seed_runs_saved')} seed-runs saved)",
                PRUNED: f"pruned: cannot beat the best feasible "
                        f"{'MACs' if objective == 'macs' else objective}"}
    verdict = verdicts.get(status, status or "?")
    if status == OK and row.get("acc_gap") is None:
        verdict = "ok"
    if status == OK and row.get("confirm") in (CONFIRMED, FELL, MAX_SEEDS):
        how = {CONFIRMED: "confirmed", FELL: "fell below the threshold",
               MAX_SEEDS: "kept at the seed limit"}[row["confirm"]]
        verdict += f" ({how} on {row.get('seeds_done')} seeds, {row.get('seeds_added')} added)"
    if row.get("seeds_reused"):
        verdict += f", {row['seeds_reused']} seeds reused"
    parts.append(verdict)
    if best is None:
        parts.append("best: none feasible yet")
    elif objective == "macs":
        parts.append(f"best {_mega(best['macs'])} MACs (#{best['eval_id']})")
    else:
        parts.append(f"best {best['objective']:.3f} (#{best['eval_id']})")
    return " | ".join(parts)


def _error_line(trial) -> str | None:
    """The last line of an errored trial's error text (e.g. ``RuntimeError: ...``), if any."""
    try:
        text = Path(trial.error_file).read_text()
    except (TypeError, OSError):
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    errors = [line for line in lines if re.match(r"^[\w.]+(Error|Exception|Exit)\b", line)]
    line = (errors or lines or [None])[-1]
    return line[:300] if line else None


def _mega(value) -> str:
    return f"{value / 1e6:.2f}M" if value is not None else "?"


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)
