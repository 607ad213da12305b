"""Repeated-seed evaluation: one architecture trained on several seeded subsets, then averaged.

``train_one_seed`` is the unit of work (the workflows run it as a Ray task): it takes only
picklable arguments, builds everything it needs from them and keeps no state between calls.
Seed ``s`` fixes the subset (hsearch.data.make_subset), the model's initialisation, the batch
order and the augmentation, so a seed's result can be rebuilt anywhere.

Failed seeds: a seed whose run diverged or ran out of memory counts as accuracy **0.0** in the
mean and the standard deviation (and keeps its status). A constraint such as "mean accuracy >=
the baseline's" can therefore not call an architecture feasible because its failures were left
out; ``EvaluationResult.n_failed``/``all_ok`` let a workflow reject any failure outright.
"""

from __future__ import annotations

import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch

from hsearch.data import make_subset, resize_images
from hsearch.errors import UserError
from hsearch.train.budget import Budget, check_budget
from hsearch.train.config import Architecture, TrainConfig
from hsearch.train.device import resolve_device
from hsearch.train.run_types import OK, TrainData, TrainResult, derive_seed
from hsearch.train.trainer import train

logger = logging.getLogger(__name__)

SPLITS = ("val", "test")


def prepare_data(dataset, subset, resolution: int, split: str = "val",
                 device: str | torch.device | None = None) -> TrainData:
    """The TrainData of one subset: its train images and its ``split`` images, resized to
    ``resolution`` pixels on ``device`` (None: CUDA when available).

    ``split="val"`` evaluates on the subset's validation images (from the train split; the usual
    choice while searching), ``"test"`` on its test images (the data set's test split).
    """

    if split not in SPLITS:
        raise UserError(f"split must be one of {', '.join(SPLITS)}, but got {split!r}")
    device = resolve_device(device)
    train_images, train_labels = subset.tensors(dataset, "train")
    eval_images, eval_labels = subset.tensors(dataset, split)
    if eval_images.shape[0] == 0:
        raise UserError(f"the subset has no {split} images (sizes with {split}_per_class=0); "
                        f"evaluation needs some")
    # Resize on the device: one antialiased pass per subset, fast on a GPU.
    return TrainData(
        train_images=resize_images(train_images.to(device), resolution),
        train_labels=train_labels.to(device),
        eval_images=resize_images(eval_images.to(device), resolution),
        eval_labels=eval_labels.to(device),
        mean=tuple(dataset.mean),
        std=tuple(dataset.std),
        num_classes=dataset.num_classes,
        eval_split=split,
    )


@dataclass(frozen=True)
class SeedResult:
    """One seed of a repeated-seed evaluation.

    accuracy: the final model's accuracy on the subset's ``split`` images; 0.0 when status is
    not "ok" (see the module docstring). subset_digest: hsearch.data.Subset.digest().
    """

    seed: int
    status: str
    accuracy: float
    split: str
    subset_digest: str
    train_seconds: float
    overrun_seconds: float
    epochs: float
    steps: int
    images_per_second: float
    message: str = ""
    history: tuple[dict, ...] = ()

    @property
    def ok(self) -> bool:
        """True when the run finished its budget."""
        return self.status == OK

    def to_dict(self) -> dict:
        """Plain data (JSON-ready)."""
        return {
            "seed": self.seed, "status": self.status, "accuracy": self.accuracy,
            "split": self.split, "subset_digest": self.subset_digest,
            "train_seconds": self.train_seconds, "overrun_seconds": self.overrun_seconds,
            "epochs": self.epochs, "steps": self.steps,
            "images_per_second": self.images_per_second, "message": self.message,
            "history": [dict(h) for h in self.history],
        }


