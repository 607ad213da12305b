"""Benchmark NOMAD against Tune's searchers under one protocol (``hsearch compare``).

Same budget of trained evaluations, search space, starting point (x0) and concurrency for every
searcher, ``repeats`` runs each with different searcher seeds; searchers without constraint
support minimise one documented penalised objective (hsearch.compare.protocol). Duplicate networks
and screened points are free for every searcher (hsearch.compare.free). Replayed problems (the
tabulated NAS benchmark at several accuracy levels, hsearch.problems.tabular, and the analytic
ones; together the suite, hsearch.compare.suite) run every repetition as a Ray task on a simulated
clock (hsearch.compare.replay, driven by hsearch.compare.replayed); the real NAS problem runs
``hsearch nas`` per repetition (hsearch.compare.real); hsearch.compare.run dispatches between the
two. Outputs: runs.csv, summary.md/.json, comparison.json and PNGs per problem
(hsearch.compare.outputs), a suite summary on top (hsearch.compare.suite_summary); result sets of
one protocol can be merged (hsearch.compare.merge)::

    from hsearch.compare import CompareSettings, run_comparison

    settings = CompareSettings(problem="tabular", searchers=("nomad", "random", "optuna"),
                               budget=60, repeats=10)
    result = run_comparison(settings, "runs/compare")
    print(result.summary)

Imports are lazy: ``import hsearch.compare`` does not import Ray.
"""

from __future__ import annotations

import importlib

__all__ = ["CompareSettings", "ComparisonResult", "InfeasibleRule", "list_compare_problems",
           "read_runs", "run_comparison", "summarize"]

_WHERE = {
    "CompareSettings": "hsearch.compare.protocol",
    "InfeasibleRule": "hsearch.compare.protocol",
    "list_compare_problems": "hsearch.compare.protocol",
    "ComparisonResult": "hsearch.compare.outputs",
    "read_runs": "hsearch.compare.outputs",
    "run_comparison": "hsearch.compare.run",
    "summarize": "hsearch.compare.summary",
}


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'hsearch.compare' has no attribute {name!r}")
