"""Constraint parsing and helpers: the sign convention is never hand-written."""

import math

import pytest

from hsearch.search import Constraint, at_least, at_most, parse_constraint
from hsearch.search.constraints import parse_constraints


def test_parse_forms():
    assert parse_constraint("acc >= 0.93") == Constraint("acc", ">=", 0.93)
    assert parse_constraint("latency_ms<=5") == Constraint("latency_ms", "<=", 5.0)
    assert parse_constraint("val/acc >= -1e-3") == Constraint("val/acc", ">=", -1e-3)
    assert parse_constraint("acc_gap") == Constraint("acc_gap", "<=", 0.0)
    c = at_least("acc", 0.9)
    assert parse_constraint(c) is c
    assert parse_constraints("acc_gap") == (Constraint("acc_gap"),)
    assert parse_constraints(None) == ()


def test_values_follow_nomad_convention():
    ge, le = parse_constraint("acc >= 0.9"), parse_constraint("lat <= 5")
    assert ge.value({"acc": 0.95}) == pytest.approx(-0.05)  # feasible: <= 0
    assert ge.value({"acc": 0.85}) == pytest.approx(0.05)  # violated by 0.05
    assert le.value({"lat": 4}) == pytest.approx(-1) and le.value({"lat": 6}) == pytest.approx(1)
    assert parse_constraint("gap").value({"gap": 0.2}) == 0.2


def test_helpers_with_tolerance():
    assert at_least("acc", 0.93, tolerance=0.01) == Constraint("acc", ">=", 0.92)
    assert at_most("params", 1e6, tolerance=1e4) == Constraint("params", "<=", 1.01e6)
    assert at_least("acc", 0.93).value({"acc": 0.93}) == 0.0  # the baseline itself is feasible
    with pytest.raises(ValueError, match="tolerance"):
        at_least("acc", 0.9, tolerance=-0.1)


@pytest.mark.parametrize("metrics", [{}, {"acc": math.nan}, {"acc": math.inf}, {"acc": "x"},
                                     {"acc": None}, {"acc": True}])
def test_missing_or_bad_metric_gives_none(metrics):
    assert parse_constraint("acc >= 0.9").value(metrics) is None


@pytest.mark.parametrize("spec", ["acc > 0.9", "acc == 0.9", "0.9 <= acc", "acc >= high", "",
                                  "acc >= 0.9 extra", "acc >= inf"])
def test_bad_specs_raise(spec):
    with pytest.raises(ValueError):
        parse_constraint(spec)
