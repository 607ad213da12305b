"""Trainer throughput: hsearch's trainer against a paper-style reference loop, and FLOP/s.

Prints figures (no asserts). In one process, on the same model, data and device:

1. images/s of ``hsearch.train.train`` against a reference loop written the way the paper's
   code (and most CIFAR code) trains: a ``torch.utils.data.Dataset`` that turns each image into a
   PIL image and runs per-image torchvision transforms (random crop with padding, horizontal
   flip, AutoAugment with the CIFAR-10 policy, ToTensor, Normalize, Cutout) in a ``DataLoader``,
   then a plain float32 NCHW training step with per-step ``loss.item()`` and accuracy
   bookkeeping. Both do the same augmentation, optimiser (SGD, momentum 0.9, wd 5e-3), loss and
   batch size, on senet18 at width 0.25 and at width 1, on 32 px images (digits, upsampled),
   for a fixed number of timed steps after one untimed warm-up step. The reference runs with 0
   and with 2 loader workers; the better is the baseline. Per-epoch evaluation is off in both.
2. Achieved training FLOP/s of resnet18 with hsearch's trainer (3 x MACs x 2 FLOP per image:
   forward, and backward at about twice the forward) as a fraction of the FLOP/s of a large
   float32 matmul (2048 x 2048, timed in short slices between the training runs).

Every figure is per optimiser step (data loading/augmentation included: for the reference the
time from one finished step to the next, for hsearch the trainer's own on-clock step times), so
each run gives several samples. The best step (the least disturbed one: the machine may be
shared) and the median step are shown, and ratios are taken best-to-best and median-to-median.
Compare figures from one invocation only.

Usage::

    python experiments/bench_trainer.py --quick          # about 3-4 min on 2 idle CPU cores
    python experiments/bench_trainer.py                  # 3 rounds, more steps and variants
    python experiments/bench_trainer.py --variants nchw augment-all-threads compile
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import statistics
import time

import numpy as np
import torch
from torch import nn

from hsearch.data import AugmentConfig, load_dataset
from hsearch.models import create_model, model_cost
from hsearch.train import Budget, TrainConfig, TrainData, resolve_device, train

# hsearch variants on top of the default TrainConfig (--variants), for the first senet18 width.
VARIANTS = {
    "nchw": {"channels_last": False},
    "augment-all-threads": {"augment_threads": None},
    "compile": {"compile": True},
}


# ----------------------------------------------------------------------------------------------
# The reference: per-image PIL transforms in a DataLoader, as in the paper's code.


class Cutout:
    """DeVries & Taylor's Cutout on a [C, H, W] float tensor: one square of zeros, its centre
    uniform over the image and clipped at the border (the reference implementation's logic)."""

    def __init__(self, length: int):
        self.length = length

    def __call__(self, img: torch.Tensor) -> torch.Tensor:
        h, w = img.shape[1:]
        y, x = np.random.randint(h), np.random.randint(w)
        y1, y2 = np.clip(y - self.length // 2, 0, h), np.clip(y + self.length // 2, 0, h)
        x1, x2 = np.clip(x - self.length // 2, 0, w), np.clip(x + self.length // 2, 0, w)
        mask = torch.ones(h, w)
        mask[y1:y2, x1:x2] = 0.0
        return img * mask


class PILImages(torch.utils.data.Dataset):
    """Images kept as HWC uint8 numpy (like torchvision's CIFAR10), PIL per __getitem__."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, transform):
        self.images = images.permute(0, 2, 3, 1).contiguous().numpy()
        self.labels = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i):
        from PIL import Image

        return self.transform(Image.fromarray(self.images[i])), self.labels[i]


def reference_transform(mean, std):
    from torchvision import transforms as T

    return T.Compose([
        T.RandomCrop(32, padding=4),
        T.RandomHorizontalFlip(),
        T.AutoAugment(T.AutoAugmentPolicy.CIFAR10),
        T.ToTensor(),
        T.Normalize(mean, std),
        Cutout(16),
    ])


def reference_step_rates(model: nn.Module, images, labels, mean, std, batch: int, steps: int,
                         workers: int, device: torch.device) -> list[float]:
    """Train ``steps`` timed steps (after one warm-up step) the paper's way; images/s of each
    step, measured from the end of the previous step (so loading the batch counts)."""
    torch.manual_seed(0)
    np.random.seed(0)
    dataset = PILImages(images, labels, reference_transform(mean, std))
    loader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, drop_last=True,
                                         num_workers=workers, pin_memory=device.type == "cuda",
                                         persistent_workers=workers > 0)
    model.to(device).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.042, momentum=0.9, weight_decay=5e-3)
    criterion = nn.CrossEntropyLoss()
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    batches = itertools.chain.from_iterable(loader for _ in itertools.count())
    rates, correct, total_loss = [], 0, 0.0
    last = None
    for step, (x, y) in enumerate(batches):
        x, y = x.to(device), y.to(device)
        out = model(x)
        loss = criterion(out, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
        correct += out.max(1)[1].eq(y).sum().item()
        sync()
        now = time.perf_counter()
        if last is not None:  # step 0 (worker start-up, allocations) is the warm-up
            rates.append(batch / (now - last))
        last = now
        if step == steps:
            break
    return rates


# ----------------------------------------------------------------------------------------------
# hsearch's trainer and the matmul yardstick.


def hsearch_step_rates(model: nn.Module, data: TrainData, batch: int, steps: int,
                       device: torch.device, augment: AugmentConfig, **overrides) -> list[float]:
    """Run hsearch's trainer for exactly ``steps`` steps (epoch budget); images/s of each step."""
    config = TrainConfig(batch_size=batch, augment=augment, eval_each_epoch=False, **overrides)
    n = data.train_images.shape[0]
    result = train(model, data, config, Budget("epochs", steps * batch / n), device=device, seed=0)
    assert result.ok and result.steps == steps, (result.status, result.steps, steps)
    return [batch / seconds for seconds in result.step_seconds]


def matmul_rates(device: torch.device, seconds: float, n: int = 2048) -> list[float]:
    """float32 FLOP/s of n x n matmuls, one sample per product, for about ``seconds``."""
    a = torch.randn(n, n, device=device)
    b = torch.randn(n, n, device=device)
    c = torch.empty(n, n, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    torch.mm(a, b, out=c)
    rates, deadline = [], time.perf_counter() + seconds
    while time.perf_counter() < deadline or not rates:
        sync()
        t = time.perf_counter()
        torch.mm(a, b, out=c)
        sync()
        rates.append(2 * n ** 3 / (time.perf_counter() - t))
    return rates


def fresh_model(name: str, width: float) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, num_classes=10, width_mult=width)


def best_median(values: list[float]) -> tuple[float, float]:
    return max(values), statistics.median(values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="one round, fewer steps, smaller resnet18 batch, no variants")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved repetitions of every run (default 3, --quick 1)")
    parser.add_argument("--widths", type=float, nargs="+", default=[0.25, 1.0])
    parser.add_argument("--batch", type=int, nargs="+", default=[256, 128],
                        help="batch size per width (the last one repeats)")
    parser.add_argument("--steps", type=int, nargs="+", default=None,
                        help="timed steps per width (default 6 4, --quick 4 2)")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2],
                        help="DataLoader workers of the reference runs")
    parser.add_argument("--skip-reference", action="store_true")
    parser.add_argument("--variants", nargs="*", choices=sorted(VARIANTS), default=None,
                        help="extra hsearch runs on senet18 at the first width (default: nchw "
                             "and augment-all-threads; --quick: none)")
    parser.add_argument("--flops-model", default="resnet18")
    parser.add_argument("--flops-batch", type=int, default=None, help="default 256, --quick 128")
    parser.add_argument("--flops-steps", type=int, default=None, help="default 4, --quick 3")
    parser.add_argument("--device", default=None)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch CPU threads (default: torch's setting)")
    parser.add_argument("--json", default=None, help="also write the figures to this file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    device = resolve_device(args.device)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    rounds = args.rounds or (1 if args.quick else 3)
    steps_per_width = args.steps or ([4, 2] if args.quick else [6, 4])
    flops_steps = args.flops_steps or (3 if args.quick else 4)
    flops_batch = args.flops_batch or (128 if args.quick else 256)
    variants = args.variants if args.variants is not None else (
        [] if args.quick else ["nchw", "augment-all-threads"])
    figures: dict = {"device": str(device), "threads": torch.get_num_threads(),
                     "torch": torch.__version__, "rounds": rounds}
    print(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{rounds} interleaved round(s); images/s per step: best (median)")

    dataset = load_dataset("digits")  # 1,442 train images at 32 px
    images, labels = dataset.train_images, dataset.train_labels
    data = TrainData(images.to(device), labels.to(device), dataset.test_images.to(device),
                     dataset.test_labels.to(device), dataset.mean, dataset.std)
    full = AugmentConfig()  # crop + flip, AutoAugment, Cutout: the reference's pipeline

    print("\n1. senet18, 32 px, AutoAugment + Cutout + crop/flip, SGD")
    for k, width in enumerate(args.widths):
        batch = args.batch[min(k, len(args.batch) - 1)]
        steps = steps_per_width[min(k, len(steps_per_width) - 1)]
        runs: dict[str, list[float]] = {}
        for _ in range(rounds):
            runs.setdefault("hsearch", []).extend(
                hsearch_step_rates(fresh_model("senet18", width), data, batch, steps, device, full))
            for name in variants if k == 0 else []:
                runs.setdefault(f"hsearch {name}", []).extend(hsearch_step_rates(
                    fresh_model("senet18", width), data, batch, steps, device, full,
                    **VARIANTS[name]))
            if not args.skip_reference:
                for workers in args.workers:
                    runs.setdefault(f"reference, {workers} workers", []).extend(
                        reference_step_rates(fresh_model("senet18", width), images, labels,
                                             dataset.mean, dataset.std, batch, steps, workers,
                                             device))
        print(f"  width {width:g} ({model_cost('senet18', width).macs / 1e6:.0f} M MACs), "
              f"batch {batch}, {steps} timed steps per run:")
        for name, values in runs.items():
            print(f"    {name:<30} {max(values):8.1f} ({statistics.median(values):.1f})")
        refs = {name: best_median(v) for name, v in runs.items() if name.startswith("reference")}
        entry = {"batch": batch, "steps": steps, "runs": runs}
        if refs:
            ref_best = max(b for b, _ in refs.values())
            ref_median = max(m for _, m in refs.values())
            for name, values in runs.items():
                if name.startswith("hsearch"):
                    best, median = best_median(values)
                    print(f"    -> {name} / best reference: {best / ref_best:.2f}x best step, "
                          f"{median / ref_median:.2f}x median step")
                    entry[f"speedup {name}"] = [best / ref_best, median / ref_median]
        figures[f"senet18_w{width:g}"] = entry

    name = args.flops_model
    cost = model_cost(name)
    print(f"\n2. training FLOP/s, {name} (width 1, 32 px, {cost.macs / 1e6:.0f} M MACs, "
          f"6 x MACs FLOP per image), batch {flops_batch}, {flops_steps} timed steps per run")
    augments = [("trainer, full augmentation", full)]
    if not args.quick:
        augments.append(("trainer, no augmentation", AugmentConfig(False, False, False)))
    runs = {"matmul 2048": matmul_rates(device, 2.0)}
    for _ in range(rounds):
        for label, augment in augments:
            rates = hsearch_step_rates(fresh_model(name, 1.0), data, flops_batch, flops_steps,
                                       device, augment)
            runs.setdefault(label, []).extend(r * 6 * cost.macs for r in rates)
            runs["matmul 2048"].extend(matmul_rates(device, 2.0))
    mm_best, mm_median = best_median(runs["matmul 2048"])
    for label, values in runs.items():
        best, median = best_median(values)
        share = ("" if label.startswith("matmul") else
                 f"  = {best / mm_best:.0%} of matmul (best), {median / mm_median:.0%} (median)")
        print(f"    {label:<28} {best / 1e9:6.1f} GFLOP/s ({median / 1e9:.1f}){share}")
    figures[f"{name}_flops"] = runs
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(figures, handle, indent=2)


if __name__ == "__main__":
    main()
