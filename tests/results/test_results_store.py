"""hsearch.results: evaluations.csv / best.json bookkeeping, plots and search-progress events."""

from __future__ import annotations

import json
import math

import pytest

from hsearch.results import (
    EvaluationLog,
    SearchProgressWriter,
    best_row,
    pareto_front,
    plot_pareto,
    plot_progress,
    read_rows,
)


def _row(trial, macs, acc, feasible, status="ok", **extra):
    seeds = None if acc is None else [acc - 0.01, acc + 0.01]
    return {"trial_id": trial, "status": status, "feasible": feasible, "macs": macs,
            "acc_mean": acc, "acc_seeds": seeds, **extra}


def test_record_round_trips_types_and_orders_columns(tmp_path):
    log = EvaluationLog(tmp_path, objective="macs")
    log.record(_row("a", 1000, 0.9, True, width=0.5, note=None))
    log.record(_row("b", 500, 0.8, False))
    header = (tmp_path / "evaluations.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["eval_id", "trial_id", "status", "feasible", "objective"]
    rows = read_rows(tmp_path / "evaluations.csv")
    assert [r["eval_id"] for r in rows] == [1, 2]
    assert rows[0]["objective"] == 1000 and rows[0]["feasible"] is True
    assert rows[0]["acc_seeds"] == pytest.approx([0.89, 0.91])
    assert rows[0]["note"] is None and rows[1]["width"] is None
    assert rows[1]["feasible"] is False


def test_same_trial_replaces_its_row_and_reload_continues(tmp_path):
    log = EvaluationLog(tmp_path, objective="macs")
    log.record(_row("a", 1000, 0.9, True))
    log.record(_row("b", 800, 0.9, True))
    log.record(_row("a", 900, 0.95, True))  # re-run of trial a after a crash
    assert [(r["trial_id"], r["eval_id"], r["macs"]) for r in log.rows] == [
        ("a", 1, 900), ("b", 2, 800)]
    again = EvaluationLog(tmp_path, objective="macs")
    assert len(again) == 2
    assert again.record(_row("c", 100, 0.1, False))["eval_id"] == 3


def test_best_is_feasible_ok_and_finite(tmp_path):
    log = EvaluationLog(tmp_path, objective="macs")
    log.record(_row("big", 1000, 0.9, True))
    log.record(_row("cheap-infeasible", 10, 0.5, False))
    log.record(_row("failed", 5, math.nan, None, status="failed"))
    log.record(_row("small", 400, 0.91, True))
    summary = json.loads((tmp_path / "best.json").read_text())
    assert summary["best"]["trial_id"] == "small"
    assert (summary["evaluations"], summary["feasible"], summary["failed"]) == (4, 2, 1)
    assert best_row(log.rows, mode="max")["trial_id"] == "big"
    assert best_row([_row("x", 1, 0.5, False)]) is None


def test_pareto_front_keeps_only_non_dominated():
    rows = [_row("a", 100, 0.80, True), _row("b", 200, 0.90, True), _row("c", 300, 0.85, True),
            _row("d", 100, 0.70, False), _row("e", 50, math.nan, None, status="failed")]
    assert [r["trial_id"] for r in pareto_front(rows)] == ["a", "b"]


def test_plots_are_written(tmp_path):
    rows = EvaluationLog(tmp_path, objective="macs")
    for i, (macs, acc, ok) in enumerate([(1e6, 0.9, True), (3e5, 0.8, False), (5e5, 0.92, True)]):
        rows.record(_row(str(i), macs, acc, ok))
    rows.record(_row("f", None, None, None, status="failed"))
    for path in (plot_progress(rows.rows, tmp_path / "progress.png", baseline=1e6),
                 plot_pareto(rows.rows, tmp_path / "pareto.png",
                             baseline={"macs": 1e6, "acc_mean": 0.9})):
        assert path.read_bytes()[:4] == b"\x89PNG"


def test_search_progress_events(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    writer = SearchProgressWriter(tmp_path, constraints=("acc_gap",))
    rows = [dict(_row("a", 900, 0.8, False), eval_id=1, objective=900, acc_gap=0.1),
            dict(_row("b", 1000, 0.95, True), eval_id=2, objective=1000, acc_gap=-0.05),
            dict(_row("c", None, None, None, status="failed"), eval_id=3),
            dict(_row("d", 700, 0.95, True), eval_id=4, objective=700, acc_gap=-0.01),
            dict(_row("e", None, None, None, status="screened"), eval_id=5)]
    for row in rows:
        writer.add(row)
    writer.close()
    events = EventAccumulator(str(tmp_path))
    events.Reload()
    best = events.Scalars("search/best_feasible_objective")
    assert [(e.step, e.value) for e in best] == [(2, 1000.0), (4, 700.0)]
    assert len(events.Scalars("search/objective")) == 3
    assert len(events.Scalars("search/constraint/acc_gap")) == 3
    assert [e.step for e in events.Scalars("search/failed")] == [3]
    assert [e.step for e in events.Scalars("search/screened")] == [5]  # not called failed
