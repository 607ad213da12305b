"""The comparison suite: problem families, not one instance (``hsearch compare --problem suite``).

One table instance says little: on the shipped table at the baseline's accuracy the optimum is
the cheapest feasible network on an edge of the box (smallest depth and resolution), which
rewards a searcher that runs to the cheap corner. Raising the accuracy level moves the optimum
inside the box. The levels below were picked from the table's data (every cell known: the
optimum of each level is computed, hsearch.problems.tabular.NasTable.optimum_position), one per
distinct optimum between the baseline's 0.9217 and about 0.96, each level strictly between two
mean accuracies present in the table, so that no cell sits exactly on a threshold:

    level     feasible cells  optimum (w, d, r)   macs_ratio  position
    0.9217    196             0.5, 0.25, 0.5      0.0453      inside along width only (edge)
    0.935     136             0.5, 0.25, 0.75     0.0966      inside along width, resolution
    0.946      81             0.5, 0.75, 0.875    0.2198      inside along every axis
    0.952      38             0.75, 0.25, 0.75    0.2474      inside along width, resolution
    0.957      15             1.0, 0.25, 1.0      0.4590      inside along width, resolution

("inside" along an axis: moving it to either bound builds another network; depth 0.25 and 0.5
build the same network at these widths.) The suite adds the analytic problems
(hsearch.problems: g06, g04, pressure_vessel, g07), whose optima are known from the literature.
A table other than the shipped one (``--table``) gives the suite its baseline instance only,
since the levels above are this table's.
"""

from __future__ import annotations

__all__ = ["SUITE_SEEDS", "TABULAR_LEVELS"]

#: The shipped table's instances: absolute mean-accuracy levels (None: the baseline's); the
#: suite's problems are built from them by :func:`hsearch.compare.protocol.suite_specs`.
TABULAR_LEVELS = (None, 0.935, 0.946, 0.952, 0.957)
#: Seeds per evaluation of the suite's noisy instances (hsearch.compare.noisy): the demo's K.
SUITE_SEEDS = 4
