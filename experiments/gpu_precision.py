"""Which inference/training format is fastest per network size on a GPU: bf16 autocast or fp32,
channels_last or NCHW, through hsearch's own trainer.

The smoke test (experiments/gpu_smoke.py) found bf16 + channels_last (the CUDA default) slower
than fp32 NCHW on a quarter-width senet18 and faster on resnet18, from one run each. This script
times all four formats on networks of several sizes, interleaved over ``--rounds`` rounds (so a
slow moment of the machine hits every format alike), and prints the median images/s per format
and its ratio to the default. Prints figures and (``--out``) writes them as JSON; no asserts.

Needs only torch, torchvision, numpy, scikit-learn, fvcore and this repository::

    PYTHONPATH=. python experiments/gpu_precision.py --out gpu_precision.json   # ~2 min, H200
    PYTHONPATH=. python experiments/gpu_precision.py --device cpu --tiny       # dry run
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import sys
import time

import torch

from hsearch.models import model_cost
from hsearch.train import Architecture, TrainConfig, parse_budget, train
from hsearch.train.device import default_bf16

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from gpu_smoke import synthetic_data  # noqa: E402 - a script beside this one

NETWORKS = (("senet18", 0.25), ("senet18", 0.5), ("senet18", 1.0), ("resnet18", 1.0))
FORMATS = {"bf16_channels_last": {"bf16": True, "channels_last": True},
           "bf16_nchw": {"bf16": True, "channels_last": False},
           "fp32_channels_last": {"bf16": False, "channels_last": True},
           "fp32_nchw": {"bf16": False, "channels_last": False}}


def images_per_s(model: str, width: float, fmt: dict, data, batch: int, steps: int,
                 device: torch.device) -> float:
    """Median images/s over the timed steps of one short run (the first step dropped)."""
    torch.manual_seed(0)
    net = Architecture(model, width=width).build(num_classes=10)
    config = TrainConfig(batch_size=batch, eval_each_epoch=False, **fmt)
    run = train(net, data, config, parse_budget(f"{steps * batch / data.train_images.shape[0]}ep"),
                device=device)
    return batch / statistics.median(run.step_seconds[1:] or run.step_seconds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--tiny", action="store_true", help="tiny sizes (the CPU dry run)")
    parser.add_argument("--batch", type=int, nargs="+", default=[256])
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="write the figures to this JSON file")
    args = parser.parse_args(argv)
    logging.getLogger("hsearch").setLevel(logging.ERROR)  # short runs: no learnability hints
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        print(f"gpu_precision: error: --device {args.device} but CUDA is not available here "
              f"(use --device cpu --tiny for the dry run)", file=sys.stderr)
        return 2
    device = torch.device(args.device)
    networks = (("senet18", 0.125),) if args.tiny else NETWORKS
    batches, steps, rounds, res = ([16], 3, 1, 16) if args.tiny else (args.batch, args.steps,
                                                                    args.rounds, 32)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"{name}, torch {torch.__version__}, default bf16 here: {default_bf16(device)}; "
          f"median images/s over {rounds} round(s) x {steps} steps, {res} px", flush=True)
    figures = {"device": name, "torch": torch.__version__, "rounds": rounds, "steps": steps,
               "resolution": res, "runs": {}}
    started = time.perf_counter()
    for batch in batches:
        data = synthetic_data(batch * (steps + 1), res, device)
        for model, width in networks:
            key = f"{model}_w{width:g}_b{batch}"
            rates: dict[str, list[float]] = {fmt: [] for fmt in FORMATS}
            for _ in range(rounds):
                for fmt, changes in FORMATS.items():
                    rates[fmt].append(images_per_s(model, width, changes, data, batch, steps,
                                                   device))
            medians = {fmt: statistics.median(v) for fmt, v in rates.items()}
            default = medians["bf16_channels_last"]
            macs = model_cost(model, width).macs / 1e6
            print(f"{key} ({macs:.0f} M MACs): " + ", ".join(
                f"{fmt} {m:,.0f} ({m / default:.2f}x)" for fmt, m in medians.items()), flush=True)
            figures["runs"][key] = {"macs_m": macs, "images_per_s": rates, "median": medians}
    figures["seconds"] = round(time.perf_counter() - started, 1)
    print(f"{figures['seconds']} s")
    if args.out:
        with open(args.out, "w") as f:
            json.dump(figures, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
