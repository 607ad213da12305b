"""The comparison suite: problem families, not one instance (``hsearch compare --problem suite``).

One table instance says little: a level whose optimum sits on an edge of the box rewards a
searcher that runs to the cheap corner. Raising the accuracy level moves the optimum inside the
box. The levels below were picked from the shipped 10-seed table's data (every cell known: the
optimum of each level is computed, hsearch.problems.tabular.NasTable.optimum_position), one per
distinct optimum from an edge one to about 0.96, each level strictly between two mean accuracies
present in the table, so that no cell sits exactly on a threshold (the baseline's level is its
own 20-seed mean, which only the baseline network has):

    level     feasible cells  optimum (w, d, r)   macs_ratio  position
    0.9447    79              0.75, 0.25, 0.75    0.2474      inside along width, resolution
    0.9       247             0.5, 0.25, 0.5      0.0453      inside along width only (edge)
    0.935     144             0.5, 0.25, 0.75     0.0966      inside along width, resolution
    0.9408    101             0.5, 0.75, 0.875    0.2198      inside along every axis
    0.959       6             1.0, 0.25, 0.875    0.3933      inside along width, resolution

("inside" along an axis: moving it to either bound builds another network; depth 0.25 and 0.5
build the same network at these widths.) The suite adds the analytic problems
(hsearch.problems: g06, g04, pressure_vessel, g07), whose optima are known from the literature,
and each table level twice more with noise (hsearch.compare.noisy: SUITE_SEEDS seeds drawn per
evaluation), without and with the workflows' confirmation.
A table other than the shipped one (``--table``) gives the suite its baseline instance only,
since the levels above are this table's.
"""

from __future__ import annotations

__all__ = ["SUITE_MAX_SEEDS", "SUITE_SEEDS", "TABULAR_LEVELS"]

#: The shipped table's instances: absolute mean-accuracy levels (None: the baseline's); the
#: suite's problems are built from them by :func:`hsearch.compare.protocol.suite_specs`.
TABULAR_LEVELS = (None, 0.9, 0.935, 0.9408, 0.959)
#: Seeds per evaluation of the suite's noisy instances (hsearch.compare.noisy): the demo's K.
SUITE_SEEDS = 4
#: Seeds a confirmed evaluation may reach on the noisy instances: the shipped table's per network.
SUITE_MAX_SEEDS = 10
