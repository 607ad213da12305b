"""Training layer: budgets, the budgeted trainer, repeated-seed evaluation.

Typical use::

    from hsearch.data import load_dataset
    from hsearch.train import Architecture, TrainConfig, evaluate

    result = evaluate(Architecture("senet18", width=0.5), TrainConfig(), "20s",
                      load_dataset("digits"), seeds=3)
    print(result.acc_mean, result.acc_std, result.macs)

``train(model, data, config, budget)`` is the trainer itself, for any nn.Module and TrainData;
``train_one_seed`` is the picklable unit the workflows run as Ray tasks.
"""

from hsearch.train.accuracy import evaluate_accuracy
from hsearch.train.budget import BUDGET_FORMS, Budget, LRSchedule, check_budget, parse_budget
from hsearch.train.config import DEFAULT_LR, OPTIMIZERS, Architecture, TrainConfig, rescale_lr
from hsearch.train.device import resolve_device
from hsearch.train.evaluate import (
    SPLITS,
    EvaluationResult,
    SeedResult,
    aggregate,
    evaluate,
    prepare_data,
    seed_list,
    summarize,
    train_one_seed,
)
from hsearch.train.optim import build_optimizer
from hsearch.train.run_types import DIVERGED, OK, OOM, TrainData, TrainResult
from hsearch.train.trainer import train

__all__ = [
    "BUDGET_FORMS",
    "DEFAULT_LR",
    "DIVERGED",
    "OK",
    "OOM",
    "OPTIMIZERS",
    "SPLITS",
    "Architecture",
    "Budget",
    "check_budget",
    "EvaluationResult",
    "LRSchedule",
    "SeedResult",
    "TrainConfig",
    "TrainData",
    "TrainResult",
    "aggregate",
    "build_optimizer",
    "evaluate",
    "evaluate_accuracy",
    "parse_budget",
    "prepare_data",
    "rescale_lr",
    "resolve_device",
    "seed_list",
    "summarize",
    "train",
    "train_one_seed",
]
