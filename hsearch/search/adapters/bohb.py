"""Tune's TuneBOHB on the grid of quantized domains (built by hsearch.search.factory for
``--searcher bohb``): Ray's wrapper drops the step, :class:`GridSnapMixin` puts it back."""

from __future__ import annotations

from ray.tune.search.bohb import TuneBOHB

from hsearch.search.adapters.grid_snap import GridSnapMixin

__all__ = ["GridBOHB"]


class GridBOHB(GridSnapMixin, TuneBOHB):
    """TuneBOHB whose suggestions lie on the grid of ``tune.quniform``/``qrandint`` domains."""
