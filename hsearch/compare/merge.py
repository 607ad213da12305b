"""Merge result sets made at different times into one comparison (``hsearch compare --merge``).

A long comparison can be run in parts (e.g. the slow searchers early, NOMAD later) only if the
parts are one protocol. Every part's comparison.json records the settings and a fingerprint of the
shared code and of the problem's answers (hsearch.compare.outputs.protocol_fingerprint); a merge
is refused unless, per instance, every part has the same settings (problem, threshold, table,
tolerance, budget, seed, concurrency, rule, penalty), the same fingerprint, and no searcher in two
parts. Parts may differ in repetitions (a slow searcher run with fewer: each searcher's summary
counts its own runs) and, for suites, in instances (a part run with ``--instances``: an instance
holds the searchers of the parts that ran it). ``exclude`` leaves an instance of one part out
(``DIR:INSTANCE``: e.g. an instance re-run after its problem data changed) and
``exclude_searchers`` one searcher of one part (``DIR:NAME``: e.g. a searcher re-run with newer
code of its own; the shared code is the fingerprint's); the summary lists what was left out.
The merged comparison.json lists the parts
(directory, command, code version, searchers), and summary.md says that it is a merge.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

from hsearch.compare.outputs import instance_dirname, read_runs, write_outputs
from hsearch.compare.suite_summary import write_suite
from hsearch.errors import UserError

__all__ = ["PROTOCOL_KEYS", "merge_comparisons"]

#: Settings that must agree between merged parts.
PROTOCOL_KEYS = ("problem", "threshold", "table", "tolerance", "budget", "seed", "concurrency",
                 "rule", "penalty")


def _kind(path: Path) -> str:
    if (path / "comparison.json").is_file():
        return "problem"
    summary = path / "summary.json"
    if summary.is_file() and "instances" in json.loads(summary.read_text()):
        return "suite"
    raise UserError(f"{path} is not a comparison directory (no comparison.json, no suite "
                    f"summary.json)")


def merge_comparisons(sources: Sequence[str | Path], out_dir: str | Path,
                      command: str | None = None, echo: bool = False,
                      exclude: Sequence[str] = (), exclude_searchers: Sequence[str] = ()):
    """Merge ``sources`` (all single-problem directories, or all suite directories) into
    ``out_dir`` (module docstring); ``exclude``: ``"DIR:INSTANCE"`` entries (suites only) left
    out; ``exclude_searchers``: ``"DIR:NAME"`` entries, that searcher's runs of that part left
    out. Returns the ComparisonResult of the merged outputs."""
    paths = [Path(s) for s in sources]
    if len(paths) < 2:
        raise UserError(f"--merge needs at least two result directories, but got {len(paths)}")
    kinds = {_kind(p) for p in paths}
    if len(kinds) != 1:
        raise UserError("--merge: mix of suite and single-problem directories; merge like "
                        "with like")
    out_dir = Path(out_dir)
    kind = kinds.pop()
    docs = [json.loads((p / ("comparison.json" if kind == "problem" else "summary.json"))
                       .read_text()) for p in paths]
    left_out: dict[Path, set[str]] = {}
    for entry in exclude_searchers:
        where, _, name = str(entry).rpartition(":")
        match = [p for p, doc in zip(paths, docs) if Path(where) == p and name in (
            doc["searchers"] if kind == "problem" else doc["settings"]["searchers"])]
        if not match:
            raise UserError(f"--exclude-searcher {entry!r}: no merged directory {where!r} "
                            f"with searcher {name!r}")
        left_out.setdefault(match[0], set()).add(name)
    if kind == "problem":
        return _merge_problem(paths, out_dir, command, echo, [left_out.get(p, set())
                                                              for p in paths])
    suites = docs
    dropped = set()
    for entry in exclude:
        where, _, label = str(entry).rpartition(":")
        match = [p for p, s in zip(paths, suites) if Path(where) == p and label in s["instances"]]
        if not match:
            raise UserError(f"--exclude {entry!r}: no merged suite {where!r} with instance "
                            f"{label!r}")
        dropped.add((match[0], label))
    labels: list[str] = []
    for s in suites:
        labels += [label for label in s["instances"] if label not in labels]
    for label in labels:
        kept = [p for p, s in zip(paths, suites)
                if label in s["instances"] and (p, label) not in dropped]
        _merge_problem([p / instance_dirname(label) for p in kept],
                       out_dir / instance_dirname(label), command, echo,
                       [left_out.get(p, set()) for p in kept])
    settings = dict(suites[0]["settings"])
    settings["searchers"] = list(dict.fromkeys(
        n for p, s in zip(paths, suites) for n in s["settings"]["searchers"]
        if n not in left_out.get(p, ())))
    settings["repeats"] = sorted({s["settings"]["repeats"] for s in suites})
    note = "Merged from: " + "; ".join(
        f"`{s.get('command') or p}` ({', '.join(s['settings']['searchers'])}: "
        f"{len(s['instances'])} instances, {s['settings']['repeats']} repetitions)"
        for p, s in zip(paths, suites)) + " (same settings and protocol fingerprint per instance)."
    gone = [f"{label} of {p}" for p, label in sorted(dropped, key=str)]
    gone += [f"{name}'s runs of {p}" for p, names in left_out.items() for name in sorted(names)]
    if gone:
        note += " Left out: " + ", ".join(gone) + "."
    wall = sum(float(s.get("wall_seconds") or 0.0) for s in suites)
    machines = [s.get("machine") or {} for s in suites]
    machine = {"cpus": machines[0].get("cpus"),
               "load_before": [m.get("load_before") for m in machines],
               "load_after": [m.get("load_after") for m in machines]}
    return write_suite(out_dir, settings, None, command, wall, machine, echo=echo,
                       instances=labels, note=note)


def _part(path: Path, left_out: set[str]) -> tuple[dict, list[dict]]:
    """A part's comparison.json and runs.csv rows without the ``left_out`` searchers."""
    meta = json.loads((path / "comparison.json").read_text())
    rows = read_runs(path / "runs.csv")
    if left_out:
        meta["searchers"] = [n for n in meta["searchers"] if n not in left_out]
        meta["native_constraints"] = [n for n in meta.get("native_constraints", [])
                                      if n not in left_out]
        meta["settings"] = {**meta["settings"], "searchers": list(meta["searchers"])}
        rows = [row for row in rows if row["searcher"] not in left_out]
    return meta, rows


