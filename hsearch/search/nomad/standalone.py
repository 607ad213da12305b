"""A plain ``PyNomad.optimize`` run in a child process: the reference for fidelity checks."""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hsearch.search.nomad.process import NomadChild
from hsearch.search.nomad.settings import Evaluation, MadsSettings, NomadError

__all__ = ["StandaloneRun", "run_standalone"]


@dataclass(frozen=True)
class StandaloneRun:
    """A plain ``PyNomad.optimize`` run: its evaluations in order and NOMAD's result dict."""

    history: list[Evaluation]
    result: dict[str, Any]

    def best_feasible(self, max_evals: int | None = None) -> float | None:
        """Best feasible objective among the first ``max_evals`` evaluations."""
        best = None
        for e in self.history[:max_evals]:
            if e.status == "ok" and all(c <= 0.0 for c in e.outputs[1:]):
                best = e.outputs[0] if best is None else min(best, e.outputs[0])
        return best


def run_standalone(settings: MadsSettings, blackbox: Callable[[np.ndarray], Sequence[float] | None],
                   timeout: float = 600.0, known: Callable[[np.ndarray], float] | None = None,
                   ) -> StandaloneRun:
    """Run ``PyNomad.optimize`` (NOMAD run 0 of ``settings``: same lines, seed, block size and
    x0 as :class:`~hsearch.search.nomad.MadsAskTell`) with a callback that calls ``blackbox``
    directly, in its own fresh process (``blackbox`` and ``known`` must be picklable there).
    ``blackbox(x)`` returns ``[f, c_1..c_m]`` or None (failed). ``known(x)``: NOMAD's static
    surrogate (``f = known(x)``, constraints 0), as the core gives it; no screening here.
    The run is one NOMAD run of ``settings.nomad_max_bb_eval`` evaluations (no restarts).
    """
    child_settings = {"params": settings.nomad_lines(0, surrogate=known is not None),
                      "x0": [list(p) for p in settings.x0], "lower": list(settings.lower),
                      "upper": list(settings.upper),
                      "evaluator": pickle.dumps(_ListBlackbox(blackbox))}
    if known is not None:
        child_settings["surrogate"] = pickle.dumps(
            _ListBlackbox(_KnownOutputs(known, settings.n_constraints)))
    child = NomadChild(child_settings)
    try:
        message = child.receive(timeout)
        if message is None:
            raise TimeoutError(f"standalone NOMAD run did not finish within {timeout} s")
        if message[0] != "done":
            raise NomadError(f"standalone NOMAD run failed: {message[1]}\n{child.tail()}")
        _, result, history = message
    except EOFError as exc:
        raise NomadError(f"standalone NOMAD run died: {exc}\n{child.tail()}") from exc
    finally:
        child.close()
    evaluations = []
    for point, line in history:
        outputs = None if line is None else tuple(float(v) for v in line.split())
        evaluations.append(Evaluation(tuple(point), outputs, "ok" if outputs else "failed"))
    return StandaloneRun(evaluations, result)


class _KnownOutputs:
    """``known(x)`` as a surrogate's outputs: ``[known(x), 0, ..., 0]``."""

    def __init__(self, known, n_constraints: int):
        self.known, self.n_constraints = known, n_constraints

    def __call__(self, x):
        return [float(self.known(x))] + [0.0] * self.n_constraints


class _ListBlackbox:
    """Adapts ``blackbox(np.ndarray)`` to the child's ``evaluator(list)`` convention."""

    def __init__(self, blackbox):
        self.blackbox = blackbox

    def __call__(self, point: list[float]):
        out = self.blackbox(np.array(point))
        if out is None:
            return None
        out = [float(v) for v in np.asarray(out, dtype=float).reshape(-1)]
        return out if all(math.isfinite(v) for v in out) else None
