"""GPU smoke test of hsearch's trainer: one short run that says whether the CUDA path works and
what it costs. Prints one block per check and (``--out``) writes every figure to a JSON file.

Needs only torch, torchvision, numpy, scikit-learn, fvcore and this repository on PYTHONPATH: no
Ray, no PyNomad (the script checks that neither got imported). About 4 minutes on one H100/H200
(compilation is most of it; ``--no-compile`` skips it)::

    PYTHONPATH=. python experiments/gpu_smoke.py --out gpu_smoke.json
    PYTHONPATH=. python experiments/gpu_smoke.py --device cpu --tiny    # CI dry run (no compile)

Checks:
  env         torch/CUDA/cuDNN versions, the device, compute capability, the bf16 default.
  augment     hsearch.data.BatchAugmenter (default policy) on the device vs on the CPU, images/s.
  throughput  images/s of hsearch.train.train for senet18 w0.25 and resnet18 at 32 px:
              bf16 autocast + channels_last (the CUDA default), fp32 NCHW, and + torch.compile;
              and host syncs per step, from torch.cuda.set_sync_debug_mode("warn") warnings
              counted over two runs of different lengths within one epoch (the difference per
              extra step). These are stream/device syncs; the one-step lag's event waits (one
              per step, for the step before the last) are not counted, by design.
  sync_cost   a plain training step loop on the same models, with ``loss.item()`` every step
              (the trainer before the one-step lag) vs without: what a per-step sync costs.
  budget      a time budget: overrun against the last two steps, and the time outside the clock.
  oom         a real out-of-memory run (a huge batch under a per-process memory cap), the memory
              still allocated and reserved after train() returned, then a normal run.
  shared      two seeds on the one device at once (two processes) vs one alone, images/s.
  end_to_end  train_one_seed on scikit-learn digits: status, accuracy, seconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import torch

from hsearch.data import AugmentConfig, BatchAugmenter, SubsetSizes, load_dataset
from hsearch.train import (
    Architecture,
    TrainConfig,
    TrainData,
    build_optimizer,
    parse_budget,
    train,
    train_one_seed,
)
from hsearch.train.device import default_bf16

FORBIDDEN = ("ray", "PyNomad")
MODELS = (("senet18", 0.25), ("resnet18", 1.0))


def synthetic_data(n: int, resolution: int, device: torch.device) -> TrainData:
    """Random uint8 images and labels (throughput does not depend on the pixels)."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 3, resolution, resolution), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (n,), generator=g)
    return TrainData(images, labels, images[:256], labels[:256], (0.5,) * 3, (0.25,) * 3).to(device)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def build(model: str, width: float) -> torch.nn.Module:
    torch.manual_seed(0)
    return Architecture(model, width=width).build(num_classes=10)


def check_env(args, device) -> dict:
    out = {"torch": torch.__version__, "device": str(device), "cpus": os.cpu_count(),
           "default_bf16": default_bf16(device)}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        out.update(name=props.name, capability=list(torch.cuda.get_device_capability(device)),
                   memory_gib=round(props.total_memory / 2**30, 1), cuda=torch.version.cuda,
                   cudnn=torch.backends.cudnn.version())
    return out


def check_augment(args, device) -> dict:
    batch, res, reps = (32, 16, 2) if args.tiny else (512, 32, 20)
    images = torch.randint(0, 256, (batch, 3, res, res), dtype=torch.uint8)
    out = {}
    for where in ([device, torch.device("cpu")] if device.type == "cuda" else [device]):
        augment = BatchAugmenter(AugmentConfig(), res, seed=0, device=where)
        x = images.to(where)
        augment(x)  # first call: lazy set-up
        sync(where)
        start = time.perf_counter()
        for _ in range(reps):
            augment(x)
        sync(where)
        out[f"{where.type}_images_per_s"] = round(batch * reps / (time.perf_counter() - start))
    return out


