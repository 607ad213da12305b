"""Options shared by the workflow commands (hsearch.workflows.registry: demo, baseline, ...).

Every workflow command reads an optional experiment file (``--config FILE``, YAML, parsed into the
workflow's settings dataclass) and lets flags override single fields; unset flags leave the file's
(or the defaults') values alone. :func:`settings_from_args` merges both and validates once.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from typing import Any, Mapping

from hsearch.data.catalog import data_help, data_root_help, download_help
from hsearch.data.profiles import profile_help
from hsearch.workflows.ray_session import probe_ray_address


def add_run_options(parser: argparse.ArgumentParser,
                    defaults: Mapping[str, Any] | None = None) -> None:
    """--config, data, architecture, training, budget/seeds, resources and --out."""
    parser.add_argument("--config", metavar="FILE", default=None,
                        help="experiment YAML file (see experiments/); flags override it")
    add_training_options(parser, defaults)
    add_resource_options(parser)
    add_out_option(parser)


def add_training_options(parser: argparse.ArgumentParser,
                         defaults: Mapping[str, Any] | None = None) -> None:
    """Data, architecture, budget/seeds and the optimiser: what every training command takes.

    ``defaults``: the command's own defaults of settings fields (the workflow table's
    ``CommandLine.defaults``), shown in the help; the settings get them from the table.
    """
    defaults = defaults or {}
    budget_default = defaults.get("budget", "600s")
    seeds_default = defaults.get("seeds", 10)
    g = parser.add_argument_group("data")
    g.add_argument("--data", default=None, help=data_help())
    g.add_argument("--data-root", default=None, help=data_root_help())
    g.add_argument("--download", action="store_true", default=None, help=download_help())
    g.add_argument("--train-per-class", type=int, default=None,
                   help="training images per class (default: the data set's)")
    g.add_argument("--val-per-class", type=int, default=None)
    g.add_argument("--test-per-class", type=int, default=None)

    g = parser.add_argument_group("architecture")
    g.add_argument("--model", default=None, help="model of the zoo (default senet18)")
    g.add_argument("--width", type=float, default=None,
                   help="width multiplier (> 0); " + profile_help("arch.width"))
    g.add_argument("--depth", type=float, default=None, help="depth multiplier (> 0, default 1)")
    g.add_argument("--resolution", type=float, default=None,
                   help="input resolution multiplier of 32 px (> 0); "
                        + profile_help("arch.resolution"))

    g = parser.add_argument_group("training")
    g.add_argument("--budget", default=None,
                   help=f"per seed: '600s', '10m', '1.5h' or '30ep' (default {budget_default})")
    g.add_argument("--seeds", type=int, default=None,
                   help=f"K: the number of seeds every configuration is trained on (default "
                        f"{seeds_default})")
    g.add_argument("--optimizer", default=None,
                   help="sgd (default), adam, adamw, adamax, adagrad, adadelta or asgd")
    g.add_argument("--lr", type=float, default=None,
                   help="peak learning rate, as given; " + profile_help("train.lr")
                        + " (SGD's scale: rescaled for another --optimizer)")
    g.add_argument("--wd", type=float, default=None, help="weight decay (default 5e-3)")
    g.add_argument("--batch-size", type=int, default=None, help=profile_help("train.batch_size"))
    g.add_argument("--no-augment", action="store_true",
                   help="no augmentation at all (default: the data set's profile; config.yaml's "
                        "settings.provenance says where each such value came from)")


def add_resource_options(parser: argparse.ArgumentParser) -> None:
    """Trials and seeds at once, their CPUs/GPUs/threads, packing, the Ray cluster."""
    g = parser.add_argument_group("resources")
    g.add_argument("--concurrency", type=int, default=None, help="trials at once")
    g.add_argument("--parallel-seeds", type=int, default=None,
                   help="seeds of one trial at once, as Ray tasks (default 1: in sequence)")
    g.add_argument("--cpus-per-seed", type=float, default=None, help="default 1")
    g.add_argument("--gpus-per-seed", type=float, default=None,
                   help="fractions share a GPU (default: 1 when the cluster has GPUs, else 0)")
    g.add_argument("--torch-threads", type=int, default=None,
                   help="torch CPU threads per seed (default: --cpus-per-seed)")
    g.add_argument("--pack", action=argparse.BooleanOptionalAction, default=None,
                   help="train a trial's seeds together as one packed model (default: on with "
                        "GPUs, off on CPU)")
    g.add_argument("--address", default=None,
                   help="Ray cluster to join ('auto', host:port or ray://host:port; default: "
                        "start a local Ray); checked within seconds")
    g.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs of the local Ray (default: all)")


def add_out_option(parser: argparse.ArgumentParser,
                   defaults: Mapping[str, Any] | None = None) -> None:
    """--out."""
    parser.add_argument("--out", default=None,
                        help="run directory (default runs/<command>-<date>-<time>); refused when "
                             "it holds a run already (no overwriting: choose another or remove "
                             "it)")


def add_optimisation_options(parser: argparse.ArgumentParser,
                             defaults: Mapping[str, Any] | None = None) -> None:
    """The trainer's finer settings (TrainConfig's fields beyond optimiser, lr, wd, batch size):
    momentum, schedule, label smoothing, each augmentation, compile, per-epoch evaluation."""
    g = parser.add_argument_group(
        "optimisation (defaults: the paper's, except resolution, batch size, lr and augmentation, "
        "which come from the data set's profile: see hsearch/data/profiles.py)")
    g.add_argument("--momentum", type=float, default=None, help="SGD momentum (default 0.9)")
    g.add_argument("--nesterov", action="store_true", default=None,
                   help="Nesterov momentum (SGD)")
    g.add_argument("--label-smoothing", type=float, default=None, help="default 0")
    g.add_argument("--schedule", default=None, choices=("cosine", "constant"),
                   help="learning-rate schedule over the budget (default cosine)")
    g.add_argument("--warmup", type=float, default=None,
                   help="linear warm-up, as a fraction of the budget (default 0)")
    g.add_argument("--final-lr", type=float, default=None,
                   help="lr at the end of the budget, as a fraction of the peak (default 0)")
    for name, what in _AUGMENTATIONS.items():
        g.add_argument(f"--{name.replace('_', '-')}", action=argparse.BooleanOptionalAction,
                       default=None, help=f"{what} on or off (--no-augment: off); "
                                          + profile_help(f"train.augment.{name}"))
    g.add_argument("--compile", action="store_true", default=None,
                   help="torch.compile the model; compiling is part of the untimed warm-up "
                        "(wall time, not budget)")
    g.add_argument("--no-epoch-eval", action="store_true", default=None,
                   help="skip the per-epoch monitoring evaluation")


#: Augmentation switches of the optimisation group: AugmentConfig field -> what it is.
_AUGMENTATIONS = {"autoaugment": "AutoAugment (CIFAR-10 policy)", "cutout": "Cutout",
                  "crop_flip": "random crop + horizontal flip"}


def add_search_options(parser: argparse.ArgumentParser,
                       defaults: Mapping[str, Any] | None = None) -> None:
    """--searcher, --max-evals, --search-seed, --penalty, --constraint-type."""
    g = parser.add_argument_group("search")
    g.add_argument("--searcher", default=None,
                   help="nomad (default), random, optuna, or another installed Tune searcher")
    g.add_argument("--max-evals", type=int, default=None, help="evaluations in all")
    g.add_argument("--search-seed", type=int, default=None, help="the searcher's seed")
    g.add_argument("--penalty", type=float, default=None,
                   help="constraint penalty for searchers without constraints (default 100)")
    g.add_argument("--constraint-type", default=None, choices=("PB", "EB"),
                   help="NOMAD's progressive (PB, default) or extreme (EB) barrier")


def add_nas_options(parser: argparse.ArgumentParser,
                    defaults: Mapping[str, Any] | None = None) -> None:
    """Baseline accuracy, tolerance, bounds, racing, confirmation, pruning."""
    g = parser.add_argument_group("NAS")
    g.add_argument("--baseline-acc", type=float, default=None,
                   help="the baseline's mean accuracy, if known (default: measure it)")
    g.add_argument("--baseline-seeds", type=int, default=None,
                   help="seeds the baseline is measured on, once (default: --seeds); more make "
                        "the threshold steadier")
    g.add_argument("--tolerance", type=float, default=None,
                   help="accept acc_mean >= baseline - tolerance (default 0)")
    for name in ("width", "depth", "resolution"):
        g.add_argument(f"--{name}-bounds", type=float, nargs=2, metavar=("LOW", "HIGH"),
                       default=None, help=f"{name} multiplier bounds, around 1 (the baseline)")
    g.add_argument("--step", type=float, default=None,
                   help="search multiples of STEP (default 0: real values)")
    g.add_argument("--racing", action="store_true", default=None,
                   help="stop hopeless configurations early (Student-t bound; see docs)")
    g.add_argument("--min-seeds", type=int, default=None, help="racing: seeds before deciding")
    g.add_argument("--confirm", action=argparse.BooleanOptionalAction, default=None,
                   help="train a feasible configuration within reach of the threshold on more "
                        "seeds, one at a time, before it is believed (Student-t bounds; see "
                        "docs; default: off for nas, on for the demo)")
    g.add_argument("--max-seeds", type=int, default=None,
                   help="confirmation: seeds a configuration may reach in all (> --seeds; "
                        "default: twice --seeds)")
    g.add_argument("--confidence", type=float, default=None,
                   help="racing and confirmation: one-sided level of their bounds (default 0.95)")
    g.add_argument("--no-prune", action="store_true", default=None,
                   help="train even configurations whose objective cannot beat the best feasible")
    g.add_argument("--objective", default=None,
                   help="metric to minimise: macs (default), params or latency_ms (measured "
                        "on the trial's device)")
    g.add_argument("--constraint", action="append", default=None, metavar="'METRIC <= BOUND'",
                   help="extra constraint beside the accuracy one, e.g. 'latency_ms <= 2.5' or "
                        "'params <= 1e6' (metrics: macs, params, latency_ms, throughput_ips); "
                        "repeatable")


def check_address(args: argparse.Namespace) -> None:
    """Refuse an ``--address`` flag where no Ray cluster answers, within seconds and before
    torch and Ray are imported (the run probes the address again when it joins the cluster;
    an address from --config is checked then)."""
    address = getattr(args, "address", None)  # None: a command without the resources group
    if address and address != "local":
        probe_ray_address(address)


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Dotted settings keys from the option groups the command has (None: not given)."""
    from hsearch.data import AugmentConfig  # imports torch: not at parse time

    values = {
        "data.name": args.data, "data.root": args.data_root, "data.download": args.download,
        "data.train_per_class": args.train_per_class, "data.val_per_class": args.val_per_class,
        "data.test_per_class": args.test_per_class,
        "arch.model": args.model, "arch.width": args.width, "arch.depth": args.depth,
        "arch.resolution": args.resolution,
        "budget": args.budget, "seeds": args.seeds,
        "train.optimizer": args.optimizer.lower() if args.optimizer else None,
        "train.lr": args.lr, "train.weight_decay": args.wd, "train.batch_size": args.batch_size,
        "train.augment": (AugmentConfig(crop_flip=False, autoaugment=False, cutout=False)
                          if args.no_augment else None),
        "out": args.out,
    }
    if hasattr(args, "concurrency"):
        values.update({
            "resources.concurrency": args.concurrency,
            "resources.parallel_seeds": args.parallel_seeds,
            "resources.cpus_per_seed": args.cpus_per_seed,
            "resources.gpus_per_seed": args.gpus_per_seed,
            "resources.torch_threads": args.torch_threads, "resources.pack": args.pack,
            "resources.address": args.address, "resources.num_cpus": args.num_cpus,
        })
    if hasattr(args, "momentum"):
        values.update({
            "train.momentum": args.momentum, "train.nesterov": args.nesterov,
            "train.label_smoothing": args.label_smoothing, "train.schedule": args.schedule,
            "train.warmup_fraction": args.warmup, "train.final_lr_fraction": args.final_lr,
            "train.compile": args.compile,
            "train.eval_each_epoch": False if args.no_epoch_eval else None,
        })
        if not args.no_augment:  # --no-augment: all off, whatever a single switch says
            values.update({f"train.augment.{name}": getattr(args, name)
                           for name in _AUGMENTATIONS})
    for name in ("searcher", "max_evals", "search_seed", "penalty", "constraint_type"):
        if hasattr(args, name):
            values[f"search.{name.replace('search_', '')}"] = getattr(args, name)
    if hasattr(args, "baseline_acc"):
        values.update({
            "baseline_acc": args.baseline_acc, "baseline_seeds": args.baseline_seeds,
            "tolerance": args.tolerance,
            "bounds.width": args.width_bounds, "bounds.depth": args.depth_bounds,
            "bounds.resolution": args.resolution_bounds, "bounds.step": args.step,
            "racing.enabled": args.racing, "racing.min_seeds": args.min_seeds,
            "racing.confidence": args.confidence,
            "confirm.enabled": args.confirm, "confirm.max_seeds": args.max_seeds,
            "confirm.confidence": args.confidence,
            "prune": False if args.no_prune else None,
            "objective": args.objective,
            "constraints": tuple(args.constraint) if args.constraint else None,
        })
    return values


