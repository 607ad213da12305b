"""Tune's ZOOptSearch with two fixes (built by hsearch.search.factory for ``--searcher zoopt``)."""

from __future__ import annotations

from ray.tune.search.zoopt import ZOOptSearch

__all__ = ["SequentialSafeZOOptSearch"]


class SequentialSafeZOOptSearch(ZOOptSearch):
    """ZOOptSearch with two fixes for Ray 2.60 + zoopt 0.4.2 (both seen in hsearch compare).

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
    """

    def _setup_zoopt(self):
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
