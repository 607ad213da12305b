"""The suite's own outputs, on top of one directory per instance: summary.md, summary.json and
data_profile.png.

Read from the instances' directories as written (their summary.json and comparison.json), so a
merged suite (hsearch.compare.merge) is summarised by the same code. Numbers:

* per instance and searcher: runs solved within 1% of the optimum and the median of trained
  evaluations to get there (summary.json ``problems.<instance>.searchers.<name>.reach["1%"]``,
  the instance's own summary.json);
* NOMAD against the best other searcher per instance: the other searcher with the lowest median
  trained evaluations to 1% (ties: more runs solved), and the ratio of the medians (NOMAD / it;
  below 1: NOMAD needed fewer); NOMAD's median and maximum decision time; stalls and crashes;
* what a cluster user waits for, per instance and searcher (``waiting``): the median simulated
  time to within 1% and the median rounds (hsearch.compare.rounds) at the suite's concurrency;
  NOMAD's ratio of times to the other searcher with the lowest median time (``nomad.<instance>.
  time_ratio``; below 1: NOMAD's users wait less) and its median over the instances;
* the data profile over the suite (Moré & Wild 2009): for each searcher, the share of all its
  (instance, run) pairs solved within 1% (and, in a second table, 5%) after k trained
  evaluations, k = 1..budget (a noisy instance's run counts when its incumbent then is truly
  feasible and within the level, hsearch.compare.summary);
* the noisy instances (``noise``): per instance and searcher, the fooled rate, seed-runs and true
  ratio without and with confirmation, and the totals over them.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hsearch.compare.markdown import fmt
from hsearch.compare.outputs import ComparisonResult, instance_dirname, plain, read_runs
from hsearch.compare.plots import legend, line_style, pyplot
from hsearch.compare.summary import quantile
from hsearch.files import write_atomic

__all__ = ["PROFILE_KS", "suite_stats", "suite_markdown", "write_suite"]

#: Trained-evaluation counts shown in summary.md's data-profile table.
PROFILE_KS = (5, 10, 15, 20, 30, 45, 60)
LEVEL = "1%"
#: Levels of the data-profile tables (summary.json ``profile`` is at LEVEL, ``profiles`` all).
PROFILE_LEVELS = ("1%", "5%")


def write_suite(out_dir: str | Path, settings, results: Mapping[str, Any] | None,
                command: str | None, wall_seconds: float | None, machine: Mapping | None,
                echo: bool = False, instances: Sequence[str] | None = None, note: str = ""):
    """Write the suite's summary.md/.json and data_profile.png from its instance directories
    (``instances``: their names, default the keys of ``results``); returns a ComparisonResult
    whose rows are every instance's rows."""
    out_dir = Path(out_dir)
    labels = list(instances if instances is not None else results)
    per = {}
    rows: list[dict] = []
    skipped: dict[str, str] = {}
    for label in labels:
        where = out_dir / instance_dirname(label)
        per[label] = {"stats": json.loads((where / "summary.json").read_text()),
                      "meta": json.loads((where / "comparison.json").read_text())}
        skipped.update(per[label]["meta"].get("skipped") or {})
        rows.extend(read_runs(where / "runs.csv"))
    stats = suite_stats(per)
    doc = {"command": command, "note": note,
           "settings": {k: v for k, v in (settings.items() if isinstance(settings, Mapping)
                                          else _settings(settings).items())},
           "instances": labels, "wall_seconds": wall_seconds, "machine": dict(machine or {}),
           **stats}
    write_atomic(out_dir / "summary.json", json.dumps(plain(doc), indent=2) + "\n")
    text = suite_markdown(doc)
    write_atomic(out_dir / "summary.md", text)
    plot_suite_profile(doc, out_dir / "data_profile.png")
    if echo:
        print(f"wrote {out_dir}/summary.md (the suite: {len(labels)} instances)", flush=True)
    return ComparisonResult(out_dir, rows, text, skipped)


def _settings(settings) -> dict:
    return {k: v for k, v in asdict(settings).items() if k != "extra"}


