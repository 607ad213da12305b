"""The budget warning (hsearch.train.learnability) and machine info (hsearch.train.machine)."""

import logging

import pytest
import torch
from torch import nn

from hsearch.data import AugmentConfig, SubsetSizes, load_dataset, make_subset
from hsearch.train import TrainConfig, parse_budget, prepare_data, train
from hsearch.train.learnability import MIN_STEPS, forecast_steps, warn_if_unlearnable
from hsearch.train.machine import machine_info

NO_AUGMENT = AugmentConfig(crop_flip=False, autoaugment=False, cutout=False)
LOGGER = "hsearch.train.learnability"


@pytest.fixture(scope="module")
def small_data():
    digits = load_dataset("digits")
    return prepare_data(digits, make_subset(digits, 1, SubsetSizes(20, 10, 0)), resolution=8,
                        split="val", device="cpu")


def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(8, 10))


def test_epoch_budget_forecast_is_exact():
    f = forecast_steps(parse_budget("3ep"), n_train=1000, batch_size=512)
    assert f.exact and f.steps_per_epoch == pytest.approx(1000 / 512) and f.steps == 6
    assert forecast_steps(parse_budget("30s"), 1000, 64) is None  # time without a step time
    f = forecast_steps(parse_budget("30s"), 1000, 64, seconds_per_step=2.0)
    assert not f.exact and f.steps == 15 and f.epochs == pytest.approx(15 * 64 / 1000)


def test_the_issue_case_warns_with_figures_and_remedies(caplog):
    # batch 512 on 1,000 digits at about 25 s a step: the 60 s budget is 3 steps
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        message = warn_if_unlearnable(parse_budget("60s"), 1000, 512, 32, seconds_per_step=25.0)
    assert message and [r.getMessage() for r in caplog.records] == [message]
    assert "about 3 optimiser steps" in message and "batches of 512" in message
    assert "--batch-size 128" in message and "32 px" in message and "longer budget" in message
    assert "\n" not in message


@pytest.mark.parametrize("budget, n, batch, per_step, warns", [
    ("1ep", 1000, 512, None, True),        # 2 steps
    ("0.5ep", 10_000, 64, None, True),     # 78 steps, but not one epoch
    ("2ep", 1000, 64, None, False),        # 32 steps, 2 epochs
    ("30s", 1000, 64, 0.5, False),         # 60 steps, 3.8 epochs
    ("30s", 1000, 64, 3.0, True),          # 10 steps
])
def test_warns_only_below_min_steps_or_one_epoch(budget, n, batch, per_step, warns):
    message = warn_if_unlearnable(parse_budget(budget), n, batch, 16, per_step)
    assert bool(message) is warns
    assert MIN_STEPS == 20


def test_the_trainer_warns_once_before_a_tiny_budget_and_not_for_a_fine_one(small_data, caplog):
    config = TrainConfig(batch_size=100, augment=NO_AUGMENT, eval_each_epoch=False)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        result = train(tiny_cnn(), small_data, config, parse_budget("1ep"))  # 200 images: 2 steps
    warnings = [r for r in caplog.records if r.name == LOGGER]
    assert result.steps == 2 and len(warnings) == 1
    assert "about 2 optimiser steps" in warnings[0].getMessage()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        result = train(tiny_cnn(), small_data, TrainConfig(batch_size=10, augment=NO_AUGMENT,
                                                           eval_each_epoch=False), parse_budget("2ep"))
    assert result.steps == 40 and not [r for r in caplog.records if r.name == LOGGER]


def test_machine_info_names_cpu_threads_and_torch():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        info = machine_info("cpu")
    finally:
        torch.set_num_threads(before)
    assert info["torch_threads"] == 1 and info["device"] == "cpu"
    assert info["cpu_count"] >= 1 and info["torch"] == str(torch.__version__)
    assert isinstance(info["cpu"], str) and isinstance(info["gpus"], list)
    if torch.cuda.is_available():
        assert info["gpus"]
