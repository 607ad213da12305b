"""Tune's ZOOptSearch with four fixes (built by hsearch.search.factory for ``--searcher zoopt``)."""

from __future__ import annotations

import math

import numpy as np
from ray.tune.search.zoopt import ZOOptSearch

from hsearch.search.adapters.grid_snap import GridSnapMixin

__all__ = ["SequentialSafeZOOptSearch"]


class SequentialSafeZOOptSearch(GridSnapMixin, ZOOptSearch):
    """ZOOptSearch with four fixes for Ray 2.60 + zoopt 0.4.2 (1-2 seen in hsearch compare, 3-4
    in the searcher contract test, tests/search/test_searcher_contract.py).

    1. One trial at a time deadlocked: ZOOpt's ``SRacosTune.suggest`` closes a gate
       (``semaphore = 0``) when it is asked for one point more than its initial sample and reopens
       it when the initial sample's last result arrives. With one trial at a time that result has
       arrived *before* the extra ask, so the gate closed for good: ``suggest`` returned None
       forever (Tune waits forever) after ``train_size`` evaluations. When nothing is running and
       the whole initial sample is complete, the gate is reopened and the point asked again.
    2. ``points_to_evaluate`` crashed the sampler: Ray hands them to ZOOpt as ``Solution``s whose
       ``x`` is a tuple; when such a point is the best so far, ZOOpt's classifier copies its ``x``
       and assigns into it (``TypeError: 'tuple' object does not support item assignment``).
       The initial samples get list coordinates instead.
    3. An errored trial (no result) was dropped: SRacos waited for that solution forever and
       ``suggest`` returned None forever. It is completed as the worst value (+inf; ZOOpt
       minimises), so the search goes on around it.
    4. ``seed`` was passed on to ZOOpt's optimiser, which ignores it: ZOOpt draws from numpy's
       global generator. That generator is seeded with ``seed`` when the optimiser is set up (as
       ZOOpt's own ``Parameter(seed=...)`` would), so the seed decides the run.
    """

    def __init__(self, *args, seed: int | None = None, **kwargs):
        self._seed = seed  # before ZOOptSearch.__init__, which may set up the optimiser
        super().__init__(*args, **kwargs)

    def _setup_zoopt(self):
        if self._seed is not None:
            np.random.seed(self._seed)
        super()._setup_zoopt()
        parameter = getattr(getattr(self, "optimizer", None), "_parameter", None)
        for solution in (parameter.get_init_samples() or []) if parameter else []:
            solution.set_x(list(solution.get_x()))

    def suggest(self, trial_id: str):
        config = super().suggest(trial_id)
        opt = getattr(self, "optimizer", None)
        if (config is None and not self._live_trial_mapping
                and getattr(opt, "semaphore", 1) == 0
                and opt.complete_num >= opt._parameter.get_train_size()):
            opt.semaphore = 1
            config = super().suggest(trial_id)
        return config

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False):
        if (error or not result) and str(trial_id) in getattr(self, "solution_dict", {}):
            self.optimizer.complete(self.solution_dict[str(trial_id)], math.inf)
            del self._live_trial_mapping[trial_id]
            return
        super().on_trial_complete(trial_id, result, error)
