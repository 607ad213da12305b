"""hsearch.train.trainer: the budgeted training loop on digits with a tiny CNN (CPU)."""

from __future__ import annotations

import math
import time

import pytest
import torch
from torch import nn

from hsearch.data import AugmentConfig, make_subset
from hsearch.errors import UserError
from hsearch.train import (
    DIVERGED,
    OK,
    OPTIMIZERS,
    TrainConfig,
    TrainData,
    build_optimizer,
    parse_budget,
    prepare_data,
    train,
)

NO_AUGMENT = AugmentConfig(crop_flip=False, autoaugment=False, cutout=False)


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.fixture(scope="module")
def data(digits):
    """1,000 train / 300 val digits at 16 px."""
    return prepare_data(digits, make_subset(digits, 0), resolution=16, split="val", device="cpu")


def tiny_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )


def own_accuracy(model: nn.Module, data: TrainData) -> float:
    """The test's own evaluation: normalise, eval mode, argmax (no trainer code). Channels-last
    input like the trainer's, so that no near-tie flips through a different summation order."""
    mean = torch.tensor(data.mean).view(1, 3, 1, 1)
    std = torch.tensor(data.std).view(1, 3, 1, 1)
    model.eval()
    with torch.no_grad():
        x = ((data.eval_images.float() / 255 - mean) / std).contiguous(
            memory_format=torch.channels_last)
        predictions = model(x).argmax(dim=1)
    model.train()
    return (predictions == data.eval_labels).double().mean().item()


def test_learns_digits_well_above_chance(data):
    history = []
    config = TrainConfig(lr=0.2, batch_size=128, augment=NO_AUGMENT)
    result = train(tiny_cnn(), data, config, parse_budget("8ep"), report=lambda **m: history.append(m))
    assert result.status == OK
    assert result.accuracy > 0.5  # chance is 0.1
    assert result.split == "val"
    assert result.steps == round(8 * 1000 / 128)
    assert result.epochs == pytest.approx(result.steps * 128 / 1000)
    # one report per epoch (the last one partial), with the documented metrics
    assert [m["epoch"] for m in history] == list(range(1, math.ceil(result.epochs) + 1))
    assert set(history[0]) >= {"epoch", "step", "loss", "train_acc", "val_acc", "lr",
                               "epoch_seconds", "images_per_second"}
    assert history[-1]["train_acc"] > history[0]["train_acc"]
    assert history[-1]["lr"] == 0.0 == result.final_lr  # the cosine floor, at the budget's end
    assert list(result.history) == history


def test_time_budget_is_honoured_to_within_one_step(small_data):
    budget = parse_budget("1.5s")
    config = TrainConfig(lr=0.05, batch_size=50, augment=NO_AUGMENT, final_lr_fraction=0.1)
    result = train(tiny_cnn(), small_data, config, budget)
    assert result.status == OK
    steps = result.step_seconds
    assert len(steps) == result.steps > 1
    # training ran into the deadline ...
    assert result.train_seconds >= budget.amount
    # ... the last step started before it, so the overrun is less than that step's time
    assert result.train_seconds - steps[-1] < budget.amount
    assert result.overrun_seconds == pytest.approx(result.train_seconds - budget.amount)
    assert result.overrun_seconds <= steps[-1]
    # the clock counts the steps and little else (evaluation, reports and warm-up are off it)
    assert sum(steps) <= result.train_seconds
    assert result.eval_seconds > 0 and result.warmup_seconds > 0
    assert result.history[-1]["lr"] == result.final_lr == pytest.approx(0.05 * 0.1)


class SlowOffTheClock(nn.Module):
    """tiny_cnn whose first forward (the trainer's untimed warm-up pass) and first two eval-mode
    forwards (the first per-epoch evaluations) sleep: were they on the clock, it would show."""

    def __init__(self, sleep: float):
        super().__init__()
        self.net = tiny_cnn()
        self.sleep = sleep
        self.calls = self.eval_calls = 0

    def forward(self, x):
        self.calls += 1
        if not self.training:
            self.eval_calls += 1
        if self.calls == 1 or (not self.training and self.eval_calls <= 2):
            time.sleep(self.sleep)
        return self.net(x)


