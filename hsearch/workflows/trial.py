"""The Tune trainable: one trial = one configuration evaluated on K subset seeds.

:func:`hsearch_trial` is a Tune function trainable (wrap it with ``tune.with_parameters(
hsearch_trial, spec=TrialSpec(...), data=put_dataset(dataset))``; the runner does). A trial

1. turns its config into an :class:`~hsearch.train.Architecture` and a
   :class:`~hsearch.train.TrainConfig` (:func:`resolve_config`) and computes the cost (MACs,
   parameters, input size) -- no training yet;
2. with ``spec.cost_report`` it reports that cost first (``status="cost"``), so that a scheduler
   (:class:`hsearch.workflows.pruning.IncumbentPruner`) can stop it before it trains;
3. trains seed after seed (``spec.parallel_seeds > 1``: as Ray tasks inside the trial's placement
   group) with :func:`hsearch.train.train_one_seed`, and reports after each finished seed the
   running mean over the seeds done so far (``status="running"``), so TensorBoard and schedulers
   see progress;
4. optionally stops early (racing, :mod:`hsearch.workflows.racing`): ``status="rejected"``, the
   mean of the seeds that decided reported as the accuracy, the seed-runs saved counted
   (``seed_runs_saved``: seeds never trained);
5. reports the final result (``status="ok"``, or ``"failed"`` when every seed failed) and writes
   it atomically to ``<trial dir>/hsearch_result.json``.

Every report holds the same metric keys (Tune's strict metric check): ``acc_mean``, ``acc_std``,
``accs`` (finished seeds, in seed order), ``seeds_done``, ``seeds_total``, ``macs``, ``params``,
``input_size``, ``train_seconds`` (sum over seeds), ``status``, ``feasible``, and, when the spec
has an accuracy ``threshold`` (NAS), the constraint value ``acc_gap = threshold - acc_mean``
(feasible when ``<= 0``; exactly 0 at the threshold, hsearch.results.feasibility),
``macs_ratio = macs / baseline_macs`` and

    ``penalized = macs_ratio + penalty * max(0, acc_gap)``

the objective of searchers without constraint support (one rule for all of them: each
accuracy point short of the threshold costs ``penalty / 100`` baselines' worth of MACs). Before
training (the cost report) the accuracy counts as 0, so ``acc_gap = threshold`` there: a trial
stopped at that point is infeasible for every searcher.

Idempotence: a trial that finds ``hsearch_result.json`` in its directory (a trial re-run after
``Tuner.restore``) reports that result again without training. Finished seeds (but not those
that ran out of memory: that depends on what else used the device) are also kept in
``spec.cache_dir`` under a key of everything that determines them (data set, subset sizes, split,
the network's structure, training config, budget, seed), so a re-run trial trains only the seeds
that had not finished, and a configuration whose network equals an evaluated one (e.g. NAS's x0,
the baseline) reuses those seeds (``seeds_reused``).

Seeds in parallel train the same subsets from the same initialisations as seeds in sequence; the
results differ only where training itself is not deterministic (time budgets, GPUs).

Failures: a seed that diverges (non-finite loss) or runs out of device memory is a failed seed
(hsearch.train; it counts as accuracy 0 in the mean). A trial whose every seed failed ends with
``status="failed"`` and reports ``acc_mean``, ``acc_gap`` and ``penalized`` as NaN, so that every
searcher counts a *failed evaluation* (NomadSearcher: a failed blackbox evaluation; Optuna: FAIL)
rather than a point of accuracy 0. A trial that raises, or whose process dies, is retried by Tune
(``TuneJob.max_failures``; the seeds it finished are reused from the cache) and then recorded as
``status="error"`` (the searcher is told it failed). Every report carries ``node_id`` and
``node_ip``, the Ray node the trial ran on, and ``seed_nodes``, the node each finished seed trained
on (comma-separated, in seed order; empty for a seed reused from the cache).

Fault injection, for tests only: when the *driver's* environment names a JSON file in
``HSEARCH_TEST_FAULTS`` (read by hsearch.workflows.context.open_run into ``TrialSpec.faults``),
trials read rules from it, e.g. ``[{"trial": 2, "fault": "kill", "times": 1}]``: the second trial
Tune created (the number after the trial id in its name and folder, ``hsearch_trial_<id>_2_...``)
gets the fault, in its first ``times`` attempts (0 or absent: every attempt; attempts are counted
with marker files in the trial's folder). Faults fire inside the real trainer at the end of the
first epoch (``raise``, ``kill`` and ``hang`` at the start of the trial when every seed comes from
the cache): ``raise`` (RuntimeError), ``kill`` (SIGKILL of the trial's own process), ``oom``
(torch.OutOfMemoryError, every seed), ``diverge`` (every seed trains with lr 1e30, so the loss
really becomes non-finite) and ``hang`` (the trial sleeps HANG_S seconds, so it is surely running
when a test kills the driver). Users never set this; without the variable nothing is read.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

from hsearch.train import Architecture, TrainConfig
from hsearch.workflows.racing import RacingRule, finished_prefix

logger = logging.getLogger(__name__)

# Trial statuses (the ``status`` metric and the ``status`` column of evaluations.csv).
COST, RUNNING, OK, REJECTED, FAILED, PRUNED, ERROR = (
    "cost", "running", "ok", "rejected", "failed", "pruned", "error")

RESULT_FILE = "hsearch_result.json"

#: Environment variable naming a fault-rules file (tests only; see the module docstring).
FAULTS_ENV = "HSEARCH_TEST_FAULTS"
FAULT_KINDS = ("raise", "kill", "oom", "diverge", "hang")
#: How long the ``hang`` test fault sleeps (it ends with the test's kill of the driver).
HANG_S = 600.0

#: Config keys that change the architecture (multipliers of the base architecture, or its model).
ARCH_KEYS = ("model", "width", "depth", "resolution")
#: Config keys that change the training config (``lr`` is on SGD's scale, see resolve_config).
TRAIN_KEYS = ("lr", "optimizer", "weight_decay", "batch_size", "momentum", "nesterov",
              "label_smoothing", "warmup_fraction", "final_lr_fraction", "schedule")


@dataclass(frozen=True)
class DataHandle:
    """A data set in Ray's object store: ``ray.put`` once by the driver, passed by reference.

    Trials and seed tasks fetch it from the object store (``ray.get``) instead of receiving a
    copy each. ``ref`` is the ObjectRef of the hsearch.data.ImageDataset.
    """

    ref: Any
    name: str
    num_classes: int


@dataclass(frozen=True)
class TrialSpec:
    """Everything a trial needs besides its config (small, pickled to every trial).

    arch, train: the base architecture and training config a trial config modifies.
    budget: per-seed training budget. seeds: the K subset seeds. sizes: subset sizes.
    split: "val" while searching, "test" for the final evaluation.
    threshold: the accuracy a configuration must reach (NAS: baseline - tolerance); None: none.
    baseline_macs: the MACs ``macs_ratio`` divides by. penalty: see the module docstring.
    racing: early rejection (used only with a threshold and ``racing.enabled``).
    cost_report: report the cost before training (for IncumbentPruner).
    parallel_seeds, cpus_per_seed, gpus_per_seed, torch_threads: how seeds run (see
    hsearch.workflows.settings.ResourceSettings).
    cache_dir: where finished seeds are kept (None: nowhere).
    faults: a fault-rules file (tests only, see the module docstring); None in real runs.
    """

    arch: Architecture
    train: TrainConfig
    budget: str
    seeds: tuple[int, ...]
    sizes: Any
    split: str = "val"
    threshold: float | None = None
    baseline_macs: float | None = None
    penalty: float = 100.0
    racing: RacingRule = field(default_factory=RacingRule)
    cost_report: bool = False
    parallel_seeds: int = 1
    cpus_per_seed: float = 1.0
    gpus_per_seed: float = 0.0
    torch_threads: int | None = None
    cache_dir: str | None = None
    faults: str | None = None

    def __post_init__(self) -> None:
        if not self.seeds:
            raise ValueError("`seeds` must not be empty")
        if self.split not in ("val", "test"):
            raise ValueError(f"`split` must be 'val' or 'test', but got {self.split!r}")
        if self.parallel_seeds < 1:
            raise ValueError(f"`parallel_seeds >= 1` must hold, but got {self.parallel_seeds}")

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
    from hsearch.train import rescale_lr

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
    from hsearch.train import rescale_lr

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


# --- the trainable ---------------------------------------------------------------------------


def hsearch_trial(config: dict, spec: TrialSpec, data: DataHandle) -> None:
    """Tune function trainable: evaluate ``config`` on ``spec.seeds`` (module docstring)."""
    from ray import tune

    started = time.time()
    trial_dir = _trial_dir()
    final_path = trial_dir / RESULT_FILE
    if final_path.exists():
        result = json.loads(final_path.read_text())
        logger.info("trial %s finished before; reporting its saved result", trial_dir.name)
        tune.report({**result, "replayed": True})
        return

    arch, train = resolve_config(config, spec.arch, spec.train)
    cost = arch.cost(num_classes=data.num_classes)
    metrics = _Metrics(spec, cost, _node())
    fault = _fault(spec, trial_dir)
    if spec.cost_report:
        tune.report(metrics.report({}, COST))

    cache = _SeedCache(spec, arch, train, data) if spec.cache_dir else None
    # a test fault that acts while training (oom, diverge) needs seeds to train, not cached ones
    reuse = cache is not None and fault not in ("oom", "diverge")
    results = {s: r for s in spec.seeds if reuse and (r := cache.get(s)) is not None}
    reused = len(results)
    to_run = [s for s in spec.seeds if s not in results]
    status = OK
    cut = _racing_cut(spec, results)  # the reused seeds may decide already
    if cut is not None:
        status, to_run = REJECTED, []
    if fault in ("raise", "kill", "hang") and not to_run:  # no seed to train: fire it now
        _fault_report(fault)()
    runner = _TaskSeeds if spec.parallel_seeds > 1 else _LocalSeeds
    seeds = runner(spec, arch, train, data, to_run, trial_dir, fault)
    metrics.seed_nodes = seeds.nodes
    try:
        for result in seeds:
            results[result.seed] = result
            # out of memory depends on what else shared the device then, and a test fault is
            # not the configuration's result: neither is kept for another trial to reuse
            if cache is not None and fault is None and result.status != "oom":
                cache.put(result)
            cut = _racing_cut(spec, results)
            if cut is not None:
                status = REJECTED
                break
            if len(results) < len(spec.seeds):
                tune.report(metrics.report(results, RUNNING))
    finally:
        seeds.close()
    finished = len(results)
    if status == REJECTED:  # the first `cut` seeds decided: they are the partial result
        results = {s: results[s] for s in spec.seeds[:cut]}
    elif not any(r.ok for r in results.values()):
        status = FAILED
    final = metrics.report(results, status)
    final.update(seeds_trained=finished - reused, seeds_reused=reused,
                 seed_runs_saved=len(spec.seeds) - finished,
                 wall_seconds=time.time() - started)
    from hsearch.configs import write_atomic

    write_atomic(final_path, json.dumps(final, default=_json_default) + "\n")
    tune.report(final)


class _Metrics:
    """Builds the reports of one trial (the same keys every time)."""

    def __init__(self, spec: TrialSpec, cost, node: Mapping[str, str]):
        self.spec = spec
        self.cost = cost
        self.node = dict(node)
        self.seed_nodes: Mapping[int, str] = {}  # seed -> Ray node id it trained on

    def report(self, results: Mapping[int, Any], status: str) -> dict:
        from hsearch.results.feasibility import accuracy_gap, mean_accuracy
        from hsearch.train import summarize

        spec = self.spec
        done = [results[s] for s in spec.seeds if s in results]
        accs = [_score(r) for r in done]
        # the exact mean (independent of seed order): the threshold rule of hsearch.results
        mean = mean_accuracy(accs) if accs else 0.0
        std = summarize(accs)[1] if accs else 0.0
        out = {
            "acc_mean": mean, "acc_std": std, "accs": accs,
            "seeds": [r.seed for r in done],
            # a string, not a list: TensorBoard logs only numbers (and lists of numbers)
            "seed_statuses": ",".join(r.status for r in done),
            "seed_seconds": [r.train_seconds for r in done],
            # where each seed trained (empty: reused from the cache), as text like statuses
            "seed_nodes": ",".join(self.seed_nodes.get(r.seed, "") for r in done),
            "seeds_done": len(done), "seeds_total": len(spec.seeds),
            "n_failed": sum(not r.ok for r in done),
            "macs": int(self.cost.macs), "params": int(self.cost.params),
            "input_size": int(self.cost.resolution),
            "train_seconds": float(sum(r.train_seconds for r in done)),
            "status": status,
            **self.node,
        }
        if status == FAILED:
            mean = math.nan  # no seed finished: a failed evaluation, not an accuracy of 0
            out["acc_mean"] = mean
        if spec.threshold is None:
            out["feasible"] = status == OK
        else:
            gap = accuracy_gap(spec.threshold, mean)  # exactly 0.0 at the threshold
            out["acc_gap"] = gap
            out["feasible"] = status == OK and gap <= 0
        if spec.baseline_macs:
            out["macs_ratio"] = self.cost.macs / spec.baseline_macs
            shortfall = out.get("acc_gap", 0.0)
            # NaN stays NaN (max(0.0, nan) would be 0.0: a failed trial must not look feasible)
            shortfall = shortfall if math.isnan(shortfall) else max(0.0, shortfall)
            out["penalized"] = out["macs_ratio"] + spec.penalty * shortfall
        return out


def _node() -> dict[str, str]:
    """The Ray node this process runs on (its id, and its IP address)."""
    import ray

    try:
        return {"node_id": ray.get_runtime_context().get_node_id(),
                "node_ip": ray.util.get_node_ip_address()}
    except Exception:  # noqa: BLE001 - outside Ray (a test calling the trainable directly)
        return {"node_id": "", "node_ip": ""}


def _fault(spec: TrialSpec, trial_dir: Path) -> str | None:
    """The fault this attempt of the trial must suffer (tests only; module docstring)."""
    if not spec.faults:
        return None
    from ray import tune

    trial_id = tune.get_context().get_trial_id() or ""
    # the trial's folder is "<trainable>_<trial id>_<n>_<config>_<date>": n counts trials from 1
    tag = trial_dir.name.split(f"{trial_id}_", 1)[-1].split("_", 1)[0]
    if not tag.isdigit():
        return None
    for rule in json.loads(Path(spec.faults).read_text()):
        if int(rule["trial"]) != int(tag):
            continue
        kind = rule["fault"]
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} in {spec.faults}; known: {FAULT_KINDS}")
        times = int(rule.get("times", 0))
        if times:
            attempts = len(list(trial_dir.glob(".fault-attempt-*")))
            if attempts >= times:
                return None
            (trial_dir / f".fault-attempt-{attempts + 1}").touch()
        logger.warning("trial %s: injecting the test fault %r (%s)", trial_id, kind, FAULTS_ENV)
        return kind
    return None


def _fault_report(fault: str):
    """A per-epoch report callback that fires ``fault`` inside the trainer."""
    import torch

    def report(**metrics) -> None:
        if fault == "oom":
            raise torch.OutOfMemoryError(f"CUDA out of memory (injected by {FAULTS_ENV})")
        if fault == "raise":
            raise RuntimeError(f"fault injected by {FAULTS_ENV}")
        if fault == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if fault == "hang":
            time.sleep(HANG_S)

    return report


def _score(result) -> float:
    """A seed's accuracy; a failed seed counts as 0 (as in hsearch.train.aggregate)."""
    return result.accuracy if result.ok and math.isfinite(result.accuracy) else 0.0


