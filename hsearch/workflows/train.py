"""``hsearch train``: train one architecture on several seeded subsets; print and save the scores.

Example::

    hsearch train --data digits --model senet18 --width 0.67 --budget 20s --seeds 3 --out runs/x

writes ``runs/x/result.json`` (resolved architecture, training config, budget, data set, subset
sizes, code version, per-seed results, mean and std) and TensorBoard event files in
``runs/x/seed_<s>/``; the per-seed table grows as the seeds finish. The paper's protocol is
``--budget 10m --seeds 10`` on ``--data cifar10``. An ``--out`` that holds a run already (even an
interrupted one) is refused, as by the workflow commands: runs are never written over.

A row of the workflow table (hsearch.workflows.registry): the command line is parsed into
:class:`TrainSettings` as every workflow's is, with the row's defaults (60 s a seed, 3 seeds).
Width, resolution, batch size, lr and augmentation not given come from the data set's profile
(hsearch.data.profiles); the ``defaults:`` line and ``result.json``'s ``provenance`` say where
each came from, ``machine`` what it ran on. A budget too small to learn in (hsearch.train.
learnability) is warned about once, on stderr, and kept in ``result.json``'s ``warnings``.
Unlike the other rows it leaves no config.yaml or summary.txt: ``hsearch report`` and
``hsearch resume`` do not apply.
"""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from pathlib import Path

from hsearch.checks import check_int
from hsearch.errors import UserError
from hsearch.files import write_atomic
from hsearch.workflows.run_dir import (
    RUN_MARKERS,
    code_version,
    discard_run_dir,
    make_writable_dir,
)
from hsearch.workflows.settings import RunSettings, check_split

logger = logging.getLogger(__name__)

RESULT_FILE = "result.json"


@dataclass(frozen=True)
class TrainSettings(RunSettings):
    """``hsearch train``: ``arch`` trained with ``train`` once per seed, seeds ``first_seed`` up.

    split: score on each subset's "val" (default) or "test" images. device: "auto" (CUDA when
    present), "cpu", "cuda", "cuda:1". threads: torch CPU threads (None: torch's own setting).
    ``resources`` is not used: the seeds train one after the other in this process.
    """

    split: str = "val"
    first_seed: int = 0
    device: str = "auto"
    threads: int | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_split(self.split)
        check_int("first_seed", self.first_seed, 0)
        if self.threads is not None:
            check_int("threads", self.threads, 1)

    @property
    def seed_range(self) -> tuple[int, ...]:
        """The seeds trained: ``first_seed`` .. ``first_seed + seeds - 1``."""
        return tuple(range(self.first_seed, self.first_seed + self.seeds))


@dataclass(frozen=True)
class TrainRun:
    """What ``hsearch train`` leaves: its directory, the scores (hsearch.train.EvaluationResult),
    the summary text and the exit code (1 when a seed failed or diverged)."""

    run_dir: Path
    result: object
    summary: str
    exit_code: int


def run_train(settings: TrainSettings, run_dir: str | Path | None = None, *,
              resume: bool = False, echo: bool = False) -> TrainRun:
    """Check what is cheap first, then load the data and train every seed; write result.json.

    ``run_dir`` (default ``settings.out``, else runs/train-<date>-<time>). Nothing is written for
    a refused run: the directory is created only once the data set, the subset sizes and the
    directory itself have passed, and a directory this call created is removed again when it
    fails before anything was written into it. ``resume`` is refused: a train run is not
    resumable. ``echo`` prints the banner, the per-seed table as seeds finish and the summary.
    """
    if resume:
        raise UserError("a `hsearch train` run cannot be resumed; run it again with another --out")
    out = Path(run_dir or settings.out or Path("runs") / datetime.datetime.now().strftime(
        "train-%Y%m%d-%H%M%S"))
    check_out(out)

    import torch

    # torch: not at import time of the workflow table
    from hsearch.data import SubsetSizes, make_subset
    from hsearch.results.jsonable import json_default
    from hsearch.train import aggregate, resolve_device, seed_list, train_one_seed
    from hsearch.train.learnability import OnceFilter
    from hsearch.train.machine import machine_info

    say = print if echo else (lambda *args, **kwargs: None)
    budget = settings.budget  # parsed by the settings
    seeds = seed_list(list(settings.seed_range))
    arch, config, split = settings.arch, settings.train, settings.split
    device = resolve_device(None if settings.device == "auto" else settings.device)
    dataset = settings.data.load()
    sizes: SubsetSizes = settings.data.sizes()
    if getattr(sizes, f"{split}_per_class") < 1:
        raise UserError(f"--split {split} scores the subset's {split} images, but "
                        f"--{split}-per-class is {getattr(sizes, f'{split}_per_class')}")
    make_subset(dataset, seeds[0], sizes)  # sizes larger than a class fail here, not at seed 0
    cost = arch.cost(num_classes=dataset.num_classes)
    if settings.threads is not None:
        torch.set_num_threads(settings.threads)

    created = not out.exists()
    warnings = OnceFilter()
    logging.getLogger("hsearch.train.learnability").addFilter(warnings)
    try:
        make_writable_dir(out)
        say(f"hsearch train: {arch.model} width={arch.width:g} depth={arch.depth:g} "
            f"resolution={arch.resolution:g} ({arch.input_size} px, {cost.macs / 1e6:.2f} M "
            f"MACs) on {dataset.name}, budget {budget} per seed, seeds {list(seeds)}, device "
            f"{device}, {torch.get_num_threads()} CPU threads, {config.optimizer} "
            f"lr={config.lr:g}", flush=True)
        say(format_provenance(arch, config, settings.provenance), flush=True)
        # Rows appear as the seeds finish: at the paper's 10 minutes a seed, the whole table
        # takes over an hour and a half.
        say(table_header(split), flush=True)
        results = []
        for seed in seeds:
            result = train_one_seed(arch, config, budget, dataset, seed, sizes=sizes,
                                    split=split, device=device, log_dir=out / f"seed_{seed}")
            results.append(result)
            say(table_row(result), flush=True)
    except BaseException:
        if created:
            discard_run_dir(out)
        raise
    finally:
        logging.getLogger("hsearch.train.learnability").removeFilter(warnings)
    summary = aggregate(arch, config, budget, dataset.name, split, results, cost)
    record = {
        "options": command_options(settings, out),
        "version": code_version(),
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "machine": machine_info(device),
        "provenance": settings.provenance,
        "warnings": warnings.messages,
        "data": {"name": dataset.name, "source": dataset.source,
                 "sizes": {"train_per_class": sizes.train_per_class,
                           "val_per_class": sizes.val_per_class,
                           "test_per_class": sizes.test_per_class}},
        **summary.to_dict(),
    }
    write_atomic(out / RESULT_FILE, json.dumps(record, indent=2, default=json_default) + "\n")
    text = (f"{format_summary(summary)}\n"
            f"wrote {out / RESULT_FILE} and TensorBoard events in {out}/seed_*")
    return TrainRun(out, summary, text, 0 if summary.all_ok else 1)