def test_evaluation_and_warm_up_are_off_the_clock(small_data):
    budget = parse_budget("1s")
    sleep = 0.6
    model = SlowOffTheClock(sleep)
    config = TrainConfig(lr=0.05, batch_size=100, augment=NO_AUGMENT)  # 2 steps an epoch
    wall = time.perf_counter()
    result = train(model, small_data, config, budget)
    wall = time.perf_counter() - wall
    assert result.status == OK
    assert model.eval_calls == len(result.history) + 1 >= 3  # per epoch, and the final one
    assert wall >= budget.amount + 3 * sleep  # the sleeps did happen ...
    assert result.warmup_seconds >= sleep and result.eval_seconds >= 2 * sleep
    # ... yet the clock holds the steps only: between them lies bookkeeping, far below one
    # sleep (with the warm-up or the evaluations on the clock, the gaps would hold them)
    gaps = result.train_seconds - sum(result.step_seconds)
    assert 0.0 <= gaps < sleep / 2
    assert result.train_seconds - result.step_seconds[-1] < budget.amount  # within one step


def test_reported_accuracy_is_the_final_models_not_the_best_epochs(data):
    """Sabotage the model after the last epoch's report: the best monitored epoch is then far
    better than the final model, and the result must still be the final model's accuracy."""
    model = tiny_cnn()
    history = []

    def report(**metrics):
        history.append(metrics)
        if metrics["epoch"] == 5:  # the last report of a 5-epoch run
            with torch.no_grad():
                model[-1].weight.zero_()  # every image now gets the same prediction
                model[-1].bias.copy_(torch.arange(10.0))

    config = TrainConfig(lr=0.2, batch_size=100, augment=NO_AUGMENT)
    result = train(model, data, config, parse_budget("5ep"), report=report)
    assert len(history) == 5
    best = max(m["val_acc"] for m in history)
    assert best > 0.4
    assert result.accuracy == pytest.approx(own_accuracy(model, data), abs=1e-9)
    assert result.accuracy == pytest.approx((data.eval_labels == 9).double().mean().item())
    assert result.accuracy < best - 0.2


def test_reported_accuracy_after_a_late_lr_blow_up_is_a_fresh_evaluation(small_data):
    """A warm-up to an absurd lr wrecks the model late in the run; whatever the monitored
    epochs said, the result is the final model's accuracy."""
    model = tiny_cnn()
    config = TrainConfig(lr=8.0, batch_size=50, augment=NO_AUGMENT, schedule="constant",
                         warmup_fraction=0.99, weight_decay=0.0)
    result = train(model, small_data, config, parse_budget("4ep"))
    assert result.status == OK
    assert result.accuracy == pytest.approx(own_accuracy(model, small_data), abs=1e-9)
    assert result.history[-1]["lr"] == 8.0


def test_nan_run_is_reported_as_diverged_not_raised(small_data):
    history = []
    config = TrainConfig(lr=1e6, batch_size=50, augment=NO_AUGMENT, schedule="constant")
    result = train(tiny_cnn(), small_data, config, parse_budget("20ep"), report=lambda **m: history.append(m))
    assert result.status == DIVERGED
    assert not result.ok
    assert result.accuracy == 0.0
    assert "non-finite" in result.message
    assert result.steps < 20 * 200 / 50  # stopped early
    assert all(math.isfinite(m["loss"]) for m in history)  # no epoch reported with a NaN loss


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_takes_a_step(small_data, optimizer):
    model = tiny_cnn()
    before = [p.detach().clone() for p in model.parameters()]
    config = TrainConfig(optimizer=optimizer, lr=0.01, batch_size=200, augment=NO_AUGMENT,
                         schedule="constant", eval_each_epoch=False, warmup_passes=0)
    result = train(model, small_data, config, parse_budget("1ep"))
    assert result.status == OK and result.steps == 1
    changed = [not torch.equal(a, b.detach()) for a, b in zip(before, model.parameters())]
    assert all(changed)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_build_optimizer_builds_the_named_torch_optimizer(optimizer):
    params = list(tiny_cnn().parameters())
    config = TrainConfig(optimizer=optimizer, lr=0.003, weight_decay=1e-4,
                         nesterov=optimizer == "sgd", momentum=0.8)
    built = build_optimizer(params, config)
    assert type(built).__name__.lower() == optimizer
    group = built.param_groups[0]
    assert group["lr"] == 0.003 and group["weight_decay"] == 1e-4
    assert sum(len(g["params"]) for g in built.param_groups) == len(params)
    if optimizer == "sgd":
        assert group["momentum"] == 0.8 and group["nesterov"] is True


