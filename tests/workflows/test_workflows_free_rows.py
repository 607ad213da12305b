"""Untrained NOMAD points as evaluations.csv rows, written beside the recorder's own rows."""

import csv
import json

from hsearch.results import EvaluationLog
from hsearch.search.evaluation_records import EvaluationRecord
from hsearch.workflows.free_rows import FreeRowRecorder


def test_free_rows_and_trial_rows_share_the_file(tmp_path):
    recorder_log = EvaluationLog(tmp_path, "macs", "min")  # the RecorderCallback's writer
    recorder_log.record({"trial_id": "t1", "status": "ok", "feasible": True, "macs": 100,
                         "acc_mean": 0.93, "width": 1.0})
    free = FreeRowRecorder(tmp_path, "macs", "min", ("width",), baseline_macs=100.0)
    screened = EvaluationRecord("", {"width": 1.5}, (1.5,), 180.0, {"acc_gap": None}, {},
                                "screened", False, "known objective not better than the best")
    duplicate = EvaluationRecord("", {"width": 1.01}, (1.01,), 100.0, {"acc_gap": -0.01},
                                 {"macs": 100.0, "acc_mean": 0.93}, "duplicate", True,
                                 "same network as trial t1")
    free(3, screened)
    free(4, duplicate)
    free(3, screened)  # handed again after a resume: the same row, not a new one
    recorder_log.record({"trial_id": "t2", "status": "ok", "feasible": False, "macs": 50,
                         "acc_mean": 0.9, "width": 0.5})
    with open(tmp_path / "evaluations.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["trial_id"], r["status"]) for r in rows] == [
        ("t1", "ok"), ("screened-3", "screened"), ("duplicate-4", "duplicate"), ("t2", "ok")]
    assert [int(r["eval_id"]) for r in rows] == [1, 2, 3, 4]
    assert rows[1]["macs"] == "180" and rows[1]["acc_mean"] == "" and rows[1]["macs_ratio"] == "1.8"
    assert rows[2]["acc_mean"] == "0.93" and rows[2]["train_seconds"] == "0.0"
    summary = json.loads((tmp_path / "best.json").read_text())
    assert summary["failed"] == 0 and summary["best"]["trial_id"] == "t1"
    assert summary["statuses"]["screened"] == 1 and summary["statuses"]["duplicate"] == 1
