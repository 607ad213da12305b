"""Run a comparison: every (searcher, repetition) as one Ray task replaying the problem.

:func:`run_comparison` checks which searchers can run here (a missing package skips the searcher
with one line), starts one Ray task per (searcher, repetition) -- each builds its searcher
(hsearch.compare.searchers), replays ``budget`` evaluations (hsearch.compare.replay) and returns
its rows -- and writes the output directory:

    runs.csv         one row per evaluation of every run (RUN_COLUMNS, then the problem's metrics)
    comparison.json  settings, protocol, problem (optimum), searchers run and skipped, versions
    summary.md       hsearch.compare.summary; summary.json: the same numbers as data
    convergence_evals.png, convergence_time.png, data_profile.png   (hsearch.compare.plots)

A searcher that fails at run time (an exception in any of its repetitions) is reported and left
out of the summary, so a broken optional package cannot spoil the comparison of the others. The
real NAS problem (``problem="nas"``) goes through the workflows instead (hsearch.compare.real).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
import os
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hsearch.compare.protocol import CompareSettings, InfeasibleRule, ProblemSpec, violation

logger = logging.getLogger(__name__)

__all__ = ["RUN_COLUMNS", "ComparisonResult", "RunOutcome", "read_runs", "run_comparison",
           "run_one", "runs_to_rows", "write_runs"]

#: Searchers whose suggestions take seconds (a GP fitted per step): scheduled first.
SLOW_SEARCHERS = ("ax", "hebo", "bayesopt")
#: The leading columns of runs.csv (the problem's metrics follow).
RUN_COLUMNS = ("problem", "searcher", "repeat", "seed", "eval", "trial_id", "config",
               "suggested", "objective", "violation", "feasible", "penalized", "best_feasible",
               "start", "finish", "cost", "cached", "suggest_ms", "complete_ms", "end_ms",
               "stop_reason")


@dataclass
class RunOutcome:
    """One repetition: its rows (RUN_COLUMNS + metrics), or the error that stopped it."""

    searcher: str
    repeat: int
    rows: list[dict]
    stop_reason: str = ""
    error: str | None = None
    wall_seconds: float = 0.0


@dataclass
class ComparisonResult:
    """What :func:`run_comparison` wrote: the directory, rows, summary text and skip reasons."""

    out_dir: Path
    rows: list[dict]
    summary: str
    skipped: dict[str, str]


def run_one(spec: ProblemSpec, searcher: str, repeat: int, budget: int, concurrency: int,
            seed: int, rule: InfeasibleRule, one_thread: bool = False,
            nomad_params: tuple[str, ...] = ()) -> RunOutcome:
    """Replay one repetition of ``searcher`` on ``spec``'s problem (the unit of a Ray task).

    ``one_thread``: limit torch to one thread (in a one-CPU Ray task; not in a caller's process).
    ``nomad_params``: extra NOMAD parameter lines (NOMAD only).
    """
    from hsearch.compare.replay import ReplayBackend, replay_run
    from hsearch.compare.searchers import prepare_searcher, snap

    started = time.perf_counter()
    prepared = None
    try:
        problem = spec.build()
        prepared = prepare_searcher(searcher, problem, budget, concurrency, seed,
                                    nomad_params=nomad_params)
        if one_thread:
            _limit_threads()
            _quiet_worker()
        meta = problem.metadata or {}
        backend = ReplayBackend(problem.evaluate, concurrency, cost_metric=meta.get("cost_metric"),
                                cache_metric=meta.get("cache_metric"))

        def result_of(metrics: dict) -> dict:
            v = violation(metrics, problem.constraints)
            return {**metrics, "penalized": rule.value(float(metrics[problem.objective]), v)}

        prepare = None
        if prepared.relaxed:
            prepare = lambda c: snap(c, prepared.relaxed, prepared.space)  # noqa: E731
        run = replay_run(prepared.searcher, backend, budget, result_of, prepare)
        rows = runs_to_rows(problem, searcher, repeat, seed, run.records, run.stop_reason)
        return RunOutcome(searcher, repeat, rows, run.stop_reason,
                          wall_seconds=time.perf_counter() - started)
    except Exception as exc:  # noqa: BLE001 - reported per searcher, the others go on
        logger.debug("run %s/%d failed:\n%s", searcher, repeat, traceback.format_exc())
        text = f"{type(exc).__name__}: {exc}".strip().splitlines()[0]
        return RunOutcome(searcher, repeat, [], error=text[:300],
                          wall_seconds=time.perf_counter() - started)
    finally:
        if prepared is not None:
            prepared.close()


def _limit_threads() -> None:
    # one CPU per task: model-based searchers (HEBO, Ax) would otherwise start a torch thread
    # per core and fight the other tasks
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _quiet_worker() -> None:
    # in a Ray worker (ours alone): Ax logs every generation step at INFO and Ray forwards it all
    # to the driver's console, burying the progress lines
    import warnings

    for name in ("ax", "botorch", "optuna", "hyperopt", "ray.tune.search"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)


def runs_to_rows(problem, searcher: str, repeat: int, seed: int, records: Sequence[Mapping],
                 stop_reason: str) -> list[dict]:
    """runs.csv rows of one replayed run (records in finish order)."""
    rows, best = [], math.inf
    for i, rec in enumerate(records, start=1):
        metrics = rec["metrics"]
        objective = float(metrics.get(problem.objective, math.nan))
        v = violation(metrics, problem.constraints)
        feasible = problem.is_feasible(metrics)
        if feasible:
            best = min(best, objective)
        row = {
            "problem": problem.name, "searcher": searcher, "repeat": repeat, "seed": seed,
            "eval": i, "trial_id": rec["trial_id"], "config": _json(rec["evaluated"]),
            "suggested": "" if rec["config"] == rec["evaluated"] else _json(rec["config"]),
            "objective": objective, "violation": v, "feasible": feasible,
            "penalized": rec["result"].get("penalized"),
            "best_feasible": best, "start": rec["start"], "finish": rec["finish"],
            "cost": rec["cost"], "cached": bool(rec["cached"]),
            "suggest_ms": 1000.0 * rec["suggest_seconds"],
            "complete_ms": 1000.0 * rec["complete_seconds"],
            "end_ms": 1000.0 * rec.get("end_seconds", 0.0), "stop_reason": stop_reason,
        }
        for key, value in metrics.items():
            if key not in row:
                row[key] = value
        rows.append(row)
    return rows


def _json(config: Mapping) -> str:
    return json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()},
                      sort_keys=True)


# --- the whole comparison --------------------------------------------------------------------


def run_comparison(settings: CompareSettings, out_dir: str | Path, *, use_ray: bool = True,
                   echo: bool = False, command: str | None = None) -> ComparisonResult:
    """Run ``settings`` and write ``out_dir`` (module docstring); returns what was written.

    ``use_ray=False`` runs the repetitions one after the other in this process (tests, debugging).
    ``command`` is recorded in the outputs (the CLI passes its command line).
    """
    from hsearch.compare.protocol import default_rule
    from hsearch.search.factory import SEARCHERS, is_available

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = settings.spec
    if spec.real:
        from hsearch.compare.real import run_real_comparison

        return run_real_comparison(settings, out_dir, echo=echo, command=command)
    problem = spec.build()
    rule = default_rule(problem, settings.rule, settings.penalty)
    skipped: dict[str, str] = {}
    names = []
    for name in settings.searchers:
        entry = SEARCHERS[name]
        if not is_available(name):
            skipped[name] = (f"not installed (needs {entry.install}; "
                             f"pip install \"hsearch[compare]\")")
            _say(echo, f"skipping {name}: {skipped[name]}")
        else:
            names.append(name)
    # the slowest searchers first, so that they do not end up alone at the end on a few cores
    jobs = sorted(((name, r) for name in names for r in range(settings.repeats)),
                  key=lambda job: (job[0] not in SLOW_SEARCHERS, job[1]))
    _say(echo, f"compare: {problem.name}, {len(names)} searchers x {settings.repeats} repeats, "
               f"{settings.budget} evaluations each, concurrency {settings.concurrency}; "
               f"constraints for the others: {rule.describe()}")
    load_before = _load()
    started = time.perf_counter()
    outcomes = _execute(spec, jobs, settings, rule, use_ray, echo)
    wall = time.perf_counter() - started
    rows: list[dict] = []
    for name in names:
        mine = sorted((o for o in outcomes if o.searcher == name), key=lambda o: o.repeat)
        errors = [o.error for o in mine if o.error]
        if errors:
            skipped[name] = f"failed at run time: {errors[0]}"
            _say(echo, f"skipping {name}: {skipped[name]}")
            continue
        for o in mine:
            rows.extend(o.rows)
    ran = [n for n in names if n not in skipped]
    meta = comparison_metadata(settings, problem, rule, ran, skipped, command, wall)
    meta["machine"] = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": _load(),
                       "ray": use_ray}
    _say(echo, f"{len(jobs)} runs in {wall:.1f} s wall")
    return write_outputs(out_dir, rows, meta, echo=echo)


def _load() -> list[float] | None:
    """The 1/5/15-minute load averages (the machine may be shared: timings need them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def _execute(spec, jobs, settings, rule, use_ray: bool, echo: bool) -> list[RunOutcome]:
    args = lambda name, r: (spec, name, r, settings.budget, settings.concurrency,  # noqa: E731
                            settings.seed + r, rule)
    extra = {"nomad_params": tuple(settings.nomad_params)}
    if not use_ray:
        out = []
        for name, r in jobs:
            out.append(run_one(*args(name, r), **extra))
            _progress(echo, out[-1], len(out), len(jobs))
        return out
    import ray

    from hsearch.workflows.runner import ensure_ray

    ensure_ray(num_cpus=settings.num_cpus)
    task = ray.remote(num_cpus=1, max_retries=0)(run_one)
    pending = [task.remote(*args(name, r), one_thread=True, **extra) for name, r in jobs]
    out = []
    while pending:
        ready, pending = ray.wait(pending, num_returns=1)
        out.append(ray.get(ready[0]))
        _progress(echo, out[-1], len(out), len(jobs))
    return out


def _progress(echo: bool, outcome: RunOutcome, done: int, total: int) -> None:
    if not echo:
        return
    what = f"error: {outcome.error}" if outcome.error else (
        f"{len(outcome.rows)} evaluations ({outcome.stop_reason})")
    print(f"[{done}/{total}] {outcome.searcher} repeat {outcome.repeat}: {what}, "
          f"{outcome.wall_seconds:.1f} s", flush=True)


def _say(echo: bool, text: str) -> None:
    logger.info(text)
    if echo:
        print(text, flush=True)


def comparison_metadata(settings: CompareSettings, problem, rule: InfeasibleRule,
                        searchers: Sequence[str], skipped: Mapping[str, str],
                        command: str | None, wall_seconds: float) -> dict:
    """comparison.json: what was compared, how, and the reference value (the optimum)."""
    from hsearch.compare.searchers import start_point
    from hsearch.search.factory import SEARCHERS
    from hsearch.workflows.runner import code_version

    return {
        "command": command,
        "settings": {k: v for k, v in asdict(settings).items() if k != "extra"},
        "problem": {
            "name": problem.name, "objective": problem.objective,
            "constraints": list(problem.constraints), "optimum": problem.best_value,
            "optimum_known": True, "best_config": dict(problem.best_config or {}),
            "x0": start_point(problem), "source": problem.source,
            "dimension": problem.dimension,
            "details": _plain(dict(problem.metadata or {})),
        },
        "rule": {**asdict(rule), "text": rule.describe(),
                 "exact": _rule_exact(problem, rule)},
        "searchers": list(searchers),
        "native_constraints": [s for s in searchers if SEARCHERS[s].constraints],
        "skipped": dict(skipped),
        "wall_seconds": wall_seconds,
        "version": code_version(),
        "packages": package_versions(),
    }


#: Distributions whose versions a comparison records (the searchers' packages and their hosts).
PACKAGES = ("ray", "PyNomadBBO", "optuna", "hyperopt", "bayesian-optimization", "HEBO",
            "nevergrad", "zoopt", "hpbandster", "ConfigSpace", "ax-platform", "botorch", "numpy",
            "torch")


def package_versions() -> dict[str, str]:
    """Installed versions of PACKAGES (missing ones left out)."""
    from importlib import metadata

    out = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def _rule_exact(problem, rule: InfeasibleRule) -> dict | None:
    """For the tabular problem: the cell minimising the penalised objective, and whether it is
    the constrained optimum (a static penalty need not be exact)."""
    if problem.name != "tabular":
        return None
    table = problem.evaluate.table
    best = None
    for cell in table.cells.values():
        m = table.metrics(cell)
        value = rule.value(m["macs_ratio"], violation(m, problem.constraints))
        if best is None or value < best[0]:
            best = (value, cell, m)
    value, cell, m = best
    return {"penalized_minimiser": dict(zip(("width", "depth", "resolution"), cell.multipliers)),
            "its_macs_ratio": m["macs_ratio"], "its_acc_gap": m["acc_gap"],
            "penalized_value": value, "is_optimum": bool(m["feasible"]) and
            math.isclose(m["macs_ratio"], problem.best_value)}


def _plain(value):
    return json.loads(json.dumps(value, default=str))


def write_outputs(out_dir: Path, rows: list[dict], meta: dict, echo: bool = False
                  ) -> ComparisonResult:
    """runs.csv, comparison.json, summary.md/.json and the plots (from the rows as written)."""
    from hsearch.compare.plots import plot_all
    from hsearch.compare.summary import summarize, summary_markdown
    from hsearch.configs import write_atomic

    write_runs(out_dir / "runs.csv", rows)
    write_atomic(out_dir / "comparison.json", json.dumps(_plain(meta), indent=2) + "\n")
    rows = read_runs(out_dir / "runs.csv")  # summarise what was written, not what was meant
    stats = summarize(rows, meta)
    write_atomic(out_dir / "summary.json", json.dumps(_plain(stats), indent=2) + "\n")
    text = summary_markdown(stats, meta)
    write_atomic(out_dir / "summary.md", text)
    plot_all(rows, meta, out_dir)
    _say(echo, f"wrote {out_dir}/runs.csv ({len(rows)} evaluations), summary.md and plots")
    return ComparisonResult(out_dir, rows, text, dict(meta.get("skipped", {})))


def write_runs(path: Path, rows: Sequence[Mapping]) -> None:
    """runs.csv: RUN_COLUMNS first, then every other key in first-seen order."""
    from hsearch.configs import write_atomic

    columns = list(RUN_COLUMNS)
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _cell(row.get(k)) for k in columns})
    write_atomic(path, buffer.getvalue())


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)
    return value


_INT_COLUMNS = ("repeat", "seed", "eval")
_FLOAT_COLUMNS = ("objective", "violation", "penalized", "best_feasible", "start", "finish",
                  "cost", "suggest_ms", "complete_ms", "end_ms")
_BOOL_COLUMNS = ("feasible", "cached")


def read_runs(path: str | Path) -> list[dict]:
    """runs.csv back as rows: the RUN_COLUMNS typed (ints, floats incl. inf, booleans); other
    columns as numbers where they parse, else strings."""
    with Path(path).open(newline="") as f:
        rows = list(csv.DictReader(f))
    out = []
    for row in rows:
        typed: dict[str, Any] = {}
        for key, text in row.items():
            if key in _INT_COLUMNS:
                typed[key] = int(text)
            elif key in _FLOAT_COLUMNS:
                typed[key] = float(text) if text != "" else math.nan
            elif key in _BOOL_COLUMNS:
                typed[key] = text == "True"
            elif key in ("config", "suggested", "trial_id", "problem", "searcher",
                         "stop_reason"):
                typed[key] = text
            else:
                typed[key] = _number(text)
        out.append(typed)
    return out


def _number(text: str):
    if text == "":
        return None
    if text in ("True", "False"):
        return text == "True"
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
