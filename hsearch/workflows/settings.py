"""The settings of every workflow, as small validated frozen dataclasses (YAML <-> dataclass).

An experiment file is one YAML mapping whose keys are the fields of the workflow's settings
class; nested sections are the nested dataclasses, and the trainer's own :class:`TrainConfig` and
:class:`Architecture` are used as they are::

    # experiments/cpu/nas.yaml  ->  NasSettings
    data: {name: digits}
    arch: {model: senet18, width: 0.5, resolution: 0.5}   # the baseline
    train: {batch_size: 64, lr: 0.05, augment: {autoaugment: false, cutout: false}}
    budget: 3s
    seeds: 3
    search: {searcher: nomad, max_evals: 20}
    bounds: {width: [0.25, 1.5], depth: [0.5, 1.5], resolution: [0.25, 1.0]}
    resources: {concurrency: 2}

:func:`load_settings` reads such a file (unknown keys are rejected with the known ones, values of
the wrong type name their key path), with CLI overrides as dotted keys merged in before the one
validation. Every run writes the resolved settings back into its ``config.yaml``; the workflow
table (hsearch.workflows.registry) names each workflow's settings class.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, TypeVar

from hsearch.checks import check_int, is_int
from hsearch.configs import from_mapping, load_yaml, to_mapping
from hsearch.data import SubsetSizes, default_sizes, list_datasets, load_dataset
from hsearch.data.profiles import apply_profile
from hsearch.errors import UserError
from hsearch.models import list_models
from hsearch.results.feasibility import check_tolerance
from hsearch.train import OPTIMIZERS, Architecture, Budget, TrainConfig, parse_budget
from hsearch.workflows.objectives import check_constraints, check_objective
from hsearch.workflows.racing import ConfirmRule, RacingRule

S = TypeVar("S")

#: The registry models the paper's baseline table compares (hsearch baseline's default list).
PAPER_BASELINE_MODELS = (
    "resnet18", "preact_resnet18", "senet18", "mobilenetv2", "shufflenetv2", "efficientnet_b0",
    "regnetx_200mf", "simple_dla", "googlenet", "densenet121", "dpn92", "resnext29_2x64d",
    "vgg19", "resnet50",
)

#: The paper's HPO space (hsearch hpo's default), optimisers in the paper's order. The learning
#: rate is searched on SGD's scale and rescaled per optimiser (hsearch.train.rescale_lr).
PAPER_LR_RANGE = (1e-3, 0.6)
PAPER_WEIGHT_DECAYS = (0.0, 5e-5, 5e-4, 5e-3, 5e-2, 0.5)
PAPER_OPTIMIZERS = ("adadelta", "adagrad", "sgd", "adam", "adamw", "adamax", "asgd")
PAPER_BATCH_SIZES = (128, 256, 512)


@dataclass(frozen=True)
class DataSettings:
    """Which data set, and the subset sizes per class (None: the data set's defaults)."""

    name: str = "digits"
    root: str | None = None
    download: bool = False
    train_per_class: int | None = None
    val_per_class: int | None = None
    test_per_class: int | None = None

    def __post_init__(self) -> None:
        if self.name not in list_datasets():
            raise UserError(f"unknown data set {self.name!r}; known data sets: "
                            f"{', '.join(list_datasets())}")
        for name in ("train_per_class", "val_per_class", "test_per_class"):
            value = getattr(self, name)
            if value is not None:
                check_int(f"data.{name}", value, 0)

    def sizes(self):
        """The subset sizes (hsearch.data.SubsetSizes), defaults filled in."""
        base = default_sizes(self.name)
        pick = lambda mine, default: default if mine is None else mine  # noqa: E731
        return SubsetSizes(pick(self.train_per_class, base.train_per_class),
                           pick(self.val_per_class, base.val_per_class),
                           pick(self.test_per_class, base.test_per_class))

    def load(self):
        """The data set (hsearch.data.ImageDataset), loaded in this process."""
        return load_dataset(self.name, root=self.root, download=self.download)


@dataclass(frozen=True)
class ResourceSettings:
    """Where and how wide trials run.

    concurrency: trials at once. parallel_seeds: seeds of one trial trained at once, each as a
    Ray task in its own bundle of the trial's placement group (1: in the trial's process, one
    after the other; results do not depend on it). cpus_per_seed / gpus_per_seed: resources of
    one seed (fractional GPUs put several seeds on one device); gpus_per_seed None means one GPU
    per seed when the Ray cluster has GPUs, else none. torch_threads: torch CPU threads of a seed
    (default: cpus_per_seed rounded down, at least 1). pack: train a trial's seeds together as
    one packed model (hsearch.workflows.seeds.PackedSeeds); None: on when seeds train on GPUs,
    off on CPU (experiments/results/packed_cpu.md). address: an existing Ray cluster ("auto" or
    host:port); None starts a local Ray (with num_cpus CPUs, default all) unless this process
    already runs one.
    """

    concurrency: int = 1
    parallel_seeds: int = 1
    cpus_per_seed: float = 1.0
    gpus_per_seed: float | None = None
    torch_threads: int | None = None
    pack: bool | None = None
    address: str | None = None
    num_cpus: int | None = None

    def __post_init__(self) -> None:
        check_int("resources.concurrency", self.concurrency, 1)
        check_int("resources.parallel_seeds", self.parallel_seeds, 1)
        if not (math.isfinite(self.cpus_per_seed) and self.cpus_per_seed > 0):
            raise UserError(f"`resources.cpus_per_seed > 0` must hold, but got "
                            f"cpus_per_seed={self.cpus_per_seed!r}")
        if self.gpus_per_seed is not None and not (math.isfinite(self.gpus_per_seed)
                                                   and self.gpus_per_seed >= 0):
            raise UserError(f"`resources.gpus_per_seed >= 0` must hold, but got "
                            f"gpus_per_seed={self.gpus_per_seed!r}")
        if self.gpus_per_seed is not None and self.gpus_per_seed > 1 \
                and self.gpus_per_seed != int(self.gpus_per_seed):
            raise UserError(f"`resources.gpus_per_seed` above 1 must be a whole number, but got "
                            f"gpus_per_seed={self.gpus_per_seed!r}")
        if self.torch_threads is not None:
            check_int("resources.torch_threads", self.torch_threads, 1)
        if self.pack is not None and not isinstance(self.pack, bool):
            raise UserError(f"`resources.pack` must be true, false or null, but got "
                            f"pack={self.pack!r}")
        if self.num_cpus is not None:
            check_int("resources.num_cpus", self.num_cpus, 1)


@dataclass(frozen=True)
class SearchSettings:
    """Which searcher and how many evaluations.

    searcher: a name of hsearch.search.factory.list_searchers() ("nomad", "random", "optuna", ...).
    max_evals: evaluations (Tune trials) in all, pruned and rejected ones included.
    seed: the searcher's seed. penalty: weight of the constraint violation for searchers without
    constraint support (see hsearch.workflows.trial: ``penalized``). constraint_type: NOMAD's
    "PB" (progressive barrier) or "EB" (extreme barrier). nomad_params: extra NOMAD lines.
    """

    searcher: str = "nomad"
    max_evals: int = 50
    seed: int = 0
    penalty: float = 100.0
    constraint_type: str = "PB"
    nomad_params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        from hsearch.search.factory import check_searcher_name  # imports Ray (seconds)

        check_searcher_name(self.searcher)
        check_int("search.max_evals", self.max_evals, 1)
        check_int("search.seed", self.seed, 0)
        if not (math.isfinite(self.penalty) and self.penalty > 0):
            raise UserError(f"`search.penalty > 0` must hold, but got penalty={self.penalty!r}")
        if self.constraint_type not in ("PB", "EB"):
            raise UserError(f"`search.constraint_type` must be 'PB' or 'EB', but got "
                            f"{self.constraint_type!r}")


@dataclass(frozen=True)
class RunSettings:
    """What every workflow shares: data, architecture, training, budget, seeds, resources, output.

    budget: per seed, a hsearch.train.Budget: "600s", "10m", "30ep" in a file or on the command
    line, parsed once here (text is accepted and parsed) and written back as given. seeds: K, the
    subset seeds 0..K-1 every configuration is trained on. out: the run directory (default
    runs/<workflow>-<date>-<time>). provenance: where each data-set-profile field came from
    (dotted key -> "user", "profile:<data set>" or "preset"; filled by :func:`load_settings`,
    see hsearch.data.profiles; informational only).
    """

    data: DataSettings = field(default_factory=DataSettings)
    arch: Architecture = field(default_factory=Architecture)
    train: TrainConfig = field(default_factory=TrainConfig)
    budget: Budget = parse_budget("600s")
    seeds: int = 10
    resources: ResourceSettings = field(default_factory=ResourceSettings)
    out: str | None = None
    provenance: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "budget", parse_budget(self.budget))
        check_int("seeds", self.seeds, 1)


