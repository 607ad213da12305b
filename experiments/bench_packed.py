"""Packed training against solo training: K seeds of one network as one model vs one at a time.

Prints figures (no asserts) and writes JSON after every round (``--out``). Per network and
round, interleaved so that the machine's load hits every variant alike: one solo run
(``hsearch.train.train``) and one packed run (``hsearch.train.packed.train_packed``) at each K;
the ratio is the packed group's aggregate images/s over the solo images/s *of the same round*.
Both train the same synthetic uint8 data (random images and labels, no data set needed) with the
same TrainConfig, an epoch budget of ``--steps`` optimiser steps, per-epoch evaluation off; the
figures come from the trainers' own on-clock step times (median step: the machine may be shared).
Per seed: images/s = batch / step time; aggregate = K x that for a pack.
``--augment-per-seed`` adds, right after every pack, the same pack augmenting with one call per
seed per step (the trainer's old way), and prints the ratio of the two.

On CUDA the training FLOP/s (6 x MACs per image: forward and twice the forward for the backward)
is shown as a fraction of the device's bf16 dense peak (PEAK_BF16; never an FP32 matmul), and
``--profile`` adds, for the largest K of every network, the device's kernel time over wall time
of a few packed steps (torch.profiler: how busy the GPU is; the rest is the host issuing work).

A hard deadline (``--deadline`` seconds, checked between runs) ends the rounds early; the JSON
holds every finished round.

Usage::

    python experiments/bench_packed.py --quick                 # CPU: demo's networks, short
    python experiments/bench_packed.py --gpu --deadline 200    # GPU: senet18 w0.25 + resnet18
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import platform
import statistics
import time

import torch

from hsearch.data import AugmentConfig
from hsearch.models import create_model, model_cost
from hsearch.train import TrainConfig, TrainData, parse_budget, resolve_device, train
from hsearch.train.packed import train_packed
from hsearch.train.run_types import derive_seed

#: bf16 dense tensor-core peak (TFLOP/s, no sparsity) by device-name fragment; first match wins.
PEAK_BF16 = (("H200", 989.0), ("H100 PCIe", 756.0), ("H100", 989.0), ("A100", 312.0),
             ("L4", 121.0), ("A10", 125.0))

#: name -> (model, width, depth, resolution px, batch)
NETWORKS = {
    "demo-smallest": ("senet18", 0.125, 0.25, 9, 64),   # the demo's smallest network
    "demo-baseline": ("senet18", 0.25, 1.0, 12, 64),    # the demo's baseline network
    "senet18-w0.25-32px": ("senet18", 0.25, 1.0, 32, 64),
    "senet18-w0.25-32px-b512": ("senet18", 0.25, 1.0, 32, 512),
    "resnet18-32px-b512": ("resnet18", 1.0, 1.0, 32, 512),
}
CPU_NETWORKS = ("demo-smallest", "demo-baseline", "senet18-w0.25-32px")
GPU_NETWORKS = ("senet18-w0.25-32px-b512", "resnet18-32px-b512")


def synthetic(n: int, resolution: int, device: torch.device, seed: int) -> TrainData:
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 3, resolution, resolution), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return TrainData(images.to(device), labels.to(device), images[:64].to(device),
                     labels[:64].to(device), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def build(model: str, width: float, depth: float, seed: int) -> torch.nn.Module:
    with torch.random.fork_rng():
        torch.manual_seed(derive_seed(seed, 3))
        return create_model(model, width_mult=width, depth_mult=depth)


def peak_bf16(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((tflops for key, tflops in PEAK_BF16 if key in name), None)


def run_once(net: str, k: int, steps: int, device: torch.device, config: TrainConfig,
             augment_per_seed: bool = False) -> dict:
    """One solo (k=0) or packed (k>=1) run; its median step and images/s. ``augment_per_seed``:
    the pack augments with one call per seed per step instead of one call for the pack."""
    model, width, depth, resolution, batch = NETWORKS[net]
    n = batch * steps
    seeds = list(range(max(k, 1)))
    datas = [synthetic(n, resolution, device, s) for s in seeds]
    models = [build(model, width, depth, s) for s in seeds]
    budget = parse_budget("1ep")
    start = time.perf_counter()
    if k == 0:
        results = [train(models[0], datas[0], config, budget, device=device, seed=0)]
    else:
        results = train_packed(models, datas, config, budget, seeds, device=device,
                               augment_per_seed=augment_per_seed)
    wall = time.perf_counter() - start
    step = statistics.median(results[0].step_seconds[1:] or results[0].step_seconds)
    per_seed = batch / step
    return {"net": net, "k": k, "steps": results[0].steps, "batch": batch,
            "median_step_s": step, "images_per_s_per_seed": per_seed,
            "images_per_s": per_seed * max(k, 1), "wall_s": wall,
            "augment_per_seed": augment_per_seed,
            "statuses": sorted({r.status for r in results})}


def busy_fraction(net: str, k: int, device: torch.device, config: TrainConfig) -> float | None:
    """Device kernel time over wall time of a short packed run (CUDA only)."""
    if device.type != "cuda":
        return None
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        torch.cuda.synchronize()
        start = time.perf_counter()
        run_once(net, k, 10, device, config)
        torch.cuda.synchronize()
        wall = time.perf_counter() - start
    events = prof.key_averages()
    total_us = sum(getattr(e, "self_device_time_total", getattr(e, "self_cuda_time_total", 0))
                   for e in events)
    return total_us / 1e6 / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpu", action="store_true", help="GPU networks on CUDA")
    parser.add_argument("--quick", action="store_true", help="1 round, 8 steps")
    parser.add_argument("--networks", nargs="*", default=None, choices=sorted(NETWORKS))
    parser.add_argument("--ks", nargs="*", type=int, default=[2, 5, 10])
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--steps", type=int, default=None)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--deadline", type=float, default=220.0, help="seconds, hard")
    parser.add_argument("--profile", action="store_true", help="CUDA: kernel time / wall")
    parser.add_argument("--autoaugment", action="store_true", help="AutoAugment on too")
    parser.add_argument("--augment-per-seed", action="store_true",
                        help="also run every pack augmenting one call per seed (the ratio: one "
                             "call for the pack over one per seed, same round)")
    parser.add_argument("--out", default="bench_packed.json")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    began = time.perf_counter()
    torch.set_num_threads(args.threads)
    device = resolve_device("cuda" if args.gpu else "cpu")
    networks = args.networks or (GPU_NETWORKS if args.gpu else CPU_NETWORKS)
    rounds = args.rounds or (1 if args.quick else 3)
    steps = args.steps or (8 if args.quick else 30)
    # the trials' defaults otherwise: bf16 on CUDA, no per-epoch evaluation in a benchmark
    config = TrainConfig(batch_size=512, eval_each_epoch=False,
                         augment=AugmentConfig(crop_flip=True, autoaugment=args.autoaugment,
                                               cutout=True))
    peak = peak_bf16(device)
    info = {"device": torch.cuda.get_device_name(device) if device.type == "cuda"
            else platform.processor() or platform.machine(),
            "threads": args.threads, "torch": torch.__version__, "peak_bf16_tflops": peak,
            "load": os.getloadavg(), "rounds": [], "busy": {}}
    print(f"device {info['device']}, torch threads {args.threads}, load {info['load']}")
    for r in range(rounds):
        record = []
        for net in networks:
            model, width, depth, resolution, batch = NETWORKS[net]
            cfg = dataclasses.replace(config, batch_size=batch)
            macs = model_cost(model, width, depth, resolution / 32).macs
            solo = None
            for k in [0] + list(args.ks):
                if time.perf_counter() - began > args.deadline:
                    break
                row = run_once(net, k, steps, device, cfg)
                if k == 0:
                    solo = row["images_per_s"]
                row["ratio_to_solo"] = row["images_per_s"] / solo if solo else None
                if peak:
                    row["bf16_peak_fraction"] = 6 * macs * row["images_per_s"] / (peak * 1e12)
                row["round"] = r
                record.append(row)
                print(f"round {r} {net:26s} K={k or 'solo':>4} per seed "
                      f"{row['images_per_s_per_seed']:9.0f} img/s, aggregate "
                      f"{row['images_per_s']:9.0f} img/s, x{row['ratio_to_solo']:.2f} of solo"
                      + (f", {100 * row['bf16_peak_fraction']:.2f}% of bf16 peak" if peak else "")
                      + f" (step {1e3 * row['median_step_s']:.1f} ms)", flush=True)
                if k and args.augment_per_seed:
                    apart = run_once(net, k, steps, device, cfg, augment_per_seed=True)
                    apart["round"] = r
                    row["x_per_seed_augment"] = row["images_per_s"] / apart["images_per_s"]
                    record.append(apart)
                    print(f"round {r} {net:26s} K={k:>4} augmenting per seed: aggregate "
                          f"{apart['images_per_s']:9.0f} img/s; one call for the pack is "
                          f"x{row['x_per_seed_augment']:.2f} of that", flush=True)
        info["rounds"].append(record)
        info["load_after"] = os.getloadavg()
        with open(args.out, "w") as handle:
            json.dump(info, handle, indent=1)
        if time.perf_counter() - began > args.deadline:
            print("deadline reached")
            break
    if args.profile and device.type == "cuda":
        for net in networks:
            if time.perf_counter() - began > args.deadline:
                break
            model, width, depth, resolution, batch = NETWORKS[net]
            cfg = dataclasses.replace(config, batch_size=batch)
            info["busy"][net] = busy_fraction(net, max(args.ks), device, cfg)
            print(f"{net}: device busy {info['busy'][net]:.2f} of wall, K={max(args.ks)}")
            with open(args.out, "w") as handle:
                json.dump(info, handle, indent=1)


if __name__ == "__main__":
    main()
