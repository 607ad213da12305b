"""The trainer's step clock: on-clock seconds with pause/resume (synchronising the device), and the
record of a run in flight. Timing rules: hsearch.train.trainer's docstring."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import torch

__all__ = ["Progress", "StepClock", "sync_function"]


def sync_function(device: torch.device) -> Callable[[], None]:
    """What waits for ``device`` to finish its queued work (nothing on CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


class StepClock:
    """On-clock seconds (perf_counter), with pause/resume; both synchronise the device."""

    def __init__(self, sync: Callable[[], None]):
        self._sync = sync
        self._spent = 0.0
        self._since: float | None = None

    def resume(self) -> None:
        self._sync()
        self._since = time.perf_counter()

    def pause(self) -> float:
        self._sync()
        self._spent = self.elapsed()
        self._since = None
        return self._spent

    def elapsed(self) -> float:
        """On-clock seconds now, without synchronising: the step loop waits for the device itself
        (LossCheck) before it reads the clock; pause() synchronises."""
        if self._since is None:
            return self._spent
        return self._spent + (time.perf_counter() - self._since)


@dataclass
class Progress:
    """Mutable record of a run in flight, so a failure can still report how far it got."""

    steps: int = 0
    train_seconds: float = 0.0
    warmup_seconds: float = 0.0
    eval_seconds: float = 0.0
    final_lr: float = 0.0
    step_seconds: list[float] = field(default_factory=list)
    history: list[dict] = field(default_factory=list)

    def run_on_to(self, seconds: float) -> None:
        """The clock ran on to ``seconds`` after the last step ended (a step still in flight on
        the device, or bookkeeping before the deadline check): that time joins the last step."""
        if self.step_seconds and seconds > self.train_seconds:
            self.step_seconds[-1] += seconds - self.train_seconds
            self.train_seconds = seconds

