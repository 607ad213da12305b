"""Build the torch optimiser a TrainConfig names."""

from __future__ import annotations

from typing import Iterable

import torch

from hsearch.train.config import OPTIMIZERS, TrainConfig


def build_optimizer(params: Iterable[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """The optimiser of ``config`` over ``params`` at the config's peak lr.

    The schedule overwrites ``param_group["lr"]`` before every step, so the lr given here is only
    the starting value. SGD takes ``momentum``/``nesterov``; the adaptive ones keep their torch
    defaults (betas, rho, lambd, ...).
    """
    params = list(params)
    lr, wd = config.lr, config.weight_decay
    name = config.optimizer
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=config.momentum, nesterov=config.nesterov,
                               weight_decay=wd)
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=wd)
    if name == "adamax":
        return torch.optim.Adamax(params, lr=lr, weight_decay=wd)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=lr, weight_decay=wd)
    if name == "adadelta":
        return torch.optim.Adadelta(params, lr=lr, weight_decay=wd)
    if name == "asgd":
        return torch.optim.ASGD(params, lr=lr, weight_decay=wd)
    # TrainConfig validates the name, so this is a table out of sync with OPTIMIZERS.
    raise AssertionError(f"optimizer {name!r} is in OPTIMIZERS={OPTIMIZERS} but not built here")
