"""Training budgets (wall-clock seconds or epochs) and the learning-rate schedule that follows them.

A budget is spent by the trainer one optimiser step at a time. *Progress* is the fraction of the
budget used so far: ``elapsed / seconds`` for a time budget (elapsed counts training only:
evaluation and warm-up are off the clock), ``step / total_steps`` for an epoch budget. The
learning rate is a function of progress only, so the same schedule serves both kinds and reaches
its floor exactly when the budget is spent (progress 1).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Literal

from hsearch.checks import is_number
from hsearch.errors import UserError

BUDGET_FORMS = "'600s', '10m', '1.5h' (wall-clock seconds/minutes/hours) or '30ep' (epochs)"

# Unit spellings accepted by parse_budget -> (kind, multiplier to seconds or epochs).
_UNITS = {
    "s": ("seconds", 1.0), "sec": ("seconds", 1.0), "secs": ("seconds", 1.0),
    "second": ("seconds", 1.0), "seconds": ("seconds", 1.0),
    "m": ("seconds", 60.0), "min": ("seconds", 60.0), "mins": ("seconds", 60.0),
    "minute": ("seconds", 60.0), "minutes": ("seconds", 60.0),
    "h": ("seconds", 3600.0), "hr": ("seconds", 3600.0), "hrs": ("seconds", 3600.0),
    "hour": ("seconds", 3600.0), "hours": ("seconds", 3600.0),
    "ep": ("epochs", 1.0), "eps": ("epochs", 1.0), "epoch": ("epochs", 1.0), "epochs": ("epochs", 1.0),
}
_BUDGET_RE = re.compile(
    r"^\s*(?P<number>(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(?P<unit>[a-zA-Z]+)\s*$"
)


@dataclass(frozen=True)
class Budget:
    """How long one training run may take.

    ``kind="seconds"``: wall-clock seconds of training, checked before every step; the last step
    starts before the deadline, so a run overruns by less than one step (recorded as
    ``TrainResult.overrun_seconds``). ``kind="epochs"``: passes over the training subset; a
    fractional amount (``"0.5ep"``) is rounded to whole optimiser steps.

    Parsed once where it enters (settings, the command line: :func:`parse_budget`) and carried
    as a Budget to the trainer. ``text`` is the spelling it was parsed from (``"10m"``; default
    ``str(self)``): settings files and seed-cache keys keep it; it takes no part in ``==``.
    """

    kind: Literal["seconds", "epochs"]
    amount: float
    text: str = field(default="", compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in ("seconds", "epochs"):
            raise UserError(f"`kind` must be 'seconds' or 'epochs', but got kind={self.kind!r}")
        if not is_number(self.amount):
            raise UserError(f"`amount` must be a number, but got amount={self.amount!r}")
        if not math.isfinite(self.amount) or self.amount <= 0:
            raise UserError(f"`amount > 0` must hold for a budget, but got amount={self.amount}")
        object.__setattr__(self, "amount", float(self.amount))
        if not self.text:
            object.__setattr__(self, "text", str(self))

    @classmethod
    def from_text(cls, text: str) -> Budget:
        """:func:`parse_budget` (the form hsearch.configs reads a settings value with)."""
        return parse_budget(text)

    def to_text(self) -> str:
        """The spelling it was parsed from (the form hsearch.configs writes back)."""
        return self.text

    @property
    def is_time(self) -> bool:
        """True for a wall-clock budget."""
        return self.kind == "seconds"

    def total_steps(self, steps_per_epoch: float) -> int | None:
        """Optimiser steps of an epoch budget (rounded, at least one); None for a time budget.

        ``steps_per_epoch`` may be fractional (training-set size / batch size).
        """
        if self.is_time:
            return None
        if not steps_per_epoch > 0:
            raise ValueError(f"`steps_per_epoch > 0` must hold, but got {steps_per_epoch}")
        return max(1, round(self.amount * steps_per_epoch))

    def progress(self, elapsed_seconds: float, step: int, total_steps: int | None) -> float:
        """Fraction of the budget spent, clipped to [0, 1].

        ``elapsed_seconds`` is the on-clock training time, ``step`` the number of optimiser steps
        already taken; the one matching the budget's kind is used.
        """
        if self.is_time:
            value = elapsed_seconds / self.amount
        else:
            if total_steps is None:
                raise ValueError("an epoch budget needs total_steps")
            value = step / total_steps
        return min(1.0, max(0.0, value))

    def __str__(self) -> str:
        number = f"{self.amount:.12g}"
        return f"{number}s" if self.is_time else f"{number}ep"

    def to_dict(self) -> dict:
        """Plain data for result files; ``parse_budget(d["text"])`` rebuilds it."""
        return {"kind": self.kind, "amount": self.amount, "text": str(self)}


def parse_budget(text: str | Budget) -> Budget:
    """Parse ``"600s"``, ``"10m"``, ``"1.5h"``, ``"30ep"`` (also ``"30 epochs"``, ``"90 sec"``, ...).

    A bare number is refused: seconds and epochs are too easy to confuse. Zero, negative or
    malformed budgets raise UserError naming the accepted forms. A Budget is returned unchanged.
    """
    if isinstance(text, Budget):
        return text
    if not isinstance(text, str):
        raise UserError(f"budget must be a string such as {BUDGET_FORMS}, but got {text!r}")
    match = _BUDGET_RE.match(text)
    if text.strip().startswith("-"):
        raise UserError(f"budget must be positive, but got {text!r}; use {BUDGET_FORMS}")
    if not match:
        try:
            float(text)
        except ValueError:
            raise UserError(f"cannot read budget {text!r}; use {BUDGET_FORMS}") from None
        raise UserError(f"budget {text!r} has no unit; use {BUDGET_FORMS}")
    unit = match.group("unit").lower()
    if unit not in _UNITS:
        raise UserError(f"unknown budget unit {match.group('unit')!r} in {text!r}; use {BUDGET_FORMS}")
    kind, scale = _UNITS[unit]
    amount = float(match.group("number")) * scale
    if not math.isfinite(amount) or amount <= 0:
        raise UserError(f"budget must be positive, but got {text!r}; use {BUDGET_FORMS}")
    return Budget(kind, amount, text)


def check_budget(budget) -> Budget:
    """``budget`` itself when it is a Budget; TypeError otherwise (text is parsed where it enters:
    :func:`parse_budget`, not in the trainer)."""
    if not isinstance(budget, Budget):
        raise TypeError(f"budget must be a Budget (hsearch.train.parse_budget), but got "
                        f"{budget!r}")
    return budget


@dataclass(frozen=True)
class LRSchedule:
    """Learning rate as a function of budget progress in [0, 1].

    Linear warm-up from ``lr * warmup_start`` to ``lr`` over the first ``warmup_fraction`` of the
    budget, then a half cosine from ``lr`` down to ``lr * final_fraction``, reached exactly at
    progress 1 (the end of the budget). ``kind="constant"`` keeps ``lr`` after the warm-up.
    """

    lr: float
    warmup_fraction: float = 0.0
    final_fraction: float = 0.0
    warmup_start: float = 0.0
    kind: Literal["cosine", "constant"] = "cosine"

    def __post_init__(self) -> None:
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"`lr > 0` must hold, but got lr={self.lr}")
        if not 0.0 <= self.warmup_fraction < 1.0:
            raise ValueError(
                f"`0 <= warmup_fraction < 1` must hold, but got warmup_fraction={self.warmup_fraction}"
            )
        if not 0.0 <= self.final_fraction <= 1.0:
            raise ValueError(
                f"`0 <= final_fraction <= 1` must hold, but got final_fraction={self.final_fraction}"
            )
        if not 0.0 <= self.warmup_start <= 1.0:
            raise ValueError(f"`0 <= warmup_start <= 1` must hold, but got warmup_start={self.warmup_start}")
        if self.kind not in ("cosine", "constant"):
            raise ValueError(f"`kind` must be 'cosine' or 'constant', but got kind={self.kind!r}")

    @property
    def floor(self) -> float:
        """The learning rate at the end of the budget."""
        return self.lr if self.kind == "constant" else self.lr * self.final_fraction

    def __call__(self, progress: float) -> float:
        p = min(1.0, max(0.0, float(progress)))
        w = self.warmup_fraction
        if w > 0 and p < w:
            return self.lr * (self.warmup_start + (1.0 - self.warmup_start) * p / w)
        if self.kind == "constant":
            return self.lr
        if p >= 1.0:
            return self.floor  # exact, not 1e-17 off through cos(pi)
        t = (p - w) / (1.0 - w)
        return self.floor + (self.lr - self.floor) * 0.5 * (1.0 + math.cos(math.pi * t))
