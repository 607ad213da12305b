"""A NAS search whose trials train their seeds packed (``--pack``), killed and resumed.

As in test_faults_tune (whose helpers this module uses), with the real trainer, Ray and NOMAD:
trial 1's process is SIGKILLed in the middle of its packed training once (Tune retries it);
trial 2 hangs, and while it runs the **driver** is SIGKILLed; ``hsearch resume`` then finishes
the run. Finished packed trials are kept (not trained again), the killed one is re-run under its
own id, and the run ends with exactly its budget of evaluations, every trial packed.
"""

import json
from pathlib import Path

import pytest

from hsearch.cli import main
from hsearch.workflows.faults import FAULTS_ENV
from hsearch.workflows.trial import RESULT_FILE
from tests.faults.test_faults_tune import (
    RAY_INIT_OPTIONS,  # noqa: F401 (read by tests/conftest.py's ray_session)
    by_number,
    rows_of,
    kill_while_hanging,
    trial_number,
)

pytestmark = [pytest.mark.ray, pytest.mark.slow]

BUDGET = 3
HANGS = 2
FAULTS = [{"trial": 1, "fault": "kill", "times": 1},  # killed mid-pack once: retried
          {"trial": HANGS, "fault": "hang", "times": 1}]  # the driver is killed meanwhile
NAS = ["nas", "--data", "digits", "--train-per-class", "20", "--val-per-class", "5",
       "--test-per-class", "5", "--model", "senet18", "--width", "0.125", "--resolution", "0.25",
       "--budget", "1ep", "--seeds", "2", "--batch-size", "50", "--no-augment", "--pack",
       "--torch-threads", "1", "--concurrency", "1", "--max-evals", str(BUDGET),
       "--search-seed", "2", "--baseline-acc", "0.05", "--no-prune",
       "--width-bounds", "0.5", "2", "--depth-bounds", "0.5", "1.5",
       "--resolution-bounds", "1", "2", "--step", "0.25"]


def test_a_killed_packed_search_resumes_keeping_its_finished_trials(ray_session, tmp_path):
    run = kill_while_hanging(tmp_path, NAS, FAULTS, ray_session, HANGS)
    before = rows_of(run)
    assert [trial_number(Path(r["trial_dir"]).name, r["trial_id"]) for r in before] == [1]
    with pytest.MonkeyPatch.context() as patch:
        # trial numbers continue; trial 2 hung once only
        patch.setenv(FAULTS_ENV, str(tmp_path / "faults.json"))
        patch.delenv("HSEARCH_DEBUG", raising=False)
        assert main(["resume", str(run), "--address", ray_session]) == 0
    after = by_number(rows_of(run))
    assert sorted(after) == list(range(1, BUDGET + 1))
    kept = after[1]  # the finished trial was kept, not trained again
    assert kept["trial_id"] == before[0]["trial_id"] and kept["eval_id"] == before[0]["eval_id"]
    assert kept["acc_mean"] == before[0]["acc_mean"] and kept["failures"] == 1
    assert after[HANGS]["status"] == "ok" and after[HANGS]["seeds_trained"] == 2
    for row in after.values():  # every trial trained its two seeds as one pack
        assert row["status"] == "ok" and row["seeds_done"] == 2, row
        result = json.loads((run / row["trial_dir"] / RESULT_FILE).read_text())
        assert result["pack"]["groups"] == [[0, 1]], result["pack"]