def _merge_problem(paths: Sequence[Path], out_dir: Path, command: str | None, echo: bool,
                   left_out: Sequence[set[str]]):
    parts = [(p, *_part(p, gone)) for p, gone in zip(paths, left_out)]
    parts = [part for part in parts if part[1]["searchers"]]
    if not parts:
        raise UserError(f"--merge: every searcher of {out_dir.name} is left out "
                        f"(--exclude-searcher); nothing to merge there")
    paths = [p for p, _, _ in parts]
    if len(parts) == 1:  # one part left for this instance: its outputs, rewritten
        path, meta, rows = parts[0]
        meta["parts"] = meta.get("parts") or [
            {"dir": str(path), "command": meta.get("command"), "version": meta.get("version"),
             "searchers": meta["searchers"], "wall_seconds": meta.get("wall_seconds"),
             "machine": meta.get("machine")}]
        meta["command"] = command or meta.get("command")
        out_dir.mkdir(parents=True, exist_ok=True)
        return write_outputs(out_dir, rows, meta, echo=echo)
    metas = [meta for _, meta, _ in parts]
    first = metas[0]
    seen: dict[str, Path] = {}
    for p, m in zip(paths, metas):
        for key in PROTOCOL_KEYS:
            if m["settings"].get(key) != first["settings"].get(key):
                raise UserError(f"--merge: {p} has {key}={m['settings'].get(key)!r}, "
                                f"{paths[0]} has {first['settings'].get(key)!r}: not one protocol")
        if m.get("fingerprint") != first.get("fingerprint") or not m.get("fingerprint"):
            raise UserError(f"--merge: {p} was replayed with other shared code or problem data "
                            f"(fingerprint {m.get('fingerprint')} vs {first.get('fingerprint')})")
        for name in m["searchers"]:
            if name in seen:
                raise UserError(f"--merge: searcher {name!r} is in both {seen[name]} and {p}")
            seen[name] = p
    rows = [row for _, _, part_rows in parts for row in part_rows]
    meta = dict(first)
    meta["command"] = command or " + ".join(str(m.get("command")) for m in metas)
    meta["searchers"] = [n for m in metas for n in m["searchers"]]
    meta["native_constraints"] = [n for m in metas for n in m.get("native_constraints", [])]
    meta["skipped"] = {k: v for m in metas for k, v in (m.get("skipped") or {}).items()
                       if k not in meta["searchers"]}
    meta["errors"] = {k: v for m in metas for k, v in (m.get("errors") or {}).items()}
    meta["settings"] = dict(first["settings"])
    meta["settings"]["searchers"] = list(meta["searchers"])
    meta["settings"]["repeats"] = max(m["settings"]["repeats"] for m in metas)
    meta["repeats_by_searcher"] = {n: m["settings"]["repeats"] for m in metas
                                   for n in m["searchers"]}
    nomad = [m for m in metas if "nomad" in m["searchers"]]
    meta["settings"]["nomad_params"] = nomad[0]["settings"].get("nomad_params", []) if nomad \
        else first["settings"].get("nomad_params", [])
    meta["parts"] = [{"dir": str(p), "command": m.get("command"), "version": m.get("version"),
                      "searchers": m["searchers"], "wall_seconds": m.get("wall_seconds"),
                      "machine": m.get("machine")} for p, m in zip(paths, metas)]
    meta["wall_seconds"] = sum(float(m.get("wall_seconds") or 0.0) for m in metas)
    meta["machine"] = {"cpus": first.get("machine", {}).get("cpus"),
                       "how": f"merged from {len(paths)} result sets: "
                              + "; ".join(f"{', '.join(m['searchers'])} at commit "
                                          f"{_commit(m.get('version'))}" for m in metas)}
    out_dir.mkdir(parents=True, exist_ok=True)
    return write_outputs(out_dir, rows, meta, echo=echo)


def _commit(version) -> str:
    if not isinstance(version, dict) or "git_commit" not in version:
        return "?"
    return version["git_commit"][:10] + ("+dirty" if version.get("git_dirty") else "")