def _racing_cut(spec: TrialSpec, results: Mapping[int, Any]) -> int | None:
    """How many seeds (in seed order) rejected the configuration, or None (racing module)."""
    if spec.threshold is None or not spec.racing.enabled:
        return None
    prefix = finished_prefix({s: _score(r) for s, r in results.items()}, spec.seeds)
    return spec.racing.first_rejection(prefix, len(spec.seeds), spec.threshold)


def _trial_dir() -> Path:
    """The trial's directory in the run's storage (persists across Tuner.restore).

    Tune's ``get_trial_dir()`` is a per-session staging folder under /tmp/ray; the storage path
    (the run directory) is where a resumed run finds the files again. It must be a local or
    shared file system (the run directory is given as a path).
    """
    from ray import tune

    context = tune.get_context()
    try:
        path = Path(context.get_storage().trial_fs_path)
    except Exception:  # noqa: BLE001 - developer API; fall back to the staging folder
        logger.warning("cannot locate the trial's storage folder; using Tune's staging folder")
        path = Path(context.get_trial_dir())
    path.mkdir(parents=True, exist_ok=True)
    return path


# --- seeds -----------------------------------------------------------------------------------


def train_seed(arch, train, budget, dataset, seed, sizes, split, device, log_dir, threads,
               fault=None):
    """Train one seed (hsearch.train.train_one_seed) with ``threads`` torch CPU threads.

    The unit of work of a trial, run in the trial's process or as a Ray task; ``dataset`` is an
    ImageDataset (Ray resolves an ObjectRef argument to it). ``fault``: a test fault to inject
    (module docstring), None in real runs.
    """
    import torch

    from hsearch.train import train_one_seed

    torch.set_num_threads(threads)
    report = None
    if fault == "diverge":
        train = dataclasses.replace(train, lr=1e30)
    elif fault is not None:
        report = _fault_report(fault)
    return train_one_seed(arch, train, budget, dataset, seed, sizes=sizes, split=split,
                          device=device, log_dir=log_dir, report=report)


