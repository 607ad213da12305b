"""Results layer: what a run leaves on disk and how it is read back.

``EvaluationLog`` keeps ``evaluations.csv`` and ``best.json`` of a run directory, rewritten
atomically after every evaluation; ``plots`` draws search progress and the accuracy/cost Pareto
front from those rows; ``SearchProgressWriter`` mirrors the search in TensorBoard. ``counts``
says how evaluations ended (by status); ``feasibility`` decides ``mean accuracy >= threshold``
for every layer (exact mean, ``acc_gap`` exactly 0 at the threshold).
"""

from hsearch.results.counts import outcome_counts, status_counts
from hsearch.results.feasibility import accuracy_gap, mean_accuracy, meets_threshold
from hsearch.results.plots import pareto_front, plot_pareto, plot_progress
from hsearch.results.store import EvaluationLog, best_row, is_finite_number, read_rows
from hsearch.results.tensorboard import SearchProgressWriter

__all__ = [
    "EvaluationLog",
    "SearchProgressWriter",
    "accuracy_gap",
    "best_row",
    "is_finite_number",
    "mean_accuracy",
    "meets_threshold",
    "outcome_counts",
    "pareto_front",
    "plot_pareto",
    "plot_progress",
    "read_rows",
    "status_counts",
]
