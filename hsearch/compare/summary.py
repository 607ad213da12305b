"""The numbers of a comparison, computed from runs.csv rows, and summary.md.

Definitions (per searcher, over its R repetitions; "best" = best feasible objective so far, in the
order evaluations finished; +inf while a run has no feasible point):

* ``best @ p%``: the best after the first ``ceil(p/100 * budget)`` evaluations: median and
  quartiles (linear interpolation, numpy's default; a quantile next to an infinite value is
  infinite, shown as "-");
* ``feasible``: share of runs with a feasible point at the end;
* ``evals to x%``: the first evaluation whose best is within x% of the reference,
  ``best <= f* + x/100 * |f*|`` (f*: the known optimum; for the real problem the best value any
  run found); median over runs (an unsolved run counts as infinite: "> budget" when more than
  half are unsolved), and how many runs got there; ``time to 5%``: the same on the simulated clock;
* ``overhead``: wall milliseconds inside ``suggest`` + ``on_trial_complete`` per evaluation,
  including the time after the last suggestion until the searcher said it had finished
  (``end_ms``; median over runs; the replay's only real time);
* ``NOMAD vs X``: over all R x R pairs of a NOMAD run and an X run, how often NOMAD's best is
  lower (win), equal (tie) or higher (loss), at 50% and 100% of the budget.

The data profile (Moré & Wild 2009) of a searcher at level x% is the share of its runs solved
within k evaluations, for k = 1..budget (one problem, so k is not divided by n + 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["CHECKPOINTS", "LEVELS", "best_after", "data_profile", "evals_to_reach",
           "group_runs", "quantile", "reference_value", "summarize", "summary_markdown",
           "time_to_reach"]

#: Budget fractions at which the best value is reported.
CHECKPOINTS = (0.25, 0.5, 1.0)
#: Relative distances to the reference ("within 5% / 1% of the optimum").
LEVELS = (0.05, 0.01)


def group_runs(rows: Sequence[Mapping]) -> dict[str, dict[int, list[Mapping]]]:
    """rows -> {searcher: {repeat: rows sorted by eval}} (searchers in first-seen order)."""
    out: dict[str, dict[int, list[Mapping]]] = {}
    for row in rows:
        out.setdefault(row["searcher"], {}).setdefault(int(row["repeat"]), []).append(row)
    for runs in out.values():
        for r in runs:
            runs[r].sort(key=lambda row: int(row["eval"]))
    return out


def best_after(run: Sequence[Mapping], k: int) -> float:
    """Best feasible objective among the first ``k`` evaluations (inf if none)."""
    values = [float(r["objective"]) for r in run[:k] if _truthy(r["feasible"])]
    return min(values) if values else math.inf


def _target(reference: float, level: float) -> float:
    return reference + level * abs(reference)


def evals_to_reach(run: Sequence[Mapping], reference: float, level: float) -> float:
    """The evaluation (1-based) at which the best got within ``level`` of ``reference``
    (inf if never)."""
    target = _target(reference, level)
    for i, r in enumerate(run, start=1):
        if _truthy(r["feasible"]) and float(r["objective"]) <= target:
            return float(i)
    return math.inf


def time_to_reach(run: Sequence[Mapping], reference: float, level: float) -> float:
    """Simulated time (the finish time of that evaluation) of :func:`evals_to_reach`."""
    k = evals_to_reach(run, reference, level)
    return math.inf if math.isinf(k) else float(run[int(k) - 1]["finish"])


def quantile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) that is inf next to an inf value."""
    v = sorted(float(x) for x in values)
    if not v:
        return math.nan
    pos = q * (len(v) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    w = pos - lo
    if w == 0 or v[lo] == v[hi]:
        return v[lo]
    if math.isinf(v[hi]):
        return math.inf
    return v[lo] + w * (v[hi] - v[lo])


def reference_value(rows: Sequence[Mapping], meta: Mapping) -> tuple[float, str]:
    """(f*, what it is): the problem's known optimum, else the best feasible value of any run."""
    problem = meta["problem"]
    optimum = problem.get("optimum")
    if problem.get("optimum_known") and optimum is not None and math.isfinite(optimum):
        return float(optimum), "known optimum"
    found = [float(r["objective"]) for r in rows if _truthy(r["feasible"])]
    return (min(found) if found else math.nan), "best found by any run"


def data_profile(runs: Mapping[int, Sequence[Mapping]], reference: float, level: float,
                 budget: int) -> list[float]:
    """Share of ``runs`` solved within k evaluations, for k = 1..budget."""
    reached = [evals_to_reach(run, reference, level) for run in runs.values()]
    n = len(reached)
    return [sum(e <= k for e in reached) / n for k in range(1, budget + 1)]


def _checkpoint(budget: int, fraction: float) -> int:
    return max(1, math.ceil(fraction * budget))


def summarize(rows: Sequence[Mapping], meta: Mapping) -> dict[str, Any]:
    """Every number of summary.md, as data (module docstring)."""
    budget = int(meta["settings"]["budget"])
    reference, kind = reference_value(rows, meta)
    grouped = group_runs(rows)
    out: dict[str, Any] = {"reference": reference, "reference_kind": kind, "budget": budget,
                           "checkpoints": {f"{int(f * 100)}%": _checkpoint(budget, f)
                                           for f in CHECKPOINTS},
                           "levels": [f"{int(x * 100)}%" for x in LEVELS], "searchers": {}}
    for name, runs in grouped.items():
        s: dict[str, Any] = {"runs": len(runs)}
        s["evaluations"] = quantile([len(r) for r in runs.values()], 0.5)
        reasons: dict[str, int] = {}
        for run in runs.values():
            reason = str(run[-1].get("stop_reason", "")) if run else ""
            reasons[reason] = reasons.get(reason, 0) + 1
        s["stop_reasons"] = reasons
        s["best_at"] = {}
        for label, k in out["checkpoints"].items():
            values = [best_after(run, k) for run in runs.values()]
            s["best_at"][label] = {"evals": k, "median": quantile(values, 0.5),
                                   "q1": quantile(values, 0.25), "q3": quantile(values, 0.75),
                                   "values": values}
        finals = [best_after(run, budget) for run in runs.values()]
        s["feasible_share"] = sum(math.isfinite(v) for v in finals) / len(finals)
        s["reach"] = {}
        for level in LEVELS:
            evals = [evals_to_reach(run, reference, level) for run in runs.values()]
            times = [time_to_reach(run, reference, level) for run in runs.values()]
            s["reach"][f"{int(level * 100)}%"] = {
                "median_evals": quantile(evals, 0.5), "solved": sum(map(math.isfinite, evals)),
                "median_time": quantile(times, 0.5), "evals": evals}
        per_eval = [sum(float(r["suggest_ms"]) + float(r["complete_ms"])
                        + float(r.get("end_ms") or 0.0) for r in run) / len(run)
                    for run in runs.values() if run]
        s["overhead_ms"] = quantile(per_eval, 0.5)
        s["sim_time_median"] = quantile([float(run[-1]["finish"]) for run in runs.values()], 0.5)
        out["searchers"][name] = s
    out["versus"] = _versus(out["searchers"], "nomad")
    return out


def _versus(stats: Mapping[str, Mapping], hero: str) -> dict[str, Any]:
    if hero not in stats:
        return {}
    out = {}
    for name, s in stats.items():
        if name == hero:
            continue
        out[name] = {}
        for label in ("50%", "100%"):
            mine = stats[hero]["best_at"][label]["values"]
            theirs = s["best_at"][label]["values"]
            wins = sum(a < b for a in mine for b in theirs)
            ties = sum(a == b for a in mine for b in theirs)
            total = len(mine) * len(theirs)
            out[name][label] = {"win": wins / total, "tie": ties / total,
                                "loss": (total - wins - ties) / total}
    return out


# --- markdown ----------------------------------------------------------------------------------


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if math.isinf(value):
        return "-"
    return f"{value:.{digits}g}"


def _evals(value: float, budget: int) -> str:
    return f"> {budget}" if math.isinf(value) else f"{value:g}"


def summary_markdown(stats: Mapping[str, Any], meta: Mapping) -> str:
    """summary.md: protocol, one table of the numbers, NOMAD against each searcher, notes."""
    settings, problem, rule = meta["settings"], meta["problem"], meta["rule"]
    budget = stats["budget"]
    axes = (problem.get("details") or {}).get("axes")
    lines = [f"# Searcher comparison: {problem['name']}", ""]
    if meta.get("command"):
        lines += ["Made by:", "", f"    {meta['command']}", ""]
    cons = ", ".join(problem["constraints"]) or "none"
    lines += [
        f"Problem: minimise `{problem['objective']}` subject to `{cons}` <= 0 "
        f"({problem.get('source', '')}). Reference f* = {stats['reference']:.6g} "
        f"({stats['reference_kind']}).",
        "",
        f"Protocol: {budget} evaluations per run, {settings['repeats']} repetitions per searcher "
        f"(searcher seeds {settings['seed']}..{settings['seed'] + settings['repeats'] - 1}), "
        f"{settings['concurrency']} trial(s) at once for every searcher, every searcher "
        f"evaluates the same x0 first ({_config(problem.get('x0'), axes)}). Searchers with native "
        f"constraints: {', '.join(meta.get('native_constraints') or []) or 'none'}; the others "
        f"minimise the {rule['text']}.",
    ]
    if settings.get("nomad_params"):
        lines[-1] += (" NOMAD's extra parameters: "
                      + "; ".join(f"`{line}`" for line in settings["nomad_params"]) + ".")
    exact = rule.get("exact")
    if exact:
        verdict = ("its minimiser is the constrained optimum (exact on this table)"
                   if exact["is_optimum"] else
                   f"its minimiser is NOT the constrained optimum: {exact['penalized_minimiser']} "
                   f"(macs_ratio {exact['its_macs_ratio']:.4g}, "
                   f"acc_gap {exact['its_acc_gap']:.4g})")
        lines += ["", f"Penalty check: {verdict}."]
    details = problem.get("details") or {}
    if "n_feasible" in details:
        lines += ["", f"Table: {details['n_cells']} cells, {details['n_feasible']} feasible "
                      f"(threshold acc_mean >= {details['threshold']:.4f}); optimum at "
                      f"{_config(problem.get('best_config'), axes)}. Simulated clock: the recorded "
                      f"training seconds of each evaluation (a network already evaluated in the "
                      f"run costs 0)."]
    cp = stats["checkpoints"]
    head = ["searcher"] + [f"best @{label} ({k} ev.)" for label, k in cp.items()] + [
        "feasible runs", "evals to 5%", "evals to 1%", "sim. time to 5%", "overhead ms/eval"]
    lines += ["", "Best feasible objective: median [q1, q3] over runs (- = no feasible point).",
              "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in stats["searchers"].items():
        cells = [f"**{name}**" if name == "nomad" else name]
        for label in cp:
            b = s["best_at"][label]
            cells.append(f"{_fmt(b['median'])} [{_fmt(b['q1'])}, {_fmt(b['q3'])}]")
        cells.append(f"{100 * s['feasible_share']:.0f}%")
        for level in ("5%", "1%"):
            r = s["reach"][level]
            cells.append(f"{_evals(r['median_evals'], budget)} ({r['solved']}/{s['runs']})")
        cells.append(_fmt(s["reach"]["5%"]["median_time"], 3))
        cells.append(_fmt(s["overhead_ms"], 3))
        lines.append("| " + " | ".join(cells) + " |")
    if stats.get("versus"):
        lines += ["", "NOMAD against each searcher: share of (NOMAD run, other run) pairs where "
                      "NOMAD's best is lower / equal / higher.", "",
                  "| vs | @50% win / tie / loss | @100% win / tie / loss |", "|---|---|---|"]
        for name, v in stats["versus"].items():
            cells = [name] + [f"{100 * v[label]['win']:.0f}% / {100 * v[label]['tie']:.0f}% / "
                              f"{100 * v[label]['loss']:.0f}%" for label in ("50%", "100%")]
            lines.append("| " + " | ".join(cells) + " |")
    early = {n: s["stop_reasons"] for n, s in stats["searchers"].items()
             if set(s["stop_reasons"]) - {"budget"}}
    notes = []
    for name, reasons in early.items():
        text = ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items()))
        notes.append(f"- {name} ended some runs before the budget ({text}; median "
                     f"{stats['searchers'][name]['evaluations']:g} evaluations); its best "
                     f"stays as it was for the rest of the budget.")
    for name, why in (meta.get("skipped") or {}).items():
        notes.append(f"- {name} was not run: {why}")
    if notes:
        lines += ["", "Notes:", ""] + notes
    machine = meta.get("machine") or {}
    if meta.get("wall_seconds") is not None:
        how = machine.get("how") or ("Ray tasks" if machine.get("ray", True)
                                     else "one after the other, no Ray")
        load = ""
        if machine.get("load_before"):
            load = (f"; load average (1/5/15 min) before {machine['load_before']}, after "
                    f"{machine.get('load_after')}")
        lines += ["", f"Wall time: {meta['wall_seconds']:.0f} s for all runs ({how}, "
                      f"{machine.get('cpus', '?')} CPUs{load})."]
    if meta.get("packages"):
        lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["packages"].items())
                  + "."]
    lines += ["", "Files: runs.csv (every evaluation), comparison.json (settings), "
                  "summary.json (these numbers), convergence_evals.png, convergence_time.png, "
                  "data_profile.png.", ""]
    return "\n".join(lines)


def _config(config, axes: Mapping[str, Sequence[float]] | None = None) -> str:
    """``k=v, ...``; with ``axes`` (the tabular grid), indices are shown as multipliers."""
    if not config:
        return "-"
    if axes and all(k in axes for k in config):
        return ", ".join(f"{k} x{axes[k][int(v)]:g}" for k, v in config.items())
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                     for k, v in config.items())


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value == "True"
    return bool(value)