def suite_stats(per: Mapping[str, Mapping]) -> dict[str, Any]:
    """``problems`` (each instance's summary.json), ``nomad`` (NOMAD vs the best other, per
    instance), ``waiting`` (time and rounds to 1%, per instance and searcher) and ``profile``
    (the suite's data profile at 1%)."""
    problems = {label: p["stats"] for label, p in per.items()}
    budget = max(int(s["budget"]) for s in problems.values())
    searchers: list[str] = []
    for s in problems.values():
        searchers += [n for n in s["searchers"] if n not in searchers]
    profiles = {}
    for level in PROFILE_LEVELS:
        profiles[level] = {}
        for name in searchers:
            solved = [0.0] * budget  # (instance, run) pairs solved after k evaluations
            n = 0
            for s in problems.values():
                if name not in s["searchers"]:
                    continue
                reach = s["searchers"][name]["reach"][level]
                runs = len(reach["evals"])
                n += runs
                for k in range(1, budget + 1):
                    solved[k - 1] += _solved_at(reach, k, runs)
            profiles[level][name] = {
                "pairs": n, "instances": sum(name in s["searchers"] for s in problems.values()),
                "share": [x / n if n else math.nan for x in solved]}
    profile = profiles[LEVEL]
    nomad = {label: _nomad_row(s, per[label]["meta"]) for label, s in problems.items()}
    ratios = [r["ratio"] for r in nomad.values() if r and math.isfinite(r.get("ratio", math.nan))]
    time_ratios = [r["time_ratio"] for r in nomad.values()
                   if r and math.isfinite(r.get("time_ratio", math.nan))]
    waiting = {label: {name: _waiting(v) for name, v in s["searchers"].items()}
               for label, s in problems.items()}
    return {"problems": problems, "nomad": nomad, "profile": profile, "profiles": profiles,
            "budget": budget, "noise": noise_rows(problems),
            "level": LEVEL, "ratio_median": quantile(ratios, 0.5) if ratios else math.nan,
            "waiting": waiting,
            "time_ratio_median": quantile(time_ratios, 0.5) if time_ratios else math.nan}


def _solved_at(reach: Mapping, k: int, runs: int) -> float:
    """Runs of one instance solved after ``k`` evaluations: its data profile (which on a noisy
    instance counts truly feasible incumbents only; hsearch.compare.summary) where recorded and
    long enough, else its runs that reached the level within ``k`` evaluations."""
    profile = reach.get("profile")
    if profile:
        return profile[min(k, len(profile)) - 1] * runs
    return float(sum(float(e) <= k for e in reach["evals"]))


def noise_rows(problems: Mapping[str, Mapping]) -> list[dict[str, Any]]:
    """Per noisy instance and searcher (hsearch.compare.noisy): the fooled rate, seed-runs and
    true ratio, without and with confirmation side by side when the suite ran both."""
    out = []
    for label, s in problems.items():
        if label.endswith("-confirm") or not any("truth" in v for v in s["searchers"].values()):
            continue
        other = problems.get(label + "-confirm", {}).get("searchers", {})
        for name, v in s["searchers"].items():
            if "truth" not in v:
                continue
            row = {"instance": label, "searcher": name, "plain": _truth_cells(v)}
            if name in other and "truth" in other[name]:
                row["confirm"] = _truth_cells(other[name])
            out.append(row)
    return out


def _truth_cells(stats: Mapping) -> dict[str, Any]:
    t = stats["truth"]
    return {"fooled": t["fooled"], "runs": stats["runs"], "fooled_rate": t["fooled_rate"],
            "seed_runs": t["seed_runs"]["mean"], "true_ratio": t["true_ratio"]["median"]}


def _noise_lines(doc: Mapping[str, Any]) -> list[str]:
    rows = doc.get("noise") or []
    if not rows:
        return []
    lines = ["", "Noisy instances (K seeds drawn per evaluation; each instance's summary.md says "
                 "how): how often the incumbent a run returns is truly infeasible (fooled), the "
                 "seed-runs per run (mean) and the median true objective ratio to the optimum "
                 "(- : fooled or none in half the runs), without / with confirmation.", "",
             "| instance | searcher | fooled | with confirmation | seed-runs | with confirmation "
             "| true ratio | with confirmation |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        cells = [r["instance"], f"**{r['searcher']}**" if r["searcher"] == "nomad"
                 else r["searcher"]]
        for show in (lambda x: f"{x['fooled']}/{x['runs']}", lambda x: fmt(x["seed_runs"], 4),
                     lambda x: fmt(x["true_ratio"], 4)):
            cells += [show(r["plain"]), show(r["confirm"]) if r.get("confirm") else "not run"]
        lines.append("| " + " | ".join(cells) + " |")
    totals = _noise_totals(rows)
    if totals:
        lines += ["", "Over all noisy instances and searchers: fooled "
                      f"{totals['fooled']}/{totals['runs']} runs without confirmation, "
                      f"{totals['fooled_c']}/{totals['runs_c']} with; seed-runs "
                      f"{fmt(totals['seed_runs'], 5)} without, {fmt(totals['seed_runs_c'], 5)} "
                      f"with ({fmt(100 * (totals['seed_runs_c'] / totals['seed_runs'] - 1), 3)}% "
                      f"more)."]
    return lines


