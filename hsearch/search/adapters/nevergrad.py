"""Tune's NevergradSearch with a seed (built by hsearch.search.factory for ``--searcher
nevergrad``).

A module of its own: importing nevergrad draws from numpy's global random generator, so it must
not be imported when another searcher is built (zoopt, seeded through that generator, would
then propose other points).
"""

from __future__ import annotations

import numpy as np
from ray.tune.search.nevergrad import NevergradSearch

from hsearch.search.adapters.grid_snap import GridSnapMixin

__all__ = ["SeededNevergradSearch"]


class SeededNevergradSearch(GridSnapMixin, NevergradSearch):
    """A NevergradSearch whose optimiser's random state is seeded with ``seed``.

    NevergradSearch has no seed argument; the optimiser draws from its parametrization's random
    state, which nevergrad seeds from numpy's global generator when it is created. Here it is
    replaced by ``RandomState(seed)`` each time the optimiser is set up.
    """

    def __init__(self, seed: int, **kwargs):
        self._seed = seed  # before NevergradSearch.__init__, which may set up the optimiser
        super().__init__(**kwargs)

    def _setup_nevergrad(self):
        super()._setup_nevergrad()
        self._nevergrad_opt.parametrization.random_state = np.random.RandomState(self._seed)
