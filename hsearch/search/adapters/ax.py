"""Tune's AxSearch that starts from a point of the searched variables when others are constants
(built by hsearch.search.factory for ``--searcher ax``)."""

from __future__ import annotations

from ray.tune.search.ax import AxSearch

from hsearch.search.adapters.grid_snap import GridSnapMixin

__all__ = ["FixedAwareAxSearch"]


class FixedAwareAxSearch(GridSnapMixin, AxSearch):
    """AxSearch whose start points get the space's constants (Ray 2.60, ax-platform 0.x).

    AxSearch turns a constant of the Tune space (``hsearch nas`` with a bound low == high) into a
    fixed parameter of Ax's space but attaches a start point as given; Ax refuses a point without
    the fixed parameter (``ValueError: Parameterization has parameters ...``), so the search
    failed at its first suggestion. Here each start point is completed with the constants before
    it is attached (found by tests/search/test_searcher_contract.py).
    """

    def suggest(self, trial_id: str):
        if self._points_to_evaluate and isinstance(self._space, list):
            fixed = {p["name"]: p["value"] for p in self._space
                     if isinstance(p, dict) and p.get("type") == "fixed"}
            self._points_to_evaluate[0] = {**fixed, **self._points_to_evaluate[0]}
        return super().suggest(trial_id)
