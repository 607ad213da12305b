"""The final number: an architecture and its hyperparameters on the held-out **test** split.

Each of the K seeds trains on its subset's training images and is scored on its subset's *test*
images (the data set's test split, never seen while searching). ``from_run`` takes the best
configuration of a NAS, HPO or baseline run: its architecture and the training fields it searched
(optimiser, lr as used, weight decay, batch size) on top of that run's training config.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from hsearch.configs import from_mapping
from hsearch.train import Architecture, TrainConfig
from hsearch.workflows.context import open_run, run_fixed
from hsearch.workflows.hpo import best_row_of
from hsearch.workflows.run_dir import CONFIG_FILE, read_run_config
from hsearch.workflows.settings import EvaluateSettings


@dataclass(frozen=True)
class EvaluateRun:
    """What ``hsearch evaluate`` leaves: its run directory, the evaluation's row (acc_mean,
    acc_std, accs, macs, ...; None if it did not finish) and the summary (set by whoever ran
    it: hsearch.workflows.launch.run_workflow). Not to be confused
    with hsearch.train.EvaluationResult, one trained model's score."""

    run_dir: Path
    row: dict | None
    summary: str = ""


def from_run(settings: EvaluateSettings, run_dir: str | Path) -> EvaluateSettings:
    """``settings`` with arch and train taken from the best evaluation of ``run_dir``."""
    # the source's training config alone (every workflow's settings hold one ``train``): this
    # workflow looks no other workflow up in the table that names it
    document = read_run_config(run_dir)
    source_train = from_mapping(TrainConfig, document["settings"].get("train"),
                                f"{Path(run_dir) / CONFIG_FILE}: settings.train")
    best = best_row_of(run_dir)
    arch = Architecture(best["arch_model"], width=best["arch_width"], depth=best["arch_depth"],
                        resolution=best["arch_resolution"])
    train = replace(source_train, optimizer=best["train_optimizer"],
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
    return EvaluateRun(ctx.run_dir, rows[-1] if rows else None)
