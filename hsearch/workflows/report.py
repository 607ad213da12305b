"""A run's summary, from its directory alone (finished or killed runs alike).

:func:`summarize_run` reads ``config.yaml``, ``evaluations.csv`` and (NAS) ``baseline.json`` and
returns the text ``hsearch report DIR`` prints and a finished run leaves in ``summary.txt``: a
head line, the workflow's own lines (its row of hsearch.workflows.registry names them, in
hsearch.workflows.report_lines), the evaluation and seed counts, and the result files.
:func:`write_summary` is called by whoever ran the workflow (hsearch.workflows.launch), after
the run function returned: this module calls no workflow's code.
"""

from __future__ import annotations

import json
from pathlib import Path

from hsearch.files import write_atomic
from hsearch.results import EvaluationLog, outcome_counts, read_rows
from hsearch.results.pareto import format_pareto, pareto_table, write_pareto_csv
from hsearch.workflows.racing import CLEAR, CONFIRMED, FELL, MAX_SEEDS
from hsearch.workflows.registry import find_workflow, load_run_settings
from hsearch.workflows.run_dir import BASELINE_FILE, STOP_REASON_FILE, SUMMARY_FILE

def read_stop_reason(run_dir: str | Path) -> str:
    """The searcher's own reason for ending early, or a plain statement that it did."""
    path = Path(run_dir) / STOP_REASON_FILE
    if path.exists():
        return str(json.loads(path.read_text()).get("stop_reason", ""))
    return "the searcher ended the search (it proposed nothing more)"


def summarize_run(run_dir: str | Path) -> str:
    """The summary text of the run in ``run_dir``."""
    run_dir = Path(run_dir)
    workflow, settings, document = load_run_settings(run_dir)
    row = find_workflow(workflow)
    objective = getattr(settings, "objective", row.objective)  # NAS: macs, params or latency_ms
    has_rows = (run_dir / "evaluations.csv").exists()
    log = EvaluationLog(run_dir, objective, row.mode) if has_rows else None
    rows = log.rows if log is not None else []
    total = row.planned(settings)
    finished = (run_dir / SUMMARY_FILE).exists()
    state = "finished" if finished else (
        f"incomplete: {_n_trials(rows)} of {total} evaluations; continue it with "
        f"`hsearch resume {run_dir}`")
    lines = [f"hsearch {workflow} run {run_dir} ({state})"]
    lines += row.summary_lines(run_dir, settings, rows, log.best() if log else None)
    lines += _count_lines(rows, settings.seeds)
    confirm = getattr(settings, "confirm", None)  # NAS: racing.ConfirmRule
    if confirm is not None and confirm.enabled and rows:
        lines.append(_confirm_line(rows, confirm.limit(settings.seeds)))
    if finished and row.stops_early and _n_trials(rows) < total:
        lines.append(f"stopped   after {_n_trials(rows)} of {total} trained evaluations: "
                     f"{read_stop_reason(run_dir)}")
    files = [name for name in ("evaluations.csv", "best.json", "progress.png", "pareto.png",
                               "pareto.csv", "table.csv") if (run_dir / name).exists()]
    if files:
        lines.append(f"results   {run_dir}/{{{','.join(files)}}}")
    lines.append(f"tensorboard --logdir {run_dir}")
    return "\n".join(lines)


def redraw_plots(run_dir: str | Path) -> None:
    """Draw ``progress.png`` and ``pareto.png`` again from ``evaluations.csv`` (if any rows)."""
    from hsearch.workflows.callbacks import write_plots  # imports Ray: not for summaries

    run_dir = Path(run_dir)
    workflow, settings, _ = load_run_settings(run_dir)
    csv_path = run_dir / "evaluations.csv"
    if not csv_path.exists():
        return
    row = find_workflow(workflow)
    objective, mode = getattr(settings, "objective", row.objective), row.mode
    baseline_path = run_dir / BASELINE_FILE
    baseline = json.loads(baseline_path.read_text()) if baseline_path.exists() else None
    write_plots(run_dir, read_rows(csv_path), objective, mode, baseline)


def pareto_text(run_dir: str | Path) -> str:
    """The Pareto table of a run (hsearch.results.pareto), ``pareto.csv`` rewritten from
    ``evaluations.csv`` (no plot drawn)."""
    csv_path = Path(run_dir) / "evaluations.csv"
    if not csv_path.exists():
        return "pareto    no evaluation yet"
    table = pareto_table(read_rows(csv_path))
    write_pareto_csv(run_dir, table)
    return format_pareto(table)


def write_summary(run_dir: str | Path) -> str:
    """Write ``summary.txt`` (which marks the run finished) and return its text."""
    run_dir = Path(run_dir)
    write_atomic(run_dir / SUMMARY_FILE, "")  # first: the summary then says "finished"
    text = summarize_run(run_dir)
    write_atomic(run_dir / SUMMARY_FILE, text + "\n")
    return text


def _n_trials(rows) -> int:
    """Rows that were trials (NOMAD's screened and duplicate points were not)."""
    return sum(r.get("status") not in ("screened", "duplicate") for r in rows)


def _confirm_line(rows, max_seeds: int) -> str:
    """How confirmation went: its verdicts (the ``confirm`` column) and the seed-runs it added."""
    verdicts = [r.get("confirm") for r in rows if r.get("status") == "ok"]
    added = sum(r.get("seeds_added") or 0 for r in rows if r.get("status") == "ok")
    return (f"confirm   {verdicts.count(CONFIRMED)} confirmed, {verdicts.count(FELL)} fell below "
            f"the threshold, {verdicts.count(MAX_SEEDS)} kept at the {max_seeds}-seed limit, "
            f"{verdicts.count(CLEAR)} clear on their own seeds; {added} seed-runs added")


def _count_lines(rows, seeds: int) -> list[str]:
    if not rows:
        return ["evals     none yet"]
    # the status names of evaluations.csv (hsearch.results.counts); ok split when constrained
    outcome = outcome_counts(rows)
    names = {"rejected": "rejected by racing", "pruned": "pruned (objective not below the best)",
             "screened": "screened (objective not below the best, not trained)",
             "duplicate": "duplicate (network already trained, not trained again)"}
    if any(r.get("acc_gap") is not None for r in rows):
        names["ok"] = f"ok ({outcome['feasible']} feasible, {outcome['infeasible']} infeasible)"
    counts = ", ".join(f"{n} {names.get(s, s)}" for s, n in outcome["statuses"].items() if n)
    trained = sum(r.get("seeds_trained") or 0 for r in rows)
    reused = sum(r.get("seeds_reused") or 0 for r in rows)
    racing = sum(r.get("seed_runs_saved") or 0 for r in rows if r.get("status") == "rejected")
    pruned = sum(r.get("seed_runs_saved") or 0 for r in rows if r.get("status") == "pruned")
    seconds = sum(r.get("train_seconds") or 0.0 for r in rows)
    n = _n_trials(rows)  # screened/duplicate rows are answers, not evaluations of the budget
    plural = "s" if n != 1 else ""
    line = [f"evals     {n} evaluation{plural}: {counts}",
            f"seeds     {trained} seed-runs trained ({seconds:.0f} s of training), {reused} reused"]
    if racing or pruned:
        line[-1] += f"; skipped: {racing} by racing, {pruned} by pruning"
    return line
