"""NOMAD's MADS as an ask/tell object that needs no Ray (:class:`MadsAskTell`).

Contract: each NOMAD run is ``PyNomad.optimize`` in its own child process (``child.py``,
driven through ``process.py``) evaluating blocks of points; ``ask`` hands out a block's
points without blocking, ``tell`` records their results, and a complete block goes back to
NOMAD. Beside NOMAD's points, the model search step (``model_search.py``, on unless
``settings.model_search`` is False) proposes its own: its ``points_per_poll`` after each NOMAD
point when one trial runs at a time, and as many as workers are free while NOMAD's block waits
for its running points when several run (a batch poll); when one of its points improves the
best feasible one, NOMAD restarts from it once its current block is told. NOMAD learns of the
step's points from the log, like any cached point. ``max_evals`` counts trained evaluations
only: points NOMAD asks for that are in the log, duplicates of a trained network or screened by
the known objective (``answers.py``) are answered without training; points beyond the budget
are "skipped". When a NOMAD run stops with budget left, another starts (``restarts.py``). Runs
are deterministic given the told results, so save/restore (``state.py``) and a dead child are
recovered by replaying the log.
Why it is built this way, and the defaults: ``docs/search-nomad.md``.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Container, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from hsearch.search.nomad import state
from hsearch.search.nomad.answers import FreeAnswers, constraint_estimate
from hsearch.search.nomad.model_search import ModelSearch
from hsearch.search.nomad.process import NomadChild
from hsearch.search.nomad.restarts import restart_points, stop_reason
from hsearch.search.nomad.settings import Evaluation, MadsSettings, NomadError, fmt, nomad_seed

logger = logging.getLogger(__name__)

__all__ = ["MadsAskTell"]

#: A NOMAD run is ended (and the search restarted) after this many answers in a row that
#: needed no training: at its minimum frame NOMAD re-polls known points for up to MAX_EVAL
#: evaluations, a pipe round trip each (a decision that took seconds:
#: experiments/results/mads_block_mode.md).
FREE_STREAK_LIMIT = 60
#: One trial at a time: the model search step proposes its ``points_per_poll`` points in a row
#: after every MODEL_EVERY of NOMAD's (experiments/results/mads_model_search.md).
MODEL_EVERY = 1

Key = tuple[float, ...]


@dataclass(frozen=True)
class _TakenWithNetworks:
    """Taken points, and every point of a network that a trained or handed-out point stands
    for."""
    keys: frozenset
    first_of_network: Callable[[Key], Key | None]

    def __contains__(self, key: Key) -> bool:
        return key in self.keys or self.first_of_network(key) is not None


@dataclass
class _Block:
    seq: int
    points: list[Key]
    lines: dict[Key, str | None] = field(default_factory=dict)


class MadsAskTell:
    """NOMAD's MADS driven by ``ask``/``tell``, without Ray and without blocking.

    >>> core = MadsAskTell(MadsSettings(lower=(0, 0), upper=(1, 1), x0=((0.5, 0.5),),
    ...                                 max_evals=20))
    >>> while not core.finished:
    ...     points = core.ask(timeout=1.0)
    ...     core.tell(points, [[float(np.sum((p - 0.3) ** 2))] for p in points])
    >>> core.close()

    ``ask(max_points, timeout)`` returns new points (1-d arrays) to evaluate -- possibly
    none while NOMAD computes or while handed-out points of the block are still running.
    ``tell(points, values)`` takes, per point, ``[objective, c_1..c_m]`` (minimised,
    constraints feasible when ``<= 0``) or ``None`` for a failed evaluation; non-finite
    values count as failed. :attr:`finished` becomes True when the search stopped and every
    handed-out point was told; :attr:`stop_reason` says why.

    The object pickles as its :meth:`state_dict` (no process, no pipe, no callables);
    unpickling or :meth:`from_state` resumes by replay on the next ``ask`` (``state.py``);
    pass ``known``/``network_key`` again with :meth:`from_state`.

    Args:
        settings: the search.
        known: exact, cheap ``x -> objective`` (minimised, as told), or None: NOMAD's static
            surrogate and screening (``answers.py``). May return None (unknown).
        network_key: ``x -> hashable``: points with equal keys are one evaluation
            (duplicates are answered with the first one's outputs, untrained).
        max_restarts: how many times a dead child is replaced (by replay) before the run
            is declared finished.
        replay_timeout: seconds ``ask`` may wait for NOMAD's next block while it is
            answering blocks from the log (each takes milliseconds); bounds the time
            any single ``ask`` spends replaying.
    """

    def __init__(self, settings: MadsSettings, *, known: Callable[[np.ndarray], float] | None = None,
                 network_key: Callable[[np.ndarray], Hashable] | None = None,
                 max_restarts: int = 3, replay_timeout: float = 10.0):
        if not isinstance(settings, MadsSettings):
            raise TypeError(f"`settings` must be MadsSettings, but got {type(settings)}")
        self.settings = settings
        self._free = FreeAnswers(known, network_key)
        self.max_restarts = int(max_restarts)
        self.replay_timeout = float(replay_timeout)
        self._log: list[Evaluation] = []
        self._answers: dict[Key, str | None] = {}
        self._run_of: dict[Key, int] = {}  # NOMAD run that first logged a point
        self._handed: dict[Key, None] = {}  # ordered set
        self._queue: list[Key] = []
        self._block: _Block | None = None
        self._child: NomadChild | None = None
        self._spare: NomadChild | None = None  # started ahead for the next NOMAD run
        self._finished = False
        self._result: dict[str, Any] | None = None
        self._restarts = 0
        self._stop_reason = ""
        self._replayed = 0  # answers of the current NOMAD run served from the log
        self._free_streak = 0  # answers in a row of the current child that trained nothing
        self._replay_target = 0  # the current run's log length when the child started
        self._block_sizes: list[int] = []
        # NOMAD runs: run 0 starts from settings.x0, later ones from the log (see _next_run)
        self._runs: list[dict[str, Any]] = [{"x0": [list(p) for p in settings.x0],
                                             "why": "start"}]
        self._empty_runs = 0
        self._trained_keys: set[Key] = set()
        self._pos: dict[Key, int] = {}  # first log position of a point
        self._visible = 0  # log entries NOMAD had been told of (see _estimate)
        # the model search step: its handed-out points, those given back, whose turn it is
        self._model = ModelSearch(settings) if settings.model_search else None
        self._model_handed: dict[Key, None] = {}
        self._model_requeued: list[Key] = []
        self._since_model = 0  # NOMAD points handed out since the step's last turn
        self._model_streak = 0  # the step's points handed out in its current turn
        self._restart_due = False  # the step improved the best point: restart NOMAD from it

    # --- public API --------------------------------------------------------------------

    @property
    def known(self) -> Callable[[np.ndarray], float] | None:
        """The known objective (``x -> objective``), or None."""
        return self._free.known

    @known.setter
    def known(self, function: Callable[[np.ndarray], float] | None) -> None:
        self._free.known = function

    @property
    def network_key(self) -> Callable[[np.ndarray], Hashable] | None:
        """``x -> hashable`` identifying a point's network, or None."""
        return self._free.network_key

    @network_key.setter
    def network_key(self, function: Callable[[np.ndarray], Hashable] | None) -> None:
        self._free.network_key = function

    @property
    def finished(self) -> bool:
        """True once the search stopped and nothing is handed out."""
        return self._finished and not self._handed

    @property
    def nomad_finished(self) -> bool:
        """True once no more points will be handed out (some may still be running)."""
        return self._finished

    @property
    def result(self) -> dict[str, Any] | None:
        """The last NOMAD run's result dict (``x_best_feas``, ``run_flag``, ``stop_reason``...);
        None when the search was ended by the budget before NOMAD returned."""
        return self._result

    @property
    def stop_reason(self) -> str:
        """Why the search ended ("" while it runs)."""
        return self._stop_reason

    @property
    def restarts(self) -> int:
        """How many times the child was replaced after dying."""
        return self._restarts

    @property
    def nomad_runs(self) -> list[dict[str, Any]]:
        """Every NOMAD run of the search: its starting points and why it started."""
        return [dict(r) for r in self._runs]

    @property
    def pending(self) -> list[np.ndarray]:
        """Points handed out by ``ask`` and not yet told."""
        return [np.array(p) for p in self._handed]

    def is_pending(self, point) -> bool:
        """True if ``point`` was handed out and not yet told."""
        return self._key(point) in self._handed

    @property
    def history(self) -> list[Evaluation]:
        """Every answer in order: trained (ok/failed), screened, duplicate, skipped."""
        return list(self._log)

    @property
    def n_evaluations(self) -> int:
        """Trained evaluations told (ok or failed): what counts against ``max_evals``."""
        return sum(e.trained for e in self._log)

    @property
    def block_sizes(self) -> list[int]:
        """Size of every block NOMAD asked for in this process (replayed ones included)."""
        return list(self._block_sizes)

    @property
    def child_pid(self) -> int | None:
        """PID of the running NOMAD child, if any (for tests and diagnostics)."""
        return None if self._child is None else self._child.pid

    def first_of_network(self, point) -> Key | None:
        """The trained (or handed-out) point of ``point``'s network (``network_key``)."""
        return self._free.first_of_network(self._key(point))

    def best_feasible(self) -> tuple[np.ndarray, float] | None:
        """Best (lowest objective) *trained* evaluation with every constraint ``<= 0``."""
        best = None
        for e in self._log:
            if e.status == "ok" and all(c <= 0.0 for c in e.outputs[1:]):
                if best is None or e.outputs[0] < best[1]:
                    best = (np.array(e.x), e.outputs[0])
        return best

    def ask(self, max_points: int | None = None, timeout: float = 0.0) -> list[np.ndarray]:
        """Points to evaluate now (at most ``max_points``); waits at most ``timeout`` seconds.

        Returns an empty list while NOMAD computes, while every point of the current block
        is handed out, or once finished. Never raises for a crashed child (it is replaced by
        replay); raises :class:`NomadError` if NOMAD cannot start at all.
        """
        if max_points is not None and max_points < 1:
            return []
        cap = math.inf if max_points is None else max_points
        out = self._model_turn(cap)
        if out:
            return [np.array(p) for p in out]
        if self._model is not None:  # the step's points take workers too
            cap = min(cap, max(0, self.settings.block_size - len(self._handed)))
        out = self._nomad_ask(cap, timeout)
        if self.settings.block_size == 1:
            self._since_model += len(out)
        elif self._model is not None and not self._queue and self._block is not None:
            # NOMAD waits for its running points: the free workers get the step's (batch poll)
            out += self._model_points(min(cap - len(out),
                                          self.settings.block_size - len(self._handed)))
        return [np.array(p) for p in out]

    def _nomad_ask(self, cap: float, timeout: float) -> list[Key]:
        """NOMAD's next points (at most ``cap``), waiting at most ``timeout`` seconds."""
        deadline = time.monotonic() + max(0.0, timeout)
        replay_deadline = time.monotonic() + self.replay_timeout
        while not self._finished:
            out = self._hand_out_queue(cap)
            if out:
                return out
            if self._block is not None:
                break  # the block waits for handed-out points
            if self._child is None:
                self._start_child()
                if self._finished:
                    break
            replaying = self._replayed < self._replay_target
            limit = replay_deadline if replaying else deadline
            message = self._receive(limit - time.monotonic())
            if message is None:
                break
            self._handle(message)
        return []

    def _hand_out_queue(self, cap: float) -> list[Key]:
        """Up to ``cap`` of the block's queued points, handed out. One that can no longer
        improve is screened instead: the best feasible point improved after it was queued."""
        out: list[Key] = []
        screened = False
        while self._queue and len(out) < cap:
            key = self._queue.pop(0)
            if self._screen_stale(key):
                screened = True
            else:
                self._handed[key] = None
                out.append(key)
        if screened and not out:
            self._maybe_send()  # the block may be complete now
        return out

    def tell(self, points: Sequence, values: Sequence[Sequence[float] | None]) -> None:
        """Report outputs (``[f, c_1..c_m]``, or None = failed) for handed-out points."""
        if len(points) != len(values):
            raise ValueError(
                f"`points` and `values` must have equal length, but got {len(points)} and "
                f"{len(values)}"
            )
        keys = [self._handed_key(p) for p in points]
        n_out = 1 + self.settings.n_constraints
        before = self.best_feasible()
        by_model = False
        for key, value in zip(keys, values):
            outputs = None
            if value is not None:
                outputs = tuple(float(v) for v in np.asarray(value, dtype=float).reshape(-1))
                if len(outputs) != n_out:
                    raise ValueError(
                        f"expected {n_out} outputs (objective + {n_out - 1} constraints) per "
                        f"point, but got {len(outputs)}: {value!r}"
                    )
                if not all(math.isfinite(v) for v in outputs):
                    outputs = None
            del self._handed[key]
            source = "model" if key in self._model_handed else "nomad"
            self._model_handed.pop(key, None)
            by_model = by_model or source == "model"
            self._record(key, outputs, "ok" if outputs is not None else "failed", source=source)
            for dup in self._free.release(key):
                self._record(dup, outputs, "duplicate")
        if by_model and not self._finished:
            after = self.best_feasible()
            if after is not None and (before is None or after[1] < before[1]):
                self._restart_due = True
        self._settle()

    def tell_pruned(self, point) -> bool:
        """A handed-out point that a pruner stopped before it trained: if its known objective
        is not below the best feasible one, it is recorded as ``"pruned"`` (not trained, not
        in the step's models; NOMAD is told what a screened point tells it) and True; if it
        could still improve, False and nothing changes (tell its result)."""
        key = self._handed_key(point)
        value = self._stale_value(key)
        if value is None:
            return False
        del self._handed[key]
        source = "model" if key in self._model_handed else "nomad"
        self._model_handed.pop(key, None)
        self._record_screened(key, value, source, status="pruned")
        self._settle()
        return True

    def requeue(self, points: Sequence) -> None:
        """Give handed-out points back (their evaluation never ran); ``ask`` offers them again."""
        for p in points:
            key = self._key(p)
            if key not in self._handed:
                raise ValueError(f"point {key} is not handed out")
            del self._handed[key]
            if key in self._model_handed:
                del self._model_handed[key]
                self._model_requeued.append(key)
            elif self._block is not None and key in self._block.points:
                self._queue.insert(0, key)
            # else: NOMAD will ask for it again after a replay, as a new point

    def close(self) -> None:
        """End the child processes (the object can still be saved; ``ask`` would replay)."""
        self._close_spare()
        if self._child is not None:
            self._close_child()
            self._block = None
            self._queue = []

    def __enter__(self) -> MadsAskTell:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- state -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: settings, the ordered log, handed-out points, the NOMAD runs."""
        return state.state_dict(self)

    @classmethod
    def from_state(cls, saved: dict[str, Any], *, known=None, network_key=None) -> MadsAskTell:
        """Rebuild from :meth:`state_dict`; the next ``ask`` replays the log in a new child."""
        obj = cls.__new__(cls)
        obj.__setstate__(saved)
        obj.known, obj.network_key = known, network_key
        obj._free.index(obj._log, obj._handed)
        return obj

    def __getstate__(self) -> dict[str, Any]:
        return self.state_dict()

    def __setstate__(self, saved: dict[str, Any]) -> None:
        state.load_state(self, saved)

    # --- internals: answers --------------------------------------------------------------

    @staticmethod
    def _key(p) -> Key:
        return tuple(float(v) for v in np.asarray(p, dtype=float).reshape(-1))

    def _handed_key(self, point) -> Key:
        """``point``'s key; ValueError unless it is handed out and not yet told."""
        key = self._key(point)
        if key not in self._handed:
            raise ValueError(f"point {key} was not handed out by ask() or was already told")
        return key

    @property
    def _run(self) -> int:
        return len(self._runs) - 1

    def _record(self, key, outputs, status, run: int | None = None,
                source: str = "nomad") -> None:
        run = self._run if run is None else run
        self._pos.setdefault(key, len(self._log))
        self._log.append(Evaluation(key, outputs, status, run, source))
        self._answers[key] = None if outputs is None else " ".join(fmt(v) for v in outputs)
        # a step's point is no NOMAD run's own: NOMAD asking for it is a free (cached) answer
        self._run_of.setdefault(key, run if source == "nomad" else -1)
        if status in ("ok", "failed"):
            self._trained_keys.add(key)
        if self._block is not None and key in self._block.points:
            self._block.lines[key] = self._answers[key]

    def _free_answer(self, key: Key) -> bool:
        """Answer a new point without training it, if it is a duplicate or screened."""
        first = self._free.first_of_network(key)
        if first is not None:
            if first in self._answers:
                self._record(key, self._outputs(first), "duplicate")
            else:  # handed out, not told yet: answered when it is
                self._free.wait_for(first, key)
            return True
        return self._screen_stale(key)

    def _screen_stale(self, key: Key, source: str = "nomad") -> bool:
        """Screen ``key`` (new, queued or given back) if it can no longer improve; True if it
        was."""
        value = self._stale_value(key)
        if value is not None:
            self._record_screened(key, value, source)
        return value is not None

    def _stale_value(self, key: Key) -> float | None:
        """``key``'s known objective if it is not below the best feasible one, else None."""
        best = self.best_feasible()
        return None if best is None else self._free.screened_value(key, best[1])

    def _record_screened(self, key: Key, value: float, source: str,
                         status: str = "screened") -> None:
        """Record ``key``, which stood for its network, as screened (known objective
        ``value``; ``status`` "pruned" if it was handed out), and the points of its network
        that waited for it."""
        zeros = (0.0,) * self.settings.n_constraints
        self._free.unclaim(key)
        self._record(key, (value,) + zeros, status, source=source)
        for dup in self._free.release(key):
            own = self._free.known_value(dup)
            self._record(dup, (value if own is None else own,) + zeros, "screened")

    def _estimate(self, key: Key) -> list[float]:
        """The surrogate's constraint values at ``key`` (``answers.constraint_estimate``),
        from the log entries NOMAD had been told of when it asked (so a replay agrees)."""
        return constraint_estimate(self.settings, self._log[:self._visible], key)

    def _outputs(self, key: Key) -> tuple[float, ...] | None:
        line = self._answers[key]
        return None if line is None else tuple(float(v) for v in line.split())

    # --- internals: the NOMAD child -------------------------------------------------------

    def _child_settings(self) -> dict[str, Any]:
        s, run = self.settings, self._run
        return {"params": s.nomad_lines(run, surrogate=self.known is not None),
                "x0": self._runs[run]["x0"], "lower": list(s.lower), "upper": list(s.upper),
                "surrogate": self.known is not None}

    def _start_child(self) -> None:
        """Start the current NOMAD run in the spare child if it is alive, and a new spare for
        the next run: a restart (frequent with the model search step) then waits for no
        interpreter to start."""
        settings = self._child_settings()
        self._child = self._start_spare(settings) or NomadChild(settings)
        self._spare = NomadChild()
        self._replayed = 0
        self._replay_target = sum(e.run == self._run and e.source == "nomad" for e in self._log)
        self._free_streak = 0
        self._visible = sum(e.run < self._run for e in self._log)
        self._block = None
        self._queue = []
        logger.debug("started NOMAD child pid=%s (run %d, child restart %d, %d logged)",
                     self._child.pid, self._run, self._restarts, len(self._log))

    def _receive(self, timeout: float):
        child = self._child
        try:
            return child.receive(timeout)
        except (EOFError, OSError) as exc:
            self._on_child_death(f"{exc}")
            return None

    def _handle(self, message) -> None:
        kind = message[0]
        if self._child is not None and self._child.messages == 1:
            # NOMAD only warns (on its stdout, which the child captures) about parameter
            # names it does not know: a typo in nomad_params would go unnoticed
            unknown = [line.strip() for line in self._child.tail().splitlines()
                       if "Unknown parameter" in line]
            if unknown:
                logger.warning("NOMAD ignored parameters: %s", "; ".join(sorted(set(unknown))))
        if kind == "known":
            _, seq, points = message
            lines = []
            for p in points:
                key = tuple(float(v) for v in p)
                value = self._free.known_value(key)
                lines.append(None if value is None else
                             " ".join(fmt(v) for v in [value] + self._estimate(key)))
            self._send(("known", seq, lines))
        elif kind == "block":
            _, seq, points = message
            keys = [tuple(float(v) for v in p) for p in points]
            self._block_sizes.append(len(keys))
            block = _Block(seq, keys)
            self._block = block
            for key in keys:
                if key in block.lines:
                    continue
                trained_here = key in self._handed or (
                    key in self._answers and self._run_of.get(key) == self._run
                    and self._trained_key(key))
                self._free_streak = 0 if trained_here else self._free_streak + 1
                if key in self._answers:
                    block.lines[key] = self._answers[key]
                    if self._run_of.get(key) == self._run:
                        self._replayed += 1
                elif key in self._handed or self._free.is_waiting(key):
                    continue  # answered when its tell() (or its original's) arrives
                elif self._free_answer(key):
                    continue
                elif self._budget_left() <= 0:
                    # beyond the budget (a block can overshoot): never dispatched
                    self._record(key, None, "skipped")
                else:
                    if self._replayed < self._replay_target:
                        logger.warning(
                            "NOMAD replay diverged after %d of %d logged evaluations; logged "
                            "points are still answered from the log", self._replayed,
                            self._replay_target)
                        self._replay_target = self._replayed
                    self._queue.append(key)
                    self._free_streak = 0
                    self._runs[self._run]["new"] = True
                    self._free.claim(key)
            self._maybe_send()
        elif kind == "done":
            self._result = message[1]
            self._block = None
            self._close_child()
            self._end_of_run(str(self._result.get("stop_reason", "")))
        elif kind == "error":
            text = message[1]
            if self._child is not None and self._child.messages <= 1 and not self._log:
                tail = self._child.tail()
                self._close_child()
                raise NomadError(f"NOMAD failed to start: {text.strip()}\n{tail}".strip())
            self._on_child_death(f"NOMAD raised: {text.strip().splitlines()[-1]}")
        else:  # pragma: no cover - protocol violation
            self._on_child_death(f"unexpected message {message!r:.100}")

    def _trained_key(self, key: Key) -> bool:
        return key in self._trained_keys

    def _budget_left(self) -> int:
        used = self.n_evaluations + len(self._handed) + len(self._queue)
        return self.settings.max_evals - used

    def _maybe_send(self) -> None:
        block = self._block
        if block is None or self._child is None:
            return
        if all(p in block.lines for p in block.points):
            self._block = None
            if self._free_streak >= FREE_STREAK_LIMIT:
                self._close_child()
                self._end_of_run(f"{self._free_streak} answers in a row needed no training")
                return
            if self._finish_if_spent():
                return
            if self._restart_due:
                self._restart_from_model()
                return
            here = [self._pos[p] + 1 for p in block.points
                    if p in self._pos and self._run_of.get(p) == self._run]
            self._visible = max([self._visible] + here)
            self._send(("values", block.seq, [block.lines[p] for p in block.points]))

    def _settle(self) -> None:
        """After answers: send NOMAD its block if complete, restart it from the step's better
        point once the block is told, finish if the budget is spent (the step's points too)."""
        self._maybe_send()
        if self._restart_due and self._block is None and not self._finished:
            self._restart_from_model()
        if not self._finished:
            self._finish_if_spent()

    def _finish_if_spent(self) -> bool:
        """Finish when the budget is spent and nothing is out; True if it finished."""
        if self.n_evaluations < self.settings.max_evals or self._handed:
            return False
        self._finish(f"budget spent: {self.n_evaluations} trained evaluations "
                     f"(max_evals={self.settings.max_evals})")
        return True

    def _send(self, message) -> None:
        try:
            self._child.send(message)
        except OSError as exc:
            self._on_child_death(f"{exc}")

    def _finish(self, why: str) -> None:
        self._close_child()
        self._close_spare()
        self._block = None
        self._queue = []
        self._finished = True
        self._stop_reason = why
        logger.info("NOMAD search finished: %s", why)

    def _end_of_run(self, nomad_reason: str, progress: bool = False) -> None:
        """NOMAD returned: finish, or start the next NOMAD run from the log (a restart).
        ``progress``: the search improved during the run though NOMAD proposed nothing new."""
        s = self.settings
        run = self._runs[self._run]
        run["nomad_stop"] = nomad_reason
        left = s.max_evals - self.n_evaluations - len(self._handed)
        self._empty_runs = 0 if run.get("new") or progress else self._empty_runs + 1
        why = f"NOMAD run {self._run} stopped ({nomad_reason or 'no reason given'})"
        end = stop_reason(s, why, left, self.n_evaluations, len(self._runs), self._empty_runs)
        if end is not None:
            self._finish(end)
        else:
            x0, how = self._restart_points()
            self._runs.append({"x0": [list(p) for p in x0], "why": how})
            logger.info("%s with %d evaluations left: restarting from %s (run %d)", why, left,
                        how, self._run)

    # --- internals: the model search step ------------------------------------------------

    def _model_turn(self, cap: float) -> list[Key]:
        """The step's points handed out before NOMAD's: given-back ones first; with one trial at
        a time, its turn of ``points_per_poll`` after every ``MODEL_EVERY`` of NOMAD's."""
        if self._model is None or self._finished or cap < 1:
            return []
        free = int(min(cap, self.settings.block_size - len(self._handed)))
        out = []
        while self._model_requeued and len(out) < free:
            key = self._model_requeued.pop(0)
            if self._screen_stale(key, source="model"):
                continue
            self._handed[key] = None
            self._model_handed[key] = None
            out.append(key)
        if (out or self.settings.block_size > 1 or free < 1 or self._since_model < MODEL_EVERY
                or self._queue):  # one at a time, a queued NOMAD point was given back: first
            return out
        self._model_streak += 1
        if self._model_streak >= self._model.points_per_poll:
            self._since_model = 0
            self._model_streak = 0
        return self._model_points(1)

    def _model_points(self, k: float) -> list[Key]:
        """Up to ``k`` of the step's proposals (within the budget), handed out."""
        k = int(min(k, self._budget_left()))
        if k < 1 or self._finished:
            return []
        free = self._free
        n_model = sum(e.source == "model" for e in self._log) + len(self._model_handed)
        points = self._model.propose(
            self._log, k, self._taken(), free.known_value if free.known is not None else None,
            free.network if free.network_key is not None else None, n_model,
            running=list(self._handed))
        for key in points:
            self._handed[key] = None
            self._model_handed[key] = None
            free.claim(key)
        return points

    def _taken(self) -> Container[Key]:
        """The points the step must not propose: answered, handed out, queued, or of a network
        already trained or handed out (a snapshot of this state, which does not change while
        the step proposes; a set when points are not grouped into networks)."""
        block = self._block.points if self._block is not None else ()
        keys = frozenset(self._answers).union(self._handed, self._queue, self._model_requeued,
                                              block)
        if self._free.network_key is None:
            return keys
        return _TakenWithNetworks(keys, self._free.first_of_network)

    def _restart_from_model(self) -> None:
        """End the current NOMAD run (its block is told) and restart from the best points."""
        self._restart_due = False
        self._close_child()
        self._block = None
        self._queue = []
        self._end_of_run("the model search step found a better point", progress=True)

    def _restart_points(self) -> tuple[list[Key], str]:
        best = self.best_feasible()

        def wanted(key: Key) -> bool:
            if key in self._answers or key in self._handed:
                return False
            if best is None or self.known is None:
                return True
            value = self._free.known_value(key)
            return value is None or value < best[1]

        return restart_points(self.settings, self._log, self._empty_runs > 0,
                              nomad_seed(self.settings.seed, len(self._runs)), wanted)

    def _close_child(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None

    def _start_spare(self, settings: dict[str, Any]) -> NomadChild | None:
        """The spare child, given the run's ``settings``; None if there is none or it exited."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.alive:
            try:
                spare.start(settings)
                return spare
            except OSError:  # it exited after all
                pass
        if spare is not None:
            spare.close()
        return None

    def _close_spare(self) -> None:
        if self._spare is not None:
            self._spare.close()
            self._spare = None

    def _on_child_death(self, why: str) -> None:
        child = self._child
        tail = child.tail() if child is not None else ""
        first_message = child is not None and child.messages == 0
        code = child.proc.poll() if child is not None else None
        self._close_child()
        self._block = None
        self._queue = []
        if first_message and not self._log and self._restarts == 0:
            raise NomadError(
                f"NOMAD failed to start (child exit code {code}); check `nomad_params`. "
                f"Child output:\n{tail}".strip()
            )
        self._restarts += 1
        if self._restarts > self.max_restarts:
            self._finish(f"NOMAD child died {self._restarts} times; last: {why}")
            logger.error("Finishing with %d evaluations.\n%s", self.n_evaluations, tail)
            return
        logger.warning("NOMAD child died (%s, exit code %s); restarting by replay (%d/%d).\n%s",
                       why, code, self._restarts, self.max_restarts, tail)