def count_syncs(fn) -> int:
    """Synchronising CUDA calls made by ``fn()`` (torch's sync debug mode, as warnings)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        torch.cuda.set_sync_debug_mode("warn")
        try:
            fn()
        finally:
            torch.cuda.set_sync_debug_mode("default")
    return sum("synchroniz" in str(w.message) for w in caught)


def check_throughput(args, device) -> dict:
    res, batch, steps = (16, 32, 3) if args.tiny else (32, 512, 60)
    # one epoch holds both sync-count runs: per-epoch syncs (pause, metrics) then cancel out
    data = synthetic_data(batch * (2 * steps + 2), res, device)
    models = (("senet18", 0.125),) if args.tiny else MODELS
    variants = {"bf16_channels_last": {}, "fp32_nchw": {"bf16": False, "channels_last": False}}
    if args.compile and not args.tiny:  # Inductor's C++ build alone takes minutes on 2 cores
        variants["bf16_channels_last_compile"] = {"compile": True}
    out = {}
    for name, width in models:
        for variant, changes in variants.items():
            config = TrainConfig(batch_size=batch, eval_each_epoch=False, **changes)
            run = train(build(name, width), data, config,
                        parse_budget(f"{steps * batch / data.train_images.shape[0]}ep"),
                        device=device)
            median = statistics.median(run.step_seconds[1:] or run.step_seconds)
            out[f"{name}_w{width}_{variant}"] = {
                "status": run.status, "steps": run.steps, "images_per_s": round(batch / median),
                "warmup_s": round(run.warmup_seconds, 2)}
        if device.type == "cuda":  # syncs per step: two run lengths, the difference per step
            config = TrainConfig(batch_size=batch, eval_each_epoch=False)
            counts = [count_syncs(lambda k=k: train(build(name, width), data, config,
                                                    parse_budget(f"{k * batch / data.train_images.shape[0]}ep"),
                                                    device=device)) for k in (steps, 2 * steps)]
            out[f"{name}_w{width}_host_syncs_per_step"] = (counts[1] - counts[0]) / steps
    return out


def check_sync_cost(args, device) -> dict:
    """A bare step loop with and without a per-step ``loss.item()`` (what the trainer did)."""
    res, batch, steps = (16, 32, 3) if args.tiny else (32, 512, 60)
    bf16 = default_bf16(device)
    out = {}
    for name, width in ((("senet18", 0.125),) if args.tiny else MODELS):
        model = build(name, width).to(device, memory_format=torch.channels_last)
        optimizer = build_optimizer(model.parameters(), TrainConfig())
        x = torch.randn(batch, 3, res, res, device=device).contiguous(memory_format=torch.channels_last)
        y = torch.randint(0, 10, (batch,), device=device)
        for per_step_item in (False, True, False, True):  # twice each, the second counts
            sync(device)
            start = time.perf_counter()
            for _ in range(steps):
                with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
                    logits = model(x)
                loss = torch.nn.functional.cross_entropy(logits.float(), y)
                loss.backward()
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                if per_step_item:
                    loss.item()
            sync(device)
            key = f"{name}_w{width}_" + ("item_every_step" if per_step_item else "no_step_sync")
            out[key + "_images_per_s"] = round(batch * steps / (time.perf_counter() - start))
    return out


def check_budget(args, device) -> dict:
    budget = "0.5s" if args.tiny else "5s"
    data = synthetic_data(256 if args.tiny else 2048, 16 if args.tiny else 32, device)
    config = TrainConfig(batch_size=32 if args.tiny else 512)
    start = time.perf_counter()
    run = train(build("senet18", 0.125 if args.tiny else 0.25), data, config, parse_budget(budget),
                device=device)
    wall = time.perf_counter() - start
    return {"budget": budget, "status": run.status, "steps": run.steps,
            "train_s": round(run.train_seconds, 4), "overrun_s": round(run.overrun_seconds, 4),
            "last_two_steps_s": round(sum(run.step_seconds[-2:]), 4),
            "outside_clock_s": round(wall - run.train_seconds - run.warmup_seconds
                                     - run.eval_seconds, 4)}


def check_oom(args, device) -> dict:
    if device.type != "cuda":
        return {"skipped": "no out-of-memory error to provoke on the CPU"}
    torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated(device)
    index = device.index if device.index is not None else torch.cuda.current_device()
    # the memory cap takes a device index: a bare "cuda" device is refused
    torch.cuda.set_per_process_memory_fraction(
        min(1.0, 4 * 2**30 / torch.cuda.get_device_properties(index).total_memory), index)
    try:
        data = synthetic_data(16384, 64, device)
        model = build("resnet18", 1.0)
        run = train(model, data, TrainConfig(batch_size=16384, eval_each_epoch=False),
                    parse_budget("1ep"),
                    device=device)
        after = {"status": run.status, "message": run.message[:120],
                 "allocated_mib_after": round((torch.cuda.memory_allocated(device) - base) / 2**20, 1),
                 "reserved_mib_after": round(torch.cuda.memory_reserved(device) / 2**20, 1),
                 "model_mib": round(sum(p.numel() * p.element_size() for p in model.parameters())
                                    / 2**20, 1),
                 "data_mib": round((data.train_images.numel() + data.eval_images.numel())
                                   / 2**20, 1)}
        del model, data
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0, index)
    torch.cuda.empty_cache()
    normal = train(build("senet18", 0.25), synthetic_data(1024, 32, device),
                   TrainConfig(batch_size=256, eval_each_epoch=False), parse_budget("1ep"),
                   device=device)
    after["normal_run_after"] = normal.status
    return after


def seed_run(args, device) -> dict:
    """One seed on digits (the end-to-end check, and each process of the shared check)."""
    budget = args.seed_budget or ("1ep" if args.tiny else "10s")
    arch = Architecture("senet18", width=0.125 if args.tiny else 0.25,
                        resolution=0.5 if args.tiny else 1.0)
    config = TrainConfig(batch_size=32 if args.tiny else 256)
    sizes = SubsetSizes(10, 5, 0) if args.tiny else None  # tiny: 100 train / 50 val images
    start = time.perf_counter()
    result = train_one_seed(arch, config, parse_budget(budget), load_dataset("digits"), seed=0,
                            sizes=sizes,
                            device=device)
    return {"status": result.status, "accuracy": round(result.accuracy, 4), "budget": budget,
            "epochs": round(result.epochs, 2), "train_s": round(result.train_seconds, 2),
            "images_per_s": round(result.images_per_second), "overrun_s": round(result.overrun_seconds, 4),
            "wall_s": round(time.perf_counter() - start, 2)}


def check_shared(args, device) -> dict:
    """Two seed processes on the device at once, and one alone (each reports its images/s)."""
    command = [sys.executable, os.path.abspath(__file__), "--device", str(device), "--child"]
    command += ["--tiny"] if args.tiny else []

    def run(count: int) -> list[dict]:
        procs = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
        outs = [p.communicate(timeout=300)[0] for p in procs]
        if any(p.returncode for p in procs):
            raise RuntimeError(f"a seed process failed: {[p.returncode for p in procs]}")
        return [json.loads(o.strip().splitlines()[-1]) for o in outs]

    alone, together = run(1), run(2)
    return {"alone_images_per_s": alone[0]["images_per_s"],
            "together_images_per_s": [r["images_per_s"] for r in together],
            "together_accuracy": [r["accuracy"] for r in together]}


CHECKS = {"env": check_env, "augment": check_augment, "throughput": check_throughput,
          "sync_cost": check_sync_cost, "budget": check_budget, "oom": check_oom,
          "shared": check_shared, "end_to_end": seed_run}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the CPU dry run)")
    parser.add_argument("--no-compile", dest="compile", action="store_false")
    parser.add_argument("--only", nargs="+", choices=sorted(CHECKS), help="run these checks only")
    parser.add_argument("--out", help="write the figures to this JSON file")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--seed-budget", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu_smoke: error: --device {args.device} but CUDA is not available here "
              f"(use --device cpu --tiny for the dry run)", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    if device.type == "cpu":
        torch.set_num_threads(min(2, torch.get_num_threads()))
    if args.child:
        print(json.dumps(seed_run(args, device)))
        return 0
    figures, failed = {}, []
    for name, check in CHECKS.items():
        if args.only and name not in args.only:
            continue
        start = time.perf_counter()
        try:
            figures[name] = check(args, device)
        except Exception as exc:  # noqa: BLE001 - a smoke test reports every check it can
            failed.append(name)
            figures[name] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        figures[name]["check_s"] = round(time.perf_counter() - start, 1)
        print(f"== {name}\n{json.dumps(figures[name], indent=1)}", flush=True)
    figures["forbidden_modules"] = sorted({m.split(".")[0] for m in sys.modules} & set(FORBIDDEN))
    print(f"== forbidden modules imported: {figures['forbidden_modules'] or 'none'}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=1)
    return 1 if failed or figures["forbidden_modules"] else 0


if __name__ == "__main__":
    sys.exit(main())