def _seed_task(*args):
    """:func:`train_seed` as a Ray task: its result and the id of the node it ran on."""
    return train_seed(*args), _node()["node_id"]


class _LocalSeeds:
    """Seeds one after the other in the trial's own process (``nodes``: seed -> node id)."""

    def __init__(self, spec, arch, train, data, seeds, trial_dir, fault=None):
        self._args = (spec, arch, train, data, seeds, trial_dir, fault)
        self.nodes: dict[int, str] = {}

    def __iter__(self) -> Iterator:
        import ray

        spec, arch, train, data, seeds, trial_dir, fault = self._args
        if not seeds:
            return
        dataset = ray.get(data.ref)
        node = _node()["node_id"]
        for seed in seeds:
            result = train_seed(arch, train, spec.budget, dataset, seed, spec.sizes, spec.split,
                                spec.device, str(trial_dir / f"seed_{seed}"), spec.threads, fault)
            self.nodes[result.seed] = node
            yield result

    def close(self) -> None:
        pass


class _TaskSeeds:
    """Seeds as Ray tasks in the trial's placement group (one bundle per parallel seed).

    All tasks are submitted at once, in seed order; the placement group lets
    ``spec.parallel_seeds`` of them run at a time, on whichever nodes hold its bundles. Results
    come back as they finish (``nodes``: seed -> the node id it trained on); ``close`` cancels
    what has not finished (racing stopped the trial).
    """

    def __init__(self, spec, arch, train, data, seeds, trial_dir, fault=None):
        self._args = (spec, arch, train, data, seeds, trial_dir, fault)
        self._pending: list = []
        self.nodes: dict[int, str] = {}

    def __iter__(self) -> Iterator:
        import ray
        from ray.util.placement_group import get_current_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy

        spec, arch, train, data, seeds, trial_dir, fault = self._args
        group = get_current_placement_group()
        options = {"num_cpus": spec.cpus_per_seed, "num_gpus": spec.gpus_per_seed,
                   "max_retries": 1}
        if group is not None:
            options["scheduling_strategy"] = PlacementGroupSchedulingStrategy(
                group, placement_group_capture_child_tasks=True)
        task = ray.remote(_seed_task).options(**options)
        self._pending = [
            task.remote(arch, train, spec.budget, data.ref, seed, spec.sizes, spec.split,
                        spec.device, str(trial_dir / f"seed_{seed}"), spec.threads, fault)
            for seed in seeds
        ]
        while self._pending:
            ready, self._pending = ray.wait(self._pending, num_returns=1)
            result, node = ray.get(ready[0])
            self.nodes[result.seed] = node
            yield result

    def close(self) -> None:
        import ray

        for ref in self._pending:
            ray.cancel(ref, force=True)
        self._pending = []


