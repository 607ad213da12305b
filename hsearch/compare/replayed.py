"""A comparison of replayed problems: every (problem, searcher, repetition) as one Ray task.

:func:`run_replayed_comparison` checks which searchers can run here (a missing package skips the
searcher with one line), starts one Ray task per (problem, searcher, repetition) -- each
(:func:`run_one`) builds its searcher (hsearch.compare.searchers), replays ``budget`` trained
evaluations (hsearch.compare.replay, with the free-point rule of hsearch.compare.free) and returns
its rows -- and writes, per problem (hsearch.compare.outputs):

    runs.csv         one row per evaluation of every run (RUN_COLUMNS, then the problem's metrics)
    comparison.json  settings, protocol, problem (optimum), searchers run and skipped, versions
    summary.md       hsearch.compare.summary; summary.json: the same numbers as data
    convergence_evals.png, convergence_time.png, data_profile.png   (hsearch.compare.plots)

One problem writes into the output directory itself; the suite (``problem="suite"``,
hsearch.compare.suite) writes one such directory per instance and the suite's own summary.md,
summary.json and data_profile.png on top (hsearch.compare.suite_summary).

A repetition that raises is a *crash*: it is reported (comparison.json ``errors``, summary.md) and
counts as an unsolved run; a searcher whose every repetition crashes (e.g. a broken optional
package) is left out of the summary with its error.
"""

from __future__ import annotations

import logging
import math
import os
import sys
import time
import traceback
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import ray

from hsearch.compare.free import CostRule
from hsearch.compare.outputs import (
    ComparisonResult,
    RunRow,
    comparison_metadata,
    config_json,
    installed_searchers,
    instance_dirname,
    load_average,
    say,
    write_outputs,
)
from hsearch.compare.protocol import (
    SUITE,
    CompareSettings,
    InfeasibleRule,
    ProblemSpec,
    default_rule,
    is_tabular,
    violation,
)
from hsearch.compare.replay import ReplayBackend, replay_run
from hsearch.compare.searchers import own_free_points, prepare_searcher, snap
from hsearch.compare.suite_summary import write_suite
from hsearch.workflows.ray_session import ensure_ray
from hsearch.workflows.run_dir import code_version

logger = logging.getLogger(__name__)

__all__ = ["RunOutcome", "run_one", "run_replayed_comparison", "runs_to_rows"]

#: Metrics of a noisy problem that score the run and are not told to the searcher.
TRUTH = ("true_acc_mean", "true_feasible")
#: Searchers whose suggestions take seconds (a GP fitted per step): scheduled first.
SLOW_SEARCHERS = ("ax", "hebo", "bayesopt")


@dataclass
class RunOutcome:
    """One repetition: its rows (RUN_COLUMNS + metrics), or the error that stopped it."""

    searcher: str
    repeat: int
    rows: list[dict]
    stop_reason: str = ""
    error: str | None = None
    wall_seconds: float = 0.0
    problem: str = ""


def run_one(spec: ProblemSpec, searcher: str, repeat: int, budget: int, concurrency: int,
            seed: int, rule: InfeasibleRule, one_thread: bool = False,
            nomad_params: tuple[str, ...] = (), max_proposals: int | None = None) -> RunOutcome:
    """Replay one repetition of ``searcher`` on ``spec``'s problem (the unit of a Ray task).

    ``one_thread``: limit torch to one thread (in a one-CPU Ray task; not in a caller's process).
    ``nomad_params``: extra NOMAD parameter lines (NOMAD only). ``max_proposals``: the replay's
    proposal cap (None: 10 x budget).
    """
    started = time.perf_counter()
    prepared = None
    try:
        problem = spec.build(seed)
        prepared = prepare_searcher(searcher, problem, budget, concurrency, seed,
                                    nomad_params=nomad_params)
        if one_thread:
            _limit_threads()
            _quiet_worker()
        meta = problem.metadata or {}
        backend = ReplayBackend(problem.evaluate, concurrency, cost_metric=meta.get("cost_metric"))

        def result_of(metrics: dict) -> dict:
            v = violation(metrics, problem.constraints)
            told = {k: x for k, x in metrics.items() if k not in TRUTH}  # not for the searcher
            return {**told, "penalized": rule.value(float(metrics[problem.objective]), v)}

        prepare = None
        if prepared.relaxed:
            prepare = lambda c: snap(c, prepared.relaxed, prepared.space)  # noqa: E731
        run = replay_run(prepared.searcher, backend, budget, result_of, prepare,
                         rule=CostRule(problem, _points(problem)), max_proposals=max_proposals)
        own_free, why = own_free_points(prepared.inner)
        stop = f"{run.stop_reason}: {why}" if why and run.stop_reason == "finished" \
            else run.stop_reason
        rows = runs_to_rows(problem, searcher, repeat, seed, run.records, stop)
        for row in rows:
            row["searcher_free"] = own_free
        return RunOutcome(searcher, repeat, rows, run.stop_reason,
                          wall_seconds=time.perf_counter() - started, problem=spec.label)
    except Exception as exc:  # noqa: BLE001 - reported per run, the others go on
        logger.debug("run %s/%d failed:\n%s", searcher, repeat, traceback.format_exc())
        text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        return RunOutcome(searcher, repeat, [], error=text[:300],
                          wall_seconds=time.perf_counter() - started, problem=spec.label)
    finally:
        if prepared is not None:
            prepared.close()


