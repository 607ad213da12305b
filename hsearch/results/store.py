"""``evaluations.csv`` and ``best.json``: one row per evaluation, rewritten atomically.

A row is a flat mapping. Reserved columns come first: ``eval_id`` (1, 2, ... in completion order),
``trial_id``, ``status`` (``ok`` or why not: ``pruned``, ``rejected``, ``failed``, ...; see
hsearch.results.counts),
``feasible`` (true/false; empty when the evaluation failed), ``objective``; then every other key
in first-seen order (variables, metrics, per-seed lists, wall time). Lists and dicts are stored as
JSON inside their cell; reading back restores numbers, booleans, lists and empty cells (``None``),
except in TEXT_COLUMNS (ids, names, statuses), which stay text.

Re-recording a ``trial_id`` replaces its row (a trial re-run after a crash is one evaluation).
Rows a searcher answered without training have status ``screened`` (its known cost showed it
could not improve) or ``duplicate`` (the same network as a trained row); they are written by a
second ``EvaluationLog`` on the same file (hsearch.workflows.free_rows), so every write first
re-reads the file when another writer changed it.
The whole file is written to a temporary file and renamed over the old one, so a kill at any
moment leaves the previous or the new table, never a truncated one.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path
from typing import Any, Iterable, Mapping

from hsearch.files import write_atomic
from hsearch.results.counts import outcome_counts
from hsearch.results.jsonable import json_default

_INT = re.compile(r"[+-]?\d+")
_FLOAT = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)",
                    re.IGNORECASE)
#: Columns read back as text whatever they look like: a trial id such as "37015e41" or a node
#: id is a valid float literal.
TEXT_COLUMNS = frozenset({"trial_id", "status", "trial_dir", "message", "node_id", "node_ip",
                          "seed_statuses", "seed_nodes", "arch_model", "model", "train_optimizer",
                          "optimizer", "confirm"})
LEADING_COLUMNS = ("eval_id", "trial_id", "status", "feasible", "objective")
STATUS_OK = "ok"
#: Evaluations a searcher answered without training (no accuracy, no training cost).
STATUS_SCREENED = "screened"
STATUS_DUPLICATE = "duplicate"


class EvaluationLog:
    """The evaluations of one run, kept in ``<run_dir>/evaluations.csv`` and ``best.json``.

    Args:
        run_dir: the run directory (must exist).
        objective: name of the column that is optimised (e.g. ``"macs"``).
        mode: ``"min"`` or ``"max"``.
    """

    def __init__(self, run_dir: str | Path, objective: str, mode: str = "min"):
        if mode not in ("min", "max"):
            raise ValueError(f"`mode` must be 'min' or 'max', but got {mode!r}")
        self.run_dir = Path(run_dir)
        self.objective = objective
        self.mode = mode
        self.csv_path = self.run_dir / "evaluations.csv"
        self.best_path = self.run_dir / "best.json"
        self._rows: list[dict] = []
        self._stamp = None
        self._sync()

    def _file_stamp(self):
        try:
            st = self.csv_path.stat()
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _sync(self) -> None:
        """Re-read the file if another writer changed it since this object last did."""
        stamp = self._file_stamp()
        if stamp != self._stamp:
            self._rows = read_rows(self.csv_path) if stamp is not None else []
            self._stamp = stamp

    @property
    def rows(self) -> list[dict]:
        """All rows, in evaluation order (copies)."""
        self._sync()
        return [dict(row) for row in self._rows]

    def __len__(self) -> int:
        return len(self._rows)

    def find(self, trial_id: str) -> dict | None:
        """The row of ``trial_id``, if it was recorded."""
        self._sync()
        for row in self._rows:
            if row.get("trial_id") == trial_id:
                return dict(row)
        return None

    def record(self, row: Mapping[str, Any]) -> dict:
        """Add (or replace, same ``trial_id``) one evaluation and rewrite both files."""
        self._sync()
        row = dict(row)
        row.setdefault("status", STATUS_OK)
        if "objective" not in row and self.objective in row:
            row["objective"] = row[self.objective]
        index = next(
            (i for i, old in enumerate(self._rows)
             if row.get("trial_id") is not None and old.get("trial_id") == row.get("trial_id")),
            None,
        )
        if index is None:
            row["eval_id"] = len(self._rows) + 1
            self._rows.append(row)
        else:
            row["eval_id"] = self._rows[index]["eval_id"]
            self._rows[index] = row
        self.write()
        return dict(row)

    def drop(self, trial_ids: Iterable[str]) -> int:
        """Remove the rows of ``trial_ids``, renumber ``eval_id`` 1..n, rewrite; returns how many.

        For a resumed run: rows of trials that the restored experiment no longer knows (they
        finished after its last snapshot and will be evaluated again under new trial ids).
        """
        self._sync()
        drop = set(trial_ids)
        kept = [row for row in self._rows if row.get("trial_id") not in drop]
        removed = len(self._rows) - len(kept)
        if removed:
            for number, row in enumerate(kept, start=1):
                row["eval_id"] = number
            self._rows = kept
            self.write()
        return removed

    def best(self) -> dict | None:
        """The best feasible successful row, or None."""
        self._sync()
        return best_row(self._rows, self.mode)

    def write(self) -> None:
        """Rewrite ``evaluations.csv`` and ``best.json`` atomically."""
        write_atomic(self.csv_path, rows_to_csv(self._rows))
        self._stamp = self._file_stamp()
        summary = {
            "objective": self.objective,
            "mode": self.mode,
            **outcome_counts(self._rows),  # by status; "failed" = failed + error only
            "best": self.best(),
        }
        write_atomic(self.best_path, json.dumps(summary, indent=2, default=json_default) + "\n")


def best_row(rows: Iterable[Mapping], mode: str = "min") -> dict | None:
    """The feasible ``ok`` row with the best finite ``objective`` (earliest wins ties)."""
    best = None
    for row in rows:
        value = row.get("objective")
        if row.get("status") != STATUS_OK or not row.get("feasible") or not is_finite_number(value):
            continue
        if best is None or (value < best["objective"] if mode == "min" else value > best["objective"]):
            best = dict(row)
    return best


def rows_to_csv(rows: list[Mapping]) -> str:
    """CSV text with the leading columns first, then every other key in first-seen order."""
    columns = list(LEADING_COLUMNS)
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c)) for c in columns])
    return buffer.getvalue()


def read_rows(path: str | Path) -> list[dict]:
    """Rows of an ``evaluations.csv``, with cell types restored."""
    with open(path, newline="") as handle:
        return [{k: (v or None) if k in TEXT_COLUMNS else _parse(v) for k, v in row.items()}
                for row in csv.DictReader(handle)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=json_default)
    return str(value)


def _parse(text: str | None) -> Any:
    if text is None or text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    if text[0] in "[{":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            return text
    # Python's int()/float() also take "1_000" and " 5": a trial id such as "3e1f0_00002" would
    # come back as inf. Only plain decimal numbers (and nan/inf) are numbers here.
    if _INT.fullmatch(text):
        return int(text)
    if _FLOAT.fullmatch(text):
        return float(text)
    return text


def is_finite_number(value: Any) -> bool:
    """True for a real, finite int or float (not a bool, None, NaN or inf)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
