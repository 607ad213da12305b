"""What a trial is: its spec, its statuses, its config resolved, its Ray resources.

:class:`TrialSpec` is everything a trial needs besides its config (pickled to every trial);
:func:`resolve_config` turns a trial config into the Architecture and TrainConfig it describes;
:func:`trial_resources` is the trial's Tune resources. The trainable that runs a trial is
hsearch.workflows.trial.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any, Mapping

from hsearch.train import Architecture, Budget, TrainConfig, check_budget, rescale_lr
from hsearch.workflows.racing import ConfirmRule, RacingRule

logger = logging.getLogger(__name__)

# Trial statuses (the ``status`` metric and the ``status`` column of evaluations.csv).
COST, RUNNING, OK, REJECTED, FAILED, PRUNED, ERROR = (
    "cost", "running", "ok", "rejected", "failed", "pruned", "error")

#: Config keys that change the architecture (multipliers of the base architecture, or its model).
ARCH_KEYS = ("model", "width", "depth", "resolution")
#: Config keys that change the training config (``lr`` is on SGD's scale, see resolve_config).
TRAIN_KEYS = ("lr", "optimizer", "weight_decay", "batch_size", "momentum", "nesterov",
              "label_smoothing", "warmup_fraction", "final_lr_fraction", "schedule")


@dataclass(frozen=True)
class TrialSpec:
    """Everything a trial needs besides its config (small, pickled to every trial).

    arch, train: the base architecture and training config a trial config modifies.
    budget: per-seed training budget (a parsed Budget, as RunSettings.budget carries it).
    seeds: the K subset seeds. sizes: subset sizes.
    split: "val" while searching, "test" for the final evaluation.
    threshold: the accuracy a configuration must reach (NAS: baseline - tolerance); None: none.
    baseline_macs: the MACs ``macs_ratio`` divides by. penalty: the weight of a violated
    constraint in ``penalized`` (hsearch.workflows.trial).
    racing: early rejection (used only with a threshold and ``racing.enabled``).
    confirm: more seeds (``seeds`` continued: ``max(seeds) + 1, ...``) for a feasible result
    within reach of the threshold (used only with a threshold and ``confirm.enabled``;
    ``confirm.max_seeds > len(seeds)`` then).
    cost_report: report the cost before training (for IncumbentPruner).
    parallel_seeds, cpus_per_seed, gpus_per_seed, torch_threads: how seeds run (see
    hsearch.workflows.settings.ResourceSettings). pack: train a trial's seeds together as one
    packed model (hsearch.workflows.seeds.PackedSeeds).
    cache_dir: where finished seeds are kept (None: nowhere).
    faults: a fault-rules file (tests only, hsearch.workflows.faults); None in real runs.
    objective: the minimised metric (hsearch.workflows.objectives; ``penalized`` divides it by
    ``baseline_objective``, default ``baseline_macs``). constraints: extra constraint strings on
    metrics known before training (``"latency_ms <= 2.5"``), part of ``feasible`` and
    ``penalized``. latency: hsearch.hardware.LatencySettings to time the network before
    training (None: not timed).
    """

    arch: Architecture
    train: TrainConfig
    budget: Budget
    seeds: tuple[int, ...]
    sizes: Any
    split: str = "val"
    threshold: float | None = None
    baseline_macs: float | None = None
    penalty: float = 100.0
    racing: RacingRule = field(default_factory=RacingRule)
    confirm: ConfirmRule = field(default_factory=ConfirmRule)
    cost_report: bool = False
    parallel_seeds: int = 1
    cpus_per_seed: float = 1.0
    gpus_per_seed: float = 0.0
    torch_threads: int | None = None
    pack: bool = False
    cache_dir: str | None = None
    faults: str | None = None
    objective: str = "macs"
    baseline_objective: float | None = None
    constraints: tuple[str, ...] = ()
    latency: Any = None

    def __post_init__(self) -> None:
        check_budget(self.budget)
        if not self.seeds:
            raise ValueError("`seeds` must not be empty")
        if self.split not in ("val", "test"):
            raise ValueError(f"`split` must be 'val' or 'test', but got {self.split!r}")
        if self.parallel_seeds < 1:
            raise ValueError(f"`parallel_seeds >= 1` must hold, but got {self.parallel_seeds}")
        if self.confirm.enabled and self.confirm.limit(len(self.seeds)) <= len(self.seeds):
            raise ValueError(f"`confirm.max_seeds > len(seeds)` must hold, but got "
                             f"max_seeds={self.confirm.max_seeds}, len(seeds)={len(self.seeds)}")
        if 0 < self.gpus_per_seed < 1 and self.budget.is_time:
            logger.warning(
                "gpus_per_seed=%g shares each GPU between seeds: a time budget (%s) then also "
                "counts time spent waiting for the other seeds' kernels, so accuracies depend on "
                "what runs alongside; prefer whole GPUs or an epoch budget for comparable results",
                self.gpus_per_seed, self.budget.text)

    @property
    def threads(self) -> int:
        """torch CPU threads of one seed."""
        return self.torch_threads or max(1, int(self.cpus_per_seed))

    @property
    def device(self) -> str:
        """The training device of a seed: CUDA when seeds hold GPUs."""
        return "cuda" if self.gpus_per_seed > 0 else "cpu"


def resolve_config(config: Mapping[str, Any], arch: Architecture,
                   train: TrainConfig) -> tuple[Architecture, TrainConfig]:
    """The architecture and training config a trial config describes.

    ``model`` replaces the base model; ``width``, ``depth`` and ``resolution`` are **multipliers of
    the base architecture's** (NAS's x0 = (1, 1, 1) is the base itself). Training keys replace
    TrainConfig fields, except ``lr``, which is on **SGD's scale** and rescaled to the optimiser
    (hsearch.train.rescale_lr). Without ``lr``, a different ``optimizer`` rescales the base lr.
    Unknown keys raise ValueError (a typo must not be searched silently).
    """
    unknown = sorted(set(config) - set(ARCH_KEYS) - set(TRAIN_KEYS))
    if unknown:
        raise ValueError(f"unknown trial config key {unknown[0]!r}; known keys: "
                         f"{', '.join(ARCH_KEYS + TRAIN_KEYS)}")
    new_arch = Architecture(
        str(config.get("model", arch.model)),
        width=arch.width * float(config.get("width", 1.0)),
        depth=arch.depth * float(config.get("depth", 1.0)),
        resolution=arch.resolution * float(config.get("resolution", 1.0)),
    )
    changes = {k: config[k] for k in TRAIN_KEYS if k in config and k != "lr"}
    if "batch_size" in changes:
        changes["batch_size"] = int(changes["batch_size"])
    optimizer = str(changes.get("optimizer", train.optimizer)).lower()
    if "lr" in config:
        changes["lr"] = rescale_lr(float(config["lr"]), optimizer, reference="sgd")
    elif optimizer != train.optimizer:
        changes["lr"] = rescale_lr(train.lr, optimizer, reference=train.optimizer)
    return new_arch, dataclasses.replace(train, **changes)


def sgd_scale_lr(train: TrainConfig) -> float:
    """``train.lr`` on SGD's scale (the inverse of resolve_config's rescaling)."""
    return rescale_lr(train.lr, "sgd", reference=train.optimizer)


def trial_resources(spec: TrialSpec):
    """Tune resources of one trial: one bundle per parallel seed (tasks go into the trial's
    placement group), or the trial's own CPUs/GPUs when seeds run in its process."""
    seed_bundle = {"CPU": spec.cpus_per_seed}
    if spec.gpus_per_seed > 0:
        seed_bundle["GPU"] = spec.gpus_per_seed
    if spec.parallel_seeds == 1:
        return {k.lower(): v for k, v in seed_bundle.items()}
    from ray import tune

    # The trial itself only waits for its seed tasks: an empty head bundle.
    return tune.PlacementGroupFactory([{}] + [dict(seed_bundle)] * spec.parallel_seeds)
