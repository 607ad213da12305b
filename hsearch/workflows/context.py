"""What every workflow does first (open the run, start Ray, put the data) and the fixed-list run.

:func:`open_run` creates (or, to resume, re-opens) the run directory, loads the data set once in
the driver, starts or joins Ray, puts the data in the object store, builds the base
:class:`~hsearch.workflows.trial_spec.TrialSpec` from the settings and, last, writes
``config.yaml``.
:func:`run_fixed` evaluates a fixed list of configurations through the same trainable and
recorder (the baseline table, NAS's baseline measurement, the test-split evaluation).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from hsearch.errors import UserError
from hsearch.results import EvaluationLog
from hsearch.workflows.faults import FAULTS_ENV
from hsearch.workflows.ray_session import ensure_ray, gpus_per_seed, put_dataset
from hsearch.workflows.run_dir import CONFIG_FILE, discard_run_dir, new_run_dir, write_run_config
from hsearch.workflows.runner import TuneJob, run_job
from hsearch.workflows.trial_spec import TrialSpec

logger = logging.getLogger(__name__)

CACHE_DIR = "cache"


@dataclass
class RunContext:
    """An open run: its directory, settings, the data set (driver copy and object-store handle)
    and the base TrialSpec (no threshold, split "val")."""

    run_dir: Path
    workflow: str
    settings: Any
    dataset: Any
    data: Any
    spec: TrialSpec


def open_run(workflow: str, settings, run_dir: str | Path | None = None, resume: bool = False,
             extra: Mapping | None = None) -> RunContext:
    """Create the run directory (or re-open it with ``resume``), start/join Ray, put the data.

    ``run_dir`` defaults to ``settings.out`` (then runs/<workflow>-<date>-<time>). Everything that
    can be wrong with the input is checked before anything is written or Ray starts where it
    can be: the directory (a new run never writes over an existing one and needs a writable
    place), the data set (loaded first), the Ray address (probed), the trial's resources. The
    run's ``config.yaml`` is written last, so a run refused here leaves nothing behind (a new,
    still empty directory is removed again) and its ``--out`` can be used as it is.
    """
    if resume:
        if run_dir is None:
            raise ValueError("resume needs the run directory")
        run_dir = Path(run_dir)
        if not (run_dir / CONFIG_FILE).exists():
            raise UserError(f"{run_dir}: not a run directory (no {CONFIG_FILE})")
        created = False
    else:
        out = str(run_dir) if run_dir is not None else settings.out
        existed = out is not None and Path(out).exists()
        run_dir = new_run_dir(out, workflow)
        created = not existed
    try:
        ctx = _open(workflow, settings, run_dir.resolve())
        if not resume:
            write_run_config(run_dir, workflow, settings, extra)
    except BaseException:
        if created:
            discard_run_dir(run_dir)
        raise
    return ctx


def _open(workflow: str, settings, run_dir: Path) -> RunContext:
    import ray

    resources = settings.resources
    dataset = settings.data.load()  # a bad name or data root fails before Ray starts
    if not ray.is_initialized() and resources.address in (None, "local"):
        _check_machine(resources, settings.seeds)  # before starting a local Ray
    started = ensure_ray(resources.address, resources.num_cpus)
    data = put_dataset(dataset)
    spec = base_spec(settings, run_dir, gpus_per_seed(resources.gpus_per_seed))
    _check_fits(spec, resources.concurrency, strict=started)
    return RunContext(run_dir, workflow, settings, dataset, data, spec)


def base_spec(settings, run_dir: str | Path, gpus: float) -> TrialSpec:
    """The TrialSpec of a run's trials from its settings (no threshold, split "val").

    ``gpus``: GPUs per seed, resolved (``settings.resources.gpus_per_seed``, or for None what
    hsearch.workflows.ray_session.gpus_per_seed finds in the Ray cluster). The seeds' resources
    come from ``settings.resources`` (hsearch.workflows.trial_spec.trial_resources turns them
    into the trial's Tune resources), packing from ``resources.pack`` (None: on with GPUs); the
    test-fault rules from the environment (FAULTS_ENV).
    """
    resources = settings.resources
    return TrialSpec(
        arch=settings.arch, train=settings.train, budget=settings.budget,
        seeds=tuple(range(settings.seeds)), sizes=settings.data.sizes(), split="val",
        parallel_seeds=min(resources.parallel_seeds, settings.seeds),
        cpus_per_seed=resources.cpus_per_seed, gpus_per_seed=float(gpus),
        torch_threads=resources.torch_threads,
        pack=resources.pack if resources.pack is not None else gpus > 0,
        cache_dir=str(Path(run_dir) / CACHE_DIR),
        faults=os.environ.get(FAULTS_ENV) or None,
    )


def run_fixed(run_dir: Path, spec: TrialSpec, data, configs: Sequence[Mapping[str, Any]] | None,
              *, variables: Sequence[str] = (), concurrency: int = 1, resume: bool = False,
              echo: bool = False, baseline: Mapping | None = None) -> list[dict]:
    """Evaluate fixed configurations (``None``: the base configuration once); rows, in order.

    With ``configs`` given, they vary only in ``variables``' values (a Tune grid over them).
    """
    from ray import tune
    from ray.tune.search.basic_variant import BasicVariantGenerator

    from hsearch.workflows.callbacks import RecorderCallback  # imports Ray

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    if configs:
        space = {name: tune.grid_search([dict(c)[name] for c in configs]) for name in variables}
        total = len(configs)
        if len(variables) != 1:
            raise ValueError(f"fixed configurations must vary in one variable, got {variables}")
    else:
        space, total = {}, 1
    job = TuneJob(
        run_dir=run_dir, spec=spec, param_space=space,
        search_alg=BasicVariantGenerator(max_concurrent=concurrency),
        metric="acc_mean", mode="max", num_samples=1, concurrency=concurrency,
        callbacks=[RecorderCallback(run_dir, spec, "acc_mean", "max", variables, total=total,
                                    baseline=baseline, echo=echo)],
    )
    run_job(job, data, resume=resume)
    return EvaluationLog(run_dir, "acc_mean", "max").rows


def _check_machine(resources, seeds: int) -> None:
    """UserError when one trial asks for more CPUs or GPUs than a local Ray on this machine will
    have (the same check as _check_fits, made before Ray starts)."""
    parallel = min(resources.parallel_seeds, seeds)
    cpus = resources.num_cpus or os.cpu_count() or 1
    need_cpu = resources.cpus_per_seed * parallel
    if need_cpu > cpus + 1e-9:
        raise UserError(f"one trial needs {need_cpu:g} CPUs (cpus_per_seed x parallel_seeds) but "
                        f"the local Ray has {cpus:g}")
    if resources.gpus_per_seed:
        import torch

        gpus = torch.cuda.device_count()
        if resources.gpus_per_seed * parallel > gpus + 1e-9:
            raise UserError(f"one trial needs {resources.gpus_per_seed * parallel:g} GPUs "
                            f"(gpus_per_seed x parallel_seeds) but this machine has {gpus}")


def _check_fits(spec: TrialSpec, concurrency: int, strict: bool = True) -> None:
    """Whether one trial fits the Ray cluster's CPUs/GPUs (else it would wait forever).

    ``strict`` (a Ray this process started): UserError. Otherwise (a cluster joined with
    --address) a warning only: an autoscaling cluster adds the nodes a waiting trial asks for.
    """
    import ray

    total = ray.cluster_resources()
    need_cpu = spec.cpus_per_seed * spec.parallel_seeds
    need_gpu = spec.gpus_per_seed * spec.parallel_seeds
    problems = []
    if need_cpu > total.get("CPU", 0) + 1e-9:
        problems.append(f"one trial needs {need_cpu:g} CPUs (cpus_per_seed x parallel_seeds) but "
                        f"the Ray cluster has {total.get('CPU', 0):g}")
    if need_gpu > total.get("GPU", 0) + 1e-9:
        problems.append(f"one trial needs {need_gpu:g} GPUs (gpus_per_seed x parallel_seeds) but "
                        f"the Ray cluster has {total.get('GPU', 0):g}")
    if problems and strict:
        raise UserError(problems[0])
    for problem in problems:
        logger.warning("%s now; trials wait until the cluster (autoscaler) adds nodes", problem)
    if concurrency * need_cpu > total.get("CPU", 0) + 1e-9:
        logger.info("%d trials at once need %g CPUs, the cluster has %g: fewer will run at once",
                    concurrency, concurrency * need_cpu, total.get("CPU", 0))


def with_split(spec: TrialSpec, split: str) -> TrialSpec:
    """The spec scoring on ``split`` ("val" or "test")."""
    return replace(spec, split=split)
