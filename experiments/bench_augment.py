"""Augmentation throughput: batched ``BatchAugmenter`` against the per-image PIL pipeline.

Prints images/s (no asserts) of the full augmentation (AutoAugment CIFAR-10 policy + pad-4 crop
+ flip + 16 px Cutout at 32 px) on real digits images:

* ``batched`` -- hsearch.data.BatchAugmenter on uint8 batches, on the CPU at each of
  ``--threads`` torch thread counts (the trainer prepares batches at ``augment_threads``, 1 by
  default), and on CUDA when present;
* ``per-image PIL`` -- the paper's kind of pipeline: ``transforms.AutoAugment(CIFAR10)``,
  ``RandomCrop(32, padding=4)``, ``RandomHorizontalFlip``, ``ToTensor`` and a tensor Cutout, one
  image at a time in one process (a DataLoader with k workers gets at most k times that).

Usage::

    python experiments/bench_augment.py                       # ~1 min
    python experiments/bench_augment.py --batch 512 --threads 1 2 --rounds 5

The figures are measured in interleaved rounds; the best (least disturbed) and the median are
shown: on a machine shared with other processes, compare figures of one invocation only.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from hsearch.data import AugmentConfig, BatchAugmenter, load_dataset


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


def per_image_pipeline(resolution: int):
    """The reference's per-image transforms, and the PIL images they take."""
    from torchvision import transforms as T

    return T.Compose([
        T.AutoAugment(T.AutoAugmentPolicy.CIFAR10),
        T.RandomCrop(resolution, padding=4),
        T.RandomHorizontalFlip(),
        T.ToTensor(),
        _Cutout(16 * resolution // 32, np.random.default_rng(0)),
    ])


def per_image_rate(pils: list, pipeline) -> float:
    """Images/s of ``pipeline`` applied image by image to ``pils``, stacked into a batch."""
    start = time.perf_counter()
    torch.stack([pipeline(pil) for pil in pils])
    return len(pils) / (time.perf_counter() - start)


def batched_rate(augment: BatchAugmenter, images: torch.Tensor, batches: int) -> float:
    """Images/s of ``augment`` over ``batches`` calls on ``images``."""
    sync = torch.cuda.synchronize if images.device.type == "cuda" else (lambda: None)
    sync()
    start = time.perf_counter()
    for _ in range(batches):
        augment(images)
    sync()
    return batches * images.shape[0] / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> None:
    """Print the throughput figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--batches", type=int, default=5, help="timed batches per round (batched)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2],
                        help="torch CPU thread counts for the batched runs")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    args = parser.parse_args(argv)

    from PIL import Image

    threads_before = torch.get_num_threads()
    train = load_dataset("digits").train_images
    images = train[torch.arange(args.batch) % train.shape[0]].contiguous()
    resolution = images.shape[-1]
    pils = [Image.fromarray(image.permute(1, 2, 0).numpy()) for image in images]
    pipeline = per_image_pipeline(resolution)
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    augmenters = {d: BatchAugmenter(AugmentConfig(), resolution, seed=0, device=d) for d in devices}
    on_device = {d: images.to(d) for d in devices}
    for d in devices:  # warm-up: lazy imports, kernels
        augmenters[d](on_device[d])
    for pil in pils[:32]:
        pipeline(pil)

    runs: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        for threads in args.threads:
            torch.set_num_threads(threads)
            runs.setdefault(f"batched, cpu, {threads} thread(s)", []).append(
                batched_rate(augmenters[devices[0]], on_device[devices[0]], args.batches))
        torch.set_num_threads(threads_before)
        if len(devices) > 1:
            runs.setdefault("batched, cuda", []).append(
                batched_rate(augmenters[devices[1]], on_device[devices[1]], args.batches))
        runs.setdefault("per-image PIL, 1 process", []).append(per_image_rate(pils, pipeline))

    print(f"batch {args.batch} x 3 x {resolution} x {resolution} uint8, {args.rounds} interleaved "
          f"round(s): best (median) images/s")
    for name, values in runs.items():
        print(f"  {name:<30} {max(values):>10.0f} ({statistics.median(values):.0f})")


if __name__ == "__main__":
    main()
