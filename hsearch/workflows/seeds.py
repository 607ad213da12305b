"""The seeds of one trial: trained one after the other in the trial's process, or as Ray tasks.

:func:`seed_runner` picks the runner for a TrialSpec: :class:`LocalSeeds` (``parallel_seeds ==
1``), :class:`TaskSeeds` (Ray tasks in the trial's placement group) or, with ``spec.pack`` and
two seeds or more, :class:`PackedSeeds` (the seeds trained together as one packed model,
hsearch.train.packed_seeds). All iterate over finished :class:`~hsearch.train.SeedResult`
objects, record the node each seed trained on (``nodes``) and stop early with ``close()``. What
every seed shares is one :class:`SeedWork`.

Packed seeds: with ``parallel_seeds == 1`` the whole pack trains in the trial's process (on a
GPU: one process, one warm-up per trial); with ``parallel_seeds = P > 1`` the seeds are cut into
P packs, each a Ray task in one bundle. A pack's results come when the pack has finished, so
racing decides on them afterwards (by the same rule, on the same seeds in seed order) and saves
no training: ``PackedSeeds.trained`` counts every seed that trained.

Seeds in parallel train the same subsets from the same initialisations as seeds in sequence; the
results differ only where training itself is not deterministic (time budgets, GPUs).

GPUs: a seed task with GPUs runs in a fresh worker process (``max_calls=1``): CUDA reads
``CUDA_VISIBLE_DEVICES`` once per process, so a reused worker would train its next seed on the
GPU it saw first, whatever Ray assigned. A fractional GPU per seed (``gpus_per_seed < 1``) shares
the device with other seeds: a time budget then counts time spent waiting behind their kernels,
so results depend on the neighbours (TrialSpec warns); the share is reported (``gpu_share``)
and is part of the seed-cache key. Seed workers limit Inductor to one compile worker
(hsearch.train.device.limit_compile_threads).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import ray
import torch
from ray.util.placement_group import get_current_placement_group
from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

from hsearch.train import Architecture, Budget, SeedResult, TrainConfig, train_one_seed
from hsearch.train.packed_seeds import PackedRun, train_seeds_packed
from hsearch.train.device import limit_compile_threads, release_memory
from hsearch.workflows.ray_session import DataHandle, current_node, quiet_worker_exit
from hsearch.workflows.trial_spec import TrialSpec


@dataclass(frozen=True)
class SeedWork:
    """What every seed of a trial trains with (all but the seed and the data set).

    Small and picklable: it travels to every seed task. ``log_dir``: the trial's folder (seed
    ``k`` logs to ``<log_dir>/seed_<k>``). ``report``: the trainer's per-epoch callback (None in
    real runs; a test's fault, hsearch.workflows.faults).
    """

    arch: Architecture
    train: TrainConfig
    budget: Budget
    sizes: Any
    split: str
    device: str
    threads: int
    log_dir: str
    report: Callable[..., Any] | None = None

    @classmethod
    def of(cls, spec: TrialSpec, arch: Architecture, train: TrainConfig,
           trial_dir: str | Path) -> SeedWork:
        """The work of a trial's seeds: ``arch`` and ``train`` on ``spec``'s budget and data."""
        return cls(arch=arch, train=train, budget=spec.budget, sizes=spec.sizes, split=spec.split,
                   device=spec.device, threads=spec.threads, log_dir=str(trial_dir))


def train_seed(work: SeedWork, dataset, seed: int) -> SeedResult:
    """Train one seed (hsearch.train.train_one_seed) with ``work.threads`` torch CPU threads.

    The unit of work of a trial, run in the trial's process or as a Ray task; ``dataset`` is an
    ImageDataset (Ray resolves an ObjectRef argument to it).
    """
    torch.set_num_threads(work.threads)
    limit_compile_threads(1)  # seeds share the node's CPUs: no compile-worker pool per seed
    result = train_one_seed(work.arch, work.train, work.budget, dataset, seed, sizes=work.sizes,
                            split=work.split, device=work.device,
                            log_dir=str(Path(work.log_dir) / f"seed_{seed}"), report=work.report)
    if result.status == "oom":  # the model and data are gone now: hand the cache back too
        release_memory(torch.device(work.device))
    return result


def train_pack(work: SeedWork, dataset, seeds: Sequence[int]) -> PackedRun:
    """Train ``seeds`` packed (hsearch.train.packed_seeds), with ``work.threads`` torch CPU
    threads; each seed logs to ``<log_dir>/seed_<k>`` as in :func:`train_seed`."""
    torch.set_num_threads(work.threads)
    limit_compile_threads(1)
    run = train_seeds_packed(work.arch, work.train, work.budget, dataset, seeds, sizes=work.sizes,
                             split=work.split, device=work.device, report=work.report,
                             log_dir_of=lambda seed: str(Path(work.log_dir) / f"seed_{seed}"))
    if any(r.status == "oom" for r in run.results):
        release_memory(torch.device(work.device))
    return run


def _pack_task(work: SeedWork, dataset, seeds: Sequence[int]):
    """:func:`train_pack` as a Ray task: its run and the id of the node it ran on."""
    quiet_worker_exit()
    return train_pack(work, dataset, seeds), current_node()["node_id"]


def _seed_task(work: SeedWork, dataset, seed: int):
    """:func:`train_seed` as a Ray task: its result and the id of the node it ran on."""
    quiet_worker_exit()
    return train_seed(work, dataset, seed), current_node()["node_id"]


def seed_runner(spec: TrialSpec, work: SeedWork, data: DataHandle, seeds: Sequence[int]):
    """The runner of ``seeds``: packed with ``spec.pack`` (two seeds or more), else Ray tasks
    when ``spec.parallel_seeds > 1``, else in-process one after the other."""
    if spec.pack and len(seeds) >= 2:
        return PackedSeeds(spec, work, data, seeds)
    if spec.parallel_seeds > 1:
        return TaskSeeds(spec, work, data, seeds)
    return LocalSeeds(work, data, seeds)


class LocalSeeds:
    """Seeds one after the other in the trial's own process (``nodes``: seed -> node id)."""

    def __init__(self, work: SeedWork, data: DataHandle, seeds: Sequence[int]):
        self._args = (work, data, list(seeds))
        self.nodes: dict[int, str] = {}

    def __iter__(self) -> Iterator[SeedResult]:
        work, data, seeds = self._args
        if not seeds:
            return
        dataset = ray.get(data.ref)
        node = current_node()["node_id"]
        for seed in seeds:
            result = train_seed(work, dataset, seed)
            self.nodes[result.seed] = node
            yield result

    def close(self) -> None:
        pass


