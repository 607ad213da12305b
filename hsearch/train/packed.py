"""The packed trainer: K seeds of one architecture trained together, as one model.

The K models' parameters and buffers are stacked (``torch.func.stack_module_state``) and one
step runs ``vmap(functional_call(...))`` over the stack: a convolution becomes one grouped
convolution, a BatchNorm K independent ones. Each seed keeps what it has when trained alone by
:func:`hsearch.train.trainer.train`: its own data (subset), initialisation, batch order and
augmentation draws (the same derived seeds), BatchNorm statistics (stacked buffers, updated in
place) and optimiser state (one optimiser over the stacked tensors: every optimiser the trainer
builds is elementwise, so each seed's slice moves as it would alone). With an epoch budget a
packed seed therefore follows its solo run to floating-point rounding.

Per seed: the loss of every step is checked; a seed whose loss is not finite is marked
"diverged", its final parameters are frozen and it leaves the pack (the remaining seeds are
re-stacked, with their optimiser state); the others go on untouched. Every seed gets its own
TrainResult, its own per-epoch report, and its model (the caller's, trained in place) holds its
final parameters and statistics.

Time budgets (TIME_RULE): the group has one clock. Every seed's budget is the group's on-clock
time: the K seeds train side by side for the budget's seconds, all taking the same steps (and
the same learning-rate schedule); each seed's ``train_seconds`` is the group's. A packed seed
therefore takes fewer steps in its budget than alone unless a packed step costs no more than a
solo one.

Not every model packs (:func:`pack_problem`): random layers (dropout) would draw one stream for
the pack instead of each seed's own, so such a model must train solo. Out-of-memory of the pack
ends every seed with status "oom" (hsearch.train.packed_seeds retries smaller packs).
"""

from __future__ import annotations

import copy
import logging
import math
import time
from typing import Any, Callable, Sequence

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap
from torch.nn import functional as F

from hsearch.data import BatchAugmenter, augment_together
from hsearch.train.accuracy import Normalize, evaluate_accuracy
from hsearch.train.batches import BatchStream, at_most_threads
from hsearch.train.budget import Budget, LRSchedule, check_budget
from hsearch.train.clock import Progress, StepClock, sync_function
from hsearch.train.config import TrainConfig
from hsearch.train.device import (
    default_bf16,
    default_channels_last,
    release_memory,
    resolve_device,
)
from hsearch.train.optim import build_optimizer
from hsearch.train.run_types import DIVERGED, OK, OOM, TrainData, TrainResult, derive_seed

logger = logging.getLogger(__name__)

Report = Callable[..., Any]

#: How a time budget is spent by a pack (module docstring); recorded with packed results.
TIME_RULE = ("group clock: every packed seed's time budget is the group's on-clock time, all "
             "seeds of the group take the same steps")


def pack_problem(model: nn.Module) -> str | None:
    """Why ``model`` cannot train packed (and must train solo), or None when it can.

    Dropout draws under vmap come from one stream for the whole pack, not from each seed's own;
    a BatchNorm with ``momentum=None`` (cumulative average) reads its batch count on the host.
    """
    for name, module in model.named_modules():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            return (f"random layer {name or type(module).__name__} ({type(module).__name__}, "
                    f"p={module.p}): its draws would not be each seed's own")
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.momentum is None:
            return f"BatchNorm {name} with momentum=None (cumulative statistics)"
    return None


def check_packable(models: Sequence[nn.Module], datas: Sequence[TrainData],
                   seeds: Sequence[int]) -> None:
    """ValueError unless the models are one architecture that packs and the data sets agree in
    training-set size, evaluation-set size and resolution (one batch shape, one epoch length)."""
    if not models or not (len(models) == len(datas) == len(seeds)):
        raise ValueError(f"need as many models, data sets and seeds (at least one), but got "
                         f"{len(models)} models, {len(datas)} data sets, {len(seeds)} seeds")
    if len(set(int(s) for s in seeds)) != len(seeds):
        raise ValueError(f"seeds must be distinct, but got {list(seeds)}")
    problem = pack_problem(models[0])
    if problem is not None:
        raise ValueError(f"{type(models[0]).__name__} cannot train packed: {problem}")
    shapes = [[(k, tuple(v.shape), v.dtype) for k, v in m.state_dict().items()] for m in models]
    if any(s != shapes[0] for s in shapes[1:]):
        raise ValueError("packed models must share one architecture (the same parameter and "
                         "buffer names and shapes)")
    sizes = {(d.train_images.shape, d.eval_images.shape) for d in datas}
    if len(sizes) != 1:
        raise ValueError(f"packed seeds need training and evaluation sets of one size and "
                         f"resolution, but got {sorted(sizes)}")


