"""A comparison's outputs: runs.csv holds every evaluation; summary numbers recomputed from it."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest
from compare_tiny_table import brute_force_optimum, write_tiny_table

from hsearch.compare.protocol import CompareSettings
from hsearch.compare.run import run_comparison
from hsearch.search.factory import SEARCHERS, is_available

BUDGET = 12
REPEATS = 2


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    """nomad and random, 2 repeats, on the tiny table, in this process (no Ray)."""
    tmp = tmp_path_factory.mktemp("compare")
    table = write_tiny_table(tmp / "tiny.csv")
    missing = [n for n in SEARCHERS if not is_available(n)][:1]
    settings = CompareSettings(problem="tabular", searchers=("nomad", "random", *missing),
                               budget=BUDGET, repeats=REPEATS, table=str(table))
    result = run_comparison(settings, tmp / "out", use_ray=False, command="hsearch compare ...")
    return tmp / "out", result, missing


def _rows(out):
    with (out / "runs.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def _runs(rows):
    runs: dict[str, dict[int, list[dict]]] = {}
    for r in rows:
        runs.setdefault(r["searcher"], {}).setdefault(int(r["repeat"]), []).append(r)
    return runs


def _best(run, k):
    values = [float(r["objective"]) for r in run
              if int(r["trained"]) <= k and r["feasible"] == "True"]
    return min(values) if values else math.inf


def _quartiles(values):
    v = np.array(values, dtype=float)
    if np.isinf(v).any():  # the summary shows a quantile next to an inf as inf; avoid that case
        return None
    return np.percentile(v, [25, 50, 75])


def test_runs_csv_holds_every_evaluation(comparison):
    out, result, missing = comparison
    rows = _rows(out)
    runs = _runs(rows)
    assert set(runs) == {"nomad", "random"}
    for name, by_repeat in runs.items():
        assert sorted(by_repeat) == list(range(REPEATS))
        for repeat, run in by_repeat.items():
            assert [int(r["eval"]) for r in run] == list(range(1, len(run) + 1))
            assert int(run[-1]["trained"]) == BUDGET or run[-1]["stop_reason"] != "budget"
            trained = [int(r["trained"]) for r in run]
            assert trained == [sum(r["kind"] == "trained" for r in run[:i + 1])
                               for i in range(len(run))]
            assert run[0]["config"] == json.dumps({"depth": 1, "resolution": 2, "width": 2})
            assert {int(r["seed"]) for r in run} == {repeat}
            best = math.inf
            for r in run:  # the running best is the best feasible objective so far
                if r["feasible"] == "True":
                    best = min(best, float(r["objective"]))
                assert float(r["best_feasible"]) == best
                assert float(r["finish"]) >= float(r["start"])
    for name in missing:
        assert name in result.skipped and "not installed" in result.skipped[name]


def test_summary_numbers_recomputed_from_runs_csv(comparison):
    out, _, _ = comparison
    rows = _rows(out)
    stats = json.loads((out / "summary.json").read_text())
    text = (out / "summary.md").read_text()
    reference, _ = brute_force_optimum()
    assert stats["reference"] == reference
    for name, by_repeat in _runs(rows).items():
        s = stats["searchers"][name]
        for label, fraction in (("25%", 0.25), ("50%", 0.5), ("100%", 1.0)):
            k = math.ceil(fraction * BUDGET)
            values = [_best(run, k) for run in by_repeat.values()]
            assert s["best_at"][label]["values"] == values
            q = _quartiles(values)
            if q is not None:
                assert [s["best_at"][label][key] for key in ("q1", "median", "q3")] == \
                    pytest.approx(list(q))
        finals = [_best(run, BUDGET) for run in by_repeat.values()]
        assert s["feasible_share"] == sum(map(math.isfinite, finals)) / len(finals)
        for label, level in (("5%", 0.05), ("1%", 0.01)):
            reached = []
            for run in by_repeat.values():
                hits = [int(r["trained"]) for r in run if r["feasible"] == "True"
                        and float(r["objective"]) <= reference * (1 + level)]
                reached.append(float(hits[0]) if hits else math.inf)
            assert s["reach"][label]["evals"] == reached
            assert s["reach"][label]["solved"] == sum(map(math.isfinite, reached))
        overhead = [np.mean([float(r["suggest_ms"]) + float(r["complete_ms"])
                             + float(r["end_ms"]) for r in run])
                    for run in by_repeat.values()]
        assert s["overhead_ms"] == pytest.approx(float(np.median(overhead)))
        # the markdown shows the same numbers
        line = next(li for li in text.splitlines() if li.startswith(f"| {name} ")
                    or li.startswith(f"| **{name}** "))
        assert f"{100 * s['feasible_share']:.0f}%" in line
        assert f"({s['reach']['5%']['solved']}/{REPEATS})" in line


def test_outputs_and_protocol_are_written(comparison):
    out, result, missing = comparison
    for name in ("runs.csv", "summary.md", "summary.json", "comparison.json",
                 "convergence_evals.png", "convergence_time.png", "data_profile.png"):
        assert (out / name).stat().st_size > 0, name
    meta = json.loads((out / "comparison.json").read_text())
    assert meta["problem"]["x0"] == {"width": 2, "depth": 1, "resolution": 2}
    assert meta["native_constraints"] == ["nomad"]
    assert meta["rule"]["kind"] == "penalty"
    text = result.summary
    assert text.startswith("# Searcher comparison: tabular")
    assert "hsearch compare ..." in text
    assert "width x1, depth x1, resolution x1" in text  # x0 as multipliers
    for name in missing:
        assert f"- {name} was not run" in text
