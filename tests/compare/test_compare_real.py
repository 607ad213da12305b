"""The real NAS problem's rows: a finished ``hsearch nas`` run directory read as runs.csv rows.

(Running real NAS comparisons trains networks: minutes even at toy scale, so the end-to-end run is
left to ``hsearch compare --problem nas``; here its evaluations.csv is written directly.)
"""

from __future__ import annotations

import json
import math

import pytest

from hsearch.compare.real import real_rows
from hsearch.results import EvaluationLog


def _row(trial_id, width, ratio, gap, status="ok", seconds=4.0, trained=2, done=2):
    return {"trial_id": trial_id, "status": status, "feasible": status == "ok" and gap <= 0,
            "width": width, "depth": 1.0, "resolution": 1.0, "macs": int(1000 * ratio),
            "macs_ratio": ratio, "acc_gap": gap, "acc_mean": 0.9 - gap,
            "penalized": ratio + 100 * max(0.0, gap), "train_seconds": seconds,
            "seeds_trained": trained, "seeds_reused": done - trained, "seeds_done": done}


def test_real_rows_read_a_nas_run(tmp_path):
    log = EvaluationLog(tmp_path, "macs", "min")
    log.record(_row("a", 1.0, 1.0, 0.0, trained=0))  # x0: both seeds reused from the baseline
    log.record(_row("b", 0.5, 0.25, 0.02))  # infeasible
    log.record(_row("c", 0.75, 0.5, -0.01, seconds=6.0))
    log.record(_row("d", 0.6, 0.4, math.nan, status="failed", seconds=1.0, trained=1, done=1))
    rows = real_rows(tmp_path, "nomad", repeat=1, seed=7, concurrency=2)
    assert [r["eval"] for r in rows] == [1, 2, 3, 4]
    assert [r["feasible"] for r in rows] == [True, False, True, False]
    assert [r["best_feasible"] for r in rows] == [1.0, 1.0, 0.5, 0.5]
    assert [r["violation"] for r in rows[:3]] == [0.0, 0.02, 0.0]
    assert math.isinf(rows[3]["violation"])  # no accuracy: a failed evaluation
    # cost: the trained seeds' seconds (reused seeds are free), laid end to end / concurrency
    assert [r["cost"] for r in rows] == [0.0, 4.0, 6.0, 1.0]
    assert [r["finish"] for r in rows] == pytest.approx([0.0, 2.0, 5.0, 5.5])
    assert [r["kind"] for r in rows] == ["duplicate", "trained", "trained", "trained"]
    assert [r["trained"] for r in rows] == [0, 1, 2, 3]
    assert json.loads(rows[2]["config"]) == {"width": 0.75, "depth": 1.0, "resolution": 1.0}
    assert {(r["searcher"], r["repeat"], r["seed"], r["problem"]) for r in rows} == {
        ("nomad", 1, 7, "nas")}