class Probe(nn.Module):
    """tiny_cnn recording, at every training forward, the input's memory format, the logits'
    dtype and torch's CPU thread count."""

    def __init__(self):
        super().__init__()
        self.net = tiny_cnn()
        self.seen = []

    def forward(self, x):
        logits = self.net(x)
        if self.training:
            self.seen.append((x.is_contiguous(memory_format=torch.channels_last)
                              and not x.is_contiguous(), logits.dtype, torch.get_num_threads()))
        return logits


@pytest.mark.parametrize("bf16, channels_last, threads", [(None, None, 1), (True, False, 1),
                                                        (None, None, 2)])
def test_cpu_runs_float32_unless_asked_and_with_the_callers_threads(small_data, bf16,
                                                                   channels_last, threads):
    """Defaults on CPU: no bf16 autocast (CPUs without bf16 units emulate it slowly) and
    channels_last (faster with oneDNN here, see TrainConfig); the switches are obeyed. The model
    runs with the thread count the caller set, also with batch preparation at 1 thread between
    its calls (augment_threads), and the caller's count is kept."""
    model = Probe()
    config = TrainConfig(batch_size=100, augment=AugmentConfig(), eval_each_epoch=False,
                         bf16=bf16, channels_last=channels_last, augment_threads=1)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        result = train(model, small_data, config, parse_budget("1ep"), device="cpu")
        after = torch.get_num_threads()
    finally:
        torch.set_num_threads(before)
    assert result.status == OK and len(model.seen) == 1 + result.steps  # warm-up pass + steps
    expected = (channels_last is not False, torch.bfloat16 if bf16 else torch.float32, threads)
    assert set(model.seen) == {expected}
    assert after == threads


def test_same_seed_gives_identical_runs_on_cpu(small_data):
    config = TrainConfig(lr=0.1, batch_size=100, eval_each_epoch=False)  # full augmentation
    runs = [train(tiny_cnn(3), small_data, config, parse_budget("2ep"), seed=7) for _ in range(2)]
    assert runs[0].accuracy == runs[1].accuracy
    assert [m["loss"] for m in runs[0].history] == [m["loss"] for m in runs[1].history]
    other = train(tiny_cnn(3), small_data, config, parse_budget("2ep"), seed=8)
    assert [m["loss"] for m in other.history] != [m["loss"] for m in runs[0].history]


def test_train_leaves_the_callers_rng_and_threads_alone(small_data):
    threads = torch.get_num_threads()
    model = tiny_cnn()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    config = TrainConfig(batch_size=100, augment=NO_AUGMENT, eval_each_epoch=False)
    train(model, small_data, config, parse_budget("1ep"))
    assert torch.equal(torch.get_rng_state(), state)
    assert torch.get_num_threads() == threads


def test_batch_larger_than_the_set_is_capped(small_data):
    result = train(tiny_cnn(), small_data, TrainConfig(batch_size=4096, augment=NO_AUGMENT), parse_budget("2ep"))
    assert result.batch_size == 200 and result.steps == 2


def test_bad_inputs_are_rejected(small_data):
    with pytest.raises(TypeError, match="budget must be a Budget"):
        train(tiny_cnn(), small_data, TrainConfig(), "1ep")  # text is parsed where it enters
    if not torch.cuda.is_available():
        with pytest.raises(UserError, match="CUDA is not available"):
            train(tiny_cnn(), small_data, TrainConfig(), parse_budget("1ep"), device="cuda")
    with pytest.raises(ValueError, match="uint8"):
        TrainData(small_data.train_images.float(), small_data.train_labels,
                  small_data.eval_images, small_data.eval_labels, small_data.mean, small_data.std)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(optimizer="rmsprop"), "unknown optimizer 'rmsprop'"),
        (dict(lr=0.0), "lr > 0"),
        (dict(momentum=1.0), "0 <= momentum < 1"),
        (dict(optimizer="adam", nesterov=True), "nesterov"),
        (dict(weight_decay=-1e-4), "weight_decay >= 0"),
        (dict(batch_size=0), "batch_size >= 1"),
        (dict(label_smoothing=1.0), "label_smoothing"),
        (dict(warmup_fraction=1.0), "warmup_fraction"),
        (dict(schedule="step"), "schedule"),
        (dict(augment_threads=0), "augment_threads"),
    ],
)
def test_train_config_validates_itself(kwargs, fragment):
    with pytest.raises(UserError, match=fragment.replace("(", r"\(")):
        TrainConfig(**kwargs)
