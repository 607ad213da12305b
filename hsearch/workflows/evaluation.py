"""The final number: an architecture and its hyperparameters on the held-out **test** split.

Each of the K seeds trains on its subset's training images and is scored on its subset's *test*
images (the data set's test split, never seen while searching). ``from_run`` takes the best
configuration of a NAS, HPO or baseline run: its architecture and the training fields it searched
(optimiser, lr as used, weight decay, batch size) on top of that run's training config.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from hsearch.train import Architecture
from hsearch.workflows.context import open_run, run_fixed
from hsearch.workflows.hpo import best_row_of
from hsearch.workflows.report import (
    acc_text,
    arch_text,
    hparams_text,
    summarize_run,
    write_summary,
)
from hsearch.workflows.run_dir import load_run_settings
from hsearch.workflows.settings import EvaluateSettings


@dataclass(frozen=True)
class EvaluateRun:
    """What ``hsearch evaluate`` leaves: its run directory, the evaluation's row (acc_mean,
    acc_std, accs, macs, ...; None if it did not finish) and the summary. Not to be confused
    with hsearch.train.EvaluationResult, one trained model's score."""

    run_dir: Path
    row: dict | None
    summary: str


def from_run(settings: EvaluateSettings, run_dir: str | Path) -> EvaluateSettings:
    """``settings`` with arch and train taken from the best evaluation of ``run_dir``."""
    _, source, _ = load_run_settings(run_dir)
    best = best_row_of(run_dir)
    arch = Architecture(best["arch_model"], width=best["arch_width"], depth=best["arch_depth"],
                        resolution=best["arch_resolution"])
    train = replace(source.train, optimizer=best["train_optimizer"],
                    lr=best["train_lr"], weight_decay=best["train_weight_decay"],
                    batch_size=int(best["train_batch_size"]))
    return replace(settings, arch=arch, train=train)


def run_evaluate(settings: EvaluateSettings, run_dir: str | Path | None = None, *,
                 resume: bool = False, echo: bool = False) -> EvaluateRun:
    """Train ``settings.arch`` with ``settings.train`` on K seeds; score on ``settings.split``."""
    if settings.from_run and not resume:
        settings = from_run(settings, settings.from_run)
    ctx = open_run("evaluate", settings, run_dir, resume)
    spec = replace(ctx.spec, split=settings.split)
    rows = run_fixed(ctx.run_dir, spec, ctx.data, None, resume=resume, echo=echo)
    write_summary(ctx.run_dir)
    return EvaluateRun(ctx.run_dir, rows[-1] if rows else None, summarize_run(ctx.run_dir))


def summary_lines(run_dir: Path, settings: EvaluateSettings, rows: list,
                  best: dict | None) -> list[str]:
    """The evaluation lines of the run summary: architecture, training, the score per seed."""
    lines = []
    for row in rows:
        arch = arch_text(row["arch_model"], row["arch_width"], row["arch_depth"],
                         row["arch_resolution"], row.get("input_size"))
        lines.append(f"arch      {arch}, {(row.get('macs') or 0) / 1e6:.2f}M MACs")
        lines.append(f"training  {hparams_text(row)}, budget {settings.budget} per seed")
        accs = ", ".join(f"{a:.4f}" for a in row.get("accs") or [])
        lines.append(f"{settings.split:<9} {acc_text(row)} over {row.get('seeds_done')} seeds "
                     f"(sample std); per seed: {accs}")
    return lines