def _noise_totals(rows: Sequence[Mapping]) -> dict[str, float] | None:
    paired = [r for r in rows if r.get("confirm")]
    if not paired:
        return None
    return {"fooled": sum(r["plain"]["fooled"] for r in paired),
            "runs": sum(r["plain"]["runs"] for r in paired),
            "fooled_c": sum(r["confirm"]["fooled"] for r in paired),
            "runs_c": sum(r["confirm"]["runs"] for r in paired),
            "seed_runs": sum(r["plain"]["seed_runs"] * r["plain"]["runs"] for r in paired),
            "seed_runs_c": sum(r["confirm"]["seed_runs"] * r["confirm"]["runs"] for r in paired)}


def _waiting(stats: Mapping) -> dict[str, Any]:
    """One searcher's time and rounds to LEVEL on one instance (NaN where not recorded)."""
    r = stats["reach"][LEVEL]
    return {"solved": r["solved"], "runs": stats["runs"],
            "median_time": r.get("median_time", math.nan),
            "median_rounds": r.get("median_rounds", math.nan)}


def is_nomad(name: str) -> bool:
    """NOMAD and its variants (``nomad-plain``): never NOMAD's "best other" searcher."""
    return name == "nomad" or name.startswith("nomad-")


def _nomad_row(stats: Mapping, meta: Mapping) -> dict | None:
    s = stats["searchers"]
    if "nomad" not in s:
        return None
    me = s["nomad"]
    others = [(float(v["reach"][LEVEL]["median_evals"]), -v["reach"][LEVEL]["solved"], name)
              for name, v in s.items() if not is_nomad(name)]
    row = {"solved": me["reach"][LEVEL]["solved"], "runs": me["runs"],
           "median_evals": me["reach"][LEVEL]["median_evals"],
           "decision_ms": me.get("decision_ms"), "crashed": me.get("crashed", 0),
           "stalled": me["stop_reasons"].get("stalled", 0),
           "proposal_cap": me["stop_reasons"].get("proposal_cap", 0)}
    if others:
        median, neg_solved, name = min(others)
        row.update(best_other=name, best_other_evals=median, best_other_solved=-neg_solved)
        mine = float(row["median_evals"])
        row["ratio"] = (mine / median if math.isfinite(mine) and math.isfinite(median) and median
                        else math.nan)
    row.update(median_time=me["reach"][LEVEL].get("median_time", math.nan),
               median_rounds=me["reach"][LEVEL].get("median_rounds", math.nan))
    by_time = [(float(v["reach"][LEVEL].get("median_time", math.nan)),
                -v["reach"][LEVEL]["solved"], name)
               for name, v in s.items() if not is_nomad(name)]
    by_time = [t for t in by_time if not math.isnan(t[0])]
    if by_time:
        median, neg_solved, name = min(by_time)
        row.update(best_other_by_time=name, best_other_time=median,
                   best_other_rounds=s[name]["reach"][LEVEL].get("median_rounds", math.nan),
                   best_other_time_solved=-neg_solved)
        mine = float(row["median_time"])
        row["time_ratio"] = (mine / median if math.isfinite(mine) and math.isfinite(median)
                             and median else math.nan)
    return row


