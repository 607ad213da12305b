"""``hsearch train``: train one architecture on several seeded subsets; print and save the scores.

Example::

    hsearch train --data digits --model senet18 --width 0.67 --budget 20s --seeds 3 --out runs/x

writes ``runs/x/result.json`` (resolved architecture, training config, budget, data set, subset
sizes, code version, per-seed results, mean and std) and TensorBoard event files in
``runs/x/seed_<s>/``; the per-seed table grows as the seeds finish. The paper's protocol is
``--budget 10m --seeds 10`` on ``--data cifar10``. An ``--out`` that holds a run already (even an
interrupted one) is refused, as by the workflow commands: runs are never written over.

Width, resolution, batch size, lr and augmentation not given as flags come from the data set's profile
(hsearch.data.profiles); the ``defaults:`` line and ``result.json``'s ``provenance`` say where
each came from, ``machine`` what it ran on. A budget too small to learn in (hsearch.train.
learnability) is warned about once, on stderr, and kept in ``result.json``'s ``warnings``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
from pathlib import Path

from hsearch.data.catalog import data_help, data_root_help, download_help
from hsearch.data.profiles import apply_profile, get_profile, profile_help
from hsearch.errors import UserError
from hsearch.files import write_atomic
from hsearch.workflows.run_dir import (
    RUN_MARKERS,
    code_version,
    discard_run_dir,
    make_writable_dir,
)

logger = logging.getLogger(__name__)

DEFAULT_BUDGET = "60s"
DEFAULT_SEEDS = 3
RESULT_FILE = "result.json"


def register(subparsers) -> None:
    """Add the ``train`` sub-command."""
    p = subparsers.add_parser(
        "train",
        help="train an architecture on seeded subsets, report mean ± std accuracy",
        description="Train one (scaled) architecture once per seed, each on its own seeded "
                    "subset, under a wall-clock or epoch budget; report the final models' "
                    "accuracies, their mean and sample std, and the model's MACs.",
    )
    g = p.add_argument_group("data")
    g.add_argument("--data", default="digits", help="data set: " + data_help())
    g.add_argument("--data-root", default=None, help=data_root_help())
    g.add_argument("--download", action="store_true", help=download_help())
    g.add_argument("--split", default="val", choices=("val", "test"),
                   help="score on the subset's validation (default) or test images")
    g.add_argument("--train-per-class", type=int, default=None,
                   help="training images per class (default: the data set's)")
    g.add_argument("--val-per-class", type=int, default=None)
    g.add_argument("--test-per-class", type=int, default=None)

    g = p.add_argument_group("architecture")
    g.add_argument("--model", default="senet18", help="model of the zoo (default senet18)")
    g.add_argument("--width", type=float, default=None,
                   help="width multiplier (> 0); " + _help("arch.width"))
    g.add_argument("--depth", type=float, default=1.0, help="depth multiplier (> 0)")
    g.add_argument("--resolution", type=float, default=None,
                   help="input resolution multiplier of 32 px (> 0); " + _help("arch.resolution"))

    g = p.add_argument_group("budget and seeds")
    g.add_argument("--budget", default=DEFAULT_BUDGET,
                   help=f"per seed: '600s', '10m', '1.5h' or '30ep' (default {DEFAULT_BUDGET})")
    g.add_argument("--seeds", type=int, default=DEFAULT_SEEDS,
                   help=f"number of seeds (default {DEFAULT_SEEDS})")
    g.add_argument("--first-seed", type=int, default=0, help="seeds run from this one up")

    g = p.add_argument_group(
        "optimisation (defaults: the paper's, except resolution, batch size, lr and augmentation, "
        "which come from the data set's profile: see hsearch/data/profiles.py)")
    g.add_argument("--optimizer", default="sgd",
                   help="sgd, adam, adamw, adamax, adagrad, adadelta or asgd")
    g.add_argument("--lr", type=float, default=None,
                   help="peak learning rate; " + _help("train.lr") + " (SGD's scale: rescaled "
                        "by the usual default lr for the other optimisers)")
    g.add_argument("--momentum", type=float, default=None, help="SGD momentum (default 0.9)")
    g.add_argument("--nesterov", action="store_true", help="Nesterov momentum (SGD)")
    g.add_argument("--wd", type=float, default=None, help="weight decay (default 5e-3)")
    g.add_argument("--batch-size", type=int, default=None,
                   help="batch size; " + _help("train.batch_size"))
    g.add_argument("--label-smoothing", type=float, default=None, help="default 0")
    g.add_argument("--schedule", default=None, choices=("cosine", "constant"),
                   help="learning-rate schedule over the budget (default cosine)")
    g.add_argument("--warmup", type=float, default=None,
                   help="linear warm-up, as a fraction of the budget (default 0)")
    g.add_argument("--final-lr", type=float, default=None,
                   help="lr at the end of the budget, as a fraction of the peak (default 0)")
    for name, what in (("autoaugment", "AutoAugment (CIFAR-10 policy)"), ("cutout", "Cutout"),
                       ("crop-flip", "random crop + horizontal flip")):
        g.add_argument(f"--{name}", action=argparse.BooleanOptionalAction, default=None,
                       help=f"{what} on or off; " + _help(f"train.augment.{name.replace('-', '_')}"))
    g.add_argument("--no-augment", action="store_true", help="switch all augmentation off")

    g = p.add_argument_group("execution and output")
    g.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1")
    g.add_argument("--threads", type=int, default=None,
                   help="torch CPU threads (default: torch's own setting; on a machine "
                        "shared with other processes, 1 is often faster for small models)")
    g.add_argument("--compile", action="store_true",
                   help="torch.compile the model; compiling is part of the untimed warm-up "
                        "(wall time, not budget)")
    g.add_argument("--no-epoch-eval", action="store_true",
                   help="skip the per-epoch monitoring evaluation")
    g.add_argument("--out", default=None,
                   help="run directory (default runs/train-<date>-<time>); refused when it "
                        "holds a run already (no overwriting: choose another or remove it)")
    p.set_defaults(run=run)


def _help(key: str) -> str:
    return profile_help(key)


def user_values(args: argparse.Namespace) -> dict:
    """The profile fields the options set, as a nested settings mapping (unset: absent)."""
    values: dict = {"arch": {}, "train": {"augment": {}}}
    if args.width is not None:
        values["arch"]["width"] = args.width
    if args.resolution is not None:
        values["arch"]["resolution"] = args.resolution
    if args.batch_size is not None:
        values["train"]["batch_size"] = args.batch_size
    if args.lr is not None:
        values["train"]["lr"] = args.lr
    for name in ("crop_flip", "autoaugment", "cutout"):
        value = False if args.no_augment else getattr(args, name)
        if value is not None:
            values["train"]["augment"][name] = value
    return values


def build_config(args: argparse.Namespace, dataset: str = "digits"):
    """(Architecture, TrainConfig, provenance) the options describe for data set ``dataset``.

    Width, resolution, batch size, lr and augmentation the options leave unset come from the data
    set's profile (hsearch.data.profiles); provenance maps each of those dotted keys to "user"
    or "profile:<data set>". Other unset options keep TrainConfig's defaults (the paper's).
    """
    from hsearch.data import AugmentConfig  # torch: not at parse time
    from hsearch.train import Architecture, TrainConfig, rescale_lr  # torch

    values = user_values(args)
    provenance = apply_profile(values, dataset)
    train = values["train"]
    optimizer = args.optimizer.lower()
    kwargs = {"optimizer": optimizer, "batch_size": train["batch_size"], "lr": train["lr"],
              "augment": AugmentConfig(**train["augment"])}
    if args.lr is None and optimizer != "sgd":
        kwargs["lr"] = rescale_lr(train["lr"], optimizer, reference="sgd")
        provenance["train.lr"] += f", rescaled for {optimizer}"
    for option, name in (("momentum", "momentum"), ("wd", "weight_decay"),
                         ("label_smoothing", "label_smoothing"), ("schedule", "schedule"),
                         ("warmup", "warmup_fraction"), ("final_lr", "final_lr_fraction")):
        value = getattr(args, option)
        if value is not None:
            kwargs[name] = value
    if args.nesterov:
        kwargs["nesterov"] = True
    kwargs["eval_each_epoch"] = not args.no_epoch_eval
    kwargs["compile"] = args.compile
    arch = Architecture(args.model, width=values["arch"]["width"], depth=args.depth,
                        resolution=values["arch"]["resolution"])
    return arch, TrainConfig(**kwargs), provenance


def run(args: argparse.Namespace) -> int:
    """Validate everything cheap first, then load the data and train every seed.

    Nothing is written for a refused command: the run directory is created only once the data
    set, the subset sizes and the directory itself have passed, and a directory this command
    created is removed again when it fails before anything was written into it.
    """
    from hsearch.train import parse_budget, seed_list  # torch: not at parse time

    budget = parse_budget(args.budget)
    if args.seeds < 1:
        raise UserError(f"`--seeds >= 1` must hold, but got --seeds {args.seeds}")
    if args.first_seed < 0:
        raise UserError(f"`--first-seed >= 0` must hold, but got --first-seed {args.first_seed}")
    if args.threads is not None and args.threads < 1:
        raise UserError(f"`--threads >= 1` must hold, but got --threads {args.threads}")
    seeds = seed_list(list(range(args.first_seed, args.first_seed + args.seeds)))
    get_profile(args.data)  # an unknown data set: refused before anything is built
    arch, config, provenance = build_config(args, args.data)
    out = Path(args.out) if args.out else Path("runs") / datetime.datetime.now().strftime(
        "train-%Y%m%d-%H%M%S")
    check_out(out)

    import torch

    # torch: not at parse time
    from hsearch.data import SubsetSizes, default_sizes, list_datasets, load_dataset, make_subset
    from hsearch.train import aggregate, resolve_device, train_one_seed
    from hsearch.train.machine import machine_info
    # import cost: hsearch.results (yaml, its writers) stays out of `hsearch --help`
    from hsearch.results.jsonable import json_default

    if args.data not in list_datasets():
        raise UserError(f"unknown data set {args.data!r}; known data sets: "
                        f"{', '.join(list_datasets())}")
    device = resolve_device(None if args.device == "auto" else args.device)
    dataset = load_dataset(args.data, root=args.data_root, download=args.download)
    base = default_sizes(dataset.name)
    sizes = SubsetSizes(
        args.train_per_class if args.train_per_class is not None else base.train_per_class,
        args.val_per_class if args.val_per_class is not None else base.val_per_class,
        args.test_per_class if args.test_per_class is not None else base.test_per_class,
    )
    if getattr(sizes, f"{args.split}_per_class") < 1:
        raise UserError(f"--split {args.split} scores the subset's {args.split} images, but "
                        f"--{args.split}-per-class is {getattr(sizes, f'{args.split}_per_class')}")
    make_subset(dataset, seeds[0], sizes)  # sizes larger than a class fail here, not at seed 0
    cost = arch.cost(num_classes=dataset.num_classes)
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    created = not out.exists()
    from hsearch.train.learnability import OnceFilter  # torch: not at parse time

    warnings = OnceFilter()
    logging.getLogger("hsearch.train.learnability").addFilter(warnings)
    try:
        make_writable_dir(out)
        print(f"hsearch train: {arch.model} width={arch.width:g} depth={arch.depth:g} "
              f"resolution={arch.resolution:g} ({arch.input_size} px, {cost.macs / 1e6:.2f} M "
              f"MACs) on {dataset.name}, budget {budget} per seed, seeds {list(seeds)}, device "
              f"{device}, {torch.get_num_threads()} CPU threads, {config.optimizer} "
              f"lr={config.lr:g}", flush=True)
        print(format_provenance(arch, config, provenance), flush=True)
        # Rows appear as the seeds finish: at the paper's 10 minutes a seed, the whole table
        # takes over an hour and a half.
        print(table_header(args.split), flush=True)
        results = []
        for seed in seeds:
            result = train_one_seed(arch, config, budget, dataset, seed, sizes=sizes,
                                    split=args.split, device=device, log_dir=out / f"seed_{seed}")
            results.append(result)
            print(table_row(result), flush=True)
    except BaseException:
        if created:
            discard_run_dir(out)
        raise
    finally:
        logging.getLogger("hsearch.train.learnability").removeFilter(warnings)
    summary = aggregate(arch, config, budget, dataset.name, args.split, results, cost)
    print(format_summary(summary))
    record = {
        "options": {k: v for k, v in vars(args).items() if k not in ("run", "command")},
        "version": code_version(),
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "machine": machine_info(device),
        "provenance": provenance,
        "warnings": warnings.messages,
        "data": {"name": dataset.name, "source": dataset.source,
                 "sizes": {"train_per_class": sizes.train_per_class,
                           "val_per_class": sizes.val_per_class,
                           "test_per_class": sizes.test_per_class}},
        **summary.to_dict(),
    }
    write_atomic(out / RESULT_FILE,
                 json.dumps(record, indent=2, default=json_default) + "\n")
    print(f"wrote {out / RESULT_FILE} and TensorBoard events in {out}/seed_*")
    return 0 if summary.all_ok else 1


def format_provenance(arch, config, provenance: dict) -> str:
    """One line: the data-set-profile fields and where each value came from."""
    values = {"arch.width": f"width={arch.width:g}",
              "arch.resolution": f"resolution={arch.resolution:g}",
              "train.batch_size": f"batch={config.batch_size}",
              "train.lr": f"lr={config.lr:g}"}
    for name in ("crop_flip", "autoaugment", "cutout"):
        values[f"train.augment.{name}"] = f"{name}={'on' if getattr(config.augment, name) else 'off'}"
    shown = [f"{values[key]} ({source})" for key, source in provenance.items()]
    return "defaults: " + ", ".join(shown)


def check_out(out: Path) -> None:
    """Refuse an ``--out`` that is a file or holds a run (or part of one) already.

    As for the workflow commands (hsearch.workflows.run_dir.new_run_dir), a run is never written
    over and there is no flag to force it: choose another --out or remove the old run. A
    directory holding other files is accepted; only run files are looked for: this command's
    result.json and seed_* folders (an interrupted run leaves the latter) and the workflows'
    run files.
    """
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} exists and is not a directory")
    if not out.is_dir():
        return
    found = [name for name in (RESULT_FILE, *RUN_MARKERS) if (out / name).exists()]
    found += sorted(p.name for p in out.glob("seed_*"))
    if found:
        shown = ", ".join(found[:4]) + (", ..." if len(found) > 4 else "")
        raise UserError(f"{out} holds results of a run already ({shown}); choose another --out "
                        f"or remove them")


def table_header(split: str) -> str:
    """The header line of the per-seed table."""
    return (f"{'seed':>4}  {'status':<8}  {split + ' acc':>8}  {'epochs':>7}  {'steps':>6}  "
            f"{'train s':>8}  {'img/s':>8}  subset")


def table_row(r) -> str:
    """One seed's line of the table (a hsearch.train.SeedResult)."""
    return (f"{r.seed:>4}  {r.status:<8}  {r.accuracy:>8.4f}  {r.epochs:>7.2f}  {r.steps:>6d}  "
            f"{r.train_seconds:>8.2f}  {r.images_per_second:>8.1f}  {r.subset_digest}")


def format_summary(result) -> str:
    """The mean ± std line and the cost line of an EvaluationResult."""
    failed = f"  ({result.n_failed} failed, counted as 0)" if result.n_failed else ""
    return (f"{result.split} accuracy: {result.acc_mean:.4f} ± {result.acc_std:.4f} "
            f"(mean ± sample std over {len(result.seeds)} seeds){failed}\n"
            f"cost: {result.macs / 1e6:.2f} M MACs, {result.params / 1e6:.3f} M params at "
            f"{result.resolution} px")


def format_table(result) -> str:
    """The whole per-seed table and the summary of an EvaluationResult."""
    return "\n".join([table_header(result.split), *map(table_row, result.seed_results),
                      format_summary(result)])
