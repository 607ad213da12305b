"""What the solo and the packed trainer share for cutting batches: the seeded stream of batch
indices and the CPU thread cap of batch preparation."""

from __future__ import annotations

import contextlib
from typing import Iterator

import torch


@contextlib.contextmanager
def at_most_threads(threads: int | None) -> Iterator[None]:
    """Run the block with at most ``threads`` torch CPU threads (None: unchanged); restores the
    caller's setting afterwards, whatever happens."""
    before = torch.get_num_threads()
    if threads is None or threads >= before:
        yield
        return
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class BatchStream:
    """Batch indices cut from an endless stream of seeded permutations of the training set.

    Batches run across permutation boundaries, so every batch has the same size (static shapes
    for cuDNN autotuning and compilation) and no image sits out an epoch even when the batch
    size does not divide the set size. The batch is capped at the set size.
    """

    def __init__(self, n: int, batch_size: int, device: torch.device, seed: int):
        self.n = n
        self.batch = min(batch_size, n)
        self._device = device
        self._generator = torch.Generator(device="cpu").manual_seed(seed)
        self._pending = torch.empty(0, dtype=torch.int64, device=device)

    def next(self) -> torch.Tensor:
        if self._pending.numel() < self.batch:
            fresh = torch.randperm(self.n, generator=self._generator).to(self._device)
            self._pending = torch.cat([self._pending, fresh])
        idx, self._pending = self._pending[:self.batch], self._pending[self.batch:]
        return idx
