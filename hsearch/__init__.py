"""hsearch: constrained neural architecture search and hyperparameter optimisation
under tight training budgets, with NOMAD's MADS as a Ray Tune searcher."""

__version__ = "0.1.0"
