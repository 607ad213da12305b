"""The real NAS problem: each (searcher, repetition) is a normal ``hsearch nas`` run.

Nothing is replayed here: every evaluation trains the configuration on the K subset seeds through
the workflows' trainable (hsearch.workflows.nas.run_nas, the same Tune job ``hsearch nas
--searcher NAME`` starts), so this measures what a user gets, at a user's cost. Keep it light
(the demo's settings, a budget of 10-20 evaluations, 2-3 repetitions): it costs about
``searchers x repeats x budget x seeds`` training runs.

Protocol, as for the replayed problems (hsearch.compare.protocol): the same settings for every
run except ``search.searcher`` and ``search.seed`` (``seed + r``); ``search.max_evals`` = the
budget; ``resources.concurrency`` = the comparison's concurrency; x0 = the baseline (1, 1, 1),
evaluated first by every searcher (the workflow gives it to all of them); searchers without
constraint support minimise the workflow's ``penalized`` (hsearch.workflows.trial). The baseline
is measured **once** (``<out>/real/baseline``) and its accuracy, MACs and seed results are copied
into every run before it starts, so all runs search against the same threshold and each run's x0
reuses the same measured seeds. Runs go one after the other (Tune runs one experiment per driver),
each with ``concurrency`` trials at once; the settings' own ``prune``/``racing`` apply to all.

The rows of every run's ``evaluations.csv`` become runs.csv rows (objective ``macs_ratio``,
constraint ``acc_gap``). The clock of a run is its training time: an evaluation costs the seconds
of the seeds it trained (a seed reused from the run's cache costs nothing), and evaluations are
laid end to end divided by the concurrency (``finish`` = cumulative cost / concurrency). The
optimum is unknown: the reference f* is the best feasible value any run found.
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from hsearch.compare.outputs import (
    ComparisonResult,
    RunRow,
    comparison_json,
    config_json,
    installed_searchers,
    load_average,
    say,
    write_outputs,
)
from hsearch.compare.protocol import CompareSettings, InfeasibleRule
from hsearch.results import EvaluationLog
from hsearch.workflows.demo import demo_settings
from hsearch.workflows.launch import run_workflow
from hsearch.workflows.run_dir import BASELINE_FILE, code_version
from hsearch.workflows.settings import NasSettings, load_settings

logger = logging.getLogger(__name__)

__all__ = ["nas_base_settings", "real_rows", "run_real_comparison"]

REAL_DIR = "real"


def nas_base_settings(path: str | None = None):
    """The NAS settings the runs share: the YAML at ``path``, else the demo's (hsearch demo)."""
    if path is None:
        return demo_settings()
    return load_settings(NasSettings, path)


def _run_settings(base, searcher: str, seed: int, budget: int, concurrency: int):
    return replace(base, out=None,
                   search=replace(base.search, searcher=searcher, seed=seed, max_evals=budget),
                   resources=replace(base.resources, concurrency=concurrency))


def real_rows(run_dir: str | Path, searcher: str, repeat: int, seed: int, concurrency: int,
              stop_reason: str = "budget") -> list[dict]:
    """runs.csv rows (hsearch.compare.outputs.RunRow + metrics) of one finished NAS run."""
    rows, best, clock, n_trained = [], math.inf, 0.0, 0
    for i, r in enumerate(EvaluationLog(run_dir, "macs", "min").rows, start=1):
        objective = _float(r.get("macs_ratio"))
        gap = _float(r.get("acc_gap"))
        feasible = bool(r.get("feasible")) and r.get("status") == "ok"
        violation = max(0.0, gap) if math.isfinite(gap) else math.inf
        if feasible and math.isfinite(objective):
            best = min(best, objective)
        done = int(r.get("seeds_done") or 0)
        trained = int(r.get("seeds_trained") or 0)
        cost = _float(r.get("train_seconds"), 0.0) * (trained / done if done else 0.0)
        start = clock
        clock += cost / concurrency
        kind = "duplicate" if trained == 0 and done > 0 else "trained"
        n_trained += kind == "trained"
        config = {k: r.get(k) for k in ("width", "depth", "resolution") if r.get(k) is not None}
        row = asdict(RunRow(
            problem="nas", searcher=searcher, repeat=repeat, seed=seed, eval=i,
            trial_id=r.get("trial_id"), config=config_json(config), suggested="",
            kind=kind, trained=n_trained, objective=objective, violation=violation,
            feasible=feasible, penalized=_float(r.get("penalized")), best_feasible=best,
            start=start, finish=clock, cost=cost,
            suggest_ms=math.nan, complete_ms=math.nan, end_ms=math.nan, stop_reason=stop_reason,
        ))
        for key in ("status", "acc_mean", "acc_gap", "macs", "params", "input_size",
                    "train_seconds", "seeds_trained", "seeds_reused", "wall_seconds"):
            row[key] = r.get(key)
        rows.append(row)
    return rows