@dataclass(frozen=True)
class EvaluationResult:
    """An architecture's accuracy over several seeds, with its cost.

    acc_mean: mean of ``accs``; acc_std: their sample standard deviation (ddof=1), 0.0 for a
    single seed. Failed seeds enter both as 0.0. macs/params/resolution: hsearch.models.model_cost
    of the architecture. train_seconds: on-clock training time of each seed.
    """

    arch: Architecture
    config: TrainConfig
    budget: Budget
    dataset: str
    split: str
    seeds: tuple[int, ...]
    accs: tuple[float, ...]
    acc_mean: float
    acc_std: float
    statuses: tuple[str, ...]
    subset_digests: tuple[str, ...]
    train_seconds: tuple[float, ...]
    macs: int
    params: int
    resolution: int
    seed_results: tuple[SeedResult, ...] = field(default=(), repr=False)

    @property
    def n_failed(self) -> int:
        """Seeds whose run did not finish (diverged, oom)."""
        return sum(status != OK for status in self.statuses)

    @property
    def all_ok(self) -> bool:
        """True when every seed finished its budget."""
        return self.n_failed == 0

    def to_dict(self) -> dict:
        """Plain data (JSON-ready), with the resolved architecture, config and budget."""
        return {
            "arch": self.arch.to_dict(), "config": self.config.to_dict(),
            "budget": self.budget.to_dict(), "dataset": self.dataset, "split": self.split,
            "seeds": list(self.seeds), "accs": list(self.accs), "acc_mean": self.acc_mean,
            "acc_std": self.acc_std, "statuses": list(self.statuses),
            "subset_digests": list(self.subset_digests), "train_seconds": list(self.train_seconds),
            "macs": self.macs, "params": self.params, "resolution": self.resolution,
            "n_failed": self.n_failed,
            "seed_results": [r.to_dict() for r in self.seed_results],
        }


def summarize(accs: Sequence[float]) -> tuple[float, float]:
    """(mean, sample standard deviation with ddof=1; 0.0 for fewer than two values)."""
    values = np.asarray(accs, dtype=np.float64)
    if values.size == 0:
        raise ValueError("no accuracies to summarize")
    std = float(values.std(ddof=1)) if values.size > 1 else 0.0
    return float(values.mean()), std


def train_one_seed(arch: Architecture, config: TrainConfig, budget: Budget, dataset, seed: int,
                   sizes=None, split: str = "val", device: str | torch.device | None = None,
                   report: Callable[..., Any] | None = None,
                   log_dir: str | os.PathLike | None = None) -> SeedResult:
    """Train ``arch`` on the subset of ``dataset`` drawn with ``seed``; score the final model.

    sizes: hsearch.data.SubsetSizes (None: the data set's defaults). split: "val" or "test".
    report: called after every epoch as ``report(seed=seed, **metrics)`` (see train()).
    log_dir: TensorBoard event files go there when given.
    The model's initialisation is seeded with ``seed`` without touching the caller's RNG state.
    """

    budget = check_budget(budget)
    device = resolve_device(device)
    subset, data, model = seed_inputs(arch, dataset, seed, sizes, split, device)
    with SeedReport(seed, report, log_dir) as on_epoch:
        result: TrainResult = train(model, data, config, budget, report=on_epoch, device=device,
                                    seed=seed)
        on_epoch.finish(result)
    return seed_result(seed, subset, split, result)


def seed_inputs(arch: Architecture, dataset, seed: int, sizes, split: str,
                device: torch.device) -> tuple[Any, TrainData, torch.nn.Module]:
    """Seed ``seed``'s subset, its TrainData on ``device`` and its freshly initialised model
    (seeded with ``seed`` without touching the caller's RNG state)."""
    subset = make_subset(dataset, seed, sizes)
    data = prepare_data(dataset, subset, arch.input_size, split, device)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        torch.manual_seed(derive_seed(seed, 3))
        model = arch.build(num_classes=dataset.num_classes)
    return subset, data, model


