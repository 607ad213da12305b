"""Augmentation throughput: batched :class:`BatchAugmenter` versus the per-image PIL pipeline.

Run ``python -m hsearch.data.benchmark [--batch 512] [--batches 20] [--threads 1]``. It prints
images per second of the full augmentation (AutoAugment CIFAR-10 policy + pad-4 crop + flip +
16-px Cutout at 32 px) on real digits images:

* ``batched`` -- :class:`BatchAugmenter` on uint8 batches, on the CPU and on CUDA if present;
* ``per-image PIL`` -- the paper's style of pipeline, ``transforms.AutoAugment(CIFAR10)``,
  ``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``, ``ToTensor`` and a tensor Cutout,
  one image at a time in one process (a DataLoader with k workers gets at most k times that).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from hsearch.data.augment import AugmentConfig, BatchAugmenter
from hsearch.data.sources import load_dataset


class _Cutout:
    """Per-image Cutout on a [3, H, W] tensor (DeVries & Taylor), the reference's last step."""

    def __init__(self, size: int, rng: np.random.Generator) -> None:
        self.size, self.rng = size, rng

    def __call__(self, image: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        cy, cx = self.rng.integers(h), self.rng.integers(w)
        y0, x0 = max(0, cy - self.size // 2), max(0, cx - self.size // 2)
        image[:, y0:cy - self.size // 2 + self.size, x0:cx - self.size // 2 + self.size] = 0
        return image


def per_image_rate(images: torch.Tensor, repeats: int) -> float:
    """Images/s of the per-image PIL pipeline over ``images`` (uint8 [B, 3, 32, 32])."""
    from PIL import Image
    from torchvision import transforms as T

    pipeline = T.Compose([
        T.AutoAugment(T.AutoAugmentPolicy.CIFAR10),
        T.RandomCrop(images.shape[-1], padding=4),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        _Cutout(16 * images.shape[-1] // 32, np.random.default_rng(0)),
    ])
    pils = [Image.fromarray(image.permute(1, 2, 0).numpy()) for image in images]
    for pil in pils[:32]:  # warm-up
        pipeline(pil)
    start = time.perf_counter()
    for _ in range(repeats):
        torch.stack([pipeline(pil) for pil in pils])
    return repeats * len(pils) / (time.perf_counter() - start)


def batched_rate(images: torch.Tensor, repeats: int, device: torch.device) -> float:
    """Images/s of :class:`BatchAugmenter` with every step on, for batches like ``images``."""
    images = images.to(device)
    augment = BatchAugmenter(AugmentConfig(), images.shape[-1], seed=0)
    for _ in range(2):  # warm-up (lazy imports, CUDA kernels)
        augment(images)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        augment(images)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return repeats * images.shape[0] / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    """Print the throughput figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--batches", type=int, default=20, help="timed batches (batched)")
    parser.add_argument("--pil-batches", type=int, default=3, help="timed batches (PIL)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    train = load_dataset("digits").train_images
    images = train[torch.arange(args.batch) % train.shape[0]].contiguous()
    print(f"batch {args.batch} x 3 x 32 x 32 uint8, torch threads {args.threads}")
    rate = batched_rate(images, args.batches, torch.device("cpu"))
    print(f"batched (BatchAugmenter), cpu : {rate:10.0f} images/s")
    if torch.cuda.is_available():
        rate = batched_rate(images, args.batches, torch.device("cuda"))
        print(f"batched (BatchAugmenter), cuda: {rate:10.0f} images/s")
    rate = per_image_rate(images, args.pil_batches)
    print(f"per-image PIL pipeline, 1 proc: {rate:10.0f} images/s")


if __name__ == "__main__":
    main()