@dataclass(frozen=True)
class BaselineSettings(RunSettings):
    """``hsearch baseline``: each model of ``models`` (scaled as ``arch``) trained on K seeds."""

    models: tuple[str, ...] = PAPER_BASELINE_MODELS

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.models:
            raise UserError("`models` must name at least one model")
        unknown = [m for m in self.models if m not in list_models()]
        if unknown:
            raise UserError(f"unknown model {unknown[0]!r}; known: {', '.join(list_models())}")
        if len(set(self.models)) != len(self.models):
            raise UserError(f"`models` must not repeat a model, but got {list(self.models)}")


@dataclass(frozen=True)
class NasBounds:
    """Bounds of the NAS multipliers, relative to the baseline architecture (x0 = (1, 1, 1)).

    Each is ``(low, high)``, inclusive, with ``0 < low <= 1 <= high`` (the baseline must be in the
    box). ``step`` > 0 searches multiples of ``step`` (NOMAD's granularity) instead of reals.
    """

    width: tuple[float, float] = (0.25, 2.0)
    depth: tuple[float, float] = (0.25, 2.0)
    resolution: tuple[float, float] = (0.25, 2.0)
    step: float = 0.0

    def __post_init__(self) -> None:
        for name in ("width", "depth", "resolution"):
            low, high = getattr(self, name)
            if not (math.isfinite(low) and math.isfinite(high) and 0 < low <= 1.0 <= high):
                raise UserError(f"`0 < low <= 1 <= high` must hold for bounds.{name} (1 is the "
                                f"baseline), but got low={low}, high={high}")
        if not (math.isfinite(self.step) and self.step >= 0):
            raise UserError(f"`bounds.step >= 0` must hold, but got step={self.step!r}")