def suite_markdown(doc: Mapping[str, Any]) -> str:
    """The suite's summary.md (module docstring)."""
    problems, budget = doc["problems"], doc["budget"]
    names = list(doc["profile"])
    lines = ["# Searcher comparison: the suite", ""]
    if doc.get("command"):
        lines += ["Made by:", "", f"    {doc['command']}", ""]
    if doc.get("note"):
        lines += [doc["note"], ""]
    st = doc["settings"]
    lines += [f"{len(problems)} instances, {st.get('repeats')} repetitions per searcher and "
              f"instance, budget {budget} trained evaluations per run (duplicate networks and "
              f"screened points are free for every searcher), {st.get('concurrency')} trial(s) "
              f"at a time for every searcher. Each instance's directory holds its "
              f"summary.md (protocol, quartiles, NOMAD's pairwise wins), runs.csv and plots.", ""]
    for level in PROFILE_LEVELS:
        lines += [f"Runs solved within {level} of the optimum, and the median of trained "
                  f"evaluations to get there (\"> {budget}\": fewer than half solved).", "",
                  "| instance | " + " | ".join(f"**{n}**" if n == "nomad" else n for n in names)
                  + " |", "|---|" + "---|" * len(names)]
        for label, s in problems.items():
            cells = [label]
            for name in names:
                v = s["searchers"].get(name)
                if v is None:
                    cells.append("not run")
                    continue
                r = v["reach"][level]
                med = r["median_evals"]
                cells.append(f"{r['solved']}/{v['runs']}, "
                             f"{'> ' + str(budget) if not math.isfinite(med) else f'{med:g}'}")
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    if any(doc["nomad"].values()):
        lines += ["", f"NOMAD per instance: runs solved within {LEVEL} (target: all), median "
                      f"trained evaluations against the best other searcher's (goal ratio "
                      f"<= 0.8, never above 1), NOMAD's time per decision (target: median <= 20 "
                      f"ms, max <= 2 s), stalls and crashes (target 0).", "",
                  "| instance | NOMAD solved | NOMAD median | best other | its median (solved) "
                  "| ratio | decision ms median / max | stalls | crashes |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for label, r in doc["nomad"].items():
            if not r:
                continue
            d = r.get("decision_ms") or {}
            lines.append(
                f"| {label} | {r['solved']}/{r['runs']} | {_ev(r['median_evals'], budget)} | "
                f"{r.get('best_other', '-')} | {_ev(r.get('best_other_evals', math.nan), budget)}"
                f" ({r.get('best_other_solved', '-')}) | {fmt(r.get('ratio', math.nan), 3)} | "
                f"{fmt(d.get('median', math.nan), 3)} / {fmt(d.get('max', math.nan), 3)} | "
                f"{r['stalled']} | {r['crashed']} |")
        lines += ["", f"Median ratio over the instances where both solved: "
                      f"{fmt(doc.get('ratio_median', math.nan), 3)}."]
    lines += _noise_lines(doc)
    lines += _waiting_lines(doc, names)
    ks = [k for k in PROFILE_KS if k <= budget]
    for level, profile in (doc.get("profiles") or {LEVEL: doc["profile"]}).items():
        lines += ["", f"Data profile over the suite: share of (instance, run) pairs solved within "
                      f"{level} after k trained evaluations"
                      + (" (data_profile.png: every k)." if level == LEVEL else "."), "",
                  "| searcher | pairs | " + " | ".join(f"k={k}" for k in ks) + " |",
                  "|---|---|" + "---|" * len(ks)]
        for name, p in profile.items():
            cells = [f"**{name}**" if name == "nomad" else name,
                     f"{p['pairs']} ({p['instances']} inst.)"]
            cells += [f"{100 * p['share'][k - 1]:.0f}%" for k in ks]
            lines.append("| " + " | ".join(cells) + " |")
    machine = doc.get("machine") or {}
    if doc.get("wall_seconds") is not None:
        lines += ["", f"Wall time: {doc['wall_seconds']:.0f} s ({machine.get('cpus', '?')} CPUs; "
                      f"load average (1/5/15 min) before {machine.get('load_before')}, after "
                      f"{machine.get('load_after')})."]
    lines.append("")
    return "\n".join(lines)


def _waiting_lines(doc: Mapping[str, Any], names: Sequence[str]) -> list[str]:
    """The table of what a cluster user waits for (module docstring)."""
    waiting = doc.get("waiting")
    if not waiting:
        return []
    lines = ["", f"Waiting for the optimum at {doc['settings'].get('concurrency')} trial(s) at "
                 f"once: median simulated time to within {LEVEL} (the table: recorded training "
                 f"seconds; analytic problems: 1 per evaluation) / median rounds (trainings one "
                 f"after another up to it); \"-\": fewer than half of the runs solved. NOMAD / "
                 f"best: NOMAD's median time over that of the other searcher with the lowest.",
             "", "| instance | " + " | ".join(f"**{n}**" if n == "nomad" else n for n in names)
             + " | best other (time) | NOMAD / best |", "|---|" + "---|" * (len(names) + 2)]
    for label, per in waiting.items():
        cells = [label]
        for name in names:
            w = per.get(name)
            cells.append("not run" if w is None else
                         f"{fmt(w['median_time'], 3)} / {fmt(w['median_rounds'], 3)}")
        r = doc["nomad"].get(label) or {}
        cells += [r.get("best_other_by_time", "-"), fmt(r.get("time_ratio", math.nan), 3)]
        lines.append("| " + " | ".join(cells) + " |")
    if any(doc["nomad"].values()):
        lines += ["", f"Median time ratio over the instances where both solved: "
                      f"{fmt(doc.get('time_ratio_median', math.nan), 3)}."]
    return lines


def _ev(value, budget: int) -> str:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return "-"
    if math.isnan(value):
        return "-"
    return f"> {budget}" if math.isinf(value) else f"{value:g}"


def plot_suite_profile(doc: Mapping[str, Any], path: str | Path) -> Path | None:
    """The suite's data profile at 1% (one line per searcher)."""
    if not doc["profile"]:
        return None
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7.5, 4.5))
    ks = list(range(1, doc["budget"] + 1))
    for i, (name, p) in enumerate(doc["profile"].items()):
        ax.step(ks, p["share"], where="post", label=f"{name} ({p['instances']} inst.)",
                **line_style(i, name))
    ax.set_xlabel("trained evaluations")
    ax.set_ylabel("share of (instance, run) pairs solved")
    ax.set_title(f"suite data profile: within {LEVEL} of the optimum", fontsize=10)
    ax.set_ylim(-0.02, 1.02)
    ax.grid(alpha=0.3)
    legend(ax, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return Path(path)
