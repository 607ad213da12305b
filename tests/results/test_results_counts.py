"""hsearch.results.counts: best.json counts evaluations by the status column of evaluations.csv,
and only failed + error are failures (issue 14)."""

from __future__ import annotations

import json

from hsearch.results import EvaluationLog, outcome_counts, status_counts


def _rows(**per_status):
    """Rows like a run's: ``feasible=3`` gives 3 feasible ok rows, ``infeasible`` ok rows that
    are not, any other keyword that many rows of that status."""
    rows = []
    for status, n in per_status.items():
        for _ in range(n):
            ok = status in ("feasible", "infeasible")
            rows.append({"trial_id": f"t{len(rows)}", "status": "ok" if ok else status,
                         "feasible": status == "feasible", "macs": 100 + len(rows),
                         "acc_gap": 0.0 if ok else None})
    return rows


def test_the_demo_run_of_the_issue_has_no_failures(tmp_path):
    log = EvaluationLog(tmp_path, objective="macs")
    for row in _rows(feasible=3, pruned=12, infeasible=25):
        log.record(row)
    summary = json.loads((tmp_path / "best.json").read_text())
    assert summary["evaluations"] == 40
    assert (summary["feasible"], summary["infeasible"], summary["failed"]) == (3, 25, 0)
    assert summary["statuses"] == {"ok": 28, "pruned": 12, "rejected": 0, "screened": 0,
                                   "failed": 0, "error": 0}
    assert summary["best"]["macs"] == 100


def test_every_status_is_counted_under_its_own_name():
    rows = _rows(feasible=2, infeasible=1, rejected=3, screened=4, failed=5, error=6, stopped=1,
                 pruned=2)
    counts = outcome_counts(rows)
    assert counts["statuses"] == {"ok": 3, "pruned": 2, "rejected": 3, "screened": 4,
                                  "failed": 5, "error": 6, "stopped": 1}
    assert counts["failed"] == 11  # failed + error, nothing else
    assert (counts["evaluations"], counts["feasible"], counts["infeasible"]) == (24, 2, 1)
    assert sum(counts["statuses"].values()) == counts["evaluations"]


def test_a_row_without_a_status_is_ok_and_no_rows_count_zero():
    assert status_counts([{"feasible": True}])["ok"] == 1
    empty = outcome_counts([])
    assert empty["evaluations"] == empty["failed"] == empty["feasible"] == 0
    assert set(empty["statuses"].values()) == {0}


def test_summary_line_uses_the_status_names():
    from hsearch.workflows.report import _count_lines

    line = _count_lines(_rows(feasible=3, pruned=12, infeasible=25), seeds=4)[0]
    assert line.startswith("evals     40 evaluations: 28 ok (3 feasible, 25 infeasible), "
                           "12 pruned")
    assert "failed" not in line and "error" not in line
    line = _count_lines(_rows(feasible=1, rejected=2, screened=1, failed=2, error=1), 4)[0]
    assert line.endswith("2 rejected by racing, 1 screened (objective not below the best, not "
                         "trained), 2 failed, 1 error")
