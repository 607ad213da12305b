"""Search layer: NOMAD's MADS as a Ray Tune searcher, and the pieces it is made of.

* :class:`NomadSearcher` -- the Tune ``Searcher`` (constraints, concurrency, restore).
* :class:`MadsAskTell` / :class:`MadsSettings` -- the MADS core, ask/tell, no Ray needed.
* :class:`SpaceCodec` -- Tune search space <-> NOMAD vectors (bounds, types, granularity).
* :func:`at_least` / :func:`at_most` / :class:`Constraint` -- constraints without sign
  conventions (``"acc >= 0.93"`` strings work too).
"""

from hsearch.search.constraints import Constraint, at_least, at_most, parse_constraint
from hsearch.search.mads import MadsAskTell, MadsSettings, NomadError, run_standalone
from hsearch.search.nomad_searcher import EvaluationRecord, NomadSearcher
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
