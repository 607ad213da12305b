"""Baseline selection: registry models trained K times each, ranked by mean accuracy.

Every model of ``settings.models`` (scaled as ``settings.arch`` says: width/depth/resolution
multipliers) is one Tune trial over the K seeds, ``resources.concurrency`` at a time. The table
(the paper's Table 1: model, accuracy mean ± std, MACs, parameters, training seconds per seed)
is printed sorted by mean accuracy and written to ``<run>/table.csv``.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from hsearch.files import write_atomic
from hsearch.workflows.context import open_run, run_fixed
from hsearch.workflows.report_lines import baseline_table
from hsearch.workflows.settings import BaselineSettings

TABLE_FILE = "table.csv"


@dataclass(frozen=True)
class BaselineResult:
    """The rows (one per model, best first) and the printed table."""

    run_dir: Path
    rows: list
    table: str
    summary: str = ""  # the run's summary: set by hsearch.workflows.launch.run_workflow


def run_baseline(settings: BaselineSettings, run_dir: str | Path | None = None, *,
                 resume: bool = False, echo: bool = False) -> BaselineResult:
    """Evaluate every model; see the module docstring."""
    ctx = open_run("baseline", settings, run_dir, resume)
    rows = run_fixed(ctx.run_dir, ctx.spec, ctx.data, [{"model": m} for m in settings.models],
                     variables=("model",), concurrency=settings.resources.concurrency,
                     resume=resume, echo=echo)
    rows = sorted(rows, key=lambda r: -(r.get("acc_mean") or 0.0))
    write_atomic(ctx.run_dir / TABLE_FILE, table_csv(rows))
    return BaselineResult(ctx.run_dir, rows, baseline_table(rows))


def table_csv(rows) -> str:
    """CSV of the table: model, acc_mean, acc_std, macs, params, seconds_per_seed, seeds."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["model", "acc_mean", "acc_std", "macs", "params", "seconds_per_seed",
                     "seeds", "status"])
    for r in rows:
        seeds = r.get("seeds_done") or 0
        writer.writerow([r.get("arch_model"), r.get("acc_mean"), r.get("acc_std"), r.get("macs"),
                         r.get("params"),
                         (r.get("train_seconds") or 0.0) / seeds if seeds else None, seeds,
                         r.get("status")])
    return buffer.getvalue()
