"""What a comparison writes and reads back: runs.csv, comparison.json, summary.md/.json, plots.

Every comparison -- replayed (hsearch.compare.replayed), trained (hsearch.compare.real), merged
(hsearch.compare.merge) or a suite (hsearch.compare.suite_summary) -- writes through this module:

* runs.csv: one :class:`RunRow` per evaluation (its fields are :data:`RUN_COLUMNS`), then the
  problem's metrics; :func:`write_runs` / :func:`read_runs` (columns typed);
* comparison.json: :func:`comparison_json` is its layout (command, settings, problem, rule,
  searchers run and skipped -- :func:`installed_searchers` --, wall time, machine, code and
  package versions: :func:`package_versions`, :func:`load_average`); :func:`comparison_metadata`
  fills it for a replayed problem, adding the protocol's fingerprint
  (:func:`protocol_fingerprint`, which lets result sets made at different times be merged only
  when the shared parts are the same code and data: hsearch.compare.merge);
* :func:`write_outputs` writes one problem's directory from its rows and metadata (the summary is
  computed from runs.csv as written, not from the rows in memory);
* where an instance of a suite writes (:func:`instance_dirname`), and the console lines
  (:func:`say`).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import logging
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from importlib import metadata
from pathlib import Path
from typing import Any

from hsearch.compare.markdown import summary_markdown
from hsearch.compare.plots import plot_all
from hsearch.compare.protocol import CompareSettings, InfeasibleRule, is_tabular, violation
from hsearch.compare.searchers import start_point
from hsearch.compare.summary import summarize
from hsearch.files import write_atomic
from hsearch.search.factory import SEARCHERS, is_available
from hsearch.workflows.run_dir import code_version

logger = logging.getLogger(__name__)

__all__ = ["RUN_COLUMNS", "ComparisonResult", "RunRow", "comparison_json", "comparison_metadata",
           "config_json", "installed_searchers", "instance_dirname", "load_average", "plain",
           "package_versions", "protocol_fingerprint", "read_runs", "say", "write_outputs",
           "write_runs"]


@dataclass
class RunRow:
    """The leading columns of one runs.csv row (the problem's metrics follow).

    ``kind``: trained, duplicate or screened (hsearch.compare.free); ``trained``: trained
    evaluations so far in the run; ``config``/``suggested``: :func:`config_json` of the point
    evaluated and of the suggestion when it differs ("" otherwise); ``start``/``finish``/``cost``:
    the run's clock; ``*_ms``: the searcher's own time per evaluation.
    """

    problem: str
    searcher: str
    repeat: int
    seed: int
    eval: int
    trial_id: str
    config: str
    suggested: str
    kind: str
    trained: int
    objective: float
    violation: float
    feasible: bool
    penalized: float | None
    best_feasible: float
    start: float
    finish: float
    cost: float
    suggest_ms: float
    complete_ms: float
    end_ms: float
    stop_reason: str

    def with_metrics(self, metrics: Mapping[str, Any]) -> dict:
        """The row as a dict: these columns, then every metric not among them."""
        row = asdict(self)
        for key, value in metrics.items():
            if key not in row:
                row[key] = value
        return row


#: The leading columns of runs.csv, in order (:class:`RunRow`; the problem's metrics follow).
RUN_COLUMNS = tuple(f.name for f in fields(RunRow))


@dataclass
class ComparisonResult:
    """What a comparison wrote: the directory, rows, summary text and skip reasons."""

    out_dir: Path
    rows: list[dict]
    summary: str
    skipped: dict[str, str]


def config_json(config: Mapping) -> str:
    """A config as runs.csv's ``config`` text: sorted JSON, numpy scalars as Python numbers."""
    return json.dumps({k: (v.item() if hasattr(v, "item") else v) for k, v in config.items()},
                      sort_keys=True)


def instance_dirname(label: str) -> str:
    """The directory of a suite's instance ``label`` (e.g. ``tabular@0.935``) in its output."""
    return label.replace("@", "-")


def say(echo: bool, text: str) -> None:
    """A progress line: logged, and printed when ``echo`` (the CLI)."""
    logger.info(text)
    if echo:
        print(text, flush=True)


def load_average() -> list[float] | None:
    """The 1/5/15-minute load averages (the machine may be shared: timings need them)."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def installed_searchers(names: Sequence[str], echo: bool = False
                        ) -> tuple[list[str], dict[str, str]]:
    """``names`` split into the installed ones and the others with comparison.json's skip
    reason (each skip said with :func:`say`)."""
    ran, skipped = [], {}
    for name in names:
        if is_available(name):
            ran.append(name)
        else:
            skipped[name] = (f"not installed (needs {SEARCHERS[name].install}; "
                             f"pip install \"hsearch[compare]\")")
            say(echo, f"skipping {name}: {skipped[name]}")
    return ran, skipped


#: The code every searcher's runs share (hsearch.compare.searchers is each searcher's own part;
#: the tabular problem's code is covered by the hash of its answers instead; a noisy table's
#: draws and confirmation by noisy.py and racing.py and the hash of its noise settings).
SHARED_CODE = ("compare/free.py", "compare/replay.py", "compare/protocol.py",
               "problems/analytic.py", "compare/noisy.py", "workflows/racing.py")


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
        noisy = (problem.metadata or {}).get("noisy")
        if noisy:  # the draws and the confirmation rule (hsearch.compare.noisy)
            data.update(json.dumps(noisy, sort_keys=True).encode())
    else:
        data.update(json.dumps([problem.name, problem.best_value, problem.constraints,
                                sorted(problem.space)], default=str).encode())
    return {"code": code.hexdigest()[:16], "problem": data.hexdigest()[:16]}


def comparison_json(*, command: str | None, settings: Mapping, problem: Mapping, rule: Mapping,
                    searchers: Sequence[str], skipped: Mapping[str, str], wall_seconds: float,
                    machine: Mapping, version: Mapping,
                    errors: Mapping[str, Mapping[int, str]] | None = None,
                    fingerprint: Mapping[str, str] | None = None) -> dict:
    """comparison.json's layout, the same for every comparison: what was compared (command,
    settings, problem with its optimum or None), how (the constraint rule; the searchers run,
    those with native constraints, those skipped and why), the run (wall time, machine) and the
    code (``version``, :func:`package_versions`). A replayed problem adds its runs' ``errors``
    and the protocol ``fingerprint``."""
    doc = {
        "command": command,
        "settings": dict(settings),
        "problem": dict(problem),
        "rule": dict(rule),
        "searchers": list(searchers),
        "native_constraints": [s for s in searchers if SEARCHERS[s].constraints],
        "skipped": dict(skipped),
    }
    if errors is not None:
        doc["errors"] = {name: {str(r): e for r, e in runs.items()}
                         for name, runs in errors.items()}
    doc["wall_seconds"] = wall_seconds
    if fingerprint is not None:
        doc["fingerprint"] = dict(fingerprint)
    doc["version"] = dict(version)
    doc["packages"] = package_versions()
    doc["machine"] = dict(machine)
    return doc


def comparison_metadata(settings: CompareSettings, problem, rule: InfeasibleRule,
                        searchers: Sequence[str], skipped: Mapping[str, str],
                        command: str | None, wall_seconds: float,
                        errors: Mapping[str, Mapping[int, str]] | None = None,
                        version: Mapping | None = None, machine: Mapping | None = None) -> dict:
    """comparison.json of a replayed problem (:func:`comparison_json`): the settings, the
    problem with its optimum, and the rule with, for the table, its penalised minimiser."""
    return comparison_json(
        command=command,
        settings={k: v for k, v in asdict(settings).items() if k != "extra"},
        problem={
            "name": problem.name, "objective": problem.objective,
            "constraints": list(problem.constraints), "optimum": problem.best_value,
            "optimum_known": True, "best_config": dict(problem.best_config or {}),
            "x0": start_point(problem), "source": problem.source,
            "dimension": problem.dimension,
            "details": plain(dict(problem.metadata or {})),
        },
        rule={**asdict(rule), "text": rule.describe(), "exact": _rule_exact(problem, rule)},
        searchers=searchers, skipped=skipped, wall_seconds=wall_seconds,
        machine=machine or {}, errors=errors or {},
        fingerprint=protocol_fingerprint(problem),
        version=version if version is not None else code_version())


#: Distributions whose versions a comparison records (the searchers' packages and their hosts).
PACKAGES = ("ray", "PyNomadBBO", "optuna", "hyperopt", "bayesian-optimization", "HEBO",
            "nevergrad", "zoopt", "hpbandster", "ConfigSpace", "ax-platform", "botorch", "numpy",
            "torch")


def package_versions() -> dict[str, str]:
    """Installed versions of PACKAGES (missing ones left out)."""
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


def plain(value):
    """``value`` as JSON can hold it (anything else as its ``str``)."""
    return json.loads(json.dumps(value, default=str))


def write_outputs(out_dir: Path, rows: list[dict], meta: dict, echo: bool = False
                  ) -> ComparisonResult:
    """runs.csv, comparison.json, summary.md/.json and the plots (from the rows as written)."""
    write_runs(out_dir / "runs.csv", rows)
    write_atomic(out_dir / "comparison.json", json.dumps(plain(meta), indent=2) + "\n")
    rows = read_runs(out_dir / "runs.csv")  # summarise what was written, not what was meant
    stats = summarize(rows, meta)
    write_atomic(out_dir / "summary.json", json.dumps(plain(stats), indent=2) + "\n")
    text = summary_markdown(stats, meta)
    write_atomic(out_dir / "summary.md", text)
    plot_all(rows, meta, out_dir)
    if echo:
        print(f"wrote {out_dir}/runs.csv ({len(rows)} evaluations), summary.md and plots",
              flush=True)
    return ComparisonResult(out_dir, rows, text, dict(meta.get("skipped", {})))


def write_runs(path: Path, rows: Sequence[Mapping]) -> None:
    """runs.csv: RUN_COLUMNS first, then every other key in first-seen order."""
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
