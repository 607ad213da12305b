"""A NAS search with confirmation (``--confirm``), its driver killed and the run resumed.

As in test_faults_tune (whose helpers this module uses), with the real trainer, Ray and NOMAD:
the baseline is measured on the K = 2 search seeds, so trial 1 (x0, at the threshold) gets a
seed added by confirmation; trial 2 hangs, and while it runs the **driver** is SIGKILLed;
``hsearch resume`` then finishes the run. The confirmed trial is kept with the same seeds, the
same accuracies and the same verdict, and NOMAD's restored state holds its confirmed value.
"""

import pickle

import pytest

from hsearch.cli import main
from hsearch.workflows.faults import FAULTS_ENV
from tests.faults.test_faults_tune import (
    RAY_INIT_OPTIONS,  # noqa: F401 (read by tests/conftest.py's ray_session)
    by_number,
    rows_of,
    kill_while_hanging,
)
from tests.workflows.test_workflows_confirm_tune import NAS

pytestmark = [pytest.mark.ray, pytest.mark.slow]

HANGS = 2
FAULTS = [{"trial": HANGS, "fault": "hang", "times": 1}]  # the driver is killed meanwhile


def test_a_killed_search_resumes_with_its_confirmed_trial_unchanged(ray_session, tmp_path):
    run = kill_while_hanging(tmp_path, NAS, FAULTS, ray_session, HANGS)
    [before] = rows_of(run)
    assert before["seeds"] == [0, 1, 2] and before["seeds_added"] == 1 and before["confirm"]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FAULTS_ENV, str(tmp_path / "faults.json"))  # trial 2 hung once only
        patch.delenv("HSEARCH_DEBUG", raising=False)
        assert main(["resume", str(run), "--address", ray_session]) == 0
    after = by_number(rows_of(run))
    assert sorted(after) == [1, 2] and after[HANGS]["status"] == "ok"
    kept = after[1]  # not trained again: the same evaluation, the same draws
    for key in ("trial_id", "eval_id", "seeds", "accs", "acc_mean", "feasible", "confirm",
                "seeds_added", "seeds_trained", "seeds_reused"):
        assert kept[key] == before[key], key
    states = sorted((run / "trials").glob("searcher-state-*.pkl"))
    records = {r["trial_id"]: r for r in pickle.loads(states[-1].read_bytes())["records"]}
    assert records[kept["trial_id"]]["metrics"]["acc_mean"] == kept["acc_mean"]
    assert records[kept["trial_id"]]["feasible"] is kept["feasible"]
