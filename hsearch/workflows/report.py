"""A run's summary, from its directory alone (finished or killed runs alike).

:func:`summarize_run` reads ``config.yaml``, ``evaluations.csv`` and (NAS) ``baseline.json`` and
returns the text ``hsearch report DIR`` prints and a finished run leaves in ``summary.txt``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from hsearch.configs import write_atomic
from hsearch.workflows.run_dir import SUMMARY_FILE, load_run_settings

OBJECTIVES = {"nas": ("macs", "min"), "demo": ("macs", "min"), "hpo": ("acc_mean", "max"),
              "baseline": ("acc_mean", "max"), "evaluate": ("acc_mean", "max")}


#: Why the searcher ended the search, when it said so (hsearch.workflows.nas writes it).
STOP_REASON_FILE = "search_end.json"


def write_stop_reason(run_dir: str | Path, searcher) -> None:
    """Keep ``searcher.stop_reason`` (NomadSearcher's, e.g. every further proposal needed no
    training) in the run directory, for the summary; nothing for a searcher that has none."""
    import json

    reason = getattr(searcher, "stop_reason", "")
    if reason:
        write_atomic(Path(run_dir) / STOP_REASON_FILE, json.dumps({"stop_reason": reason}))


def read_stop_reason(run_dir: str | Path) -> str:
    """The searcher's own reason for ending early, or a plain statement that it did."""
    import json

    path = Path(run_dir) / STOP_REASON_FILE
    if path.exists():
        return str(json.loads(path.read_text()).get("stop_reason", ""))
    return "the searcher ended the search (it proposed nothing more)"


def summarize_run(run_dir: str | Path) -> str:
    """The summary text of the run in ``run_dir``."""
    from hsearch.results import EvaluationLog

    run_dir = Path(run_dir)
    workflow, settings, document = load_run_settings(run_dir)
    objective, mode = OBJECTIVES[workflow]
    objective = getattr(settings, "objective", objective)  # NAS: macs, params or latency_ms
    has_rows = (run_dir / "evaluations.csv").exists()
    log = EvaluationLog(run_dir, objective, mode) if has_rows else None
    rows = log.rows if log is not None else []
    total = _planned(workflow, settings)
    finished = (run_dir / SUMMARY_FILE).exists()
    state = "finished" if finished else (
        f"incomplete: {_n_trials(rows)} of {total} evaluations; continue it with "
        f"`hsearch resume {run_dir}`")
    lines = [f"hsearch {workflow} run {run_dir} ({state})"]
    if workflow in ("nas", "demo"):
        lines += _nas_lines(run_dir, settings, rows, log.best() if log else None)
    elif workflow == "hpo":
        lines += _hpo_lines(settings, rows, log.best() if log else None)
    elif workflow == "baseline":
        lines += baseline_table(rows).splitlines()
    else:
        lines += _evaluate_lines(settings, rows)
    lines += _count_lines(rows, settings.seeds)
    if finished and workflow in ("nas", "demo") and _n_trials(rows) < total:
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
    import json

    from hsearch.results import read_rows
    from hsearch.workflows.callbacks import write_plots
    from hsearch.workflows.nas import BASELINE_FILE

    run_dir = Path(run_dir)
    workflow, settings, _ = load_run_settings(run_dir)
    csv_path = run_dir / "evaluations.csv"
    if not csv_path.exists():
        return
    objective, mode = OBJECTIVES[workflow]
    objective = getattr(settings, "objective", objective)
    baseline_path = run_dir / BASELINE_FILE
    baseline = json.loads(baseline_path.read_text()) if baseline_path.exists() else None
    write_plots(run_dir, read_rows(csv_path), objective, mode, baseline)


def pareto_text(run_dir: str | Path) -> str:
    """The Pareto table of a run (hsearch.results.pareto), ``pareto.csv`` rewritten from
    ``evaluations.csv`` (no plot drawn)."""
    from hsearch.results import read_rows
    from hsearch.results.pareto import format_pareto, pareto_table, write_pareto_csv

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


def baseline_table(rows: Sequence[Mapping]) -> str:
    """The paper's Table 1: model, accuracy mean ± std, MACs, params, seconds, by accuracy."""
    done = [r for r in rows if r.get("acc_mean") is not None]
    done.sort(key=lambda r: -r["acc_mean"])
    lines = [f"{'model':<18} {'acc mean ± std':>17} {'MMACs':>9} {'Mparams':>8} "
             f"{'s/seed':>7} {'seeds':>5}  status"]
    for r in done:
        seeds = r.get("seeds_done") or 0
        per_seed = (r.get("train_seconds") or 0.0) / seeds if seeds else 0.0
        lines.append(f"{r.get('arch_model') or r.get('model'):<18} "
                     f"{r['acc_mean']:>8.4f} ± {r.get('acc_std') or 0.0:.4f} "
                     f"{(r.get('macs') or 0) / 1e6:>9.2f} {(r.get('params') or 0) / 1e6:>8.3f} "
                     f"{per_seed:>7.1f} {seeds:>5}  {r.get('status')}")
    return "\n".join(lines)


def _planned(workflow: str, settings) -> int:
    if workflow in ("nas", "demo", "hpo"):
        return settings.search.max_evals
    if workflow == "baseline":
        return len(settings.models)
    return 1


