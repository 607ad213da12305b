"""What a training run takes and gives: TrainData, TrainResult and its status values, and
derive_seed (the independent seeds of one run's random streams)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

# TrainResult.status values.
OK, DIVERGED, OOM = "ok", "diverged", "oom"


def derive_seed(seed: int, purpose: int) -> int:
    """An independent 63-bit seed for one random stream (batch order, augmentation, ...)."""
    return int(np.random.SeedSequence([int(seed), int(purpose)]).generate_state(2, np.uint64)[0] >> 1)


@dataclass(frozen=True)
class TrainData:
    """The tensors of one training run, already at the model's input resolution.

    train_images / eval_images: uint8 [N, 3, R, R]; train_labels / eval_labels: int64 [N].
    mean, std: per channel in [0, 1] units (from the data set's train split).
    eval_split: what the evaluation tensors are ("val" or "test"), recorded in results.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    eval_images: torch.Tensor
    eval_labels: torch.Tensor
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    num_classes: int = 10
    eval_split: str = "val"

    def __post_init__(self) -> None:
        for prefix in ("train", "eval"):
            images, labels = getattr(self, f"{prefix}_images"), getattr(self, f"{prefix}_labels")
            if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
                raise ValueError(f"`{prefix}_images` must be uint8 [N, 3, R, R], but got "
                                 f"dtype={images.dtype}, shape={tuple(images.shape)}")
            if labels.dtype != torch.int64 or labels.shape != images.shape[:1]:
                raise ValueError(f"`{prefix}_labels` must be int64 [N] matching the images, but got "
                                 f"dtype={labels.dtype}, shape={tuple(labels.shape)} for "
                                 f"{images.shape[0]} images")
            if images.shape[0] == 0:
                raise ValueError(f"`{prefix}_images` is empty")
        if self.train_images.shape[2:] != self.eval_images.shape[2:]:
            raise ValueError(f"train and eval resolutions differ: {tuple(self.train_images.shape)} "
                             f"vs {tuple(self.eval_images.shape)}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"`mean`/`std` must be 3 values with std > 0, but got mean={self.mean}, "
                             f"std={self.std}")

    @property
    def resolution(self) -> int:
        """Input resolution in pixels."""
        return int(self.train_images.shape[-1])

    def to(self, device: torch.device | str) -> "TrainData":
        """The same data on ``device`` (self if already there)."""
        device = torch.device(device)
        if self.train_images.device == device and self.eval_images.device == device:
            return self
        return TrainData(
            self.train_images.to(device), self.train_labels.to(device),
            self.eval_images.to(device), self.eval_labels.to(device),
            self.mean, self.std, self.num_classes, self.eval_split,
        )


@dataclass(frozen=True)
class TrainResult:
    """What one training run did.

    status: "ok", "diverged" (a non-finite loss stopped the run) or "oom" (CUDA out of memory).
    accuracy: the final model's accuracy on the evaluation split, in [0, 1]; 0.0 when the run
        failed (a diverged model is not scored).
    train_seconds: on-clock training time, up to the end of the last step.
    overrun_seconds: train_seconds beyond a time budget (0 for epoch budgets); less than the last
        step's time by construction on CPU, the last two steps' on CUDA.
    step_seconds: on-clock time of every step, in order (from the clock check before the step to
        the finished step; on CUDA to the next check, one step late: the same in steady state).
    history: the per-epoch metrics also sent to the report callback.
    """

    status: str
    accuracy: float
    split: str
    budget: str
    steps: int
    epochs: float
    batch_size: int
    train_seconds: float
    overrun_seconds: float
    final_lr: float
    images_per_second: float
    warmup_seconds: float
    eval_seconds: float
    device: str
    step_seconds: tuple[float, ...] = ()
    history: tuple[dict, ...] = ()
    message: str = ""

    @property
    def ok(self) -> bool:
        """True when the run finished its budget."""
        return self.status == OK

    def to_dict(self, step_seconds: bool = False) -> dict:
        """Plain data; the per-step times only on request (they can be long)."""
        data = asdict(self)
        data["history"] = [dict(h) for h in self.history]
        if step_seconds:
            data["step_seconds"] = list(self.step_seconds)
        else:
            del data["step_seconds"]
        return data