class SeedReport:
    """One seed's per-epoch callback: TensorBoard under ``log_dir`` (when given) and ``report``
    called as ``report(seed=seed, **metrics)``. A context manager (closes the event file);
    ``finish(result)`` records the final accuracy of a finished run; ``discard()`` closes and
    deletes the event file (a run that will be trained again)."""

    def __init__(self, seed: int, report: Callable[..., Any] | None,
                 log_dir: str | os.PathLike | None):
        self.seed, self._report, self._writer = seed, report, None
        if log_dir is not None:
            from hsearch.train.tensorboard import TensorBoardReport  # only with log_dir

            Path(log_dir).mkdir(parents=True, exist_ok=True)
            self._writer = TensorBoardReport(log_dir)

    def __call__(self, **metrics) -> None:
        if self._writer is not None:
            self._writer(**metrics)
        if self._report is not None:
            self._report(seed=self.seed, **metrics)

    def finish(self, result: TrainResult) -> None:
        if self._writer is not None and result.ok:
            self._writer.final(result.accuracy, len(result.history))

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def discard(self) -> None:
        if self._writer is not None:
            self._writer.discard()

    def __enter__(self) -> "SeedReport":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def seed_result(seed: int, subset, split: str, result: TrainResult) -> SeedResult:
    """The SeedResult of seed ``seed``'s training run on ``subset``."""
    logger.info("seed %d: %s, %s accuracy %.4f after %.1f epochs in %.1f s", seed, result.status,
                split, result.accuracy, result.epochs, result.train_seconds)
    return SeedResult(
        seed=int(seed), status=result.status, accuracy=result.accuracy, split=split,
        subset_digest=subset.digest(), train_seconds=result.train_seconds,
        overrun_seconds=result.overrun_seconds, epochs=result.epochs, steps=result.steps,
        images_per_second=result.images_per_second, message=result.message,
        history=result.history,
    )


def seed_list(seeds: int | Sequence[int]) -> tuple[int, ...]:
    """``n`` -> (0, ..., n-1); a sequence -> its distinct non-negative seeds, in order."""
    if isinstance(seeds, bool):
        raise UserError(f"seeds must be a count or a list of seeds, but got {seeds!r}")
    if isinstance(seeds, (int, np.integer)):
        if seeds < 1:
            raise UserError(f"`seeds >= 1` must hold, but got seeds={seeds}")
        return tuple(range(int(seeds)))
    values = tuple(int(s) for s in seeds)
    if not values:
        raise UserError("seeds must not be empty")
    if len(set(values)) != len(values) or min(values) < 0:
        raise UserError(f"seeds must be distinct non-negative integers, but got {list(values)}")
    return values


def evaluate(arch: Architecture, config: TrainConfig, budget: Budget, dataset,
             seeds: int | Sequence[int] = 10, sizes=None, split: str = "val",
             device: str | torch.device | None = None, report: Callable[..., Any] | None = None,
             log_dir: str | os.PathLike | None = None) -> EvaluationResult:
    """Train ``arch`` once per seed (sequentially) and summarise; see train_one_seed.

    seeds: a count n (seeds 0..n-1) or explicit seeds. log_dir: one TensorBoard sub-folder per
    seed, ``seed_<s>``. Failed seeds count as accuracy 0.0 (module docstring).
    """
    budget = check_budget(budget)
    seeds = seed_list(seeds)
    if split not in SPLITS:
        raise UserError(f"split must be one of {', '.join(SPLITS)}, but got {split!r}")
    cost = arch.cost(num_classes=dataset.num_classes)
    results = []
    for seed in seeds:
        seed_dir = None if log_dir is None else Path(log_dir) / f"seed_{seed}"
        results.append(train_one_seed(arch, config, budget, dataset, seed, sizes=sizes, split=split,
                                      device=device, report=report, log_dir=seed_dir))
    return aggregate(arch, config, budget, dataset.name, split, results, cost)


def aggregate(arch: Architecture, config: TrainConfig, budget: Budget, dataset_name: str, split: str,
              results: Sequence[SeedResult], cost) -> EvaluationResult:
    """Summarise per-seed results (e.g. gathered from Ray tasks) into an EvaluationResult."""
    accs = tuple(r.accuracy if r.ok and math.isfinite(r.accuracy) else 0.0 for r in results)
    mean, std = summarize(accs)
    return EvaluationResult(
        arch=arch, config=config, budget=budget, dataset=dataset_name, split=split,
        seeds=tuple(r.seed for r in results), accs=accs, acc_mean=mean, acc_std=std,
        statuses=tuple(r.status for r in results),
        subset_digests=tuple(r.subset_digest for r in results),
        train_seconds=tuple(r.train_seconds for r in results),
        macs=int(cost.macs), params=int(cost.params), resolution=int(cost.resolution),
        seed_results=tuple(results),
    )