@dataclass(frozen=True)
class NasSettings(RunSettings):
    """``hsearch nas``: minimise MACs subject to ``acc_mean >= baseline_acc - tolerance``.

    arch: the baseline (x0 of the search). baseline_acc: None measures it first (K seeds);
    its evaluation is then reused as the search's first evaluation. racing: early rejection of
    hopeless configurations (hsearch.workflows.racing). confirm: its mirror, more seeds (up to
    ``confirm.max_seeds > seeds``) for a feasible configuration within reach of the threshold
    (hsearch.workflows.racing.ConfirmRule; off by default). prune: skip training configurations
    whose objective is not below the best feasible found so far (recorded as "pruned").
    objective: the metric minimised, ``macs``, ``params`` or ``latency_ms``; constraints: extra
    ``"METRIC <= BOUND"`` strings beside the accuracy one (hsearch.workflows.objectives).
    latency: time every network before training (hsearch.hardware; needed, and forced, when the
    objective or a constraint is a timed metric).
    baseline_seeds: seeds 0..B-1 the baseline is measured on (None: ``seeds``); more than
    ``seeds`` makes the threshold steadier (it is trained once), and the first ``seeds`` of
    them are reused as the baseline's search evaluation.
    """

    baseline_acc: float | None = None
    baseline_seeds: int | None = None
    tolerance: float = 0.0
    bounds: NasBounds = field(default_factory=NasBounds)
    search: SearchSettings = field(default_factory=SearchSettings)
    racing: RacingRule = field(default_factory=RacingRule)
    confirm: ConfirmRule = field(default_factory=ConfirmRule)
    prune: bool = True
    objective: str = "macs"
    constraints: tuple[str, ...] = ()
    latency: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        check_objective(self.objective)
        if isinstance(self.constraints, str):  # one constraint written without a list
            object.__setattr__(self, "constraints", (self.constraints,))
        object.__setattr__(self, "constraints", check_constraints(self.constraints))
        bound = [c for c in self.constraints if c.split()[0] == self.objective]
        if bound:
            raise UserError(f"constraint {bound[0]!r} is on the objective {self.objective!r} "
                            f"itself; constrain another metric or pick another --objective")
        if self.baseline_acc is not None and not 0.0 <= self.baseline_acc <= 1.0:
            raise UserError(f"`0 <= baseline_acc <= 1` must hold, but got "
                            f"baseline_acc={self.baseline_acc!r}")
        if self.baseline_seeds is not None:
            check_int("baseline_seeds", self.baseline_seeds, 1)
        check_tolerance(self.tolerance)
        if self.racing.enabled and self.racing.min_seeds >= self.seeds:
            raise UserError(f"racing needs `racing.min_seeds < seeds`, but got "
                            f"min_seeds={self.racing.min_seeds}, seeds={self.seeds}")
        if self.confirm.enabled and self.confirm.limit(self.seeds) <= self.seeds:
            raise UserError(f"confirmation needs `confirm.max_seeds > seeds`, but got "
                            f"max_seeds={self.confirm.max_seeds}, seeds={self.seeds}")


