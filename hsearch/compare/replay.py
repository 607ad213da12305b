"""Replay: drive a Tune ``Searcher`` against a problem with a simulated clock and worker pool.

A real Tune run spends its time training; a replay answers each trial at once from the problem
(the tabular NAS: the table) and only *accounts* for the time, so one repetition of a 60-evaluation
search takes a second or less instead of an hour, with the same Searcher objects Tune would call.

:class:`ReplayBackend` is the simulated cluster: ``concurrency`` workers; a trial started at
simulated time ``t`` finishes at ``t + cost``, where ``cost`` is the problem's cost metric (the
tabular problem: the recorded training seconds of the cell, summed over its seeds; problems
without one: 1 time unit per evaluation). Trials finish in order of their finish times (ties: in
start order). A *free* trial (hsearch.compare.free: a duplicate network or a screened point)
costs 0 and finishes at once.

:func:`replay_run` is Tune's control loop, reduced to what a searcher sees: while a worker is free
and fewer than ``budget`` *trained* evaluations have started, ask ``suggest``, classify the point
(:class:`hsearch.compare.free.CostRule`, the same rule for every searcher) and start it; then let
the earliest trial finish and call ``on_trial_complete`` with its (flattened) result. Free points
do not count against the budget, so a searcher that keeps proposing them could run forever: at
most ``max_proposals`` suggestions (default 10 x budget) are taken, then the run ends
("proposal_cap"). When nothing reported can change any more (``CostRule.settled``: the exact
optimum found, or every point free), the run ends as well ("optimum", "exhausted"), checked
before every suggestion, also while trials run (a searcher proposing free points around a found
optimum must not run into the cap). A ``None`` from ``suggest`` with trials running means "wait
for a result"; with nothing running the call is retried (NOMAD may still be computing its next
block: a Tune run would wait as well) for at most ``stall_seconds`` of wall time, after which the
run ends ("stalled").
``Searcher.FINISHED`` ends the suggestions ("finished"). The wall time spent inside ``suggest``
and ``on_trial_complete`` is recorded per evaluation: the searcher's overhead, which the simulated
clock does not include. Time in ``suggest`` calls that gave no trial counts towards the next
trial's ``suggest_seconds``, and after the last one (e.g. NOMAD deciding that it has converged)
as the last record's ``end_seconds``.
"""

from __future__ import annotations

import heapq
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hsearch.compare.free import TRAINED, CostRule

__all__ = ["ReplayBackend", "ReplayRun", "replay_run"]


@dataclass(order=True)
class _Running:
    finish: float
    order: int
    trial_id: str = field(compare=False)
    config: dict = field(compare=False)
    evaluated: dict = field(compare=False)
    metrics: dict = field(compare=False)
    start: float = field(compare=False)
    cost: float = field(compare=False)
    kind: str = field(compare=False)


class ReplayBackend:
    """A simulated pool of ``concurrency`` workers answering from ``evaluate`` (module docstring).

    Args:
        evaluate: ``config -> metrics`` (the problem's evaluate).
        concurrency: workers.
        cost_metric: metric holding an evaluation's duration in seconds (None: ``unit_cost``).
        unit_cost: duration of an evaluation when there is no cost metric.
    """

    def __init__(self, evaluate: Callable[[Mapping[str, Any]], dict], concurrency: int = 1,
                 cost_metric: str | None = None, unit_cost: float = 1.0):
        if concurrency < 1:
            raise ValueError(f"`concurrency >= 1` must hold, but got concurrency={concurrency}")
        if not (math.isfinite(unit_cost) and unit_cost >= 0):
            raise ValueError(f"`unit_cost >= 0` must hold, but got unit_cost={unit_cost}")
        self.evaluate = evaluate
        self.concurrency = int(concurrency)
        self.cost_metric = cost_metric
        self.unit_cost = float(unit_cost)
        self.clock = 0.0
        self._heap: list[_Running] = []
        self._started = 0

    @property
    def running(self) -> int:
        """Trials in flight."""
        return len(self._heap)

    @property
    def free(self) -> bool:
        """True when a worker is idle."""
        return len(self._heap) < self.concurrency

    def start(self, trial_id: str, config: Mapping[str, Any],
              evaluated: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
              kind: str = TRAINED) -> float:
        """Start a trial now on a free worker; returns its simulated finish time.

        ``evaluated`` is the config actually evaluated when it differs from the suggestion
        (rounded to the grid); the suggestion is kept for the searcher. ``metrics``: the answer
        (None: ``evaluate(evaluated)``). ``kind``: ``"trained"`` costs its time, any other kind
        (a free point) costs 0.
        """
        if not self.free:
            raise RuntimeError(f"no free worker: {self.concurrency} trials are running")
        point = dict(evaluated if evaluated is not None else config)
        metrics = dict(self.evaluate(point) if metrics is None else metrics)
        if kind != TRAINED:
            cost = 0.0
        elif self.cost_metric:
            cost = float(metrics[self.cost_metric])
        else:
            cost = self.unit_cost
        run = _Running(self.clock + cost, self._started, trial_id, dict(config), point, metrics,
                       self.clock, cost, kind)
        self._started += 1
        heapq.heappush(self._heap, run)
        return run.finish

    def finish_next(self) -> _Running:
        """Advance the clock to the earliest finish and return that trial."""
        if not self._heap:
            raise RuntimeError("no trial is running")
        run = heapq.heappop(self._heap)
        self.clock = run.finish
        return run


