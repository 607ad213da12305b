"""Search layer: NOMAD's MADS as a Ray Tune searcher, and the pieces it is made of.

* :class:`NomadSearcher` -- the Tune ``Searcher`` (constraints, concurrency, restore).
* :class:`MadsAskTell` / :class:`MadsSettings` -- the MADS core, ask/tell, no Ray needed
  (package :mod:`hsearch.search.nomad`).
* :class:`SpaceCodec` -- Tune search space <-> NOMAD vectors (bounds, types, granularity).
* :func:`at_least` / :func:`at_most` / :class:`Constraint` -- constraints without sign
  conventions (``"acc >= 0.93"`` strings work too).
* :mod:`hsearch.search.adapters` -- Tune searchers of other libraries, fixed;
  :mod:`hsearch.search.factory` -- every searcher by name.

Importing this package does not import Ray: :class:`NomadSearcher` (which does) is imported on
first use of the name.
"""

from typing import Any

from hsearch.search.constraints import Constraint, at_least, at_most, parse_constraint
from hsearch.search.evaluation_records import EvaluationRecord
from hsearch.search.nomad import MadsAskTell, MadsSettings, NomadError, run_standalone
from hsearch.search.space import SpaceCodec

__all__ = [
    "Constraint",
    "EvaluationRecord",
    "MadsAskTell",
    "MadsSettings",
    "NomadError",
    "NomadSearcher",
    "SpaceCodec",
    "at_least",
    "at_most",
    "parse_constraint",
    "run_standalone",
]


def __getattr__(name: str) -> Any:
    if name == "NomadSearcher":
        from hsearch.search.nomad_searcher import NomadSearcher  # imports ray: on first use

        globals()[name] = NomadSearcher
        return NomadSearcher
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