@dataclass(frozen=True)
class HpoSpace:
    """The HPO search space (the paper's by default).

    lr: (low, high) of the learning rate on SGD's scale, searched log-uniformly and rescaled per
    optimiser by hsearch.train.rescale_lr. weight_decays, optimizers, batch_sizes: the choices
    (NOMAD treats a choice as an ordered index: the order given here).
    """

    lr: tuple[float, float] = PAPER_LR_RANGE
    weight_decays: tuple[float, ...] = PAPER_WEIGHT_DECAYS
    optimizers: tuple[str, ...] = PAPER_OPTIMIZERS
    batch_sizes: tuple[int, ...] = PAPER_BATCH_SIZES

    def __post_init__(self) -> None:
        low, high = self.lr
        if not (math.isfinite(low) and math.isfinite(high) and 0 < low < high):
            raise UserError(f"`0 < low < high` must hold for space.lr, but got low={low}, "
                            f"high={high}")
        for name in ("weight_decays", "optimizers", "batch_sizes"):
            values = getattr(self, name)
            if not values:
                raise UserError(f"`space.{name}` must not be empty")
            if len(set(values)) != len(values):
                raise UserError(f"`space.{name}` must not repeat a value, but got {list(values)}")
        if any(not math.isfinite(w) or w < 0 for w in self.weight_decays):
            raise UserError(f"`space.weight_decays` must be >= 0, but got "
                            f"{list(self.weight_decays)}")
        bad = [o for o in self.optimizers if o.lower() not in OPTIMIZERS]
        if bad:
            raise UserError(f"unknown optimizer {bad[0]!r} in space.optimizers; known: "
                            f"{', '.join(OPTIMIZERS)}")
        if any(not is_int(b) or b < 1 for b in self.batch_sizes):
            raise UserError(f"`space.batch_sizes` must be >= 1, but got {list(self.batch_sizes)}")


@dataclass(frozen=True)
class HpoSettings(RunSettings):
    """``hsearch hpo``: maximise ``acc_mean`` over ``space`` for the architecture ``arch``.

    from_nas: a NAS run directory whose best architecture replaces ``arch``.
    """

    space: HpoSpace = field(default_factory=HpoSpace)
    search: SearchSettings = field(default_factory=SearchSettings)
    from_nas: str | None = None


@dataclass(frozen=True)
class EvaluateSettings(RunSettings):
    """``hsearch evaluate``: ``arch`` trained with ``train`` on K seeds, scored on ``split``.

    split: "test" (the held-out test images of each subset: the number to report) or "val".
    from_run: a NAS/HPO/baseline run directory whose best configuration replaces arch/train.
    """

    split: str = "test"
    from_run: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_split(self.split)


def check_split(split: str) -> None:
    """UserError unless ``split`` names the images a run scores on: "val" or "test"."""
    if split not in ("val", "test"):
        raise UserError(f"`split` must be 'val' or 'test', but got {split!r}")


def load_settings(cls: type[S], path=None, overrides: Mapping[str, Any] | None = None,
                  base: Mapping[str, Any] | None = None) -> S:
    """Settings of class ``cls``: ``base`` (a mapping, default empty), then the YAML file at
    ``path`` on top, then dotted ``overrides`` such as ``{"search.max_evals": 10, "budget": "5s"}``
    (None values are skipped: an unset CLI flag).

    Everything is merged as plain data first and validated once, so the order of the overrides
    does not matter; unknown keys and bad values raise UserError naming the key path. For the
    workflows' settings (RunSettings), the fields of the data set's profile that neither the
    file nor the overrides set come from the profile (hsearch.data.profiles.apply_profile;
    values equal to ``base``'s are labelled "preset"), recorded in ``provenance``.
    """
    data = copy.deepcopy(dict(base or {}))
    if path is not None:
        _merge(data, load_yaml(path))
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        keys = dotted.split(".")
        node = data
        for key in keys[:-1]:
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            node = child
        node[keys[-1]] = to_mapping(value)
    if isinstance(cls, type) and issubclass(cls, RunSettings):
        name = (data.get("data") or {}).get("name", DataSettings.name)
        if isinstance(name, str):  # a wrong type is reported by from_mapping, with its path
            try:
                data["provenance"] = apply_profile(data, name, preset=base)
            except UserError as exc:
                raise UserError(f"{path}: {exc}" if path is not None else str(exc)) from None
    try:
        return from_mapping(cls, data)
    except UserError as exc:
        if path is None:
            raise
        raise UserError(f"{path}: {exc}") from None


def _merge(into: dict, new: Mapping) -> None:
    """Deep-merge mapping ``new`` into ``into`` (nested mappings merged, other values replaced)."""
    for key, value in new.items():
        if isinstance(value, Mapping) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value

