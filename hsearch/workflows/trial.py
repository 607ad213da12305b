"""The Tune trainable: one trial = one configuration evaluated on K subset seeds.

:func:`hsearch_trial` is a Tune function trainable (wrap it with ``tune.with_parameters(
hsearch_trial, spec=TrialSpec(...), data=put_dataset(dataset))``; the runner does). A trial

1. turns its config into an :class:`~hsearch.train.Architecture` and a
   :class:`~hsearch.train.TrainConfig` (hsearch.workflows.trial_spec.resolve_config) and
   computes the cost (MACs, parameters, input size) -- no training yet;
2. with ``spec.cost_report`` it reports that cost first (``status="cost"``), so that a scheduler
   (:class:`hsearch.workflows.pruning.IncumbentPruner`) can stop it before it trains;
3. trains seed after seed (``spec.parallel_seeds > 1``: as Ray tasks inside the trial's placement
   group) with :func:`hsearch.train.train_one_seed`, and reports after each finished seed the
   running mean over the seeds done so far (``status="running"``), so TensorBoard and schedulers
   see progress;
4. optionally stops early (racing, :mod:`hsearch.workflows.racing`): ``status="rejected"``, the
   mean of the seeds that decided reported as the accuracy, the seed-runs saved counted
   (``seed_runs_saved``: seeds never trained);
5. optionally confirms a feasible result (``spec.confirm``, racing.ConfirmRule, NAS): when the
   own seeds' mean meets the threshold (and every other constraint holds) but the rule's lower
   bound does not, seeds ``max(spec.seeds) + 1, ...`` train one at a time (each solo, even in a
   trial that packs its own seeds; reused from the seed cache like the own seeds), each
   followed by a ``"running"`` report, until the rule's verdict (``confirm``): the final result
   is then over ALL the seeds (``acc_mean``, ``acc_std``, ``accs``, ``seeds``, ``acc_gap``,
   ``feasible``, ``penalized``; ``seeds_total`` = seeds used, ``seeds_added`` = extra seeds),
   so a confirmation that *fell* below the threshold is an infeasible ok result with every seed,
   and every searcher is told the confirmed value;
6. reports the final result (``status="ok"``, or ``"failed"`` when every seed failed) and writes
   it atomically to ``<trial dir>/hsearch_result.json``.

Every report holds the same metric keys (Tune's strict metric check): ``acc_mean``, ``acc_std``,
``accs`` (finished seeds, in seed order), ``seeds_done``, ``seeds_total``, ``seeds_added``
(confirmation's extra seeds, else 0), ``confirm`` (its verdict, ``""`` while undecided or when
it did not apply), ``macs``, ``params``, ``input_size``, ``train_seconds`` (sum over seeds),
``status``, ``feasible``, and, when the spec has an accuracy ``threshold`` (NAS), the constraint
value ``acc_gap = threshold - acc_mean``
(feasible when ``<= 0``; exactly 0 at the threshold, hsearch.results.feasibility),
``macs_ratio = macs / baseline_macs`` and

    ``penalized = macs_ratio + penalty * max(0, acc_gap)``

the objective of searchers without constraint support (one rule for all of them: each
accuracy point short of the threshold costs ``penalty / 100`` baselines' worth of MACs). With
another objective (``spec.objective``, e.g. ``latency_ms``) its ratio to the baseline's replaces
``macs_ratio``, and each extra constraint (``spec.constraints``, e.g. ``params <= 1e6``) adds
``penalty`` times its violation as a fraction of its bound; ``feasible`` needs them all met.
With ``spec.latency`` the network is timed before training (hsearch.hardware; ``latency_ms``,
``latency_ms_iqr``, ``latency_samples_ms``, ``throughput_ips``, ``latency_device``,
``latency_threads``, ``latency_dtype``, ``latency_seconds``, ``latency_cached``). Before
training (the cost report) the accuracy counts as 0, so ``acc_gap = threshold`` there: a trial
stopped at that point is infeasible for every searcher.

Idempotence: a trial that finds ``hsearch_result.json`` in its directory (a trial re-run after
``Tuner.restore``) reports that result again without training. Finished seeds are kept in the
seed cache (hsearch.workflows.seed_cache), so a re-run trial trains only the seeds that had not
finished, and a configuration whose network equals an evaluated one reuses those seeds
(``seeds_reused``). The seeds train in the trial's process or as Ray tasks
(hsearch.workflows.seeds); with ``spec.pack`` they train together as packed models, and the
final result records how (``pack``: the groups of seeds that trained together, notes on every
fall-back to solo training, and the time-budget rule of a pack).

Failures: a seed that diverges (non-finite loss) or runs out of device memory is a failed seed
(hsearch.train; it counts as accuracy 0 in the mean). A trial whose every seed failed ends with
``status="failed"`` and reports ``acc_mean``, ``acc_gap`` and ``penalized`` as NaN, so that every
searcher counts a *failed evaluation* (NomadSearcher: a failed blackbox evaluation; Optuna: FAIL)
rather than a point of accuracy 0. A trial that raises, or whose process dies, is retried by Tune
(``TuneJob.max_failures``; the seeds it finished are reused from the cache) and then recorded as
``status="error"`` (the searcher is told it failed). Every report carries ``node_id`` and
``node_ip``, the Ray node the trial ran on, and ``seed_nodes``, the node each finished seed trained
on (comma-separated, in seed order; empty for a seed reused from the cache).

Tests inject faults (crash, hang, out of memory, divergence) through hsearch.workflows.faults.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Mapping

from ray import tune

from hsearch.files import write_atomic
from hsearch.hardware import network_latency
from hsearch.results.feasibility import accuracy_gap, mean_accuracy, penalized
from hsearch.results.jsonable import json_default
from hsearch.search.constraints import parse_constraint
from hsearch.train import Architecture, summarize
from hsearch.workflows import faults
from hsearch.workflows.objectives import violation
from hsearch.workflows.racing import ConfirmRule, finished_prefix
from hsearch.workflows.ray_session import DataHandle, current_node, quiet_worker_exit
from hsearch.workflows.seed_cache import SeedCache
from hsearch.workflows.seeds import SeedWork, seed_runner
from hsearch.workflows.trial_spec import (
    COST,
    FAILED,
    OK,
    REJECTED,
    RUNNING,
    TrialSpec,
    resolve_config,
)

logger = logging.getLogger(__name__)

RESULT_FILE = "hsearch_result.json"


def hsearch_trial(config: dict, spec: TrialSpec, data: DataHandle) -> None:
    """Tune function trainable: evaluate ``config`` on ``spec.seeds`` (module docstring)."""
    started = time.time()
    quiet_worker_exit()
    trial_dir = _trial_dir()
    final_path = trial_dir / RESULT_FILE
    if final_path.exists():
        result = json.loads(final_path.read_text())
        logger.info("trial %s finished before; reporting its saved result", trial_dir.name)
        tune.report({**result, "replayed": True})
        return

    arch, train = resolve_config(config, spec.arch, spec.train)
    cost = arch.cost(num_classes=data.num_classes)
    metrics = _Metrics(spec, cost, current_node(), _latency(spec, arch, data))
    fault = faults.hook_from(spec.faults, trial_dir)  # None unless a test asks for one
    if spec.cost_report:
        tune.report(metrics.report({}, COST))

    cache = SeedCache(spec, arch, train, data) if spec.cache_dir else None
    # a test fault that acts while training (oom, diverge) needs seeds to train, not cached ones
    reuse = cache is not None and not (fault is not None and fault.in_training)
    results = {s: r for s in spec.seeds if reuse and (r := cache.get(s)) is not None}
    reused = len(results)
    to_run = [s for s in spec.seeds if s not in results]
    status = OK
    cut = _racing_cut(spec, results)  # the reused seeds may decide already
    if cut is not None:
        status, to_run = REJECTED, []
    work = SeedWork.of(spec, arch, train, trial_dir)
    if fault is not None:
        if not to_run:  # no seed to train: a fault that fires in training fires now
            fault.fire_untrained()
        work = fault.arm(work)
    seeds = seed_runner(spec, work, data, to_run)
    metrics.seed_nodes = seeds.nodes  # the runner fills it in as seeds finish
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
    packed = getattr(seeds, "runs", None) is not None  # PackedSeeds: trained more than it yielded
    if packed:
        finished = reused + seeds.trained
    if status == REJECTED:  # the first `cut` seeds decided: they are the partial result
        results = {s: results[s] for s in spec.seeds[:cut]}
    elif not any(r.ok for r in results.values()):
        status = FAILED
    more_trained = more_reused = 0
    if status == OK and spec.threshold is not None and spec.confirm.enabled \
            and metrics.report(results, OK)["feasible"]:
        # the extra seeds train solo: their cache key is a solo seed's, packed trial or not
        solo = SeedCache(spec, arch, train, data, pack=False) if cache else None
        more_trained, more_reused = _confirm(spec, metrics, results, work, data,
                                             solo if reuse else None,
                                             solo if fault is None else None)
    final = metrics.report(results, status)
    final.update(seeds_trained=finished - reused + more_trained,
                 seeds_reused=reused + more_reused,
                 seed_runs_saved=len(spec.seeds) - finished,
                 wall_seconds=time.time() - started)
    if packed:
        final["pack"] = seeds.record()
    write_atomic(final_path, json.dumps(final, default=json_default) + "\n")
    tune.report(final)


def _confirm(spec: TrialSpec, metrics: _Metrics, results: dict, work: SeedWork,
             data: DataHandle, reuse: SeedCache | None, keep: SeedCache | None) -> tuple[int, int]:
    """Confirmation (racing.ConfirmRule) of a trial whose own seeds in ``results`` are feasible:
    seeds ``max(spec.seeds) + 1, ...`` one at a time, each from the ``reuse`` cache or trained
    solo (and put into ``keep`` unless it ran out of memory), added to ``results`` and
    ``metrics.seeds``, until the rule's verdict (``metrics.verdict``). Returns the numbers of
    extra seeds trained and reused."""
    rule: ConfirmRule = spec.confirm
    accs = [_score(results[s]) for s in spec.seeds]
    trained = reused = 0
    seed = max(spec.seeds)
    verdict = rule.verdict(accs, len(spec.seeds), spec.threshold)
    while verdict is None:
        seed += 1
        result = reuse.get(seed) if reuse is not None else None
        if result is not None:
            reused += 1
        else:
            runner = seed_runner(spec, work, data, [seed])  # one seed: never packed
            try:
                (result,) = list(runner)
            finally:
                runner.close()
            metrics.seed_nodes = {**metrics.seed_nodes, **runner.nodes}
            trained += 1
            if keep is not None and result.status != "oom":
                keep.put(result)
        results[seed] = result
        metrics.seeds.append(seed)
        accs.append(_score(result))
        verdict = rule.verdict(accs, len(spec.seeds), spec.threshold)
        if verdict is None:
            tune.report(metrics.report(results, RUNNING))
    metrics.verdict = verdict
    logger.info("confirmation: %s after %d seed(s) (%d added)", verdict or "-", len(accs),
                len(accs) - len(spec.seeds))
    return trained, reused


class _Metrics:
    """Builds the reports of one trial (the same keys every time).

    ``seeds``: the trial's seeds in order, its own then those confirmation added; ``verdict``:
    confirmation's verdict ("" until it decides, or when it does not apply).
    """

    def __init__(self, spec: TrialSpec, cost, node: Mapping[str, str],
                 measured: Mapping[str, Any] | None = None):
        self.spec = spec
        self.cost = cost
        self.node = dict(node)
        self.measured = dict(measured or {})  # latency figures, known before training
        self.seed_nodes: Mapping[int, str] = {}  # seed -> Ray node id it trained on
        self.seeds: list[int] = list(spec.seeds)
        self.verdict = ""

    def report(self, results: Mapping[int, Any], status: str) -> dict:
        spec = self.spec
        done = [results[s] for s in self.seeds if s in results]
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
            "seeds_done": len(done), "seeds_total": len(self.seeds),
            "seeds_added": len(self.seeds) - len(spec.seeds), "confirm": self.verdict,
            "n_failed": sum(not r.ok for r in done),
            "macs": int(self.cost.macs), "params": int(self.cost.params),
            "input_size": int(self.cost.resolution),
            "train_seconds": float(sum(r.train_seconds for r in done)),
            "gpu_share": float(spec.gpus_per_seed),  # GPUs per seed (< 1: a shared device)
            "status": status,
            **self.node,
            **self.measured,
        }
        met = all(c is not None and c <= 0 for c in _constraint_values(spec, out))
        if status == FAILED:
            mean = math.nan  # no seed finished: a failed evaluation, not an accuracy of 0
            out["acc_mean"] = mean
        if spec.threshold is None:
            out["feasible"] = status == OK and met
        else:
            gap = accuracy_gap(spec.threshold, mean)  # exactly 0.0 at the threshold
            out["acc_gap"] = gap
            out["feasible"] = status == OK and gap <= 0 and met
        if spec.baseline_macs:
            out["macs_ratio"] = self.cost.macs / spec.baseline_macs
            shortfall = out.get("acc_gap", 0.0)
            # NaN stays NaN (max(0.0, nan) would be 0.0: a failed trial must not look feasible)
            shortfall = shortfall if math.isnan(shortfall) else max(0.0, shortfall)
            violated = shortfall + _violations(spec, out)
            out["penalized"] = penalized(_ratio(spec, out), violated, spec.penalty)
        return out


def _constraint_values(spec: TrialSpec, metrics: Mapping[str, Any]) -> list[float | None]:
    """NOMAD's ``c`` of each extra constraint (None: its metric is missing)."""
    return [parse_constraint(c).value(metrics) for c in spec.constraints]