def _points(problem) -> list | None:
    """The tabular problem's cells as (network, known objective); None for other problems."""
    if not is_tabular(problem):
        return None
    table = problem.evaluate.table
    return [(cell.network, cell.macs / table.baseline.macs) for cell in table.cells.values()]


def _limit_threads() -> None:
    # one CPU per task: model-based searchers (HEBO, Ax) would otherwise start a torch thread
    # per core and fight the other tasks
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _quiet_worker() -> None:
    # in a Ray worker (ours alone): Ax logs every generation step at INFO and Ray forwards it all
    # to the driver's console, burying the progress lines
    for name in ("ax", "botorch", "optuna", "hyperopt", "ray.tune.search"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def runs_to_rows(problem, searcher: str, repeat: int, seed: int, records: Sequence[Mapping],
                 stop_reason: str) -> list[dict]:
    """runs.csv rows of one replayed run (records in finish order). A noisy problem's rows
    (hsearch.compare.noisy) add ``incumbent_truth``: the
    objective of the run's incumbent (its best feasible evaluation so far, as the searcher saw
    it) when that network is truly feasible, inf when it is not (fooled) or there is none."""
    rows, best, trained = [], math.inf, 0
    truth = math.inf
    noisy = bool((problem.metadata or {}).get("noisy"))
    for i, rec in enumerate(records, start=1):
        metrics = rec["metrics"]
        kind = rec.get("kind", "trained")
        trained += kind == "trained"
        objective = float(metrics.get(problem.objective, math.nan))
        v = violation(metrics, problem.constraints)
        feasible = problem.is_feasible(metrics) and kind != "screened"
        if feasible and objective < best:
            best = objective
            if noisy:
                truth = objective if metrics["true_feasible"] else math.inf
        row = RunRow(
            problem=problem.name, searcher=searcher, repeat=repeat, seed=seed, eval=i,
            trial_id=rec["trial_id"], config=config_json(rec["evaluated"]),
            suggested="" if rec["config"] == rec["evaluated"] else config_json(rec["config"]),
            kind=kind, trained=trained, objective=objective, violation=v, feasible=feasible,
            penalized=rec["result"].get("penalized"), best_feasible=best, start=rec["start"],
            finish=rec["finish"], cost=rec["cost"],
            suggest_ms=1000.0 * rec["suggest_seconds"],
            complete_ms=1000.0 * rec["complete_seconds"],
            end_ms=1000.0 * rec.get("end_seconds", 0.0), stop_reason=stop_reason,
        ).with_metrics(metrics)
        if noisy:
            row["incumbent_truth"] = truth
        rows.append(row)
    return rows


def run_replayed_comparison(settings: CompareSettings, out_dir: Path, *, use_ray: bool = True,
                            echo: bool = False, command: str | None = None,
                            max_proposals: int | None = None) -> ComparisonResult:
    """Replay ``settings`` (one problem or the suite) into the existing ``out_dir`` (module
    docstring; the arguments: hsearch.compare.run.run_comparison)."""
    specs = settings.specs
    problems = {spec.label: spec.build() for spec in specs}
    rules = {label: default_rule(p, settings.rule, settings.penalty)
             for label, p in problems.items()}
    names, skipped = installed_searchers(settings.searchers, echo)
    # the slowest searchers first, so that they do not end up alone at the end on a few cores
    jobs = sorted(((spec, name, r) for spec in specs for name in names
                   for r in range(settings.repeats)),
                  key=lambda job: (job[1] not in SLOW_SEARCHERS, job[2]))
    say(echo, f"compare: {', '.join(problems)}; {len(names)} searchers x {settings.repeats} "
              f"repeats, {settings.budget} trained evaluations each, concurrency "
              f"{settings.concurrency}")
    version = code_version()  # the code that runs, not the code present when writing
    load_before = load_average()
    started = time.perf_counter()
    outcomes = _execute(jobs, settings, rules, use_ray, echo, max_proposals)
    wall = time.perf_counter() - started
    machine = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": load_average(),
               "ray": use_ray, "max_proposals": max_proposals or 10 * settings.budget}
    say(echo, f"{len(jobs)} runs in {wall:.1f} s wall")
    results = {}
    for spec in specs:
        label = spec.label
        mine = [o for o in outcomes if o.problem == label]
        one = replace(settings, problem=spec.name, threshold=spec.threshold, instances=())
        where = out_dir if settings.problem != SUITE else out_dir / instance_dirname(label)
        results[label] = _write_problem(where, one, problems[label], rules[label], names,
                                        dict(skipped), mine, command, wall, machine, echo,
                                        version)
    if settings.problem != SUITE:
        return results[specs[0].label]
    return write_suite(out_dir, settings, results, command, wall, machine, echo=echo)


