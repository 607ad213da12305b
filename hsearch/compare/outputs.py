"""What a comparison writes and reads back: runs.csv, comparison.json, summary.md/.json, plots.

:func:`write_outputs` writes one problem's directory from its rows and metadata (the summary is
computed from runs.csv as written, not from the rows in memory); :func:`read_runs` reads runs.csv
back with its columns typed; :func:`comparison_metadata` is comparison.json (settings, problem and
its optimum, the constraint rule, versions, and the protocol's fingerprint:
:func:`protocol_fingerprint`, which lets result sets made at different times be merged only when
the shared parts are the same code and data: hsearch.compare.merge).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hsearch.compare.protocol import CompareSettings, InfeasibleRule, is_tabular, violation

logger = logging.getLogger(__name__)

__all__ = ["RUN_COLUMNS", "ComparisonResult", "comparison_metadata", "package_versions",
           "protocol_fingerprint",
           "read_runs", "write_outputs", "write_runs"]

#: The leading columns of runs.csv (the problem's metrics follow). ``kind``: trained, duplicate
#: or screened (hsearch.compare.free); ``trained``: trained evaluations so far in the run.
RUN_COLUMNS = ("problem", "searcher", "repeat", "seed", "eval", "trial_id", "config",
               "suggested", "kind", "trained", "objective", "violation", "feasible", "penalized",
               "best_feasible", "start", "finish", "cost", "suggest_ms", "complete_ms", "end_ms",
               "stop_reason")

@dataclass
class ComparisonResult:
    """What a comparison wrote: the directory, rows, summary text and skip reasons."""

    out_dir: Path
    rows: list[dict]
    summary: str
    skipped: dict[str, str]


#: The code every searcher's runs share (hsearch.compare.searchers is each searcher's own part;
#: the tabular problem's code is covered by the hash of its answers instead).
SHARED_CODE = ("compare/free.py", "compare/replay.py", "compare/protocol.py",
               "problems/analytic.py")


def protocol_fingerprint(problem) -> dict[str, str]:
    """Hashes of the shared code (:data:`SHARED_CODE`) and of the problem's answers (every table
    cell's metrics and cost report for the tabular problem; the name, optimum, constraints and
    space otherwise): equal fingerprints mean runs were replayed under the same protocol on the
    same problem."""
    root = Path(__file__).resolve().parent.parent
    code = hashlib.sha256()
    for rel in SHARED_CODE:
        code.update(rel.encode() + b"\0" + (root / rel).read_bytes())
    data = hashlib.sha256()
    if is_tabular(problem):
        table = problem.evaluate.table
        for index in sorted(table.cells):
            cell = table.cells[index]
            data.update(json.dumps([index, table.metrics(cell), table.cost_report(cell)],
                                   sort_keys=True, default=str).encode())
    else:
        data.update(json.dumps([problem.name, problem.best_value, problem.constraints,
                                sorted(problem.space)], default=str).encode())
    return {"code": code.hexdigest()[:16], "problem": data.hexdigest()[:16]}


def comparison_metadata(settings: CompareSettings, problem, rule: InfeasibleRule,
                        searchers: Sequence[str], skipped: Mapping[str, str],
                        command: str | None, wall_seconds: float,
                        errors: Mapping[str, Mapping[int, str]] | None = None,
                        version: Mapping | None = None) -> dict:
    """comparison.json: what was compared, how, and the reference value (the optimum)."""
    from hsearch.compare.searchers import start_point
    from hsearch.search.factory import SEARCHERS
    from hsearch.workflows.run_dir import code_version

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
        "errors": {name: {str(r): e for r, e in runs.items()}
                   for name, runs in (errors or {}).items()},
        "wall_seconds": wall_seconds,
        "fingerprint": protocol_fingerprint(problem),
        "version": dict(version) if version is not None else code_version(),
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
    if not is_tabular(problem):
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
    from hsearch.compare.markdown import summary_markdown
    from hsearch.compare.summary import summarize
    from hsearch.configs import write_atomic

    write_runs(out_dir / "runs.csv", rows)
    write_atomic(out_dir / "comparison.json", json.dumps(_plain(meta), indent=2) + "\n")
    rows = read_runs(out_dir / "runs.csv")  # summarise what was written, not what was meant
    stats = summarize(rows, meta)
    write_atomic(out_dir / "summary.json", json.dumps(_plain(stats), indent=2) + "\n")
    text = summary_markdown(stats, meta)
    write_atomic(out_dir / "summary.md", text)
    plot_all(rows, meta, out_dir)
    if echo:
        print(f"wrote {out_dir}/runs.csv ({len(rows)} evaluations), summary.md and plots",
              flush=True)
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


_INT_COLUMNS = ("repeat", "seed", "eval", "trained")
_FLOAT_COLUMNS = ("objective", "violation", "penalized", "best_feasible", "start", "finish",
                  "cost", "suggest_ms", "complete_ms", "end_ms")
_BOOL_COLUMNS = ("feasible",)


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
                typed[key] = int(text) if text != "" else None
            elif key in _FLOAT_COLUMNS:
                typed[key] = float(text) if text != "" else math.nan
            elif key in _BOOL_COLUMNS:
                typed[key] = text == "True"
            elif key in ("config", "suggested", "trial_id", "problem", "searcher",
                         "stop_reason", "kind"):
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
