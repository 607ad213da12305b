"""Each workflow's own lines of a run summary, and the text helpers they share.

The rows of hsearch.workflows.registry name these functions (``summary``); the summary itself
(hsearch.workflows.report) calls them as ``lines(run_dir, settings, rows, best) -> list[str]``.
They read the run directory and format; they import no workflow module, so the summary of a
run never calls back into the code that ran it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping, Sequence

from hsearch.workflows.report_metrics import metric_lines
from hsearch.workflows.run_dir import BASELINE_FILE


def arch_text(model, width, depth, resolution, input_size=None) -> str:
    """``senet18 width 0.5 depth 1 resolution 0.375 (12 px)``."""
    px = f" ({input_size} px)" if input_size else ""
    return f"{model} width {width:.4g} depth {depth:.4g} resolution {resolution:.4g}{px}"


def acc_text(row: Mapping, key: str = "acc") -> str:
    """``acc 0.9214 ± 0.0123`` (``acc ?`` while unknown)."""
    if row.get("acc_mean") is None:
        return "acc ?"
    std = f" ± {row['acc_std']:.4f}" if row.get("acc_std") is not None else ""
    return f"{key} {row['acc_mean']:.4f}{std}"


def hparams_text(row: Mapping) -> str:
    """The training hyperparameters of an evaluation row, on one line."""
    searched = f" (searched {row['lr']:.4g} on SGD's scale)" if row.get("lr") is not None else ""
    return (f"{row.get('train_optimizer')} lr {row.get('train_lr') or 0.0:.4g}{searched} "
            f"wd {row.get('train_weight_decay') or 0.0:g} batch {row.get('train_batch_size')}")


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


def baseline_lines(run_dir: Path, settings, rows: list, best: dict | None) -> list[str]:
    """The baseline lines of the run summary: the table."""
    return baseline_table(rows).splitlines()


def nas_lines(run_dir: Path, settings, rows: list, best: dict | None) -> list[str]:
    """The NAS lines of the run summary: baseline, threshold, best, measured metrics."""
    lines = []
    path = Path(run_dir) / BASELINE_FILE
    baseline = json.loads(path.read_text()) if path.exists() else None
    if baseline is None:
        lines.append("baseline  not measured yet")
        return lines
    how = "measured" if baseline.get("measured") else "given"
    arch = arch_text(baseline["model"], baseline["width"], baseline["depth"],
                     baseline["resolution"], baseline.get("input_size"))
    lines.append(f"baseline  {arch}: {acc_text(baseline)} ({how}), "
                 f"{baseline['macs'] / 1e6:.2f}M MACs")
    lines.append(f"threshold acc_mean >= {baseline['threshold']:.4f}"
                 + (f" (tolerance {baseline['tolerance']:g})" if baseline.get("tolerance") else "")
                 + "".join(f", {c}" for c in getattr(settings, "constraints", ()))
                 + f"; minimising {getattr(settings, 'objective', 'macs')}"
                 + _threshold_uncertainty(baseline))
    more = metric_lines(rows, baseline, getattr(settings, "objective", "macs"),
                        getattr(settings, "constraints", ()))
    if best is None:
        lines.append("best      no feasible configuration found")
        return lines + more
    mults = " ".join(f"{name} x{best[name]:.3f}" for name in ("width", "depth", "resolution")
                     if best.get(name) is not None)
    arch = arch_text(best["arch_model"], best["arch_width"], best["arch_depth"],
                     best["arch_resolution"], best.get("input_size"))
    lines.append(f"best      {mults} = {arch} (evaluation #{best['eval_id']})")
    ratio = best["macs"] / baseline["macs"] if baseline.get("macs") else float("nan")
    lines.append(f"          {best['macs'] / 1e6:.2f}M MACs = {ratio:.2f}x the baseline's "
                 f"{baseline['macs'] / 1e6:.2f}M; {acc_text(best)} vs baseline "
                 f"{acc_text(baseline)[4:]}")
    return lines + more


def _threshold_uncertainty(baseline: Mapping) -> str:
    """``; baseline mean of 10 seeds: standard error 0.0061, 95% CI [0.9096, 0.9373]`` or ""."""
    if baseline.get("acc_sem") is None:
        return ""
    low, high = baseline["acc_ci"]
    return (f"; baseline mean of {len(baseline.get('accs') or [])} seeds: standard error "
            f"{baseline['acc_sem']:.4f}, {baseline.get('acc_ci_level', 0.95):.0%} CI "
            f"[{low:.4f}, {high:.4f}]")


def hpo_lines(run_dir: Path, settings, rows: list, best: dict | None) -> list[str]:
    """The HPO lines of the run summary: the architecture, the first and the best evaluation."""
    arch = settings.arch
    lines = [f"arch      {arch_text(arch.model, arch.width, arch.depth, arch.resolution)}"]
    if rows:
        first = rows[0]
        lines.append(f"first     {hparams_text(first)}: {acc_text(first)}")
    if best is None:
        lines.append("best      none finished")
    else:
        lines.append(f"best      {hparams_text(best)}: {acc_text(best)} "
                     f"(evaluation #{best['eval_id']})")
    return lines


def evaluate_lines(run_dir: Path, settings, rows: list, best: dict | None) -> list[str]:
    """The evaluation lines of the run summary: architecture, training, the score per seed."""
    lines = []
    for row in rows:
        arch = arch_text(row["arch_model"], row["arch_width"], row["arch_depth"],
                         row["arch_resolution"], row.get("input_size"))
        lines.append(f"arch      {arch}, {(row.get('macs') or 0) / 1e6:.2f}M MACs")
        lines.append(f"training  {hparams_text(row)}, budget {settings.budget.text} per seed")
        accs = ", ".join(f"{a:.4f}" for a in row.get("accs") or [])
        lines.append(f"{settings.split:<9} {acc_text(row)} over {row.get('seeds_done')} seeds "
                     f"(sample std); per seed: {accs}")
    return lines