class _SeedCache:
    """Finished seeds on disk, keyed by everything that determines a seed's result."""

    def __init__(self, spec: TrialSpec, arch: Architecture, train: TrainConfig, data: DataHandle):
        self.dir = Path(spec.cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._base = {
            "version": 1, "dataset": data.name, "sizes": dataclasses.astuple(spec.sizes),
            "split": spec.split, "network": network_digest(arch, data.num_classes),
            "train": train.to_dict(), "budget": str(spec.budget),
        }

    def _path(self, seed: int) -> Path:
        text = json.dumps({**self._base, "seed": int(seed)}, sort_keys=True, default=str)
        return self.dir / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"

    def get(self, seed: int):
        from hsearch.train import SeedResult

        path = self._path(seed)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            data["history"] = tuple(data.get("history", ()))
            return SeedResult(**data)
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("ignoring unreadable cached seed %s: %s", path, exc)
            return None

    def put(self, result) -> None:
        from hsearch.configs import write_atomic

        write_atomic(self._path(result.seed),
                     json.dumps(result.to_dict(), default=_json_default) + "\n")


def network_digest(arch: Architecture, num_classes: int = 10) -> str:
    """A digest of the network an architecture builds: model, input size and every parameter
    and buffer shape. Multipliers that round to the same channels and blocks give the same
    digest (and, for a given seed, the same initialisation and training)."""
    import torch

    with torch.device("meta"):  # shapes only: nothing is allocated
        model = arch.build(num_classes=num_classes)
    shapes = [(name, tuple(t.shape)) for name, t in model.state_dict().items()]
    text = json.dumps([arch.model, arch.input_size, shapes])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
