"""NAS: the smallest scaled network that matches the baseline's accuracy.

    minimise  MACs(d, w, r)   subject to   acc_mean(d, w, r) >= baseline_acc - tolerance

over depth, width and resolution multipliers of the baseline architecture, in the box of
``NasSettings.bounds``, from x0 = (1, 1, 1) (the baseline itself). Each evaluation is one Tune
trial: the configuration trained on the K subset seeds (hsearch.workflows.trial).

Steps of :func:`run_nas`:

1. the baseline's accuracy: given (``baseline_acc``) or measured on the K seeds (a one-trial run
   in ``<run>/baseline``); ``<run>/baseline.json`` keeps it. Its seeds go to the run's seed
   cache, so the search's first evaluation (x0) reuses them instead of training them again;
2. the search: NOMAD (default) gets the objective (``settings.objective``: ``macs``, ``params``
   or ``latency_ms``), the constraint ``acc_gap = threshold - acc_mean <= 0`` and any extra
   ``settings.constraints`` (``"latency_ms <= 2.5"``); any other searcher minimises
   ``penalized`` (the rule is in hsearch.workflows.trial). Every network is timed before it
   trains (hsearch.hardware) unless ``settings.latency`` is off and nothing needs it. With
   ``prune``, NOMAD is given the objective of every config when it is known exactly before
   training (MACs, params; not the measured latency): it tries the cheapest candidates first
   and does not train a config whose objective is not below the best feasible so far
   ("screened"); a config that builds an already trained network is never trained again
   ("duplicate"); both start no trial and are recorded in evaluations.csv
   (hsearch.workflows.free_rows). With ``prune`` every searcher's configuration whose objective
   is not below the best feasible so far is not trained (hsearch.workflows.pruning; recorded as
   "pruned"); with
   ``racing.enabled`` hopeless configurations stop early (hsearch.workflows.racing; "rejected");
   with ``confirm.enabled`` a feasible configuration within reach of the threshold trains more
   seeds before the searcher is told its value, the confirmed one (racing.ConfirmRule; the
   ``seeds_added`` and ``confirm`` columns of evaluations.csv);
3. no summary: whoever runs the workflow writes it afterwards (hsearch.workflows.launch:
   ``<run>/summary.txt``, hsearch.workflows.report; the NAS lines are
   hsearch.workflows.report_lines.nas_lines).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, replace
from pathlib import Path

from hsearch.errors import UserError
from hsearch.files import write_atomic
from hsearch.hardware import LatencySettings, network_latency
from hsearch.results import EvaluationLog
from hsearch.results.feasibility import Threshold
from hsearch.train import summarize
from hsearch.workflows.context import open_run, run_fixed
from hsearch.workflows.free_rows import FreeRowRecorder, NasKnownCost
from hsearch.workflows.objectives import KNOWN_OBJECTIVES, needs_latency
from hsearch.workflows.run_dir import BASELINE_FILE, write_stop_reason
from hsearch.workflows.runner import TuneJob, run_job
from hsearch.workflows.settings import NasBounds, NasSettings

logger = logging.getLogger(__name__)

VARIABLES = ("width", "depth", "resolution")
BASELINE_DIR = "baseline"
LATENCY_KEYS = ("latency_ms", "latency_ms_iqr", "latency_samples_ms", "throughput_ips",
                "latency_device", "latency_threads", "latency_dtype")


@dataclass(frozen=True)
class NasResult:
    """What a NAS run found: the baseline, the best feasible row (None if none), all rows."""

    run_dir: Path
    baseline: dict
    best: dict | None
    rows: list
    summary: str = ""  # the run's summary: set by hsearch.workflows.launch.run_workflow


def nas_space(bounds: NasBounds) -> dict:
    """The Tune search space of the multipliers (a variable with low == high is fixed)."""
    from ray import tune  # Ray: imported when a run starts, not for a summary

    space = {}
    for name in VARIABLES:
        low, high = getattr(bounds, name)
        if low == high:
            space[name] = float(low)
        elif bounds.step > 0:
            space[name] = tune.quniform(low, high, bounds.step)
        else:
            space[name] = tune.uniform(low, high)
    return space


def run_nas(settings: NasSettings, run_dir: str | Path | None = None, *, resume: bool = False,
            echo: bool = False, workflow: str = "nas") -> NasResult:
    """Run (or with ``resume`` continue) a NAS; see the module docstring."""
    # these import Ray (seconds): not when this module is read for a summary or a check
    from hsearch.search.factory import SearchRequest, make_searcher
    from hsearch.workflows.callbacks import RecorderCallback
    from hsearch.workflows.pruning import IncumbentPruner

    check_searchable(settings)
    ctx = open_run(workflow, settings, run_dir, resume)
    run_dir = ctx.run_dir
    objective = settings.objective
    timed = _latency_settings(settings)
    baseline = _baseline(ctx, resume, echo, replace(ctx.spec, latency=timed))
    threshold = baseline["threshold"]  # computed once, when baseline.json was written
    spec = replace(ctx.spec, threshold=threshold, baseline_macs=float(baseline["macs"]),
                   penalty=settings.search.penalty, racing=settings.racing,
                   confirm=settings.confirm, cost_report=settings.prune, latency=timed,
                   objective=objective, baseline_objective=_positive(baseline.get(objective)),
                   constraints=settings.constraints)
    space = nas_space(settings.bounds)
    searched = [name for name in VARIABLES if not isinstance(space[name], float)]
    x0 = {name: 1.0 for name in searched}
    search = settings.search
    # NOMAD knows each config's MACs or parameters before training (it sorts and screens with
    # them; not a measured latency, which is noisy and timed on the trial's device) and answers
    # configs that build an already trained network from it (free_rows)
    cost = NasKnownCost(spec.arch, spec.train, ctx.dataset.num_classes,
                        objective if objective in KNOWN_OBJECTIVES else "macs")
    made = make_searcher(search.searcher, SearchRequest(
        points_to_evaluate=(x0,), max_evals=search.max_evals,
        max_concurrent=settings.resources.concurrency, seed=search.seed,
        constraints=("acc_gap", *settings.constraints), constraint_type=search.constraint_type,
        nomad_params=search.nomad_params,
        known_objective=cost if settings.prune and objective in KNOWN_OBJECTIVES else None,
        network_key=cost.network,
        on_free=FreeRowRecorder(run_dir, objective, "min", VARIABLES,
                                baseline_macs=float(baseline["macs"]), echo=echo)))
    metric = objective if made.handles_constraints else "penalized"
    if echo:
        how = "" if made.handles_constraints else f" = {objective}/baseline + penalty x shortfall"
        extra = "".join(f", {c}" for c in settings.constraints)
        print(f"search: {search.searcher} over {', '.join(searched)} (minimise {metric}{how} "
              f"s.t. acc_mean >= {threshold:.4f}{extra}), {search.max_evals} evaluations, "
              f"{settings.resources.concurrency} at once", flush=True)
    job = TuneJob(
        run_dir=run_dir, spec=spec, param_space=space, search_alg=made.algorithm, metric=metric,
        mode="min", num_samples=search.max_evals, concurrency=settings.resources.concurrency,
        scheduler=IncumbentPruner(objective, settings.constraints) if settings.prune else None,
        callbacks=[RecorderCallback(run_dir, spec, objective, "min", VARIABLES,
                                    baseline=baseline, echo=echo)],
    )
    run_job(job, ctx.data, resume=resume)
    write_stop_reason(run_dir, made.algorithm)
    log = EvaluationLog(run_dir, objective, "min")
    return NasResult(run_dir, baseline, log.best(), log.rows)


def check_searchable(settings: NasSettings) -> None:
    """Refuse NAS settings with nothing to search (every bound has low == high); the CLI calls
    it before a run directory or Ray exists."""
    bounds = settings.bounds
    if all(getattr(bounds, name)[0] == getattr(bounds, name)[1] for name in VARIABLES):
        raise UserError("every NAS bound has low == high: nothing to search; widen at least one "
                        "of --width-bounds, --depth-bounds, --resolution-bounds")


def mean_uncertainty(accs, level: float = 0.95) -> dict:
    """The standard error of the mean of ``accs`` and its Student-t ``level`` confidence interval
    (``acc_sem``, ``acc_ci`` clipped to [0, 1]; empty for fewer than 2 values): the threshold's
    own uncertainty."""
    from scipy.stats import t as student_t  # scipy: only for a measured baseline

    if len(accs) < 2:
        return {}
    mean, std = summarize(accs)
    sem = std / math.sqrt(len(accs))
    half = float(student_t.ppf(0.5 + level / 2, len(accs) - 1)) * sem
    # clipped to [0, 1]: with few seeds the t-interval can pass the bounds of an accuracy
    return {"acc_sem": sem, "acc_ci": [max(0.0, mean - half), min(1.0, mean + half)],
            "acc_ci_level": level}


def _latency_settings(settings: NasSettings):
    """How trials time their network (hsearch.hardware), or None when nothing needs it."""
    if settings.latency or needs_latency(settings.objective, settings.constraints):
        return LatencySettings()
    return None


def _positive(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and value > 0 else None


def _baseline(ctx, resume: bool, echo: bool, spec=None) -> dict:
    """The baseline's accuracy and cost: from baseline.json, the settings, or measured now
    (``spec``: the TrialSpec to measure it with, default the run's)."""
    settings = ctx.settings
    path = ctx.run_dir / BASELINE_FILE
    if path.exists():
        return json.loads(path.read_text())
    arch = settings.arch
    if settings.baseline_acc is not None:
        cost = arch.cost(num_classes=ctx.dataset.num_classes)
        baseline = {"acc_mean": settings.baseline_acc, "acc_std": None, "accs": None,
                    "macs": cost.macs, "params": cost.params, "input_size": cost.resolution,
                    "measured": False}
        timing = getattr(spec, "latency", None)
        if timing is not None:  # timed here, as a trial would (same device, threads, cache)
            latency, _ = network_latency(arch, ctx.dataset.num_classes, spec.device,
                                         Path(spec.cache_dir) / "latency" if spec.cache_dir
                                         else None, spec.threads, timing)
            baseline.update(latency.metrics())
    else:
        seeds = tuple(range(settings.baseline_seeds or settings.seeds))
        if echo:
            print(f"baseline: {arch.model} width={arch.width:g} depth={arch.depth:g} "
                  f"resolution={arch.resolution:g}, {len(seeds)} seeds x {settings.budget.text}",
                  flush=True)
        rows = run_fixed(ctx.run_dir / BASELINE_DIR, replace(spec or ctx.spec, seeds=seeds),
                         ctx.data, None, concurrency=1, resume=resume, echo=echo)
        done = [r for r in rows if r.get("status") == "ok"]
        if not done:
            raise RuntimeError(f"the baseline evaluation did not finish; see "
                               f"{ctx.run_dir / BASELINE_DIR}")
        row = done[-1]
        baseline = {k: row.get(k) for k in ("acc_mean", "acc_std", "accs", "macs", "params",
                                            "input_size", "train_seconds", "n_failed")}
        baseline.update({k: row[k] for k in LATENCY_KEYS if row.get(k) is not None})
        baseline["measured"] = True
        baseline.update(mean_uncertainty(baseline.get("accs") or []))
    baseline.update(model=arch.model, width=arch.width, depth=arch.depth,
                    resolution=arch.resolution, tolerance=settings.tolerance,
                    threshold=Threshold(baseline["acc_mean"], settings.tolerance).value)
    write_atomic(path, json.dumps(baseline, indent=2) + "\n")
    return baseline