def seed_remote(function, spec: TrialSpec):
    """``function`` as a Ray remote function with one seed's resources (``spec``).

    With GPUs, every call gets a fresh worker process (``max_calls=1``, module docstring). It
    must be given to ``ray.remote`` itself: ``.options()`` cannot set it, and a function made
    remote without GPUs keeps reusing its workers even when ``.options(num_gpus=...)`` adds them.
    """
    gpus = spec.gpus_per_seed
    return ray.remote(num_cpus=spec.cpus_per_seed, num_gpus=gpus, max_retries=1,
                      max_calls=1 if gpus > 0 else 0)(function)


def _in_trial_group() -> dict:
    """Ray options that run a task inside the trial's placement group (none outside one)."""
    group = get_current_placement_group()
    if group is None:
        return {}
    return {"scheduling_strategy": PlacementGroupSchedulingStrategy(
        group, placement_group_capture_child_tasks=True)}


class TaskSeeds:
    """Seeds as Ray tasks in the trial's placement group (one bundle per parallel seed).

    All tasks are submitted at once, in seed order; the placement group lets
    ``spec.parallel_seeds`` of them run at a time, on whichever nodes hold its bundles. Results
    come back as they finish (``nodes``: seed -> the node id it trained on); ``close`` cancels
    what has not finished (racing stopped the trial).
    """

    def __init__(self, spec: TrialSpec, work: SeedWork, data: DataHandle, seeds: Sequence[int]):
        self._args = (spec, work, data, list(seeds))
        self._pending: list = []
        self.nodes: dict[int, str] = {}

    def __iter__(self) -> Iterator[SeedResult]:
        spec, work, data, seeds = self._args
        task = seed_remote(_seed_task, spec).options(**_in_trial_group())
        self._pending = [task.remote(work, data.ref, seed) for seed in seeds]
        while self._pending:
            ready, self._pending = ray.wait(self._pending, num_returns=1)
            result, node = ray.get(ready[0])
            self.nodes[result.seed] = node
            yield result

    def close(self) -> None:
        for ref in self._pending:
            ray.cancel(ref, force=True)
        self._pending = []


class PackedSeeds:
    """Seeds trained as packs (module docstring): in the trial's process, or one Ray task per
    pack when ``spec.parallel_seeds > 1``. Yields each pack's results in seed order when the pack
    has finished; ``runs`` holds the PackedRun of every finished pack, ``trained`` counts the
    seeds they trained, ``nodes`` maps seed -> node id."""

    def __init__(self, spec: TrialSpec, work: SeedWork, data: DataHandle, seeds: Sequence[int]):
        self._args = (spec, work, data, list(seeds))
        self._pending: list = []
        self.nodes: dict[int, str] = {}
        self.runs: list[PackedRun] = []

    @property
    def trained(self) -> int:
        return sum(len(run.results) for run in self.runs)

    def record(self) -> dict:
        """The packing record of the trial (hsearch.train.packed_seeds.PackedRun.to_dict)."""
        groups = [g for run in self.runs for g in run.groups]
        notes = [n for run in self.runs for n in run.notes]
        return {"groups": [list(g) for g in groups], "notes": notes,
                "time_rule": self.runs[0].time_rule if self.runs else ""}

    def __iter__(self) -> Iterator[SeedResult]:
        spec, work, data, seeds = self._args
        parts = max(1, min(spec.parallel_seeds, len(seeds)))
        packs = [seeds[i::parts] for i in range(parts)]
        if parts == 1:
            node = current_node()["node_id"]
            run = train_pack(work, ray.get(data.ref), seeds)
            yield from self._finished(run, node)
            return
        task = seed_remote(_pack_task, spec).options(**_in_trial_group())
        self._pending = [task.remote(work, data.ref, pack) for pack in packs]
        while self._pending:
            ready, self._pending = ray.wait(self._pending, num_returns=1)
            run, node = ray.get(ready[0])
            yield from self._finished(run, node)

    def _finished(self, run: PackedRun, node: str) -> Iterator[SeedResult]:
        self.runs.append(run)
        for result in run.results:
            self.nodes[result.seed] = node
        yield from run.results

    def close(self) -> None:
        for ref in self._pending:
            ray.cancel(ref, force=True)
        self._pending = []
