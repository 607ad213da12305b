"""The seeds of one architecture trained as packs (hsearch.train.packed), with the fall-backs.

:func:`train_seeds_packed` is :func:`hsearch.train.train_one_seed` for several seeds at once:
each seed's subset, model and TensorBoard folder are built as there, the seeds train as one
pack, and each gets its own SeedResult. It falls back, and says so in ``PackedRun.notes``:

* to solo training (train_one_seed, seed after seed) when the architecture cannot pack
  (hsearch.train.packed.pack_problem) or the seeds' subsets differ in size;
* after an out-of-memory error of a pack, to packs of half the size, down to solo: the seeds
  of the failed pack start again from their initialisation (a smaller pack on a GPU shared with
  others may fit where the larger did not); the failed attempt's TensorBoard event files are
  deleted, so each seed's folder holds one curve.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import torch

from hsearch.train.budget import Budget, check_budget
from hsearch.train.config import Architecture, TrainConfig
from hsearch.train.device import release_memory, resolve_device
from hsearch.train.evaluate import (
    SeedReport,
    SeedResult,
    seed_inputs,
    seed_result,
    train_one_seed,
)
from hsearch.train.packed import TIME_RULE, check_packable, pack_problem, train_packed
from hsearch.train.run_types import OOM

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackedRun:
    """What :func:`train_seeds_packed` did: per-seed results (in the order of the seeds), the
    groups of seeds that trained together (one-seed groups trained solo), and notes on every
    fall-back (empty when the seeds trained as one pack)."""

    results: tuple[SeedResult, ...]
    groups: tuple[tuple[int, ...], ...]
    notes: tuple[str, ...] = ()
    time_rule: str = TIME_RULE

    def to_dict(self) -> dict:
        """The packing record of a trial's result (JSON-ready)."""
        return {"groups": [list(g) for g in self.groups], "notes": list(self.notes),
                "time_rule": self.time_rule}


@dataclass
class _Log:
    groups: list = field(default_factory=list)
    notes: list = field(default_factory=list)


def train_seeds_packed(arch: Architecture, config: TrainConfig, budget: Budget, dataset,
                       seeds: Sequence[int], sizes=None, split: str = "val",
                       device: str | torch.device | None = None,
                       report: Callable[..., Any] | None = None,
                       log_dir_of: Callable[[int], str | os.PathLike | None] | None = None
                       ) -> PackedRun:
    """Train ``arch`` on each seed's subset, the seeds packed; see the module docstring.

    report: as train_one_seed's (``report(seed=seed, **metrics)`` after every epoch of every
    seed). log_dir_of: seed -> its TensorBoard folder (None: no TensorBoard).
    """
    budget = check_budget(budget)
    device = resolve_device(device)
    seeds = [int(s) for s in seeds]
    log_dir_of = log_dir_of or (lambda seed: None)
    log = _Log()
    with torch.device("meta"):
        problem = pack_problem(arch.build(num_classes=dataset.num_classes))
    if problem is not None or len(seeds) < 2:
        if problem is not None:
            log.notes.append(f"{arch.model} trains solo: {problem}")
            logger.info("%s", log.notes[-1])
        results = {s: _solo(arch, config, budget, dataset, s, sizes, split, device, report,
                            log_dir_of, log) for s in seeds}
    else:
        results = _pack(arch, config, budget, dataset, seeds, sizes, split, device, report,
                        log_dir_of, log)
    return PackedRun(tuple(results[s] for s in seeds), tuple(log.groups), tuple(log.notes))


def _solo(arch, config, budget, dataset, seed, sizes, split, device, report, log_dir_of,
          log: _Log) -> SeedResult:
    log.groups.append((seed,))
    return train_one_seed(arch, config, budget, dataset, seed, sizes=sizes, split=split,
                          device=device, report=report, log_dir=log_dir_of(seed))


def _pack(arch, config, budget, dataset, seeds: list[int], sizes, split, device, report,
          log_dir_of, log: _Log) -> dict[int, SeedResult]:
    """Train ``seeds`` as one pack; on out-of-memory, as two halves (recursively), then solo."""
    if len(seeds) == 1:
        return {seeds[0]: _solo(arch, config, budget, dataset, seeds[0], sizes, split, device,
                                report, log_dir_of, log)}
    inputs = [seed_inputs(arch, dataset, s, sizes, split, device) for s in seeds]
    subsets, datas, models = (list(x) for x in zip(*inputs))
    try:
        check_packable(models, datas, seeds)
    except ValueError as exc:
        log.notes.append(f"seeds {seeds} train solo: {exc}")
        logger.info("%s", log.notes[-1])
        del inputs, datas, models
        return {s: _solo(arch, config, budget, dataset, s, sizes, split, device, report,
                         log_dir_of, log) for s in seeds}
    reports = [SeedReport(s, report, log_dir_of(s)) for s in seeds]
    try:
        trained = train_packed(models, datas, config, budget, seeds, reports=reports,
                               device=device)
    except BaseException:
        for on_epoch in reports:
            on_epoch.close()
        raise
    retry = all(r.status == OOM for r in trained)
    for on_epoch, result in zip(reports, trained):
        if retry:  # the seed trains again: its folder keeps the retry's event file only
            on_epoch.discard()
        else:
            on_epoch.finish(result)
            on_epoch.close()
    if retry:
        del inputs, datas, models, trained
        release_memory(device)
        half = (len(seeds) + 1) // 2
        log.notes.append(f"a pack of {len(seeds)} seeds ran out of device memory: retried as "
                         f"packs of {half} and {len(seeds) - half}")
        logger.warning("%s", log.notes[-1])
        results = _pack(arch, config, budget, dataset, seeds[:half], sizes, split, device,
                        report, log_dir_of, log)
        results.update(_pack(arch, config, budget, dataset, seeds[half:], sizes, split, device,
                             report, log_dir_of, log))
        return results
    log.groups.append(tuple(seeds))
    return {s: seed_result(s, subset, split, r) for s, subset, r in zip(seeds, subsets, trained)}