def _arch_text(model, width, depth, resolution, input_size=None) -> str:
    px = f" ({input_size} px)" if input_size else ""
    return f"{model} width {width:.4g} depth {depth:.4g} resolution {resolution:.4g}{px}"


def _acc(row: Mapping, key: str = "acc") -> str:
    if row.get("acc_mean") is None:
        return "acc ?"
    std = f" ± {row['acc_std']:.4f}" if row.get("acc_std") is not None else ""
    return f"{key} {row['acc_mean']:.4f}{std}"


def _nas_lines(run_dir: Path, settings, rows, best) -> list[str]:
    import json

    from hsearch.workflows.nas import BASELINE_FILE

    lines = []
    path = run_dir / BASELINE_FILE
    baseline = json.loads(path.read_text()) if path.exists() else None
    if baseline is None:
        lines.append("baseline  not measured yet")
        return lines
    how = "measured" if baseline.get("measured") else "given"
    arch = _arch_text(baseline["model"], baseline["width"], baseline["depth"],
                      baseline["resolution"], baseline.get("input_size"))
    lines.append(f"baseline  {arch}: {_acc(baseline)} ({how}), {baseline['macs'] / 1e6:.2f}M MACs")
    lines.append(f"threshold acc_mean >= {baseline['threshold']:.4f}"
                 + (f" (tolerance {baseline['tolerance']:g})" if baseline.get("tolerance") else "")
                 + "".join(f", {c}" for c in getattr(settings, "constraints", ()))
                 + f"; minimising {getattr(settings, 'objective', 'macs')}"
                 + _threshold_uncertainty(baseline))
    from hsearch.workflows.report_metrics import metric_lines

    more = metric_lines(rows, baseline, getattr(settings, "objective", "macs"),
                        getattr(settings, "constraints", ()))
    if best is None:
        lines.append("best      no feasible configuration found")
        return lines + more
    mults = " ".join(f"{name} x{best[name]:.3f}" for name in ("width", "depth", "resolution")
                     if best.get(name) is not None)
    arch = _arch_text(best["arch_model"], best["arch_width"], best["arch_depth"],
                      best["arch_resolution"], best.get("input_size"))
    lines.append(f"best      {mults} = {arch} (evaluation #{best['eval_id']})")
    ratio = best["macs"] / baseline["macs"] if baseline.get("macs") else float("nan")
    lines.append(f"          {best['macs'] / 1e6:.2f}M MACs = {ratio:.2f}x the baseline's "
                 f"{baseline['macs'] / 1e6:.2f}M; {_acc(best)} vs baseline {_acc(baseline)[4:]}")
    return lines + more


def _threshold_uncertainty(baseline: Mapping) -> str:
    """``; baseline mean of 10 seeds: standard error 0.0061, 95% CI [0.9096, 0.9373]`` or ""."""
    if baseline.get("acc_sem") is None:
        return ""
    low, high = baseline["acc_ci"]
    return (f"; baseline mean of {len(baseline.get('accs') or [])} seeds: standard error "
            f"{baseline['acc_sem']:.4f}, {baseline.get('acc_ci_level', 0.95):.0%} CI "
            f"[{low:.4f}, {high:.4f}]")


def _hpo_lines(settings, rows, best) -> list[str]:
    arch = settings.arch
    lines = [f"arch      {_arch_text(arch.model, arch.width, arch.depth, arch.resolution)}"]
    if rows:
        first = rows[0]
        lines.append(f"first     {_hparams(first)}: {_acc(first)}")
    if best is None:
        lines.append("best      none finished")
    else:
        lines.append(f"best      {_hparams(best)}: {_acc(best)} (evaluation #{best['eval_id']})")
    return lines


def _hparams(row: Mapping) -> str:
    searched = f" (searched {row['lr']:.4g} on SGD's scale)" if row.get("lr") is not None else ""
    return (f"{row.get('train_optimizer')} lr {row.get('train_lr') or 0.0:.4g}{searched} "
            f"wd {row.get('train_weight_decay') or 0.0:g} batch {row.get('train_batch_size')}")


def _evaluate_lines(settings, rows) -> list[str]:
    lines = []
    for row in rows:
        arch = _arch_text(row["arch_model"], row["arch_width"], row["arch_depth"],
                          row["arch_resolution"], row.get("input_size"))
        lines.append(f"arch      {arch}, {(row.get('macs') or 0) / 1e6:.2f}M MACs")
        lines.append(f"training  {_hparams(row)}, budget {settings.budget} per seed")
        accs = ", ".join(f"{a:.4f}" for a in row.get("accs") or [])
        lines.append(f"{settings.split:<9} {_acc(row)} over {row.get('seeds_done')} seeds "
                     f"(sample std); per seed: {accs}")
    return lines


def _n_trials(rows) -> int:
    """Rows that were trials (NOMAD's screened and duplicate points were not)."""
    return sum(r.get("status") not in ("screened", "duplicate") for r in rows)


def _count_lines(rows, seeds: int) -> list[str]:
    if not rows:
        return ["evals     none yet"]
    from hsearch.results import outcome_counts

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
