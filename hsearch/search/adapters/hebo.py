"""Tune's HEBOSearch on the grid of quantized domains (built by hsearch.search.factory for
``--searcher hebo``): Ray's wrapper drops the step, :class:`GridSnapMixin` puts it back.

HEBO cannot be installed beside this project's numpy (its releases pin ``numpy<1.25``), so this
class has not run here; the contract test covers it wherever HEBO is installed.
"""

from __future__ import annotations

from ray.tune.search.hebo import HEBOSearch

from hsearch.search.adapters.grid_snap import GridSnapMixin

__all__ = ["GridHEBOSearch"]


class GridHEBOSearch(GridSnapMixin, HEBOSearch):
    """HEBOSearch whose suggestions lie on the grid of ``tune.quniform``/``qrandint`` domains."""
