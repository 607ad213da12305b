"""Save and restore of a :class:`~hsearch.search.nomad.MadsAskTell` (for ``asktell``).

The state is a small JSON-able dict (no process, no pipe, no callables): the settings, the
ordered log of answers, the points handed out and not yet told, every NOMAD run's starting
points and how the search stands. A loaded object has no child; its next ``ask`` starts one
with the same seed and answers it from the log (exact resume by replay, ``docs/search-nomad.md``).
Version 2 is written; versions 1 (no NOMAD runs) and 2 load; any other raises ``ValueError``.
"""

from __future__ import annotations

from typing import Any

from hsearch.search.nomad.settings import MadsSettings

__all__ = ["VERSION", "state_dict", "load_state"]

#: the version :func:`state_dict` writes
VERSION = 2
_LOADABLE = (1, 2)


def state_dict(core: Any) -> dict[str, Any]:
    """JSON-able state of ``core`` (a ``MadsAskTell``): settings, the ordered log, handed-out
    points, NOMAD runs."""
    return {
        "version": VERSION,
        "settings": core.settings.to_dict(),
        "max_restarts": core.max_restarts,
        "replay_timeout": core.replay_timeout,
        "log": [[list(e.x), None if e.outputs is None else list(e.outputs), e.status, e.run]
                for e in core._log],
        "handed": [list(p) for p in core._handed],
        "finished": core._finished,
        "result": core._result,
        "stop_reason": core._stop_reason,
        "restarts": core._restarts,
        "runs": core._runs,
        "empty_runs": core._empty_runs,
    }


def load_state(core: Any, state: dict[str, Any]) -> None:
    """Re-initialise ``core`` (a ``MadsAskTell``) from :func:`state_dict`, without its
    ``known``/``network_key``."""
    if state.get("version") not in _LOADABLE:
        raise ValueError(f"unknown MadsAskTell state version {state.get('version')!r}")
    core.__init__(MadsSettings.from_dict(state["settings"]),
                  max_restarts=state["max_restarts"], replay_timeout=state["replay_timeout"])
    for x, outputs, status, *run in state["log"]:
        core._record(tuple(float(v) for v in x),
                     None if outputs is None else tuple(float(v) for v in outputs), status,
                     run[0] if run else 0)
    core._handed = {tuple(float(v) for v in p): None for p in state["handed"]}
    core._finished = bool(state["finished"])
    core._result = state["result"]
    core._stop_reason = state["stop_reason"]
    core._restarts = int(state["restarts"])
    core._runs = [dict(r) for r in state.get("runs", core._runs)]
    core._empty_runs = int(state.get("empty_runs", 0))
