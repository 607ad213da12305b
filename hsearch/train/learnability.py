"""A warning when a budget is too small to learn anything: too few optimiser steps, or no epoch.

The trainer calls :func:`warn_if_unlearnable` once, after its untimed warm-up and before the
first step. An epoch budget's step count is exact; a time budget's is forecast from the
warm-up's seconds per step (a first step is slower than later ones, so the forecast errs low:
a warning near the limit may be a false alarm, a run far below it never learns). Below
``MIN_STEPS`` optimiser steps, or a budget that ends inside the first epoch, the warning names
the figures and the remedies (a smaller batch, a lower resolution, a longer budget).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

logger = logging.getLogger(__name__)

#: Fewer optimiser steps than this in a budget: warn (a network needs some dozens to move
#: off chance; the digits profile makes about 16 a second on 2 cores).
MIN_STEPS = 20


@dataclass(frozen=True)
class StepForecast:
    """How many steps and epochs a budget allows: ``exact`` for epoch budgets, else estimated
    from ``seconds_per_step``."""

    steps: float
    epochs: float
    steps_per_epoch: float
    seconds_per_step: float | None
    exact: bool


def forecast_steps(budget, n_train: int, batch_size: int,
                   seconds_per_step: float | None = None) -> StepForecast | None:
    """Steps and epochs of ``budget`` (hsearch.train.Budget) for ``n_train`` images in batches of
    ``batch_size`` (capped at ``n_train``); None for a time budget without a step time."""
    batch = max(1, min(batch_size, n_train))
    per_epoch = n_train / batch
    if not budget.is_time:
        steps = float(budget.total_steps(per_epoch))
        return StepForecast(steps, steps / per_epoch, per_epoch, seconds_per_step, True)
    if seconds_per_step is None or not seconds_per_step > 0 or not math.isfinite(seconds_per_step):
        return None
    steps = math.ceil(budget.amount / seconds_per_step)
    return StepForecast(float(steps), steps / per_epoch, per_epoch, seconds_per_step, False)


def unlearnable_message(forecast: StepForecast, budget, batch_size: int, n_train: int,
                        resolution: int) -> str | None:
    """The one warning line for a budget that cannot train a network; None when it can."""
    if forecast.steps >= MIN_STEPS and forecast.epochs >= 1.0:
        return None
    how = "" if forecast.exact else (f" at about {forecast.seconds_per_step:.2f} s per step "
                                     f"(timed in the warm-up)")
    remedies = [f"a smaller batch (--batch-size {max(8, batch_size // 4)})"
                if batch_size > 8 else None,
                f"a lower resolution (now {resolution} px)" if resolution > 8 else None,
                "a longer budget"]
    return (f"budget {budget} allows only about {forecast.steps:.0f} optimiser steps "
            f"({forecast.epochs:.2f} epochs of {n_train} images in batches of "
            f"{min(batch_size, n_train)}){how}; under {MIN_STEPS} steps or one epoch the network "
            f"stays near chance: use " + ", ".join(r for r in remedies if r))


def warn_if_unlearnable(budget, n_train: int, batch_size: int, resolution: int,
                        seconds_per_step: float | None = None) -> str:
    """Log :func:`unlearnable_message` as a warning when it applies; return it ("" if not)."""
    forecast = forecast_steps(budget, n_train, batch_size, seconds_per_step)
    if forecast is None:
        return ""
    message = unlearnable_message(forecast, budget, batch_size, n_train, resolution)
    if message is None:
        return ""
    logger.warning(message)
    return message


class OnceFilter(logging.Filter):
    """A filter for this module's logger that lets the first of equal warnings through (one per
    command, not one per seed) and keeps the distinct ones in ``messages`` (for result.json)."""

    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        # A time budget's forecast differs a little between seeds: compare up to the figures.
        key = message.split(" allows ")[0]
        if any(m.split(" allows ")[0] == key for m in self.messages):
            return False
        self.messages.append(message)
        return True
