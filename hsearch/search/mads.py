"""NOMAD's MADS as an ask/tell object that needs no Ray (``MadsAskTell``).

How it works
------------
``PyNomad.optimize`` owns its loop and calls a black box; a Tune searcher is called
from Tune's loop and must never block. The two are joined through a child process:
each NOMAD run lives in a fresh interpreter (``_nomad_child.py``) whose *block*
callback sends the block's points over a pipe and waits for one output line (or a
failure) per point. The parent side (this module) never blocks: :meth:`MadsAskTell.ask`
polls the pipe and hands out the points of the current block, :meth:`MadsAskTell.tell`
records results, and when every point of the block has a result the block goes back to
NOMAD, which then computes the next one.

Why a child process: PyNomad 4.6.0 segfaults when a block callback raises, crashes when
two runs share a process and does not reproduce a run when a seed is re-used in the same
process. A fresh process per run isolates all three (a crash kills the child, never the
Tune driver; two searchers are two children) and makes runs deterministic. The child is
started with ``subprocess`` running a script, not ``multiprocessing``: "spawn" would
re-import the user's ``__main__`` (re-running an unguarded Tune script), "fork" is unsafe
in the threaded Ray driver.

Why block evaluation (``BB_MAX_BLOCK_SIZE = max_concurrent``) -- chosen on evidence from
``experiments/concurrency_modes.py`` (4 workers, 30 evaluations, trial times exponential
with mean 0.5 s, g06/g04/pressure vessel, each mode run twice):

* *fidelity*: the run is exactly ``PyNomad.optimize`` with the same parameters -- the
  trajectory driven through ask/tell (and through Tune, in any completion order) is
  identical, point for point, to a standalone run with the same seed and block size
  (``tests/search/test_mads_core.py``, ``test_tune_nomad.py``);
* *determinism and exact resume*: NOMAD sees results block by block, in block order, so
  the same answers give the same next points; this is what makes replay-based restore
  exact. With ``NB_THREADS_PARALLEL_EVAL`` (NOMAD's own evaluation threads) the order in
  which results arrive, which in Tune is the order trials happen to finish, feeds
  NOMAD's opportunistic stop: one of our runs (g06, 40 evaluations, 50 ms trials)
  evaluated different points on a rerun with the same seed. Not replayable;
* *idle time*: NOMAD threads did not reduce it. Both modes evaluated the same points and
  used the workers equally (utilisation 0.21-0.27 for both, equal wall time): with
  NOMAD's default search steps MADS proposes 1.25-1.5 points per step on average, and
  threads wait for a step's points just as a block does;
* *suggest/observe* (``PyNomad.suggest``/``observe``) is a reduced MADS (one search +
  poll per call, ``MEGA_SEARCH_POLL``, no ``X0``, state in a cache file re-read on every
  call); from an infeasible start (g06, g04) it proposed nothing after the first point.

More trials at once come from larger blocks, not from another mode:
``MEGA_SEARCH_POLL yes`` (search and poll points proposed together) raised the mean
block to 3.1-3.3 and cut wall time by 1.2-1.9x, but at an equal evaluation budget it was
worse on g06 and the pressure vessel and better on g04 (10 seeds, 100 evaluations). It
is therefore an opt-in (``nomad_params``), not the default.

Budget: NOMAD's ``MAX_BB_EVAL`` is ``max_evals``, but a block may overshoot it; points
beyond the budget are answered "failed" without being handed out, so exactly
``max_evals`` evaluations are ever dispatched (failed evaluations count, as in NOMAD).

Exact resume by replay: the state (:meth:`MadsAskTell.state_dict`) is a small JSON-able
dict: settings, the ordered log of completed evaluations and the points handed out but
not yet told. A restored object starts a fresh child with the same seed; every point the
child asks for that is in the log is answered from it (exact float match) without being
handed out, points handed out before the save stay handed out (their results arrive
later through :meth:`tell`), and only new points are handed out. The same mechanism
recovers from a child that dies mid-run (at most ``max_restarts`` times; after that the
run finishes cleanly with what it has).
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from multiprocessing.connection import Connection
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["MadsSettings", "MadsAskTell", "StandaloneRun", "run_standalone", "NomadError"]

_CHILD_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_nomad_child.py")

# Parameters the searcher sets itself; passing them through would break the budget,
# determinism or replay bookkeeping.
_RESERVED = frozenset(
    {
        "DIMENSION", "BB_INPUT_TYPE", "BB_OUTPUT_TYPE", "LOWER_BOUND", "UPPER_BOUND", "X0",
        "MAX_BB_EVAL", "BB_MAX_BLOCK_SIZE", "SEED", "NB_THREADS_PARALLEL_EVAL", "CACHE_FILE",
        "GRANULARITY", "DISPLAY_DEGREE", "BB_EXE",
    }
)
_KEYWORD = re.compile(r"^[A-Z][A-Z0-9_]*$")


class NomadError(RuntimeError):
    """NOMAD could not start (bad parameters, missing PyNomad): raised by ``ask``."""


def _fmt(v: float) -> str:
    """Shortest exact text of a float (NOMAD parses it back to the same double)."""
    return repr(float(v))


@dataclass(frozen=True)
class MadsSettings:
    """Everything that defines one NOMAD run (and nothing that changes during it).

    Bounds are inclusive. ``input_types`` are NOMAD's ``R``/``I`` per coordinate;
    ``granularity`` is 0 for continuous coordinates. Outputs told for a point are
    ``[objective, c_1, ..., c_m]`` with ``m = n_constraints`` and ``c_j <= 0`` feasible,
    minimised.

    Args:
        lower, upper: box bounds (inclusive).
        x0: one or more starting points (NOMAD evaluates them first).
        input_types: ``"R"`` or ``"I"`` per coordinate (default all real).
        granularity: per coordinate, 0 = continuous (default all 0).
        n_constraints: number of constraint outputs after the objective.
        constraint_type: ``"PB"`` (progressive barrier) or ``"EB"`` (extreme barrier).
        max_evals: evaluation budget (NOMAD ``MAX_BB_EVAL``; failures count).
        block_size: NOMAD ``BB_MAX_BLOCK_SIZE``: the most points evaluated at once.
        seed: NOMAD ``SEED``.
        nomad_params: extra NOMAD parameter lines, passed through (expert use), e.g.
            ``("DIRECTION_TYPE ORTHO 2N",)``. Lines the searcher owns are rejected.
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    x0: tuple[tuple[float, ...], ...]
    input_types: tuple[str, ...] = ()
    granularity: tuple[float, ...] = ()
    n_constraints: int = 0
    constraint_type: str = "PB"
    max_evals: int = 100
    block_size: int = 1
    seed: int = 0
    nomad_params: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        lower = tuple(float(v) for v in self.lower)
        upper = tuple(float(v) for v in self.upper)
        n = len(lower)
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        if n == 0 or len(upper) != n:
            raise ValueError(
                f"`lower` and `upper` must be non-empty and of equal length, but got "
                f"{len(lower)} and {len(upper)}"
            )
        for i, (lo, hi) in enumerate(zip(lower, upper)):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(
                    f"`low <= high` must hold with finite bounds, but got low={lo}, high={hi} "
                    f"for coordinate {i}"
                )
        types = tuple(self.input_types) or ("R",) * n
        gran = tuple(float(g) for g in self.granularity) or (0.0,) * n
        object.__setattr__(self, "input_types", types)
        object.__setattr__(self, "granularity", gran)
        if len(types) != n or any(t not in ("R", "I") for t in types):
            raise ValueError(f"`input_types` must be {n} of 'R'/'I', but got {types}")
        if len(gran) != n or any(not (g >= 0 and math.isfinite(g)) for g in gran):
            raise ValueError(f"`granularity` must be {n} values >= 0, but got {gran}")
        x0 = tuple(tuple(float(v) for v in p) for p in self.x0)
        object.__setattr__(self, "x0", x0)
        if not x0:
            raise ValueError("`x0` must hold at least one starting point")
        for p in x0:
            if len(p) != n or any(not lo <= v <= hi for v, lo, hi in zip(p, lower, upper)):
                raise ValueError(
                    f"every starting point must lie in the box, but got x0={p} for "
                    f"lower={lower}, upper={upper}"
                )
            if any(t == "I" and v != round(v) for v, t in zip(p, types)):
                raise ValueError(f"integer coordinates of x0 must be integral, but got {p}")
        if self.constraint_type not in ("PB", "EB"):
            raise ValueError(
                f"`constraint_type` must be 'PB' or 'EB', but got {self.constraint_type!r}"
            )
        for name in ("n_constraints", "max_evals", "block_size", "seed"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise TypeError(f"`{name}` must be an int, but got {value!r}")
            object.__setattr__(self, name, int(value))
        if self.n_constraints < 0 or self.max_evals < 1 or self.block_size < 1:
            raise ValueError(
                "`n_constraints >= 0`, `max_evals >= 1` and `block_size >= 1` must hold, but "
                f"got n_constraints={self.n_constraints}, max_evals={self.max_evals}, "
                f"block_size={self.block_size}"
            )
        if self.seed < 0:
            raise ValueError(f"`seed >= 0` must hold, but got seed={self.seed}")
        lines = tuple(self.nomad_params)
        object.__setattr__(self, "nomad_params", lines)
        for line in lines:
            if not isinstance(line, str) or not line.strip():
                raise ValueError(f"`nomad_params` must be non-empty strings, but got {line!r}")
            keyword = line.split()[0]
            if not _KEYWORD.match(keyword):
                raise ValueError(
                    f"`nomad_params` lines must start with an upper-case NOMAD keyword, but "
                    f"got {line!r}"
                )
            if keyword in _RESERVED:
                raise ValueError(
                    f"`nomad_params` must not set {keyword} (the searcher sets it from its "
                    f"own arguments), but got {line!r}"
                )

    @property
    def dimension(self) -> int:
        return len(self.lower)

    def nomad_lines(self) -> list[str]:
        """The parameter lines given to ``PyNomad.optimize`` (bounds and x0 go as arguments)."""
        lines = [
            f"DIMENSION {self.dimension}",
            f"BB_INPUT_TYPE ( {' '.join(self.input_types)} )",
            "BB_OUTPUT_TYPE OBJ" + f" {self.constraint_type}" * self.n_constraints,
            f"MAX_BB_EVAL {self.max_evals}",
            f"BB_MAX_BLOCK_SIZE {self.block_size}",
            f"SEED {self.seed}",
            "DISPLAY_DEGREE 0",
        ]
        if any(self.granularity):
            lines.append(f"GRANULARITY ( {' '.join(_fmt(g) for g in self.granularity)} )")
        return lines + list(self.nomad_params)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: [list(p) for p in v] if k == "x0" else (list(v) if isinstance(v, tuple) else v)
                for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MadsSettings:
        d = dict(d)
        for key in ("lower", "upper", "input_types", "granularity", "nomad_params"):
            d[key] = tuple(d.get(key, ()))
        d["x0"] = tuple(tuple(p) for p in d["x0"])
        return cls(**d)


@dataclass
class _Block:
    seq: int
    points: list[tuple[float, ...]]
    lines: dict[tuple[float, ...], str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Evaluation:
    """One evaluation as NOMAD saw it: the point, its outputs (None = failed) and status.

    ``status`` is ``"ok"``, ``"failed"`` or ``"skipped"`` (beyond the budget, never run).
    """

    x: tuple[float, ...]
    outputs: tuple[float, ...] | None
    status: str


def _kill(proc: subprocess.Popen | None, conn: Connection | None) -> None:
    if conn is not None:
        try:
            conn.close()
        except OSError:
            pass
    if proc is not None and proc.poll() is None:
        proc.kill()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a kill that does not land
            logger.error("NOMAD child %s did not exit after SIGKILL", proc.pid)


class _Child:
    """One NOMAD child process and its connection (never pickled)."""

    def __init__(self, settings: dict[str, Any]):
        parent_sock, child_sock = socket.socketpair()
        self.output = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-u", _CHILD_SCRIPT, str(child_sock.fileno())],
                pass_fds=(child_sock.fileno(),),
                stdin=subprocess.DEVNULL,
                stdout=self.output,
                stderr=subprocess.STDOUT,
                # own session: a Ctrl-C in the terminal reaches the driver only, which
                # then ends the child itself
                start_new_session=True,
            )
        finally:
            child_sock.close()
        self.conn = Connection(parent_sock.detach())
        self.conn.send(("start", settings))
        self.started = time.monotonic()
        self.messages = 0
        self._finalizer = weakref.finalize(self, _kill, self.proc, self.conn)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, n: int = 2000) -> str:
        """Last characters the child wrote (stdout and stderr), for error messages."""
        try:
            self.output.seek(0, os.SEEK_END)
            size = self.output.tell()
            self.output.seek(max(0, size - n))
            return self.output.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""

    def receive(self, timeout: float):
        """The next message, None if none within ``timeout``; raises EOFError if the child died."""
        if not self.conn.poll(max(0.0, timeout)):
            if self.proc.poll() is not None and not self.conn.poll(0):
                raise EOFError(f"NOMAD child exited with code {self.proc.returncode}")
            return None
        message = self.conn.recv()
        self.messages += 1
        return message

    def send(self, message) -> None:
        self.conn.send(message)

    def close(self) -> None:
        self._finalizer()
        try:
            self.output.close()
        except OSError:
            pass


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
    values count as failed. :attr:`finished` becomes True when NOMAD stops and every
    handed-out point was told.

    The object pickles as its :meth:`state_dict` (no process, no pipe); unpickling or
    :meth:`from_state` resumes by replay on the next ``ask`` (see the module docstring).

    Args:
        settings: the NOMAD run.
        max_restarts: how many times a dead child is replaced (by replay) before the run
            is declared finished.
        replay_timeout: seconds ``ask`` may wait for NOMAD's next block while it is
            answering blocks from the log (each takes milliseconds); bounds the time
            any single ``ask`` spends replaying.
    """

    def __init__(self, settings: MadsSettings, *, max_restarts: int = 3,
                 replay_timeout: float = 10.0):
        if not isinstance(settings, MadsSettings):
            raise TypeError(f"`settings` must be MadsSettings, but got {type(settings)}")
        self.settings = settings
        self.max_restarts = int(max_restarts)
        self.replay_timeout = float(replay_timeout)
        self._log: list[Evaluation] = []
        self._answers: dict[tuple[float, ...], str | None] = {}
        self._handed: dict[tuple[float, ...], None] = {}  # ordered set
        self._queue: list[tuple[float, ...]] = []
        self._block: _Block | None = None
        self._child: _Child | None = None
        self._finished = False
        self._result: dict[str, Any] | None = None
        self._restarts = 0
        self._stop_reason = ""
        self._replayed = 0  # answers served from the log by the current child
        self._replay_target = 0  # log length when the current child started
        self._blocks_seen = 0
        self._block_sizes: list[int] = []

    # --- public API --------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True once NOMAD stopped (or gave up after crashes) and nothing is handed out."""
        return self._finished and not self._handed

    @property
    def nomad_finished(self) -> bool:
        """True once no more points will be handed out (some may still be running)."""
        return self._finished

    @property
    def result(self) -> dict[str, Any] | None:
        """NOMAD's final result dict (``x_best_feas``, ``run_flag``, ``stop_reason``...)."""
        return self._result

    @property
    def stop_reason(self) -> str:
        return self._stop_reason

    @property
    def restarts(self) -> int:
        """How many times the child was replaced after dying."""
        return self._restarts

    @property
    def pending(self) -> list[np.ndarray]:
        """Points handed out by ``ask`` and not yet told."""
        return [np.array(p) for p in self._handed]

    def is_pending(self, point) -> bool:
        """True if ``point`` was handed out and not yet told."""
        return self._key(point) in self._handed

    @property
    def history(self) -> list[Evaluation]:
        """Told evaluations in order (including ``skipped`` beyond-budget points)."""
        return list(self._log)

    @property
    def n_evaluations(self) -> int:
        """Evaluations told (ok or failed), i.e. what counts against ``max_evals``."""
        return sum(e.status != "skipped" for e in self._log)

    @property
    def block_sizes(self) -> list[int]:
        """Size of every block NOMAD asked for in this process (replayed ones included)."""
        return list(self._block_sizes)

    @property
    def child_pid(self) -> int | None:
        """PID of the running NOMAD child, if any (for tests and diagnostics)."""
        return None if self._child is None else self._child.pid

    def best_feasible(self) -> tuple[np.ndarray, float] | None:
        """Best (lowest objective) evaluation with every constraint ``<= 0``, or None."""
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
        deadline = time.monotonic() + max(0.0, timeout)
        replay_deadline = time.monotonic() + self.replay_timeout
        while not self._queue and not self._finished:
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
        n = len(self._queue) if max_points is None else min(max_points, len(self._queue))
        out, self._queue = self._queue[:n], self._queue[n:]
        for p in out:
            self._handed[p] = None
        return [np.array(p) for p in out]

    def tell(self, points: Sequence, values: Sequence[Sequence[float] | None]) -> None:
        """Report outputs (``[f, c_1..c_m]``, or None = failed) for handed-out points."""
        if len(points) != len(values):
            raise ValueError(
                f"`points` and `values` must have equal length, but got {len(points)} and "
                f"{len(values)}"
            )
        keys = [self._key(p) for p in points]
        for key in keys:
            if key not in self._handed:
                raise ValueError(f"point {key} was not handed out by ask() or was already told")
        n_out = 1 + self.settings.n_constraints
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
            self._record(key, outputs, "ok" if outputs is not None else "failed")
        self._maybe_send()

    def requeue(self, points: Sequence) -> None:
        """Give handed-out points back (their evaluation never ran); ``ask`` offers them again."""
        for p in points:
            key = self._key(p)
            if key not in self._handed:
                raise ValueError(f"point {key} is not handed out")
            del self._handed[key]
            if self._block is not None and key in self._block.points:
                self._queue.insert(0, key)
            # else: NOMAD will ask for it again after a replay, as a new point

    def close(self) -> None:
        """End the child process (the object can still be saved; ``ask`` would replay)."""
        if self._child is not None:
            self._child.close()
            self._child = None
            self._block = None
            self._queue = []

    def __enter__(self) -> MadsAskTell:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- state -------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state: settings, the ordered evaluation log and handed-out points."""
        return {
            "version": 1,
            "settings": self.settings.to_dict(),
            "max_restarts": self.max_restarts,
            "replay_timeout": self.replay_timeout,
            "log": [[list(e.x), None if e.outputs is None else list(e.outputs), e.status]
                    for e in self._log],
            "handed": [list(p) for p in self._handed],
            "finished": self._finished,
            "result": self._result,
            "stop_reason": self._stop_reason,
            "restarts": self._restarts,
        }

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> MadsAskTell:
        """Rebuild from :meth:`state_dict`; the next ``ask`` replays the log in a new child."""
        obj = cls.__new__(cls)
        obj.__setstate__(state)
        return obj

    def __getstate__(self) -> dict[str, Any]:
        return self.state_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        if state.get("version") != 1:
            raise ValueError(f"unknown MadsAskTell state version {state.get('version')!r}")
        self.__init__(MadsSettings.from_dict(state["settings"]),
                      max_restarts=state["max_restarts"], replay_timeout=state["replay_timeout"])
        for x, outputs, status in state["log"]:
            self._record(tuple(float(v) for v in x),
                         None if outputs is None else tuple(float(v) for v in outputs), status)
        self._handed = {tuple(float(v) for v in p): None for p in state["handed"]}
        self._finished = bool(state["finished"])
        self._result = state["result"]
        self._stop_reason = state["stop_reason"]
        self._restarts = int(state["restarts"])

    # --- internals -----------------------------------------------------------------------

    @staticmethod
    def _key(p) -> tuple[float, ...]:
        return tuple(float(v) for v in np.asarray(p, dtype=float).reshape(-1))

    def _record(self, key, outputs, status) -> None:
        self._log.append(Evaluation(key, outputs, status))
        self._answers[key] = None if outputs is None else " ".join(_fmt(v) for v in outputs)
        if self._block is not None and key in self._block.points:
            self._block.lines[key] = self._answers[key]

    def _child_settings(self) -> dict[str, Any]:
        s = self.settings
        return {"params": s.nomad_lines(), "x0": [list(p) for p in s.x0],
                "lower": list(s.lower), "upper": list(s.upper)}

    def _start_child(self) -> None:
        self._child = _Child(self._child_settings())
        self._replayed = 0
        self._replay_target = len(self._log)
        self._block = None
        self._queue = []
        logger.debug("started NOMAD child pid=%s (restart %d, %d logged evaluations)",
                     self._child.pid, self._restarts, len(self._log))

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
        if kind == "block":
            _, seq, points = message
            keys = [tuple(float(v) for v in p) for p in points]
            self._blocks_seen += 1
            self._block_sizes.append(len(keys))
            block = _Block(seq, keys)
            self._block = block
            for key in keys:
                if key in block.lines:
                    continue
                if key in self._answers:
                    block.lines[key] = self._answers[key]
                    self._replayed += 1
                elif key in self._handed:
                    continue  # handed out before a restore/restart: its tell() will answer
                elif self._budget_left() <= 0:
                    # beyond MAX_BB_EVAL (a block can overshoot): never dispatched
                    self._record(key, None, "skipped")
                else:
                    if self._replayed < self._replay_target:
                        logger.warning(
                            "NOMAD replay diverged after %d of %d logged evaluations; logged "
                            "points are still answered from the log", self._replayed,
                            self._replay_target)
                        self._replay_target = self._replayed
                    self._queue.append(key)
            self._maybe_send()
        elif kind == "done":
            result = message[1]
            self._result = result
            self._stop_reason = str(result.get("stop_reason", ""))
            self._finished = True
            self._block = None
            self._close_child()
            logger.debug("NOMAD finished: %s", self._stop_reason)
        elif kind == "error":
            text = message[1]
            if self._child is not None and self._child.messages <= 1 and not self._log:
                tail = self._child.tail()
                self._close_child()
                raise NomadError(f"NOMAD failed to start: {text.strip()}\n{tail}".strip())
            self._on_child_death(f"NOMAD raised: {text.strip().splitlines()[-1]}")
        else:  # pragma: no cover - protocol violation
            self._on_child_death(f"unexpected message {message!r:.100}")

    def _budget_left(self) -> int:
        used = self.n_evaluations + len(self._handed) + len(self._queue)
        return self.settings.max_evals - used

    def _maybe_send(self) -> None:
        block = self._block
        if block is None or self._child is None:
            return
        if all(p in block.lines for p in block.points):
            self._block = None
            try:
                self._child.send(("values", block.seq, [block.lines[p] for p in block.points]))
            except OSError as exc:
                self._on_child_death(f"{exc}")

    def _close_child(self) -> None:
        if self._child is not None:
            self._child.close()
            self._child = None

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
            self._finished = True
            self._stop_reason = f"NOMAD child died {self._restarts} times; last: {why}"
            logger.error("%s. Finishing with %d evaluations.\n%s", self._stop_reason,
                         self.n_evaluations, tail)
            return
        logger.warning("NOMAD child died (%s, exit code %s); restarting by replay (%d/%d).\n%s",
                       why, code, self._restarts, self.max_restarts, tail)


# --- standalone reference run ------------------------------------------------------------


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
                   timeout: float = 600.0) -> StandaloneRun:
    """Run ``PyNomad.optimize`` with a block callback that calls ``blackbox`` directly.

    The reference for fidelity checks: same parameters, seed and block size as
    :class:`MadsAskTell`, in its own fresh process (``blackbox`` must be picklable and
    importable there). ``blackbox(x)`` returns ``[f, c_1..c_m]`` or None (failed).
    """
    child_settings = MadsAskTell(settings)._child_settings()
    child_settings["evaluator"] = pickle.dumps(_ListBlackbox(blackbox))
    child = _Child(child_settings)
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
