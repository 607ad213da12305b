"""``hsearch demo``: a complete, small NAS on the embedded digits data, for 2 CPU cores.

The paper's question at toy scale: which scaled versions of a baseline network reach the
baseline's mean accuracy with fewer MACs?

* baseline: SENet-18 at width 0.25, full depth, resolution 0.375 (12 px; the digits' own images
  are 8 px, upsampled); SGD (lr 0.2, batch 64, cosine), no augmentation (flips and crops do not
  suit digits); ``DEMO_BUDGET`` per seed, measured once on ``DEMO_BASELINE_SEEDS`` seeds (the
  paper's K = 10) so that the threshold does not hinge on one unlucky seed; every search
  evaluation is trained on ``DEMO_SEEDS`` seeds (subsets of 100 training and 30 validation
  images per class), and the baseline's first ``DEMO_SEEDS`` seeds are reused as its own
  search evaluation. The summary gives the threshold's standard error and 95% t-interval.
* every network is timed before it trains (batch-1 latency and throughput on the trial's CPU
  thread, hsearch.hardware); the summary names the fastest network that meets the accuracy
  threshold beside the smallest, and pareto.csv/png hold the noise-aware front.
* search: NOMAD over ``DEMO_BOUNDS``, width x[0.25, 1.5], depth x[0.25, 1.5] (1 to 3 blocks per
  stage) and resolution x[0.5, 1.5] (8 to 18 px) on a grid of 0.25, ``DEMO_EVALS`` evaluations, 2
  one-CPU trials at once; pruning on (anything at least as large as the best feasible network is
  not trained), racing off (``racing=True``), confirmation on: a network whose 4-seed mean
  meets the threshold while its lower bound does not trains more seeds, up to the baseline's 10,
  before it is believed (hsearch.workflows.racing.ConfirmRule; ``--no-confirm`` turns it off).

Every network the demo can build is a cell of the tabulated benchmark (hsearch/problems/data,
made by experiments/make_tabular.py from these settings). Why this box and an epoch budget, and
what the demo finds: docs/workflows.md ("The demo").
"""

from __future__ import annotations

import math
from pathlib import Path

from hsearch.data import AugmentConfig
from hsearch.train import Architecture, TrainConfig
from hsearch.workflows.nas import NasResult, run_nas
from hsearch.workflows.racing import ConfirmRule, RacingRule
from hsearch.workflows.settings import (
    DataSettings,
    NasBounds,
    NasSettings,
    ResourceSettings,
    SearchSettings,
)

DEMO_BUDGET = "2ep"
DEMO_SEEDS = 4
DEMO_BASELINE_SEEDS = 10
DEMO_EVALS = 30
#: The demo's search box and grid (multipliers of the baseline; see the module docstring).
DEMO_BOUNDS = NasBounds(width=(0.25, 1.5), depth=(0.25, 1.5), resolution=(0.5, 1.5), step=0.25)


def demo_settings(racing: bool = False) -> NasSettings:
    """The demo's NAS settings (module docstring); CLI flags override them as for ``nas``."""
    return NasSettings(
        data=DataSettings("digits"),
        arch=Architecture("senet18", width=0.25, depth=1.0, resolution=0.375),
        train=TrainConfig(batch_size=64, lr=0.2,
                          augment=AugmentConfig(crop_flip=False, autoaugment=False,
                                                cutout=False)),
        budget=DEMO_BUDGET,
        seeds=DEMO_SEEDS,
        baseline_seeds=DEMO_BASELINE_SEEDS,
        bounds=DEMO_BOUNDS,
        search=SearchSettings(searcher="nomad", max_evals=DEMO_EVALS, seed=0),
        racing=RacingRule(enabled=racing, min_seeds=2),
        confirm=ConfirmRule(enabled=True, max_seeds=DEMO_BASELINE_SEEDS),
        resources=ResourceSettings(concurrency=2, cpus_per_seed=1.0, torch_threads=1),
    )


def demo_grid(bounds: NasBounds = DEMO_BOUNDS) -> dict[str, list[float]]:
    """The multipliers the demo can suggest on each axis: the multiples of ``bounds.step`` in
    ``bounds`` (both ends included)."""
    if bounds.step <= 0:
        raise ValueError(f"`bounds.step > 0` must hold for a grid, but got step={bounds.step!r}")
    out = {}
    for name in ("width", "depth", "resolution"):
        low, high = getattr(bounds, name)
        first, last = math.ceil(low / bounds.step - 1e-9), math.floor(high / bounds.step + 1e-9)
        out[name] = [round(i * bounds.step, 6) for i in range(first, last + 1)]
    return out


def run_demo(settings: NasSettings | None = None, run_dir: str | Path | None = None,
             echo: bool = True, *, resume: bool = False) -> NasResult:
    """Run (or with ``resume`` continue) the demo NAS (``settings`` default:
    :func:`demo_settings`); its run directory says ``workflow: demo``."""
    return run_nas(settings or demo_settings(), run_dir, resume=resume, echo=echo,
                   workflow="demo")


def banner(settings: NasSettings) -> str:
    """The line ``hsearch demo`` prints before it starts."""
    return (f"hsearch demo: NAS on digits, {settings.search.max_evals} evaluations of "
            f"{settings.seeds} seeds x {settings.budget.text}, "
            f"{settings.resources.concurrency} at once")
