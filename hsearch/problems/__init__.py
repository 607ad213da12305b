"""Benchmark problems with known optima for testing and comparing searchers.

A :class:`Problem` bundles a Ray Tune search space, a ``config -> metrics`` function, the
objective and constraint metric names (constraints are feasible when ``<= 0``) and the
known optimum, so one object drives NOMAD, Tune searchers and the benchmarks.
"""

from hsearch.problems.analytic import Problem, get_problem, list_problems

__all__ = ["Problem", "get_problem", "list_problems"]
