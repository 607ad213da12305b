"""The budgeted trainer: a function of (model, data, config, budget, report callback).

In the style of Keller Jordan's cifar10-airbench: the whole training subset lives on the device
as one uint8 tensor, batches are cut from a seeded permutation and augmented on the device
(hsearch.data.BatchAugmenter), normalisation happens on the batch, and only training is on the
clock -- warm-up/compilation, per-epoch evaluation and reporting are off it.

Timing: the clock is read before every step. On CPU a finished step is finished work; on CUDA the
host waits before each read only for the step before the last one (hsearch.train.device.LossCheck:
one step stays in flight, so the GPU never idles while the host plans the next step), and the
clock synchronises fully when it pauses. A time budget lets a step start only while the on-clock
time is below the budget, so a run ends less than one step past it on CPU (two on CUDA); the excess
is recorded as ``overrun_seconds``. An epoch budget
runs a fixed number of steps. The learning rate follows budget progress (LRSchedule) and reaches
its floor exactly when the budget is spent.

The reported accuracy is always the *final* model's, evaluated once after training on the
evaluation split of ``data``; per-epoch evaluations go to the report callback only.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

import torch
from torch import nn

from hsearch.data import BatchAugmenter
from hsearch.train.accuracy import Normalize, evaluate_accuracy
from hsearch.train.batches import BatchStream, at_most_threads
from hsearch.train.budget import Budget, LRSchedule, check_budget
from hsearch.train.clock import StepClock, Progress, sync_function
from hsearch.train.config import TrainConfig
from hsearch.train.device import (
    LossCheck,
    compile_model,
    default_bf16,
    default_channels_last,
    release_memory,
    resolve_device,
)
from hsearch.train.learnability import warn_if_unlearnable
from hsearch.train.optim import build_optimizer
from hsearch.train.run_types import DIVERGED, OK, OOM, TrainData, TrainResult, derive_seed

logger = logging.getLogger(__name__)

Report = Callable[..., Any]


def train(model: nn.Module, data: TrainData, config: TrainConfig, budget: Budget,
          report: Report | None = None, device: str | torch.device | None = None,
          seed: int = 0) -> TrainResult:
    """Train ``model`` on ``data`` within ``budget``; return the final model's evaluation.

    model: any classifier taking normalised float [B, 3, R, R]; trained in place, on ``device``
        (None: CUDA when available), in channels_last, with bf16 autocast on CUDA GPUs of compute
        capability >= 8 (config.bf16 None; hsearch.train.device.default_bf16).
    data: TrainData (moved to ``device`` when not there yet).
    report: called as ``report(**metrics)`` after every epoch, off the clock, with epoch, step,
        epochs, loss, train_acc, val_acc (None when config.eval_each_epoch is off), lr (the
        schedule's value at the epoch's end), epoch_seconds, images_per_second, elapsed, progress.
    seed: seeds batch order, augmentation and torch's RNGs inside the call (the caller's RNG state
        is restored afterwards); the same seed on CPU gives the same result. The model's
        initialisation is the caller's (see train_one_seed).

    A non-finite loss stops the run with status "diverged" and a CUDA out-of-memory error with
    status "oom"; neither raises. After an out-of-memory error the run's tensors (optimiser
    state, activations, batches) are released and the device cache emptied before returning, so
    processes sharing the GPU get the memory back (only the model's parameters remain). The
    model trains with the caller's torch CPU thread count (torch.set_num_threads); on CPU, batch
    preparation (cut, augment, normalise) uses at most ``config.augment_threads`` of them. The
    count is the caller's again after the call.
    """
    budget = check_budget(budget)
    device = resolve_device(device)
    data = data.to(device)
    progress = Progress()
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    cudnn_benchmark = torch.backends.cudnn.benchmark
    oom_message = None
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(derive_seed(seed, 0))
        try:
            if device.type == "cuda":
                torch.backends.cudnn.benchmark = True  # fixed shapes: autotuning pays off
            status, message, accuracy = _train(model, data, config, budget, report, device, seed,
                                               progress)
        except torch.OutOfMemoryError as exc:
            # Only the message leaves this block: the traceback holds _train's frames, and with
            # them the optimiser state, activations and batch; they must be gone before the
            # cache is emptied (below), else the memory stays in PyTorch's cache.
            oom_message = str(exc).splitlines()[0] if str(exc) else "out of memory"
        finally:
            torch.backends.cudnn.benchmark = cudnn_benchmark
    if oom_message is not None:
        status, message, accuracy = OOM, oom_message, 0.0
        model.zero_grad(set_to_none=True)
        left = release_memory(device)
        logger.warning("training ran out of device memory after %d steps: %s (released; %.1f MiB "
                       "still allocated on %s)", progress.steps, message, left / 2**20, device)
    n = data.train_images.shape[0]
    batch = min(config.batch_size, n)
    overrun = max(0.0, progress.train_seconds - budget.amount) if budget.is_time else 0.0
    return TrainResult(
        status=status,
        accuracy=accuracy,
        split=data.eval_split,
        budget=str(budget),
        steps=progress.steps,
        epochs=progress.steps * batch / n,
        batch_size=batch,
        train_seconds=progress.train_seconds,
        overrun_seconds=overrun,
        final_lr=progress.final_lr,
        images_per_second=(progress.steps * batch / progress.train_seconds
                           if progress.train_seconds > 0 else 0.0),
        warmup_seconds=progress.warmup_seconds,
        eval_seconds=progress.eval_seconds,
        device=str(device),
        step_seconds=tuple(progress.step_seconds),
        history=tuple(progress.history),
        message=message,
    )


def _train(model: nn.Module, data: TrainData, config: TrainConfig, budget: Budget,
           report: Report | None, device: torch.device, seed: int,
           progress: Progress) -> tuple[str, str, float]:
    """The training loop proper; returns (status, message, final accuracy)."""

    channels_last = (default_channels_last(device) if config.channels_last is None
                     else config.channels_last)
    bf16 = default_bf16(device) if config.bf16 is None else config.bf16

    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    model.train()
    step_model = compile_model(model) if config.compile else model
    optimizer = build_optimizer(model.parameters(), config)
    schedule = LRSchedule(config.lr, config.warmup_fraction, config.final_lr_fraction,
                          kind=config.schedule)
    criterion = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)
    normalize = Normalize(data.mean, data.std, device, channels_last)
    augment = BatchAugmenter(config.augment, data.resolution, seed=derive_seed(seed, 1), device=device)
    batches = BatchStream(data.train_images.shape[0], config.batch_size, device,
                           seed=derive_seed(seed, 2))
    images, labels = data.train_images, data.train_labels
    n, batch = batches.n, batches.batch
    total_steps = budget.total_steps(n / batch)
    sync = sync_function(device)

    def forward_backward(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = step_model(x)
        loss = criterion(logits.float(), y)
        loss.backward()
        return loss.detach(), logits.detach()

    # Fewer CPU threads for the small batch-preparation ops (TrainConfig.augment_threads).
    prepare_threads = config.augment_threads if device.type == "cpu" else None

    def prepare(idx: torch.Tensor, augmenter) -> torch.Tensor:
        with at_most_threads(prepare_threads):
            return normalize(augmenter(images[idx]))

    # Warm-up off the clock: allocator, cuDNN autotuning and compilation see the real shapes,
    # and the augmentation's first call (lazy imports, kernel set-up: seconds in a fresh
    # process) is made by a throwaway augmenter, so the seeded stream stays as it is. The
    # parameters are untouched (no optimiser step) and BatchNorm statistics are restored.
    start = time.perf_counter()
    if config.warmup_passes:
        saved = {k: v.detach().clone() for k, v in model.state_dict().items()}
        spare = BatchAugmenter(config.augment, data.resolution, seed=derive_seed(seed, 4),
                               device=device)
        warm_idx = torch.arange(batch, device=device)
        for _ in range(config.warmup_passes):
            forward_backward(prepare(warm_idx, spare), labels[warm_idx])
            model.zero_grad(set_to_none=True)
        model.load_state_dict(saved)
        sync()
    progress.warmup_seconds = time.perf_counter() - start
    warn_if_unlearnable(budget, n, batch, data.resolution,
                        progress.warmup_seconds / config.warmup_passes
                        if config.warmup_passes and not config.compile else None)

    clock = StepClock(sync)
    losses = LossCheck(device)
    status, message = OK, ""
    epoch = _EpochStats(device)

    def end_epoch(number: float) -> None:
        """Per-epoch metrics to history and report; runs with the clock paused."""
        off_start = time.perf_counter()
        seconds = progress.train_seconds - epoch.start_seconds
        at = budget.progress(progress.train_seconds, progress.steps, total_steps)
        val_acc = (evaluate_accuracy(model, data.eval_images, data.eval_labels, data.mean, data.std,
                                     config.eval_batch_size, bf16, channels_last)
                   if config.eval_each_epoch else None)
        metrics = {
            "epoch": number,
            "step": progress.steps,
            "epochs": progress.steps * batch / n,
            "loss": epoch.loss_sum.item() / epoch.steps,
            "train_acc": epoch.correct.item() / (epoch.steps * batch),
            "val_acc": val_acc,
            "lr": schedule(at),
            "epoch_seconds": seconds,
            "images_per_second": epoch.steps * batch / seconds if seconds > 0 else 0.0,
            "elapsed": progress.train_seconds,
            "progress": at,
        }
        progress.history.append(metrics)
        if report is not None:
            report(**metrics)
        progress.eval_seconds += time.perf_counter() - off_start

    def diverged(found: tuple[int, float] | None) -> bool:
        nonlocal status, message
        if found is None:
            return False
        status = DIVERGED
        message = f"non-finite training loss {found[1]} at step {found[0]}"
        logger.warning("training diverged: %s", message)
        return True

    def pause_clock() -> None:
        """Pause the clock (a full device sync); on CUDA the step still in flight ends only now,
        so its time joins the last step's (on CPU the last step ended at train_seconds)."""
        paused = clock.pause()
        if losses.lagged:
            progress.run_on_to(paused)

    clock.resume()
    while True:
        t0 = clock.elapsed()  # no device sync: LossCheck waited for the step before the last
        if budget.is_time and t0 >= budget.amount:
            # the deadline: no step may start past it. Counting the time since the last step
            # there, the run is seen to reach the deadline and still ends within one step of it
            progress.run_on_to(t0)
            break
        if total_steps is not None and progress.steps >= total_steps:
            break
        lr = schedule(budget.progress(t0, progress.steps, total_steps))
        for group in optimizer.param_groups:
            group["lr"] = lr
        idx = batches.next()
        x = prepare(idx, augment)
        y = labels[idx]
        loss, logits = forward_backward(x, y)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        found = losses.after_step(progress.steps + 1, loss)  # CPU: this step; CUDA: the one before
        t1 = clock.elapsed()
        progress.step_seconds.append(t1 - t0)
        progress.train_seconds = t1
        progress.steps += 1
        if diverged(found):
            break
        epoch.add(loss, logits, y)
        if progress.steps * batch >= (epoch.number + 1) * n:  # this step completed an epoch
            pause_clock()
            if diverged(losses.drain()):
                break
            end_epoch(epoch.number + 1)
            epoch.next(progress.train_seconds)
            clock.resume()
    pause_clock()
    if status == OK and not diverged(losses.drain()) and epoch.steps:
        end_epoch(epoch.number + 1)  # the last, partial epoch

    progress.final_lr = schedule(budget.progress(progress.train_seconds, progress.steps, total_steps))
    if status != OK:
        return status, message, 0.0
    start = time.perf_counter()
    accuracy = evaluate_accuracy(model, data.eval_images, data.eval_labels, data.mean, data.std,
                                 config.eval_batch_size, bf16, channels_last)
    progress.eval_seconds += time.perf_counter() - start
    return status, message, accuracy


class _EpochStats:
    """Running loss and accuracy of the current epoch, kept on the device (no per-step sync).

    ``number`` counts the completed epochs.
    """

    def __init__(self, device: torch.device):
        self.number = 0
        self._device = device
        self._reset(0.0)

    def next(self, start_seconds: float) -> None:
        self.number += 1
        self._reset(start_seconds)

    def _reset(self, start_seconds: float) -> None:
        self.start_seconds = start_seconds
        self.steps = 0
        self.loss_sum = torch.zeros((), dtype=torch.float32, device=self._device)
        self.correct = torch.zeros((), dtype=torch.int64, device=self._device)

    def add(self, loss: torch.Tensor, logits: torch.Tensor, labels: torch.Tensor) -> None:
        self.steps += 1
        self.loss_sum += loss
        self.correct += (logits.argmax(dim=1) == labels).sum()
