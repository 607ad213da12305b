"""Tune's BayesOptSearch that survives an errored trial (built by hsearch.search.factory for
``--searcher bayesopt``)."""

from __future__ import annotations

from ray.tune.search.bayesopt import BayesOptSearch

from hsearch.search.adapters.grid_snap import GridSnapMixin

__all__ = ["ErrorTolerantBayesOptSearch"]


class ErrorTolerantBayesOptSearch(GridSnapMixin, BayesOptSearch):
    """BayesOptSearch whose random phase does not end short of its results (Ray 2.60).

    BayesOptSearch suggests ``random_search_steps`` random trials, buffers their results and fits
    its model once all of them are in. An errored trial (an OOM, a crash) counted among the random
    trials but never reached the buffer: ``suggest`` then returned None forever (Tune waits
    forever). Here an errored random trial gives its place back, so another random trial replaces
    it (found by tests/search/test_searcher_contract.py).
    """

    def on_trial_complete(self, trial_id: str, result=None, error: bool = False) -> None:
        in_random_phase = len(self._buffered_trial_results) < self.random_search_trials
        if ((error or result is None) and trial_id in self._live_trial_mapping
                and in_random_phase and self._total_random_search_trials > 0):
            self._total_random_search_trials -= 1
        super().on_trial_complete(trial_id, result, error)
