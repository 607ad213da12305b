"""Results layer: what a run leaves on disk and how it is read back.

``EvaluationLog`` keeps ``evaluations.csv`` and ``best.json`` of a run directory, rewritten
atomically after every evaluation; ``plots`` draws search progress and the accuracy/cost Pareto
front from those rows; ``SearchProgressWriter`` mirrors the search in TensorBoard.
"""

from hsearch.results.plots import pareto_front, plot_pareto, plot_progress
from hsearch.results.store import EvaluationLog, best_row, is_finite_number, read_rows
from hsearch.results.tensorboard import SearchProgressWriter

__all__ = [
    "EvaluationLog",
    "SearchProgressWriter",
    "best_row",
    "is_finite_number",
    "pareto_front",
    "plot_pareto",
    "plot_progress",
    "read_rows",
]
