"""Top-1 accuracy of a model on uint8 images, normalised on the batch (what the trainer evaluates
after every epoch and at the end). Not to be confused with hsearch.train.evaluate, the
repeated-seed evaluation of an architecture."""

from __future__ import annotations

import torch
from torch import nn

from hsearch.train.device import default_bf16


class Normalize:
    """uint8 batch -> normalised float batch in one fused multiply-add (per-channel scale/shift)."""

    def __init__(self, mean, std, device: torch.device, channels_last: bool):
        std_t = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        mean_t = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
        self.scale = 1.0 / (255.0 * std_t)
        self.shift = -mean_t / std_t
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        out = torch.addcmul(self.shift, images.to(torch.float32), self.scale)
        return out.contiguous(memory_format=self.memory_format)


def evaluate_accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                      mean, std, batch_size: int = 1024, bf16: bool | None = None,
                      channels_last: bool | None = None) -> float:
    """Top-1 accuracy of ``model`` (eval mode, no grad) on uint8 ``images``; restores train mode.

    Runs on the device of ``images``; ``bf16=None`` means hsearch.train.device.default_bf16
    (CUDA with compute capability >= 8), ``channels_last=None`` on.
    """
    device = images.device
    bf16 = default_bf16(device) if bf16 is None else bf16
    channels_last = True if channels_last is None else channels_last
    normalize = Normalize(mean, std, device, channels_last)
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.int64, device=device)
    try:
        with torch.no_grad(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            for start in range(0, images.shape[0], batch_size):
                logits = model(normalize(images[start:start + batch_size]))
                correct += (logits.argmax(dim=1) == labels[start:start + batch_size]).sum()
    finally:
        model.train(was_training)
    return correct.item() / images.shape[0]
