"""The one fallback for ``json.dumps(..., default=json_default)`` of result records."""

from __future__ import annotations

from typing import Any


def json_default(value: Any) -> Any:
    """A JSON-ready stand-in for a value ``json`` cannot write: a numpy or torch scalar's
    number, an array's nested list, else the value's ``str``."""
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
