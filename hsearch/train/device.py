"""Device-specific choices of the trainer: the device itself, bf16 default, compilation, the step
loop's host-device synchronisation, and releasing device memory after an out-of-memory error.

Kept apart from the loop (hsearch.train.trainer) because each of these differs between CPU and
CUDA and each is a trap on a GPU:

* ``default_bf16``: ``torch.cuda.is_bf16_supported()`` is also true on GPUs that only emulate
  bf16 (V100, T4: compute capability 7.x), where autocast to bf16 is slower than fp32; bf16 is the
  default only from compute capability 8 (A100, H100, consumer Ampere and later).
* ``compile_model``: a seed worker or trial process may train many architectures in turn. Dynamo
  caches graphs per code object: a second input resolution makes H/W symbolic in every later
  graph ("automatic dynamic shapes") and after ``recompile_limit`` (8) architectures it gives up
  and runs eager, so later trials would train slower. Each run therefore starts from a reset
  Dynamo and compiles with static shapes.
* ``LossCheck``: the non-finite-loss check. On CPU every step's loss is read at once (the work is
  done when the step returns). On CUDA the host must not wait for the GPU every step (it would
  idle while the next step is planned and launched): the loss is copied to pinned host memory
  without blocking, an event is recorded after each step, and the host waits only for the event
  of the step *before* the last one. One step stays in flight; the deadline check that follows
  therefore sees at most one unfinished step, and the clock's synchronising pause at the end
  counts it (a time budget overruns by less than two steps on CUDA, one on CPU).
"""

from __future__ import annotations

import gc
import logging
import math
import os
from collections import deque

import torch
from torch import nn

from hsearch.errors import UserError

logger = logging.getLogger(__name__)

#: Inductor's compile-worker count in seed workers (they share the node's CPUs with other seeds).
COMPILE_THREADS_ENV = "TORCHINDUCTOR_COMPILE_THREADS"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """``None`` -> CUDA when available, else CPU; a CUDA device without CUDA is a UserError."""
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise UserError(f"unknown device {device!r}: {exc}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UserError(f"device {str(device)!r} requested but CUDA is not available here")
    return device


def default_channels_last(device: torch.device, packed: bool = False) -> bool:
    """Whether channels_last is the default memory format (TrainConfig.channels_last None).

    Solo training: always. Packed training (hsearch.train.packed): the same on CPU, so that a
    packed seed matches its solo run with default settings (``--pack`` vs ``--no-pack``: the two
    formats round convolutions differently); off on CUDA, where vmap sends channels_last
    adaptive pooling through a per-seed fallback (``as_strided_``), the many small kernels
    packing is there to remove (GPU runs are not bit-reproducible either way).
    """
    return not (packed and torch.device(device).type == "cuda")


def default_bf16(device: torch.device, capability: tuple[int, int] | None = None) -> bool:
    """Whether bf16 autocast is the default on ``device``: CUDA with compute capability >= 8.0.

    ``capability`` (major, minor) overrides the device's own (None: asked from CUDA).
    """
    device = torch.device(device)
    if device.type != "cuda":
        return False
    if capability is None:
        capability = torch.cuda.get_device_capability(device)
    return tuple(capability) >= (8, 0)


def compile_model(model: nn.Module, backend="inductor") -> nn.Module:
    """``torch.compile(model)`` for one training run: Dynamo reset first, static shapes.

    The reset drops graphs and recompile counts of earlier runs in this process (module
    docstring); ``dynamic=False`` keeps every graph specialised to this run's shapes.
    """
    import torch._dynamo

    torch._dynamo.reset()
    return torch.compile(model, backend=backend, dynamic=False)


def limit_compile_threads(threads: int = 1) -> None:
    """Inductor compiles with at most ``threads`` worker processes in this process.

    For seed workers: on a node shared by several seeds, Inductor's default (one compile worker
    per CPU) competes with the other seeds' training. Sets the environment variable (read when
    Inductor is first imported) and, if Inductor is loaded already, its config.
    """
    os.environ[COMPILE_THREADS_ENV] = str(int(threads))
    import sys

    config = sys.modules.get("torch._inductor.config")
    if config is not None:
        config.compile_threads = int(threads)


def release_memory(device: torch.device) -> int:
    """Collect garbage and return cached device memory to the driver; bytes still allocated.

    Call it after the tensors of a failed run are unreachable (outside the ``except`` block whose
    traceback holds the loop's frames), so the memory really goes back to the GPU's other users.
    """
    gc.collect()
    if torch.device(device).type != "cuda":
        return 0
    torch.cuda.empty_cache()
    return int(torch.cuda.memory_allocated(device))


class LossCheck:
    """Finds the first non-finite training loss; CPU: at once, CUDA: one step late (module doc).

    ``after_step(step, loss)`` and ``drain()`` return ``(step, value)`` of a non-finite loss once
    one is known, else None. ``drain`` waits for every step (call it when the clock pauses).
    """

    def __init__(self, device: torch.device, lag: int | None = None):
        self._cuda = torch.device(device).type == "cuda"
        self._lag = (1 if self._cuda else 0) if lag is None else int(lag)
        if self._lag and not self._cuda:
            raise ValueError("a lagged loss check needs CUDA (events and pinned memory)")
        self._pending: deque = deque()  # (step, event, pinned host slot), oldest first
        self._slots = ([torch.empty((), dtype=torch.float32, pin_memory=True)
                        for _ in range(self._lag + 1)] if self._lag else [])

    @property
    def lagged(self) -> bool:
        """True when steps are checked late (CUDA): the last ones end when the clock pauses."""
        return self._lag > 0

    def after_step(self, step: int, loss: torch.Tensor) -> tuple[int, float] | None:
        """Record step ``step``'s loss; the first non-finite one known by now, or None."""
        if not self._lag:
            value = loss.item()
            return None if math.isfinite(value) else (step, value)
        slot = self._slots[step % len(self._slots)]
        slot.copy_(loss.detach().float(), non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._pending.append((step, event, slot))
        return self._settle(keep=self._lag)

    def drain(self) -> tuple[int, float] | None:
        """Wait for every recorded step; the first non-finite loss among them, or None."""
        return self._settle(keep=0)

    def _settle(self, keep: int) -> tuple[int, float] | None:
        found = None
        while len(self._pending) > keep:
            step, event, slot = self._pending.popleft()
            event.synchronize()  # this step (and its loss copy) is done; later ones may run on
            value = float(slot)  # a host tensor: no device sync
            if found is None and not math.isfinite(value):
                found = (step, value)
        return found
