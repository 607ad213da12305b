"""The numbers of a comparison, computed from runs.csv rows, and summary.md.

Definitions (per searcher, over its R repetitions; "best" = best feasible objective so far, in the
order evaluations finished; +inf while a run has no feasible point). Cost is counted in *trained*
evaluations (runs.csv ``trained``): duplicate networks and screened points are free
(hsearch.compare.free), so "k evaluations" below means k trained ones:

* ``best @ p%``: the best after the first ``ceil(p/100 * budget)`` evaluations: median and
  quartiles (linear interpolation, numpy's default; a quantile next to an infinite value is
  infinite, shown as "-");
* ``feasible``: share of runs with a feasible point at the end;
* ``evals to x%``: the first evaluation whose best is within x% of the reference,
  ``best <= f* + x/100 * |f*|`` (f*: the known optimum; for the real problem the best value any
  run found); median over runs (an unsolved run counts as infinite: "> budget" when more than
  half are unsolved), and how many runs got there; ``time to 5%``: the same on the simulated clock;
  quartiles of the evaluations (``q1_evals``, ``q3_evals``); the simulated time's median and
  quartiles (``median_time``, ``q1_time``, ``q3_time``) and per-run values (``times``);
* ``rounds to x%``: the depth (hsearch.compare.rounds) of the first trained evaluation within x%:
  how many trainings one after another a run waited for at the comparison's ``concurrency``
  (with one trial at a time, its trained evaluations); median, quartiles and per-run values
  (``median_rounds``, ``q1_rounds``, ``q3_rounds``, ``rounds``; an unsolved run has no rounds
  and counts as infinite, as for evaluations). In a replay the first row within a level is a
  trained one (a duplicate is answered only after its trained original finished; screened rows
  are infeasible), so time and rounds describe one evaluation; a real comparison
  (hsearch.compare.real) lays its evaluations end to end, so there rounds = evaluations;
* ``overhead``: wall milliseconds inside ``suggest`` + ``on_trial_complete`` per evaluation,
  including the time after the last suggestion until the searcher said it had finished
  (``end_ms``; median over runs; the replay's only real time); ``decision ms``: the same per
  decision (one suggestion and its result, free ones too), median and maximum over all runs;
* ``crashed``: repetitions that raised (they count as unsolved); ``stalled``: runs whose searcher
  gave nothing for the replay's stall limit; ``proposal_cap``: runs ended for proposing only free
  points (hsearch.compare.replay);
* a noisy problem (hsearch.compare.noisy) judges a run by the truth of its incumbent
  (:func:`incumbent_values`): "best", "feasible", "evals to x%" and the data profile count an
  incumbent only when its network's all-seed mean meets the threshold; ``truth`` adds the
  ``fooled_rate`` (runs whose incumbent, feasible as the searcher saw it, is truly infeasible),
  ``true_ratio`` (the final incumbent's objective over the true optimum; inf when fooled or
  none), ``seed_runs`` (seeds trained per run, confirmation included), ``seeds_added`` and the
  confirmation verdicts;
* ``NOMAD vs X``: over all R x R pairs of a NOMAD run and an X run, how often NOMAD's best is
  lower (win), equal (tie) or higher (loss), at 50% and 100% of the budget.

summary.md is written by hsearch.compare.markdown. The data profile (Moré & Wild 2009) of a
searcher at level x% is the share of its runs solved
within k evaluations, for k = 1..budget (one problem, so k is not divided by n + 1).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from hsearch.compare.rounds import depths

__all__ = ["CHECKPOINTS", "LEVELS", "best_after", "data_profile", "evals_to_reach",
           "group_runs", "incumbent_values", "is_noisy", "quantile", "reference_value",
           "rounds_to_reach", "summarize", "time_to_reach", "trained_counts"]

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


def trained_counts(run: Sequence[Mapping]) -> list[int]:
    """Trained evaluations so far at each row (rows without a ``trained`` column: every row
    counts)."""
    out = []
    for i, r in enumerate(run, start=1):
        value = r.get("trained")
        out.append(i if value is None or value == "" else int(value))
    return out


def incumbent_values(run: Sequence[Mapping]) -> list[float]:
    """The value a run is judged by after each row: its best feasible objective so far (inf
    while none); on a noisy problem (rows with ``incumbent_truth``, hsearch.compare.noisy) the
    truth of its incumbent: its objective when the network is truly feasible, inf when the
    searcher was fooled. The noisy value can rise again (a lucky cheaper draw replaces a true
    incumbent)."""
    if is_noisy(run):
        return [float(r["incumbent_truth"]) for r in run]
    out, best = [], math.inf
    for r in run:
        if _truthy(r["feasible"]):
            best = min(best, float(r["objective"]))
        out.append(best)
    return out


def is_noisy(run: Sequence[Mapping]) -> bool:
    """True for the rows of a run on a noisy problem (they carry ``incumbent_truth``)."""
    return bool(run) and str(run[0].get("incumbent_truth", "")) != ""


def best_after(run: Sequence[Mapping], k: int) -> float:
    """The run's value (:func:`incumbent_values`) after its ``k``-th trained evaluation (the free
    rows after it included: they cannot improve) (inf if none)."""
    last = math.inf
    for value, count in zip(incumbent_values(run), trained_counts(run)):
        if count > k:
            break
        last = value
    return last


def _target(reference: float, level: float) -> float:
    return reference + level * abs(reference)


def _reach_row(run: Sequence[Mapping], reference: float, level: float) -> int | None:
    target = _target(reference, level)
    for i, value in enumerate(incumbent_values(run)):
        if value <= target:
            return i
    return None


def evals_to_reach(run: Sequence[Mapping], reference: float, level: float) -> float:
    """Trained evaluations until the run's value (:func:`incumbent_values`) got within
    ``level`` of ``reference`` (inf if never)."""
    i = _reach_row(run, reference, level)
    return math.inf if i is None else float(trained_counts(run)[i])


def time_to_reach(run: Sequence[Mapping], reference: float, level: float) -> float:
    """Simulated time (the finish time of that evaluation) of :func:`evals_to_reach`."""
    i = _reach_row(run, reference, level)
    return math.inf if i is None else float(run[i]["finish"])


def rounds_to_reach(run: Sequence[Mapping], reference: float, level: float) -> float:
    """Depth (hsearch.compare.rounds) of the first trained evaluation within ``level`` of
    ``reference`` (inf if none)."""
    target = _target(reference, level)
    for r, value, depth in zip(run, incumbent_values(run), depths(run)):
        # the trained evaluation that got there itself (a duplicate answer is no training)
        if depth is not None and value <= target and _truthy(r["feasible"]) \
                and float(r["objective"]) <= target:
            return float(depth)
    return math.inf


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
                 budget: int, unsolved: int = 0) -> list[float]:
    """Share of ``runs`` whose value (:func:`incumbent_values`) is within ``level`` of
    ``reference`` after k evaluations, for k = 1..budget (on a noisy problem: only a truly
    feasible incumbent counts); ``unsolved`` more runs (crashed ones) count as never solved."""
    target = _target(reference, level)
    n = len(runs) + unsolved
    if not n:
        return [0.0] * budget
    return [sum(best_after(run, k) <= target for run in runs.values()) / n
            for k in range(1, budget + 1)]


def _checkpoint(budget: int, fraction: float) -> int:
    return max(1, math.ceil(fraction * budget))


def summarize(rows: Sequence[Mapping], meta: Mapping) -> dict[str, Any]:
    """Every number of summary.md, as data (module docstring)."""
    budget = int(meta["settings"]["budget"])
    reference, kind = reference_value(rows, meta)
    grouped = group_runs(rows)
    errors = meta.get("errors") or {}
    for name in errors:  # a searcher whose runs all crashed but one still has a summary row
        grouped.setdefault(name, {})
    out: dict[str, Any] = {"reference": reference, "reference_kind": kind, "budget": budget,
                           "checkpoints": {f"{int(f * 100)}%": _checkpoint(budget, f)
                                           for f in CHECKPOINTS},
                           "levels": [f"{int(x * 100)}%" for x in LEVELS],
                           "concurrency": _concurrency(meta), "searchers": {}}
    for name, runs in grouped.items():
        crashed = len(errors.get(name, {}))
        s: dict[str, Any] = {"runs": len(runs) + crashed, "crashed": crashed}
        lists = list(runs.values())
        s["evaluations"] = quantile([trained_counts(r)[-1] for r in lists], 0.5)
        s["free"] = quantile([len(r) - trained_counts(r)[-1] + _own_free(r) for r in lists],
                             0.5)
        s["screened"] = sum(row.get("kind") == "screened" for r in lists for row in r)
        s["duplicates"] = sum(row.get("kind") == "duplicate" for r in lists for row in r)
        reasons: dict[str, int] = {}
        for run in lists:
            reason = str(run[-1].get("stop_reason", "")).split(":")[0] if run else ""
            reasons[reason] = reasons.get(reason, 0) + 1
        if crashed:
            reasons["crashed"] = crashed
        s["stop_reasons"] = reasons
        pad = [math.inf] * crashed  # a crashed run found nothing
        s["best_at"] = {}
        for label, k in out["checkpoints"].items():
            values = [best_after(run, k) for run in lists] + pad
            s["best_at"][label] = {"evals": k, "median": quantile(values, 0.5),
                                   "q1": quantile(values, 0.25), "q3": quantile(values, 0.75),
                                   "values": values}
        finals = [best_after(run, budget) for run in lists] + pad
        s["feasible_share"] = (sum(math.isfinite(v) for v in finals) / len(finals)
                               if finals else 0.0)
        s["reach"] = {}
        for level in LEVELS:
            evals = [evals_to_reach(run, reference, level) for run in lists] + pad
            times = [time_to_reach(run, reference, level) for run in lists] + pad
            rounds = [rounds_to_reach(run, reference, level) for run in lists] + pad
            s["reach"][f"{int(level * 100)}%"] = {
                "median_evals": quantile(evals, 0.5), "solved": sum(map(math.isfinite, evals)),
                "median_time": quantile(times, 0.5), "evals": evals,
                "q1_evals": quantile(evals, 0.25), "q3_evals": quantile(evals, 0.75),
                "q1_time": quantile(times, 0.25), "q3_time": quantile(times, 0.75),
                "times": times, "median_rounds": quantile(rounds, 0.5),
                "q1_rounds": quantile(rounds, 0.25), "q3_rounds": quantile(rounds, 0.75),
                "rounds": rounds,
                # solved after k evaluations, k = 1..budget (crashed runs unsolved)
                "profile": data_profile(runs, reference, level, budget, crashed)}
        per_eval = [sum(_ms(r["suggest_ms"]) + _ms(r["complete_ms"]) + _ms(r.get("end_ms"))
                        for r in run) / len(run) for run in lists if run]
        s["overhead_ms"] = quantile(per_eval, 0.5)
        decisions = [_ms(r["suggest_ms"]) + _ms(r["complete_ms"]) for run in lists for r in run]
        decisions += [_ms(run[-1].get("end_ms")) for run in lists if run]
        s["decision_ms"] = {"median": quantile(decisions, 0.5),
                            "max": max(decisions) if decisions else math.nan}
        s["sim_time_median"] = quantile([float(run[-1]["finish"]) for run in lists if run], 0.5)
        if lists and is_noisy(lists[0]):
            s["truth"] = _truth(lists, reference, crashed)
        out["searchers"][name] = s
    out["versus"] = _versus(out["searchers"], "nomad")
    return out


def _truth(runs: Sequence[Sequence[Mapping]], reference: float, crashed: int) -> dict[str, Any]:
    """A noisy problem's scores of the incumbents the runs return (module docstring)."""
    fooled = none = 0
    ratios, seed_runs, added = [], [], []
    verdicts: dict[str, int] = {}
    for run in runs:
        final = incumbent_values(run)[-1] if run else math.inf
        seen = any(_truthy(r["feasible"]) for r in run)
        fooled += seen and math.isinf(final)
        none += not seen
        ratios.append(final / reference if math.isfinite(final) else math.inf)
        trained = [r for r in run if r.get("kind", "trained") == "trained"]
        seed_runs.append(sum(int(float(r.get("seeds_used") or 0)) for r in trained))
        added.append(sum(int(float(r.get("seeds_added") or 0)) for r in trained))
        for r in trained:
            verdict = str(r.get("confirm") or "")
            if verdict:
                verdicts[verdict] = verdicts.get(verdict, 0) + 1
    n = len(runs) + crashed
    ratios += [math.inf] * crashed
    return {"fooled": fooled, "fooled_rate": fooled / n if n else math.nan, "no_incumbent": none,
            "true_ratio": {"median": quantile(ratios, 0.5), "q1": quantile(ratios, 0.25),
                           "q3": quantile(ratios, 0.75), "values": ratios},
            "seed_runs": {"median": quantile(seed_runs, 0.5), "mean": _mean(seed_runs),
                          "values": seed_runs},
            "seeds_added": {"mean": _mean(added), "values": added}, "verdicts": verdicts}


def _mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values) if values else math.nan


def _concurrency(meta: Mapping) -> int | None:
    """Trials at once in the comparison's settings (None when not recorded)."""
    value = (meta.get("settings") or {}).get("concurrency")
    return None if value is None else int(value)


def _own_free(run: Sequence[Mapping]) -> int:
    """Free points a searcher answered itself (NOMAD's screening; runs.csv ``searcher_free``)."""
    try:
        return int(run[-1].get("searcher_free") or 0) if run else 0
    except (TypeError, ValueError):
        return 0


def _ms(value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return 0.0
    return value if math.isfinite(value) else 0.0


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


def _truthy(value) -> bool:
    if isinstance(value, str):
        return value == "True"
    return bool(value)