def train_packed(models: Sequence[nn.Module], datas: Sequence[TrainData], config: TrainConfig,
                 budget: Budget, seeds: Sequence[int],
                 reports: Sequence[Report | None] | None = None,
                 device: str | torch.device | None = None,
                 augment_per_seed: bool = False) -> list[TrainResult]:
    """Train ``models[k]`` on ``datas[k]`` with ``seeds[k]``'s streams, all K as one model.

    Each seed's result is what :func:`hsearch.train.train` gives for it alone (module docstring:
    to rounding with an epoch budget; a time budget follows TIME_RULE). ``reports[k]`` (None:
    no callback) is seed k's per-epoch callback, called as ``report(**metrics)`` with the solo
    trainer's metrics. The models are trained in place (each ends with its own final state) and
    must pass :func:`check_packable`. bf16 and the thread rules are the solo trainer's;
    ``config.channels_last=None`` is hsearch.train.device.default_channels_last(packed=True):
    the solo trainer's format on CPU, contiguous on CUDA; ``config.compile`` is not applied.
    Each step augments the pack's K batches in one call (hsearch.data.augment_together, the same
    draws as K calls); ``augment_per_seed`` makes it K calls (for benchmarks).
    """
    check_packable(models, datas, seeds)
    budget = check_budget(budget)
    device = resolve_device(device)
    datas = [d.to(device) for d in datas]
    reports = list(reports) if reports is not None else [None] * len(models)
    if len(reports) != len(models):
        raise ValueError(f"need one report per seed, but got {len(reports)} for {len(models)}")
    progresses = [Progress() for _ in models]
    shared = Progress()  # the group's warm-up and evaluation time
    fork_devices = [device.index or 0] if device.type == "cuda" else []
    cudnn_benchmark = torch.backends.cudnn.benchmark
    oom_message = None
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(derive_seed(seeds[0], 0))
        try:
            if device.type == "cuda":
                torch.backends.cudnn.benchmark = True
            outcomes = _train_packed(models, datas, config, budget, reports, device,
                                     [int(s) for s in seeds], progresses, shared,
                                     augment_per_seed)
        except torch.OutOfMemoryError as exc:
            # only the message leaves the block (see hsearch.train.trainer.train)
            oom_message = str(exc).splitlines()[0] if str(exc) else "out of memory"
        finally:
            torch.backends.cudnn.benchmark = cudnn_benchmark
    if oom_message is not None:
        outcomes = [(OOM, f"{oom_message} (a pack of {len(models)})", 0.0)] * len(models)
        for model in models:
            model.zero_grad(set_to_none=True)
        left = release_memory(device)
        logger.warning("a pack of %d seeds ran out of device memory: %s (released; %.1f MiB "
                       "still allocated on %s)", len(models), oom_message, left / 2**20, device)
    n = datas[0].train_images.shape[0]
    batch = min(config.batch_size, n)
    results = []
    for (status, message, accuracy), progress in zip(outcomes, progresses):
        overrun = max(0.0, progress.train_seconds - budget.amount) if budget.is_time else 0.0
        results.append(TrainResult(
            status=status, accuracy=accuracy, split=datas[0].eval_split, budget=str(budget),
            steps=progress.steps, epochs=progress.steps * batch / n, batch_size=batch,
            train_seconds=progress.train_seconds, overrun_seconds=overrun,
            final_lr=progress.final_lr,
            images_per_second=(progress.steps * batch / progress.train_seconds
                               if progress.train_seconds > 0 else 0.0),
            warmup_seconds=shared.warmup_seconds, eval_seconds=shared.eval_seconds,
            device=str(device), step_seconds=tuple(progress.step_seconds),
            history=tuple(progress.history), message=message,
        ))
    return results


