"""Save and restore of a :class:`~hsearch.search.nomad.MadsAskTell` (for ``asktell``).

The state is a small JSON-able dict (no process, no pipe, no callables): the settings, the
ordered log of answers, the points handed out and not yet told, every NOMAD run's starting
points and how the search stands. A loaded object has no child; its next ``ask`` starts one
with the same seed and answers it from the log (exact resume by replay, ``docs/search-nomad.md``).
With the model search step, the state also says which handed-out points are the step's and
whose turn it is (its proposals are a function of the log, so they need no more). Version 3 is
written; versions 1 (no NOMAD runs), 2 (no model search step) and 3 load; any other raises
``ValueError``.
"""

from __future__ import annotations

from typing import Any

from hsearch.search.nomad.settings import MadsSettings

__all__ = ["VERSION", "state_dict", "load_state"]

#: the version :func:`state_dict` writes
VERSION = 3
_LOADABLE = (1, 2, 3)


def state_dict(core: Any) -> dict[str, Any]:
    """JSON-able state of ``core`` (a ``MadsAskTell``): settings, the ordered log, handed-out
    points, NOMAD runs."""
    return {
        "version": VERSION,
        "settings": core.settings.to_dict(),
        "max_restarts": core.max_restarts,
        "replay_timeout": core.replay_timeout,
        "log": [[list(e.x), None if e.outputs is None else list(e.outputs), e.status, e.run,
                 e.source] for e in core._log],
        "handed": [list(p) for p in core._handed],
        "finished": core._finished,
        "result": core._result,
        "stop_reason": core._stop_reason,
        "restarts": core._restarts,
        "runs": core._runs,
        "empty_runs": core._empty_runs,
        "model_handed": [list(p) for p in core._model_handed],
        "model_requeued": [list(p) for p in core._model_requeued],
        "since_model": core._since_model,
        "model_streak": core._model_streak,
        "restart_due": core._restart_due,
    }


def load_state(core: Any, state: dict[str, Any]) -> None:
    """Re-initialise ``core`` (a ``MadsAskTell``) from :func:`state_dict`, without its
    ``known``/``network_key``."""
    if state.get("version") not in _LOADABLE:
        raise ValueError(f"unknown MadsAskTell state version {state.get('version')!r}")
    core.__init__(MadsSettings.from_dict(state["settings"]),
                  max_restarts=state["max_restarts"], replay_timeout=state["replay_timeout"])
    for x, outputs, status, *rest in state["log"]:
        run, source = (list(rest) + [0, "nomad"][len(rest):])[:2]
        core._record(_key(x), None if outputs is None else _key(outputs), status, run, source)
    core._handed = {_key(p): None for p in state["handed"]}
    core._model_handed = {_key(p): None for p in state.get("model_handed", [])}
    core._model_requeued = [_key(p) for p in state.get("model_requeued", [])]
    core._since_model = int(state.get("since_model", 0))
    core._model_streak = int(state.get("model_streak", 0))
    core._restart_due = bool(state.get("restart_due", False))
    core._finished = bool(state["finished"])
    core._result = state["result"]
    core._stop_reason = state["stop_reason"]
    core._restarts = int(state["restarts"])
    core._runs = [dict(r) for r in state.get("runs", core._runs)]
    core._empty_runs = int(state.get("empty_runs", 0))


def _key(values) -> tuple[float, ...]:
    return tuple(float(v) for v in values)