def command_options(settings: TrainSettings, out: Path) -> dict:
    """``result.json``'s ``options``: the command's flags (their argparse names) and the values
    the run used, an unset flag's being its resolved value."""
    arch, train, data = settings.arch, settings.train, settings.data
    augment = train.augment
    return {
        "verbose": logging.getLogger().isEnabledFor(logging.DEBUG),
        "data": data.name, "data_root": data.root, "download": data.download,
        "split": settings.split, "train_per_class": data.train_per_class,
        "val_per_class": data.val_per_class, "test_per_class": data.test_per_class,
        "model": arch.model, "width": arch.width, "depth": arch.depth,
        "resolution": arch.resolution, "budget": settings.budget.to_text(), "seeds": settings.seeds,
        "first_seed": settings.first_seed, "optimizer": train.optimizer, "lr": train.lr,
        "momentum": train.momentum, "nesterov": train.nesterov, "wd": train.weight_decay,
        "batch_size": train.batch_size, "label_smoothing": train.label_smoothing,
        "schedule": train.schedule, "warmup": train.warmup_fraction,
        "final_lr": train.final_lr_fraction, "autoaugment": augment.autoaugment,
        "cutout": augment.cutout, "crop_flip": augment.crop_flip,
        "no_augment": not (augment.autoaugment or augment.cutout or augment.crop_flip),
        "device": settings.device, "threads": settings.threads, "compile": train.compile,
        "no_epoch_eval": not train.eval_each_epoch, "out": str(out),
    }


def format_provenance(arch, config, provenance: dict) -> str:
    """One line: the data-set-profile fields and where each value came from."""
    values = {"arch.width": f"width={arch.width:g}",
              "arch.resolution": f"resolution={arch.resolution:g}",
              "train.batch_size": f"batch={config.batch_size}",
              "train.lr": f"lr={config.lr:g}"}
    for name in ("crop_flip", "autoaugment", "cutout"):
        switch = "on" if getattr(config.augment, name) else "off"
        values[f"train.augment.{name}"] = f"{name}={switch}"
    shown = [f"{values[key]} ({source})" for key, source in provenance.items()]
    return "defaults: " + ", ".join(shown)


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is a file or holds a run (or part of one) already.

    As for the workflow commands (hsearch.workflows.run_dir.new_run_dir), a run is never written
    over and there is no flag to force it: choose another --out or remove the old run. A
    directory holding other files is accepted; only run files are looked for: this command's
    result.json and seed_* folders (an interrupted run leaves the latter) and the workflows'
    run files.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} exists and is not a directory")
    if not out.is_dir():
        return
    found = [name for name in (RESULT_FILE, *RUN_MARKERS) if (out / name).exists()]
    found += sorted(p.name for p in out.glob("seed_*"))
    if found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise UserError(f"{out} holds results of a run already ({shown}); choose another --out "
                        f"or remove them")


def table_header(split: str) -> str:
    """The header line of the per-seed table."""
    return (f"{'seed':>4}  {'status':<8}  {split + ' acc':>8}  {'epochs':>7}  {'steps':>6}  "
            f"{'train s':>8}  {'img/s':>8}  subset")


def table_row(r) -> str:
    """One seed's line of the table (a hsearch.train.SeedResult)."""
    return (f"{r.seed:>4}  {r.status:<8}  {r.accuracy:>8.4f}  {r.epochs:>7.2f}  {r.steps:>6d}  "
            f"{r.train_seconds:>8.2f}  {r.images_per_second:>8.1f}  {r.subset_digest}")


def format_summary(result) -> str:
    """The mean ± std line and the cost line of an EvaluationResult."""
    failed = f"  ({result.n_failed} failed, counted as 0)" if result.n_failed else ""
    return (f"{result.split} accuracy: {result.acc_mean:.4f} ± {result.acc_std:.4f} "
            f"(mean ± sample std over {len(result.seeds)} seeds){failed}\n"
            f"cost: {result.macs / 1e6:.2f} M MACs, {result.params / 1e6:.3f} M params at "
            f"{result.resolution} px")