class _Pack:
    """The stacked state of the seeds still training: parameters (leaves of the optimiser),
    buffers, and which of the K seeds each slice is (``members``, positions in the call)."""

    def __init__(self, models: Sequence[nn.Module], config: TrainConfig):
        self.members = list(range(len(models)))
        self.config = config
        self.params, self.buffers = stack_module_state(list(models))
        self.optimizer = build_optimizer(self.params.values(), config)

    def write_back(self, models: Sequence[nn.Module], members: Sequence[int] | None = None) -> None:
        """Copy each member's slice into its own model (``members``: those only)."""
        wanted = set(self.members if members is None else members)
        with torch.no_grad():
            for slot, member in enumerate(self.members):
                if member not in wanted:
                    continue
                model = models[member]
                for name, tensor in model.named_parameters():
                    tensor.copy_(self.params[name][slot])
                for name, tensor in model.named_buffers():
                    tensor.copy_(self.buffers[name][slot])

    def drop(self, leaving: set[int]) -> list[int]:
        """Remove the members in ``leaving``; the slots kept (indices of the old stack)."""
        keep = [slot for slot, member in enumerate(self.members) if member not in leaving]
        index = torch.tensor(keep, dtype=torch.long)
        old_state = self.optimizer.state
        lr = self.optimizer.param_groups[0]["lr"]
        params = {}
        for name, tensor in self.params.items():
            params[name] = tensor.detach()[index.to(tensor.device)].clone().requires_grad_(True)
        self.buffers = {name: tensor[index.to(tensor.device)].clone()
                        for name, tensor in self.buffers.items()}
        optimizer = build_optimizer(params.values(), self.config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        for name, new in params.items():
            state = old_state.get(self.params[name])
            if state:
                optimizer.state[new] = {
                    key: (value[index.to(value.device)].clone()
                          if torch.is_tensor(value) and value.dim() > 0
                          and value.shape[0] == len(self.members) else value)
                    for key, value in state.items()}
        self.params, self.optimizer = params, optimizer
        self.members = [self.members[slot] for slot in keep]
        return keep


def _train_packed(models: Sequence[nn.Module], datas: Sequence[TrainData], config: TrainConfig,
                  budget: Budget, reports: Sequence[Report | None], device: torch.device,
                  seeds: Sequence[int], progresses: Sequence[Progress], shared: Progress,
                  per_seed_augment: bool) -> list[tuple[str, str, float]]:
    """The packed loop; per seed (status, message, final accuracy). Mirrors trainer._train."""
    channels_last = (default_channels_last(device, packed=True) if config.channels_last is None
                     else config.channels_last)
    bf16 = default_bf16(device) if config.bf16 is None else config.bf16
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    for model in models:
        model.to(device=device, memory_format=memory_format)
        model.train()
    template = copy.deepcopy(models[0])  # functional_call's module; its own tensors are unused
    pack = _Pack(models, config)
    schedule = LRSchedule(config.lr, config.warmup_fraction, config.final_lr_fraction,
                          kind=config.schedule)
    data0 = datas[0]
    normalize = Normalize(data0.mean, data0.std, device, channels_last)
    augments = [BatchAugmenter(config.augment, data0.resolution, seed=derive_seed(s, 1),
                               device=device) for s in seeds]
    n = data0.train_images.shape[0]
    streams = [BatchStream(n, config.batch_size, device, seed=derive_seed(s, 2)) for s in seeds]
    batch = streams[0].batch
    total_steps = budget.total_steps(n / batch)
    sync = sync_function(device)
    prepare_threads = config.augment_threads if device.type == "cpu" else None

    def forward(params, buffers, x):
        return functional_call(template, (params, buffers), (x,))

    packed_forward = vmap(forward)

    def forward_backward(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [K', B, 3, R, R], y [K', B] -> per-seed mean losses [K'] and logits [K', B, C]."""
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            logits = packed_forward(pack.params, pack.buffers, x)
        losses = F.cross_entropy(logits.float().flatten(0, 1), y.flatten(), reduction="none",
                                 label_smoothing=config.label_smoothing)
        losses = losses.view(y.shape).mean(dim=1)
        losses.sum().backward()
        return losses.detach(), logits.detach()

    def prepare(members: Sequence[int], idx: Sequence[torch.Tensor], augmenters) -> torch.Tensor:
        """The members' batches, cut, augmented (one call for the pack; each member with its
        own augmenter's draws) and normalised: [K', B, 3, R, R]."""
        with at_most_threads(prepare_threads):
            raw = torch.stack([datas[m].train_images[i] for m, i in zip(members, idx)])
            if per_seed_augment:
                images = torch.stack([aug(x) for aug, x in zip(augmenters, raw)])
            else:
                images = augment_together(list(augmenters), raw)
            x = normalize(images.flatten(0, 1))
            return x.view(len(members), -1, *x.shape[1:])

    # Warm-up off the clock, as in the solo trainer: throwaway augmenters, buffers restored.
    start = time.perf_counter()
    if config.warmup_passes:
        saved = {k: v.clone() for k, v in pack.buffers.items()}
        spares = [BatchAugmenter(config.augment, data0.resolution, seed=derive_seed(s, 4),
                                 device=device) for s in seeds]
        warm_idx = [torch.arange(batch, device=device)] * len(seeds)
        for _ in range(config.warmup_passes):
            forward_backward(prepare(pack.members, warm_idx, spares),
                             torch.stack([d.train_labels[:batch] for d in datas]))
            pack.optimizer.zero_grad(set_to_none=True)
        for k, v in pack.buffers.items():
            v.copy_(saved[k])
        sync()
    shared.warmup_seconds = time.perf_counter() - start

    clock = StepClock(sync)
    losses_check = _SeedLossCheck(device)
    outcomes: dict[int, tuple[str, str, float]] = {}
    group = Progress()  # the group's clock and steps; each member's Progress follows it
    epoch_number = 0
    epoch_start = 0.0
    epoch_steps = 0
    loss_sum = torch.zeros(len(seeds), dtype=torch.float32, device=device)
    correct = torch.zeros(len(seeds), dtype=torch.int64, device=device)

    def leave(found: list[tuple[int, int, float]]) -> None:
        """Members whose loss went non-finite: diverged, frozen, out of the pack."""
        nonlocal loss_sum, correct
        leaving = set()
        for member, step, value in found:
            if member in leaving or member in outcomes:
                continue
            leaving.add(member)
            message = f"non-finite training loss {value} at step {step}"
            outcomes[member] = (DIVERGED, message, 0.0)
            logger.warning("seed %d diverged in its pack: %s", seeds[member], message)
        if not leaving:
            return
        pack.write_back(models, leaving)
        keep = pack.drop(leaving)
        index = torch.tensor(keep, dtype=torch.long, device=device)
        loss_sum, correct = loss_sum[index], correct[index]

    def end_epoch(number: float) -> None:
        off_start = time.perf_counter()
        seconds = group.train_seconds - epoch_start
        at = budget.progress(group.train_seconds, group.steps, total_steps)
        pack.write_back(models)
        sums, hits = loss_sum.tolist(), correct.tolist()
        for slot, member in enumerate(pack.members):
            data = datas[member]
            val_acc = (evaluate_accuracy(models[member], data.eval_images, data.eval_labels,
                                         data.mean, data.std, config.eval_batch_size, bf16,
                                         channels_last)
                       if config.eval_each_epoch else None)
            metrics = {
                "epoch": number, "step": group.steps, "epochs": group.steps * batch / n,
                "loss": sums[slot] / epoch_steps, "train_acc": hits[slot] / (epoch_steps * batch),
                "val_acc": val_acc, "lr": schedule(at), "epoch_seconds": seconds,
                "images_per_second": epoch_steps * batch / seconds if seconds > 0 else 0.0,
                "elapsed": group.train_seconds, "progress": at,
            }
            progresses[member].history.append(metrics)
            if reports[member] is not None:
                reports[member](**metrics)
        shared.eval_seconds += time.perf_counter() - off_start

    def pause_clock() -> None:
        paused = clock.pause()
        if losses_check.lagged:
            for record in [group] + [progresses[m] for m in pack.members]:
                record.run_on_to(paused)

    clock.resume()
    while pack.members:
        t0 = clock.elapsed()
        if budget.is_time and t0 >= budget.amount:
            # the deadline; the clock's time since the last step joins that step (trainer.py)
            for record in [group] + [progresses[m] for m in pack.members]:
                record.run_on_to(t0)
            break
        if total_steps is not None and group.steps >= total_steps:
            break
        lr = schedule(budget.progress(t0, group.steps, total_steps))
        for param_group in pack.optimizer.param_groups:
            param_group["lr"] = lr
        members = pack.members
        idx = [streams[m].next() for m in members]
        x = prepare(members, idx, [augments[m] for m in members])
        y = torch.stack([datas[m].train_labels[i] for m, i in zip(members, idx)])
        losses, logits = forward_backward(x, y)
        pack.optimizer.step()
        pack.optimizer.zero_grad(set_to_none=True)
        found = losses_check.after_step(group.steps + 1, losses, members)
        t1 = clock.elapsed()
        group.step_seconds.append(t1 - t0)
        group.train_seconds = t1
        group.steps += 1
        for member in members:
            progress = progresses[member]
            progress.step_seconds.append(t1 - t0)
            progress.train_seconds = t1
            progress.steps += 1
        loss_sum += torch.nan_to_num(losses)  # a diverging seed's slot leaves with it
        correct += (logits.argmax(dim=2) == y).sum(dim=1)
        epoch_steps += 1
        leave(found)
        if group.steps * batch >= (epoch_number + 1) * n:
            pause_clock()
            leave(losses_check.drain())
            if pack.members:
                end_epoch(epoch_number + 1)
            epoch_number += 1
            epoch_start, epoch_steps = group.train_seconds, 0
            loss_sum.zero_()
            correct.zero_()
            clock.resume()
    pause_clock()
    leave(losses_check.drain())
    if pack.members and epoch_steps:
        end_epoch(epoch_number + 1)

    final_lr = schedule(budget.progress(group.train_seconds, group.steps, total_steps))
    start = time.perf_counter()
    pack.write_back(models)
    for member in pack.members:
        data = datas[member]
        accuracy = evaluate_accuracy(models[member], data.eval_images, data.eval_labels,
                                     data.mean, data.std, config.eval_batch_size, bf16,
                                     channels_last)
        outcomes[member] = (OK, "", accuracy)
    shared.eval_seconds += time.perf_counter() - start
    for member, progress in enumerate(progresses):
        progress.final_lr = (final_lr if outcomes[member][0] == OK else schedule(
            budget.progress(progress.train_seconds, progress.steps, total_steps)))
    return [outcomes[member] for member in range(len(models))]


class _SeedLossCheck:
    """hsearch.train.device.LossCheck for a vector of per-seed losses: on CPU every step's
    losses are read at once, on CUDA one step late (pinned copies and events). Returns the
    (member, step, value) of every non-finite loss known by now (``members``: who each loss
    of the step belongs to; the pack may shrink while a step is in flight)."""

    def __init__(self, device: torch.device):
        self._cuda = torch.device(device).type == "cuda"
        self.lagged = self._cuda
        self._pending: list = []

    def after_step(self, step: int, losses: torch.Tensor,
                   members: Sequence[int]) -> list[tuple[int, int, float]]:
        if not self._cuda:
            return self._bad(step, losses.tolist(), members)
        slot = torch.empty(losses.shape, dtype=torch.float32, pin_memory=True)
        slot.copy_(losses.float(), non_blocking=True)
        event = torch.cuda.Event()
        event.record()
        self._pending.append((step, event, slot, list(members)))
        return self._settle(keep=1)

    def drain(self) -> list[tuple[int, int, float]]:
        return self._settle(keep=0)

    def _settle(self, keep: int) -> list[tuple[int, int, float]]:
        found = []
        while len(self._pending) > keep:
            step, event, slot, members = self._pending.pop(0)
            event.synchronize()
            found += self._bad(step, slot.tolist(), members)
        return found

    @staticmethod
    def _bad(step: int, values: list[float],
             members: Sequence[int]) -> list[tuple[int, int, float]]:
        return [(m, step, v) for m, v in zip(members, values) if not math.isfinite(v)]