def _violations(spec: TrialSpec, metrics: Mapping[str, Any]) -> float:
    """Sum of the extra constraints' violations, each a fraction of its bound
    (hsearch.workflows.objectives.violation); a missing metric counts as fully violated (1)."""
    values = [violation(c, metrics) for c in spec.constraints]
    return float(sum(1.0 if v is None else v for v in values))


def _ratio(spec: TrialSpec, metrics: Mapping[str, Any]) -> float:
    """The objective relative to the baseline's (``macs_ratio`` when the objective is MACs)."""
    if spec.objective == "macs" or not spec.baseline_objective:
        return metrics["macs_ratio"]
    return float(metrics[spec.objective]) / spec.baseline_objective


def _latency(spec: TrialSpec, arch: Architecture, data: DataHandle) -> dict[str, Any]:
    """The network's measured latency figures (hsearch.hardware), before any training; cached
    in ``<cache_dir>/latency`` per network structure and device. Empty without ``spec.latency``."""
    if spec.latency is None:
        return {}
    cache = Path(spec.cache_dir) / "latency" if spec.cache_dir else None
    latency, hit = network_latency(arch, data.num_classes, spec.device, cache, spec.threads,
                                   spec.latency)
    logger.info("latency of %s: %.3f ms (IQR %.3f)%s", arch, latency.latency_ms,
                latency.latency_ms_iqr, " (cached)" if hit else "")
    return {**latency.metrics(), "latency_cached": hit}


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
    context = tune.get_context()
    try:
        path = Path(context.get_storage().trial_fs_path)
    except Exception:  # noqa: BLE001 - developer API; fall back to the staging folder
        logger.warning("cannot locate the trial's storage folder; using Tune's staging folder")
        path = Path(context.get_trial_dir())
    path.mkdir(parents=True, exist_ok=True)
    return path
