"""hsearch.train.budget: budget parsing and the learning-rate schedule over budget progress."""

from __future__ import annotations

import math

import pytest

from hsearch.errors import UserError
from hsearch.train import Budget, LRSchedule, check_budget, parse_budget


@pytest.mark.parametrize(
    "text, kind, amount",
    [
        ("600s", "seconds", 600.0),
        ("10m", "seconds", 600.0),
        ("1.5h", "seconds", 5400.0),
        ("30ep", "epochs", 30.0),
        ("30 epochs", "epochs", 30.0),
        ("1 epoch", "epochs", 1.0),
        ("0.5ep", "epochs", 0.5),
        (" 90 sec ", "seconds", 90.0),
        ("2min", "seconds", 120.0),
        (".5H", "seconds", 1800.0),
        ("1e2s", "seconds", 100.0),
    ],
)
def test_parse_budget_accepts_documented_forms(text, kind, amount):
    budget = parse_budget(text)
    assert budget == Budget(kind, amount)
    assert parse_budget(str(budget)) == budget  # str() round-trips
    assert parse_budget(budget) is budget


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("0s", "positive"),
        ("-5s", "positive"),
        ("0ep", "positive"),
        ("-1.5h", "positive"),
        ("10", "no unit"),
        ("abc", "cannot read"),
        ("", "cannot read"),
        ("10x", "unknown budget unit 'x'"),
        ("5 lightyears", "unknown budget unit"),
        ("nan s", "cannot read"),
        ("inf s", "cannot read"),
        ("1e-400s", "positive"),
    ],
)
def test_parse_budget_rejects_bad_text_naming_the_forms(text, fragment):
    with pytest.raises(UserError) as info:
        parse_budget(text)
    message = str(info.value)
    assert fragment in message
    assert "'600s'" in message and "'30ep'" in message  # names the accepted forms


@pytest.mark.parametrize("bad", [None, 600, 1.5])
def test_parse_budget_rejects_non_strings(bad):
    with pytest.raises(UserError, match="budget must be a string"):
        parse_budget(bad)


@pytest.mark.parametrize("kind, amount", [("seconds", 0), ("epochs", -1), ("seconds", math.inf),
                                          ("hours", 1.0), ("seconds", math.nan)])
def test_budget_validates_itself(kind, amount):
    with pytest.raises(UserError):
        Budget(kind, amount)


def test_total_steps_rounds_fractional_epochs_to_at_least_one_step():
    assert Budget("epochs", 30).total_steps(1000 / 512) == round(30 * 1000 / 512)
    assert Budget("epochs", 0.001).total_steps(2.0) == 1
    assert Budget("seconds", 10).total_steps(2.0) is None


@pytest.mark.parametrize("warmup", [0.0, 0.1, 0.5])
@pytest.mark.parametrize("final", [0.0, 0.05])
def test_schedule_reaches_floor_exactly_when_a_time_budget_ends(warmup, final):
    budget = parse_budget("90s")
    schedule = LRSchedule(0.4, warmup_fraction=warmup, final_fraction=final)
    at_end = budget.progress(elapsed_seconds=90.0, step=123, total_steps=None)
    assert at_end == 1.0
    assert schedule(at_end) == 0.4 * final  # exactly, no cos(pi) rounding
    assert schedule(budget.progress(95.0, 130, None)) == 0.4 * final  # overrun: clipped
    assert schedule(budget.progress(89.0, 0, None)) > 0.4 * final  # not before the end


@pytest.mark.parametrize("warmup", [0.0, 0.2])
def test_schedule_reaches_floor_exactly_when_an_epoch_budget_ends(warmup):
    budget = parse_budget("3ep")
    total = budget.total_steps(steps_per_epoch=7)
    assert total == 21
    schedule = LRSchedule(0.1, warmup_fraction=warmup, final_fraction=0.0)
    lrs = [schedule(budget.progress(0.0, step, total)) for step in range(total + 1)]
    assert lrs[-1] == 0.0  # after the last step
    assert min(lrs[1:-1]) > 0.0  # every step learns (the first is at 0 only with a warm-up)
    assert lrs[0] == (0.0 if warmup else 0.1)
    # the elapsed seconds do not matter for an epoch budget
    assert budget.progress(1e9, 7, total) == pytest.approx(1 / 3)


def test_warmup_ramps_linearly_then_cosine_decays():
    schedule = LRSchedule(1.0, warmup_fraction=0.2, final_fraction=0.1)
    assert schedule(0.0) == 0.0
    assert schedule(0.05) == pytest.approx(0.25)
    assert schedule(0.1) == pytest.approx(0.5)
    assert schedule(0.2) == pytest.approx(1.0)  # peak at the end of the warm-up
    decay = [schedule(0.2 + 0.8 * i / 20) for i in range(21)]
    assert all(a > b for a, b in zip(decay, decay[1:]))  # strictly decreasing after the peak
    assert schedule(0.6) == pytest.approx(0.1 + 0.9 * 0.5)  # halfway through the cosine
    assert decay[-1] == 0.1


def test_warmup_start_and_constant_schedule():
    ramp = LRSchedule(2.0, warmup_fraction=0.5, warmup_start=0.1)
    assert ramp(0.0) == pytest.approx(0.2)
    constant = LRSchedule(2.0, warmup_fraction=0.25, kind="constant")
    assert constant(0.125) == pytest.approx(1.0)
    assert constant(0.5) == constant(1.0) == constant.floor == 2.0


@pytest.mark.parametrize("kwargs", [dict(lr=0.0), dict(lr=-1.0), dict(lr=math.nan),
                                    dict(lr=0.1, warmup_fraction=1.0),
                                    dict(lr=0.1, final_fraction=1.5),
                                    dict(lr=0.1, kind="step")])
def test_schedule_validates_itself(kwargs):
    with pytest.raises(ValueError):
        LRSchedule(**kwargs)


def test_a_budget_keeps_its_spelling_and_is_parsed_once():
    budget = parse_budget("10m")
    assert budget == Budget("seconds", 600) and str(budget) == "600s"  # one value
    assert budget.text == budget.to_text() == "10m"  # settings files keep what was written
    assert Budget.from_text("10m") == budget and Budget("epochs", 2).text == "2ep"
    assert check_budget(budget) is budget
    with pytest.raises(TypeError, match="budget must be a Budget"):
        check_budget("10m")  # text is parsed where it enters, not again further in


def test_settings_parse_the_budget_once_and_write_back_its_text(tmp_path):
    from hsearch.configs import dump_yaml, load_yaml
    from hsearch.errors import UserError
    from hsearch.workflows.settings import RunSettings, load_settings

    settings = load_settings(RunSettings, overrides={"budget": "10m"})
    assert settings.budget == Budget("seconds", 600)
    dump_yaml(tmp_path / "config.yaml", settings)
    assert load_yaml(tmp_path / "config.yaml")["budget"] == "10m"
    assert load_settings(RunSettings, tmp_path / "config.yaml").budget.text == "10m"
    assert RunSettings(budget="2ep").budget == Budget("epochs", 2)  # built in code: parsed here
    with pytest.raises(UserError, match=r"^budget: budget .* has no unit"):
        load_settings(RunSettings, overrides={"budget": "600"})