def _float(value: Any, default: float = math.nan) -> float:
    try:
        return float(value) if value is not None else default
    except (TypeError, ValueError):
        return default


def run_real_comparison(settings: CompareSettings, out_dir: Path, *, echo: bool = False,
                        command: str | None = None) -> ComparisonResult:
    """Run the real NAS comparison of ``settings`` into ``out_dir`` (module docstring)."""
    base = nas_base_settings(settings.nas_config)
    if settings.num_cpus is not None:
        base = replace(base, resources=replace(base.resources, num_cpus=settings.num_cpus))
    if settings.nomad_params:
        base = replace(base, search=replace(base.search, nomad_params=tuple(
            settings.nomad_params)))
    if settings.penalty is not None:
        base = replace(base, search=replace(base.search, penalty=float(settings.penalty)))
    root = Path(out_dir) / REAL_DIR
    names, skipped = installed_searchers(settings.searchers, echo)
    load_before = load_average()
    started = time.perf_counter()
    # the baseline, once: a one-evaluation run (the baseline is measured, then x0 reuses it)
    baseline_dir = root / "baseline"
    say(echo, f"compare: real NAS ({base.arch.model}, {base.seeds} seeds x {base.budget.text}), "
               f"{len(names)} searchers x {settings.repeats} repeats, {settings.budget} "
               f"evaluations each, concurrency {settings.concurrency}; measuring the baseline")
    first = _run_settings(base, "random", settings.seed, 1, 1)
    baseline = run_workflow("nas", first, baseline_dir, echo=False).baseline
    rows: list[dict] = []
    for name in names:
        mine: list[dict] = []
        for r in range(settings.repeats):
            seed = settings.seed + r
            run_dir = root / f"{name}-{r}"
            run_dir.mkdir(parents=True, exist_ok=True)
            shutil.copy(baseline_dir / BASELINE_FILE, run_dir / BASELINE_FILE)
            if (baseline_dir / "cache").is_dir():
                shutil.copytree(baseline_dir / "cache", run_dir / "cache", dirs_exist_ok=True)
            t0 = time.perf_counter()
            try:
                run_workflow("nas", _run_settings(base, name, seed, settings.budget,
                                                  settings.concurrency), run_dir, echo=False)
            except Exception as exc:  # noqa: BLE001 - one searcher's failure must not stop the rest
                logger.debug("real run %s/%d failed", name, r, exc_info=True)
                skipped[name] = f"failed at run time: {type(exc).__name__}: {exc}"[:300]
                say(echo, f"skipping {name}: {skipped[name]}")
                break
            got = real_rows(run_dir, name, r, seed, settings.concurrency)
            mine.extend(got)
            say(echo, f"{name} repeat {r}: {len(got)} evaluations, "
                       f"{time.perf_counter() - t0:.0f} s ({run_dir})")
        if name not in skipped:
            rows.extend(mine)
    rule = InfeasibleRule("penalty", weight=base.search.penalty)
    ran = [n for n in names if n not in skipped]
    return write_outputs(Path(out_dir), rows, comparison_json(
        command=command,
        settings={"problem": "nas", "searchers": list(settings.searchers),
                  "budget": settings.budget, "repeats": settings.repeats,
                  "concurrency": settings.concurrency, "seed": settings.seed,
                  "nas_config": settings.nas_config,
                  "nomad_params": list(settings.nomad_params)},
        problem={
            "name": "nas", "objective": "macs_ratio", "constraints": ["acc_gap"],
            "optimum": None, "optimum_known": False, "best_config": None,
            "x0": {"width": 1.0, "depth": 1.0, "resolution": 1.0},
            "source": f"hsearch nas ({settings.nas_config or 'the demo settings'}), trained",
            "dimension": 3,
            "details": {"baseline": json.loads(json.dumps(baseline, default=str)),
                        "budget": base.budget.text, "seeds": base.seeds,
                        "bounds": {k: list(getattr(base.bounds, k))
                                   for k in ("width", "depth", "resolution")},
                        "step": base.bounds.step, "prune": base.prune,
                        "racing": base.racing.enabled},
        },
        rule={"kind": rule.kind, "weight": rule.weight, "bound": rule.bound,
              "text": rule.describe() + " (the workflow's `penalized`)", "exact": None},
        searchers=ran, skipped=skipped, wall_seconds=time.perf_counter() - started,
        machine={"cpus": os.cpu_count(), "load_before": load_before,
                 "load_after": load_average(), "ray": True,
                 "how": f"Tune runs one after the other, {settings.concurrency} trial(s) at once"},
        version=code_version()), echo=echo)
