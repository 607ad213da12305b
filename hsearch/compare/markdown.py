"""summary.md of one problem: protocol, one table of the numbers (hsearch.compare.summary
defines them), the time and rounds to the optimum at the run's concurrency, NOMAD against each
searcher, notes (early stops, crashes, skips), machine."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["fmt", "summary_markdown"]


def fmt(value: float, digits: int = 4) -> str:
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
    if meta.get("parts"):
        lines += ["Merged from result sets of the same protocol (hsearch.compare.merge):", ""]
        lines += [f"    {part.get('command')}" for part in meta["parts"]]
        lines.append("")
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
                      f"{_config(problem.get('best_config'), axes)}"
                      f"{_position(details.get('optimum_position'))}. Simulated clock: the "
                      f"recorded training seconds of each trained evaluation (duplicate networks "
                      f"and screened points cost 0: hsearch.compare.free)."]
    cp = stats["checkpoints"]
    head = ["searcher"] + [f"best @{label} ({k} ev.)" for label, k in cp.items()] + [
        "feasible runs", "evals to 5%", "evals to 1%", "sim. time to 1%", "trained + free",
        "decision ms median / max", "overhead ms/eval"]
    lines += ["", "Best feasible objective: median [q1, q3] over runs (- = no feasible point). "
                  "Evaluations are trained ones; \"trained + free\": median per run of trained "
                  "evaluations and of free ones (duplicate networks, screened points).",
              "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, s in stats["searchers"].items():
        cells = [f"**{name}**" if name == "nomad" else name]
        for label in cp:
            b = s["best_at"][label]
            cells.append(f"{fmt(b['median'])} [{fmt(b['q1'])}, {fmt(b['q3'])}]")
        cells.append(f"{100 * s['feasible_share']:.0f}%")
        for level in ("5%", "1%"):
            r = s["reach"][level]
            cells.append(f"{_evals(r['median_evals'], budget)} ({r['solved']}/{s['runs']})")
        cells.append(fmt(s["reach"]["1%"]["median_time"], 3))
        cells.append(f"{fmt(s.get('evaluations', math.nan), 3)} + "
                     f"{fmt(s.get('free', math.nan), 3)}")
        d = s.get("decision_ms") or {}
        cells.append(f"{fmt(d.get('median', math.nan), 3)} / {fmt(d.get('max', math.nan), 3)}")
        cells.append(fmt(s["overhead_ms"], 3))
        lines.append("| " + " | ".join(cells) + " |")
    lines += _truth_table(stats, details.get("noisy"))
    lines += _waiting_table(stats, settings)
    if stats.get("versus"):
        lines += ["", "NOMAD against each searcher: share of (NOMAD run, other run) pairs where "
                      "NOMAD's best is lower / equal / higher.", "",
                  "| vs | @50% win / tie / loss | @100% win / tie / loss |", "|---|---|---|"]
        for name, v in stats["versus"].items():
            cells = [name] + [f"{100 * v[label]['win']:.0f}% / {100 * v[label]['tie']:.0f}% / "
                              f"{100 * v[label]['loss']:.0f}%" for label in ("50%", "100%")]
            lines.append("| " + " | ".join(cells) + " |")
    early = {n: s["stop_reasons"] for n, s in stats["searchers"].items()
             if set(s["stop_reasons"]) - {"budget", "optimum", "exhausted"}}
    notes = []
    for name, reasons in early.items():
        text = ", ".join(f"{k}: {v}" for k, v in sorted(reasons.items()))
        notes.append(f"- {name} ended some runs before the budget ({text}; median "
                     f"{stats['searchers'][name]['evaluations']:g} trained evaluations); its "
                     f"best stays as it was for the rest of the budget.")
    settled = {n: sum(s["stop_reasons"].get(k, 0) for k in ("optimum", "exhausted"))
               for n, s in stats["searchers"].items()}
    if any(settled.values()):
        notes.append("- Runs end when nothing reported can change any more (\"optimum\": the "
                     "exact optimum found; \"exhausted\": every point free): "
                     + ", ".join(f"{n} {k}" for n, k in settled.items() if k)
                     + " runs (hsearch.compare.free).")
    for name, runs in (meta.get("errors") or {}).items():
        for repeat, error in sorted(runs.items()):
            notes.append(f"- {name} repeat {repeat} crashed (counted unsolved): {error}")
    budget_cap = 10 * budget
    fewer = {n: r for n, r in (meta.get("repeats_by_searcher") or {}).items()
             if r != settings["repeats"]}
    if fewer:
        notes.append("- Fewer repetitions (too slow for the time available): "
                     + ", ".join(f"{n} {r}" for n, r in fewer.items()) + ".")
    for part in meta.get("parts") or [meta]:
        cap = (part.get("machine") or {}).get("max_proposals")
        if cap and cap != budget_cap:
            notes.append(f"- {', '.join(part['searchers'])}: at most {cap} suggestions per run "
                         f"(not {budget_cap}: too slow to run otherwise); runs that hit it end "
                         f"as proposal_cap.")
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


def _truth_table(stats: Mapping[str, Any], noisy: Mapping[str, Any] | None) -> list[str]:
    """A noisy problem (hsearch.compare.noisy): the draws, and how often the incumbent a run
    returns is truly feasible."""
    if not noisy:
        return []
    k = noisy["seeds_per_eval"]
    how = (f"with the workflows' confirmation (a feasible mean whose one-sided "
           f"{noisy['confidence']:g} lower bound is below the threshold takes more seeds, one "
           f"at a time, up to {noisy['max_seeds']}; hsearch.workflows.racing.ConfirmRule)"
           if noisy["confirm"] else "without confirmation")
    lines = ["", f"Noise: every trained evaluation is the mean of {k} seeds drawn without "
                 f"replacement from the network's table seeds (a permutation seeded by the run's "
                 f"seed and the network), {how}. A repeated evaluation of a network (another "
                 f"cell building it, or a re-proposal) is answered with the same seeds, as the "
                 f"workflows' seed cache answers a network it trained. The table above judges a "
                 f"run by the truth of its incumbent: only an incumbent whose all-seed mean meets "
                 f"the threshold counts (- = none, or fooled).", "",
             "| searcher | fooled | true macs ratio / optimum, median [q1, q3] | "
             "seed-runs per run, median (mean) | seeds added per run (mean) | verdicts |",
             "|---|---|---|---|---|---|"]
    for name, s in stats["searchers"].items():
        t = s.get("truth")
        if not t:
            continue
        r, seeds = t["true_ratio"], t["seed_runs"]
        verdicts = ", ".join(f"{v} {n}" for v, n in sorted(t["verdicts"].items())) or "-"
        lines.append(f"| {f'**{name}**' if name == 'nomad' else name} | "
                     f"{t['fooled']}/{s['runs']} ({100 * t['fooled_rate']:.0f}%) | "
                     f"{fmt(r['median'])} [{fmt(r['q1'])}, {fmt(r['q3'])}] | "
                     f"{fmt(seeds['median'], 4)} ({fmt(seeds['mean'], 4)}) | "
                     f"{fmt(t['seeds_added']['mean'], 3)} | {verdicts} |")
    return lines


def _waiting_table(stats: Mapping[str, Any], settings: Mapping, level: str = "1%") -> list[str]:
    """What a cluster user waits for: time and rounds to ``level`` at the run's concurrency."""
    if not stats["searchers"]:
        return []
    budget = stats["budget"]
    concurrency = stats.get("concurrency") or settings.get("concurrency")
    lines = ["", f"Waiting for the optimum at {concurrency} trial(s) at once: to within {level}, "
                 f"the simulated time (the finish of the first trained evaluation there), the "
                 f"rounds (trainings one after another up to it: its depth, "
                 f"hsearch.compare.rounds) and the trained evaluations; median [q1, q3] over "
                 f"runs, an unsolved run counted as infinite (-).", "",
             f"| searcher | solved | sim. time to {level} | rounds to {level} | "
             f"evals to {level} |", "|---|---|---|---|---|"]
    for name, s in stats["searchers"].items():
        r = s["reach"][level]
        cells = [f"**{name}**" if name == "nomad" else name, f"{r['solved']}/{s['runs']}"]
        for key, show in (("time", lambda v: fmt(v, 3)), ("rounds", lambda v: fmt(v, 3)),
                          ("evals", lambda v: _evals(v, budget))):
            cells.append(f"{show(r[f'median_{key}'])} [{show(r[f'q1_{key}'])}, "
                         f"{show(r[f'q3_{key}'])}]")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _position(position: Mapping[str, str] | None) -> str:
    if not position:
        return ""
    inside = [a for a, where in position.items() if where == "inside"]
    at = [f"{a} {where}" for a, where in position.items() if where != "inside"]
    if not inside:
        return f" (a corner of the box: {', '.join(at)})"
    return (f" (inside the box along {', '.join(inside)}"
            + (f"; at the bound: {', '.join(at)}" if at else "") + ")")


def _config(config, axes: Mapping[str, Sequence[float]] | None = None) -> str:
    """``k=v, ...``; with ``axes`` (the tabular grid), indices are shown as multipliers."""
    if not config:
        return "-"
    if axes and all(k in axes for k in config):
        return ", ".join(f"{k} x{axes[k][int(v)]:g}" for k, v in config.items())
    return ", ".join(f"{k}={v:g}" if isinstance(v, (int, float)) else f"{k}={v}"
                     for k, v in config.items())
