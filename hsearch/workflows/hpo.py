"""HPO: the training hyperparameters that maximise mean accuracy for a fixed architecture.

The paper's space (:class:`hsearch.workflows.settings.HpoSpace`): learning rate in [1e-3, 0.6],
log-uniform, **on SGD's scale** -- a trial's lr is rescaled to its optimiser by
hsearch.train.rescale_lr (Adam's usual 1e-3 against SGD's 0.1), so one range serves all seven
optimisers; weight decay in {0, 5e-5, 5e-4, 5e-3, 5e-2, 0.5}; optimiser in {Adadelta, Adagrad,
SGD, Adam, AdamW, Adamax, ASGD}; batch size in {128, 256, 512}. The first evaluation is the
settings' own training config (when it lies in the space), e.g. the paper's SGD defaults.
NOMAD treats each choice as an ordered integer index (the order of the lists).

The architecture is ``settings.arch`` or, with ``from_nas``, the best architecture of a NAS run.
No constraint: every searcher maximises ``acc_mean`` directly.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from hsearch.errors import UserError
from hsearch.results import EvaluationLog
from hsearch.train import Architecture
from hsearch.workflows.context import open_run
from hsearch.workflows.run_dir import read_run_config
from hsearch.workflows.runner import TuneJob, run_job
from hsearch.workflows.settings import HpoSettings, HpoSpace
from hsearch.workflows.trial_spec import sgd_scale_lr

logger = logging.getLogger(__name__)

VARIABLES = ("lr", "weight_decay", "optimizer", "batch_size")


@dataclass(frozen=True)
class HpoResult:
    """What an HPO run found: the best row (None if none finished) and all rows."""

    run_dir: Path
    best: dict | None
    rows: list
    summary: str = ""  # the run's summary: set by hsearch.workflows.launch.run_workflow


def hpo_space(space: HpoSpace) -> dict:
    """The Tune search space of :class:`HpoSpace`."""
    from ray import tune  # Ray: imported when a run starts, not for a summary

    return {
        "lr": tune.loguniform(*space.lr),
        "weight_decay": tune.choice([float(w) for w in space.weight_decays]),
        "optimizer": tune.choice([o.lower() for o in space.optimizers]),
        "batch_size": tune.choice([int(b) for b in space.batch_sizes]),
    }


def default_point(space: HpoSpace, train) -> dict | None:
    """``train``'s hyperparameters as a point of the space, or None when they lie outside it."""
    lr = sgd_scale_lr(train)
    low, high = space.lr
    inside = (low <= lr <= high and train.weight_decay in space.weight_decays
              and train.optimizer in [o.lower() for o in space.optimizers]
              and train.batch_size in space.batch_sizes)
    if not inside:
        return None
    return {"lr": lr, "weight_decay": float(train.weight_decay), "optimizer": train.optimizer,
            "batch_size": int(train.batch_size)}


def best_architecture(run_dir: str | Path):
    """The architecture of the best feasible evaluation of a (NAS) run directory."""
    read_run_config(run_dir)  # a clear error for a directory that is not a run
    best = best_row_of(run_dir)
    return Architecture(best["arch_model"], width=best["arch_width"], depth=best["arch_depth"],
                        resolution=best["arch_resolution"])


def best_row_of(run_dir: str | Path) -> dict:
    """The best row recorded in ``<run_dir>/best.json``; UserError when there is none."""
    path = Path(run_dir) / "best.json"
    if not path.exists():
        raise UserError(f"{run_dir}: no best.json (not a finished search run?)")
    best = json.loads(path.read_text()).get("best")
    if not best or best.get("arch_model") is None:
        raise UserError(f"{path}: the run has no feasible evaluation to take")
    return best


def run_hpo(settings: HpoSettings, run_dir: str | Path | None = None, *, resume: bool = False,
            echo: bool = False) -> HpoResult:
    """Run (or with ``resume`` continue) an HPO; see the module docstring."""
    # these import Ray (seconds): not when this module is read for a summary or by evaluate
    from hsearch.search.factory import SearchRequest, make_searcher
    from hsearch.workflows.callbacks import RecorderCallback

    if settings.from_nas and not resume:
        settings = replace(settings, arch=best_architecture(settings.from_nas))
    ctx = open_run("hpo", settings, run_dir, resume)
    run_dir = ctx.run_dir
    x0 = default_point(settings.space, settings.train)
    search = settings.search
    made = make_searcher(search.searcher, SearchRequest(
        points_to_evaluate=(x0,) if x0 else (), max_evals=search.max_evals,
        max_concurrent=settings.resources.concurrency, seed=search.seed,
        constraint_type=search.constraint_type, nomad_params=search.nomad_params))
    if echo:
        arch = settings.arch
        print(f"search: {search.searcher} over lr (SGD scale), weight_decay, optimizer, "
              f"batch_size for {arch.model} width={arch.width:.4g} depth={arch.depth:.4g} "
              f"resolution={arch.resolution:.4g}; maximise acc_mean, {search.max_evals} "
              f"evaluations", flush=True)
    job = TuneJob(
        run_dir=run_dir, spec=ctx.spec, param_space=hpo_space(settings.space),
        search_alg=made.algorithm, metric="acc_mean", mode="max", num_samples=search.max_evals,
        concurrency=settings.resources.concurrency,
        callbacks=[RecorderCallback(run_dir, ctx.spec, "acc_mean", "max", VARIABLES, echo=echo)],
    )
    run_job(job, ctx.data, resume=resume)
    log = EvaluationLog(run_dir, "acc_mean", "max")
    return HpoResult(run_dir, log.best(), log.rows)