def settings_from_args(cls, args: argparse.Namespace, extra: dict[str, Any] | None = None,
                       base: dict | None = None):
    """The settings of ``cls``: ``base``, then ``--config``, then the flags (validated once).

    An --optimizer without --lr rescales the configured lr to the new optimiser (one lr scale
    for all optimisers, hsearch.train.rescale_lr).
    """
    from hsearch.workflows.settings import load_settings  # imports torch: not at parse time

    overrides = run_overrides(args)
    overrides.update(extra or {})
    config = getattr(args, "config", None)  # None: a command without --config (train)
    settings = load_settings(cls, config, overrides, base=base)
    if args.optimizer and args.lr is None:
        from hsearch.train import rescale_lr  # imports torch: not at parse time

        previous = load_settings(cls, config, {k: v for k, v in overrides.items()
                                                    if k != "train.optimizer"}, base=base)
        if previous.train.optimizer != settings.train.optimizer:
            lr = rescale_lr(previous.train.lr, settings.train.optimizer,
                            reference=previous.train.optimizer)
            provenance = dict(settings.provenance)
            if "train.lr" in provenance:
                provenance["train.lr"] += f", rescaled for {settings.train.optimizer}"
            settings = replace(settings, train=replace(settings.train, lr=lr),
                               provenance=provenance)
    return settings


def quiet_ray(verbose: bool) -> None:
    """Keep Ray Tune's INFO chatter off the console (the commands print their own progress)."""
    if not verbose:
        for name in ("ray", "ray.tune", "ray.train", "optuna"):
            logging.getLogger(name).setLevel(logging.WARNING)


#: Option groups by the names the workflow table uses (hsearch.workflows.registry.CommandLine),
#: each called as ``add(parser, defaults)``: "run" is "training" with --config, the resources
#: and --out.
OPTION_GROUPS = {"run": add_run_options, "search": add_search_options, "nas": add_nas_options,
                 "training": add_training_options, "optimisation": add_optimisation_options,
                 "out": add_out_option}