def _write_problem(out_dir: Path, settings, problem, rule, names, skipped, outcomes,
                   command, wall, machine, echo, version) -> ComparisonResult:
    rows: list[dict] = []
    errors: dict[str, dict[int, str]] = {}
    for name in names:
        mine = sorted((o for o in outcomes if o.searcher == name), key=lambda o: o.repeat)
        failed = {o.repeat: o.error for o in mine if o.error}
        if mine and len(failed) == len(mine):
            skipped[name] = f"failed at run time: {next(iter(failed.values()))}"
            say(echo, f"{problem.name}: skipping {name}: {skipped[name]}")
            continue
        if failed:
            errors[name] = failed
        for o in mine:
            rows.extend(o.rows)
    ran = [n for n in names if n not in skipped]
    meta = comparison_metadata(settings, problem, rule, ran, skipped, command, wall, errors,
                               version, machine)
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_outputs(out_dir, rows, meta, echo=echo)


def _execute(jobs, settings, rules, use_ray: bool, echo: bool,
             max_proposals: int | None = None) -> list[RunOutcome]:
    def args(spec, name, r):
        return (spec, name, r, settings.budget, settings.concurrency, settings.seed + r,
                rules[spec.label])

    extra = {"nomad_params": tuple(settings.nomad_params), "max_proposals": max_proposals}
    if not use_ray:
        out = []
        for job in jobs:
            out.append(run_one(*args(*job), **extra))
            _progress(echo, out[-1], len(out), len(jobs))
        return out
    ensure_ray(num_cpus=settings.num_cpus)
    task = ray.remote(num_cpus=1, max_retries=0)(run_one)
    pending = [task.remote(*args(*job), one_thread=True, **extra) for job in jobs]
    out = []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        out.append(ray.get(ready[0]))
        _progress(echo, out[-1], len(out), len(jobs))
    return out


def _progress(echo: bool, outcome: RunOutcome, done: int, total: int) -> None:
    if not echo:
        return
    trained = outcome.rows[-1]["trained"] if outcome.rows else 0
    what = f"error: {outcome.error}" if outcome.error else (
        f"{trained} trained + {len(outcome.rows) - trained} free evaluations "
        f"({outcome.stop_reason})")
    print(f"[{done}/{total}] {outcome.problem} {outcome.searcher} repeat {outcome.repeat}: "
          f"{what}, {outcome.wall_seconds:.1f} s", flush=True)
