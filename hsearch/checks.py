"""The type checks every settings class and function shares: an integer is an integer.

``True`` is an ``int`` to Python, but never a count, a seed or a size to hsearch: these checks
refuse booleans and accept numpy's integers and floats (``numbers.Integral``/``numbers.Real``).
"""

from __future__ import annotations

from numbers import Integral, Real

from hsearch.errors import UserError


def is_int(value) -> bool:
    """True for an integer (``int``, numpy's integers), False for a bool or anything else."""
    return isinstance(value, Integral) and not isinstance(value, bool)


def is_number(value) -> bool:
    """True for a real number (integers and floats, numpy's too), False for a bool."""
    return isinstance(value, Real) and not isinstance(value, bool)


def check_int(name: str, value, low: int | None = None, *,
              error: type[Exception] = UserError) -> int:
    """``value`` as an ``int``; ``error`` (UserError: user input) unless it is an integer
    ``>= low``, with the message "`name >= low` must hold (an integer), but got name=value"."""
    if not is_int(value) or (low is not None and value < low):
        rule = name if low is None else f"{name} >= {low}"
        short = name.split(".")[-1]
        raise error(f"`{rule}` must hold (an integer), but got {short}={value!r}")
    return int(value)