@dataclass
class ReplayRun:
    """What one replayed search did: one record per finished evaluation (trained or free), in
    finish order, and why it ended ("budget", "finished", "stalled", "proposal_cap",
    "optimum", "exhausted")."""

    records: list[dict]
    stop_reason: str
    wall_seconds: float


def replay_run(searcher, backend: ReplayBackend, budget: int,
               result_of: Callable[[dict], dict],
               prepare: Callable[[dict], dict] | None = None,
               stall_seconds: float = 300.0, rule: CostRule | None = None,
               max_proposals: int | None = None) -> ReplayRun:
    """Drive ``searcher`` (a Tune Searcher, set up) for ``budget`` trained evaluations (module
    docstring).

    ``result_of(metrics)`` turns an evaluation's metrics into the result the searcher is told
    (e.g. adding the penalised objective); ``prepare(config)`` maps a suggestion to the config
    evaluated (e.g. rounding relaxed domains); both default to the identity. ``rule``: the
    free-point rule (None: every point is trained). ``max_proposals``: suggestions taken at
    most (None: 10 x budget).
    """
    from ray.tune.search import Searcher
    from ray.tune.utils.util import flatten_dict

    cap = 10 * budget if max_proposals is None else int(max_proposals)
    started_wall = time.perf_counter()
    records: list[dict] = []
    overhead: dict[str, float] = {}
    unclaimed = 0.0  # time in suggest calls that gave no trial: charged to the next one
    trained = proposals = 0
    ids = 0  # like Tune, every suggest call gets a fresh trial id (None discards it)
    finished = False
    stop = "budget"
    while True:
        while not finished and backend.free and trained < budget:
            # settled depends on reported results only: running trials cannot change it
            settled = rule.settled() if rule is not None else None
            if settled:
                finished, stop = True, settled
                break
            if proposals >= cap:
                finished, stop = True, "proposal_cap"
                break
            trial_id = f"t{ids:05d}"
            ids += 1
            config, spent = _timed(searcher.suggest, trial_id)
            if config is None and not backend.running:
                config, waited = _timed(_retry, searcher, trial_id, stall_seconds)
                spent += waited
                if config is None:
                    finished, stop = True, "stalled"
            if config is None or config == Searcher.FINISHED:
                unclaimed += spent
                if config == Searcher.FINISHED:
                    finished, stop = True, "finished"
                break  # finished, stalled, or waiting for a result
            overhead[trial_id] = spent + unclaimed
            unclaimed = 0.0
            evaluated = prepare(config) if prepare else config
            metrics = backend.evaluate(dict(evaluated))
            kind, told = rule.classify(evaluated, metrics) if rule else (TRAINED, metrics)
            backend.start(trial_id, config, evaluated, told, kind)
            proposals += 1
            trained += kind == TRAINED
        if not backend.running:
            break
        run = backend.finish_next()
        if rule is not None:
            rule.finished(run.kind, run.metrics)
        result = dict(result_of(run.metrics))
        result.update(training_iteration=1, time_total_s=run.cost, trial_id=run.trial_id,
                      config=dict(run.config))
        _, spent = _timed(searcher.on_trial_complete, run.trial_id, flatten_dict(result))
        records.append({
            "trial_id": run.trial_id, "config": run.config, "evaluated": run.evaluated,
            "metrics": run.metrics, "result": result, "start": run.start, "finish": run.finish,
            "cost": run.cost, "kind": run.kind,
            "suggest_seconds": overhead.pop(run.trial_id, 0.0), "complete_seconds": spent,
            "end_seconds": 0.0,
        })
    if records:
        # the searcher's time after its last suggestion (e.g. deciding that it has converged)
        records[-1]["end_seconds"] = unclaimed
    return ReplayRun(records, stop, time.perf_counter() - started_wall)


def _timed(fn, *args):
    t0 = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t0


def _retry(searcher, trial_id: str, stall_seconds: float):
    """Ask again while nothing runs (NOMAD computing its next block); None after the deadline."""
    from ray.tune.search import Searcher

    deadline = time.perf_counter() + stall_seconds
    while time.perf_counter() < deadline:
        time.sleep(0.01)
        config = searcher.suggest(trial_id)
        if config is not None:  # a config or Searcher.FINISHED
            return config
    return None
