"""NAS: the smallest scaled network that matches the baseline's accuracy.

    minimise  MACs(d, w, r)   subject to   acc_mean(d, w, r) >= baseline_acc - tolerance

over depth, width and resolution multipliers of the baseline architecture, in the box of
``NasSettings.bounds``, from x0 = (1, 1, 1) (the baseline itself). Each evaluation is one Tune
trial: the configuration trained on the K subset seeds (hsearch.workflows.trial).

Steps of :func:`run_nas`:

1. the baseline's accuracy: given (``baseline_acc``) or measured on the K seeds (a one-trial run
   in ``<run>/baseline``); ``<run>/baseline.json`` keeps it. Its seeds go to the run's seed
   cache, so the search's first evaluation (x0) reuses them instead of training them again;
2. the search: NOMAD (default) gets the objective ``macs`` and the constraint ``acc_gap =
   threshold - acc_mean <= 0``; any other searcher minimises ``penalized`` (the rule is in
   hsearch.workflows.trial). NOMAD is given the MACs of every config (known before training):
   it tries the cheapest candidates first and does not train a config whose MACs are not below
   the best feasible so far ("screened"), nor one that builds an already trained network
   ("duplicate"); both start no trial and are recorded in evaluations.csv
   (hsearch.workflows.free_rows). With ``prune`` (every searcher) a configuration whose MACs are
   not below the best feasible so far is not trained (hsearch.workflows.pruning; "pruned"); with
   ``racing.enabled`` hopeless configurations stop early (hsearch.workflows.racing; "rejected");
3. the summary (hsearch.workflows.report), also written to ``<run>/summary.txt``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from hsearch.workflows.settings import NasBounds, NasSettings

logger = logging.getLogger(__name__)

VARIABLES = ("width", "depth", "resolution")
BASELINE_DIR = "baseline"
BASELINE_FILE = "baseline.json"


@dataclass(frozen=True)
class NasResult:
    """What a NAS run found: the baseline, the best feasible row (None if none), all rows."""

    run_dir: Path
    baseline: dict
    best: dict | None
    rows: list
    summary: str


def nas_space(bounds: NasBounds) -> dict:
    """The Tune search space of the multipliers (a variable with low == high is fixed)."""
    from ray import tune

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
    from hsearch.results import EvaluationLog
    from hsearch.search.factory import SearchRequest, make_searcher
    from hsearch.workflows.callbacks import RecorderCallback
    from hsearch.workflows.context import open_run
    from hsearch.workflows.free_rows import FreeRowRecorder, NasKnownCost
    from hsearch.workflows.pruning import IncumbentPruner
    from hsearch.workflows.report import summarize_run, write_summary
    from hsearch.workflows.runner import TuneJob, run_job

    ctx = open_run(workflow, settings, run_dir, resume)
    run_dir = ctx.run_dir
    baseline = _baseline(ctx, resume, echo)
    threshold = baseline["acc_mean"] - settings.tolerance
    spec = replace(ctx.spec, threshold=threshold, baseline_macs=float(baseline["macs"]),
                   penalty=settings.search.penalty, racing=settings.racing,
                   cost_report=settings.prune)
    space = nas_space(settings.bounds)
    searched = [name for name in VARIABLES if not isinstance(space[name], float)]
    if not searched:
        from hsearch.errors import UserError

        raise UserError("every NAS bound has low == high: nothing to search")
    x0 = {name: 1.0 for name in searched}
    search = settings.search
    # NOMAD knows each config's MACs before training (it sorts and screens with them) and
    # answers configs that build an already trained network from it (free_rows)
    cost = NasKnownCost(spec.arch, spec.train, ctx.dataset.num_classes)
    made = make_searcher(search.searcher, SearchRequest(
        points_to_evaluate=(x0,), max_evals=search.max_evals,
        max_concurrent=settings.resources.concurrency, seed=search.seed,
        constraints=("acc_gap",), constraint_type=search.constraint_type,
        nomad_params=search.nomad_params, known_objective=cost, network_key=cost.network,
        on_free=FreeRowRecorder(run_dir, "macs", "min", VARIABLES,
                                baseline_macs=float(baseline["macs"]), echo=echo)))
    metric = "macs" if made.handles_constraints else "penalized"
    if echo:
        how = "" if made.handles_constraints else " = MACs/baseline + penalty x shortfall"
        print(f"search: {search.searcher} over {', '.join(searched)} (minimise {metric}{how} "
              f"s.t. acc_mean >= {threshold:.4f}), {search.max_evals} evaluations, "
              f"{settings.resources.concurrency} at once", flush=True)
    job = TuneJob(
        run_dir=run_dir, spec=spec, param_space=space, search_alg=made.algorithm, metric=metric,
        mode="min", num_samples=search.max_evals, concurrency=settings.resources.concurrency,
        scheduler=IncumbentPruner("macs") if settings.prune else None,
        callbacks=[RecorderCallback(run_dir, spec, "macs", "min", VARIABLES,
                                    total=search.max_evals, baseline=baseline, echo=echo)],
    )
    run_job(job, ctx.data, resume=resume)
    log = EvaluationLog(run_dir, "macs", "min")
    write_summary(run_dir)
    return NasResult(run_dir, baseline, log.best(), log.rows, summarize_run(run_dir))


def _baseline(ctx, resume: bool, echo: bool) -> dict:
    """The baseline's accuracy and cost: from baseline.json, the settings, or measured now."""
    from hsearch.configs import write_atomic
    from hsearch.workflows.context import run_fixed

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
    else:
        if echo:
            print(f"baseline: {arch.model} width={arch.width:g} depth={arch.depth:g} "
                  f"resolution={arch.resolution:g}, {settings.seeds} seeds x {settings.budget}",
                  flush=True)
        rows = run_fixed(ctx.run_dir / BASELINE_DIR, ctx.spec, ctx.data, None,
                         concurrency=1, resume=resume, echo=echo)
        done = [r for r in rows if r.get("status") == "ok"]
        if not done:
            raise RuntimeError(f"the baseline evaluation did not finish; see "
                               f"{ctx.run_dir / BASELINE_DIR}")
        row = done[-1]
        baseline = {k: row.get(k) for k in ("acc_mean", "acc_std", "accs", "macs", "params",
                                            "input_size", "train_seconds", "n_failed")}
        baseline["measured"] = True
    baseline.update(model=arch.model, width=arch.width, depth=arch.depth,
                    resolution=arch.resolution, tolerance=settings.tolerance,
                    threshold=baseline["acc_mean"] - settings.tolerance)
    write_atomic(path, json.dumps(baseline, indent=2) + "\n")
    return baseline
