"""Ray Tune searchers of other libraries, fixed to hold the searcher contract (built by
:mod:`hsearch.search.factory`, which imports each module only when its searcher is built):
``optuna_constrained``, ``ax``, ``bayesopt``, ``bohb``, ``hebo``, ``nevergrad``, ``zoopt``,
and ``grid_snap`` (suggestions rounded back onto the grid of quantized domains).
"""
