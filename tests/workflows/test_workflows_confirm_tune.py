"""Confirmation in a real NAS through the CLI, Ray Tune and NOMAD (digits, tiny budget).

The baseline is measured on the K = 2 search seeds, so x0 (the baseline's network, its seeds
reused from the cache) scores exactly the threshold: feasible, but its lower bound is below the
threshold, so confirmation trains seed 2 (``--max-seeds 3``). Its row, the searcher's record, the
trial's saved result and the summary must say so; the same trial run again reuses all three
seeds and reports the same result without training.
"""

import json
import pickle
from dataclasses import replace

import pytest

from hsearch.cli import main
from hsearch.results import read_rows
from hsearch.results.feasibility import mean_accuracy, meets_threshold
from hsearch.workflows.racing import CONFIRMED, FELL, MAX_SEEDS, ConfirmRule
from hsearch.workflows.trial import RESULT_FILE

pytestmark = pytest.mark.ray

NAS = ["nas", "--data", "digits", "--train-per-class", "30", "--val-per-class", "10",
       "--test-per-class", "5", "--model", "senet18", "--width", "0.125", "--resolution", "0.25",
       "--budget", "1ep", "--seeds", "2", "--batch-size", "64", "--no-augment",
       "--torch-threads", "1", "--concurrency", "1", "--max-evals", "2", "--search-seed", "2",
       "--no-prune", "--width-bounds", "0.5", "2", "--depth-bounds", "0.5", "1.5",
       "--resolution-bounds", "1", "2", "--step", "0.25", "--confirm", "--max-seeds", "3"]
RULE = ConfirmRule(enabled=True, max_seeds=3)


@pytest.fixture(scope="module")
def confirmed_run(ray_session, tmp_path_factory):
    run = tmp_path_factory.mktemp("confirm") / "run"
    assert main([*NAS, "--out", str(run), "--address", ray_session]) == 0
    return run


def _x0(rows):
    [row] = [r for r in rows if r["status"] == "ok" and (r["width"], r["depth"],
                                                          r["resolution"]) == (1, 1, 1)]
    return row


def test_x0_at_the_threshold_gets_a_seed_added_and_the_row_records_it(confirmed_run):
    run = confirmed_run
    rows = read_rows(run / "evaluations.csv")
    baseline = json.loads((run / "baseline.json").read_text())
    threshold = baseline["threshold"]
    row = _x0(rows)
    accs = row["accs"]
    # the own seeds (from the baseline, kept first: confirmation removes none), then seed 2
    assert row["seeds"] == [0, 1, 2] and accs[:2] == pytest.approx(baseline["accs"], abs=0)
    assert (row["seeds_added"], row["seeds_total"], row["seeds_done"]) == (1, 3, 3)
    assert (row["seeds_reused"], row["seeds_trained"]) == (2, 1)
    # the verdict is the rule's, seed by seed, as the replay models it
    assert row["confirm"] in (CONFIRMED, FELL, MAX_SEEDS)
    assert RULE.confirm(accs[:2], accs[2:], threshold) == (accs, row["confirm"])
    # the result is over all three seeds; below the threshold it is never feasible
    assert row["acc_mean"] == mean_accuracy(accs)
    assert row["feasible"] is meets_threshold(mean_accuracy(accs), threshold)
    assert row["feasible"] is (row["confirm"] != FELL)
    assert row["acc_gap"] == pytest.approx(threshold - row["acc_mean"], abs=1e-9)
    for other in rows:  # no other trial is left undecided or over the limit
        if other["status"] == "ok":
            assert other["confirm"] in (None, "clear", CONFIRMED, FELL, MAX_SEEDS)  # None: ""
            assert other["seeds_done"] <= 3 and other["seeds_added"] == other["seeds_done"] - 2
    # the trial's saved result (a re-run trial replays it) holds the confirmed result
    saved = json.loads((run / row["trial_dir"] / RESULT_FILE).read_text())
    assert saved["accs"] == accs and saved["confirm"] == row["confirm"]
    assert saved["seeds_added"] == 1


def test_nomad_is_told_the_confirmed_value(confirmed_run):
    row = _x0(read_rows(confirmed_run / "evaluations.csv"))
    states = sorted((confirmed_run / "trials").glob("searcher-state-*.pkl"))
    records = {r["trial_id"]: r for r in pickle.loads(states[-1].read_bytes())["records"]}
    record = records[row["trial_id"]]
    assert record["metrics"]["acc_mean"] == row["acc_mean"]
    assert record["metrics"]["seeds_total"] == 3
    assert record["feasible"] is row["feasible"]
    assert list(record["constraints"].values()) == [row["acc_gap"]]


def test_the_summary_counts_the_confirmations(confirmed_run):
    text = (confirmed_run / "summary.txt").read_text()
    rows = read_rows(confirmed_run / "evaluations.csv")
    added = sum(r.get("seeds_added") or 0 for r in rows)
    [line] = [s for s in text.splitlines() if s.startswith("confirm ")]
    assert line.endswith(f"; {added} seed-runs added") and added >= 1
    assert "kept at the 3-seed limit" in line


def test_a_rerun_trial_reuses_every_seed_and_reports_the_same_result(confirmed_run, tmp_path):
    from hsearch.workflows.context import base_spec, run_fixed
    from hsearch.workflows.ray_session import put_dataset
    from hsearch.workflows.registry import load_run_settings

    run = confirmed_run
    row = _x0(read_rows(run / "evaluations.csv"))
    _, settings, _ = load_run_settings(run)
    threshold = json.loads((run / "baseline.json").read_text())["threshold"]
    spec = replace(base_spec(settings, run, 0.0), threshold=threshold, confirm=settings.confirm)
    again = run_fixed(tmp_path / "again", spec, put_dataset(settings.data.load()), None)[0]
    assert (again["seeds_reused"], again["seeds_trained"]) == (3, 0)  # nothing trained again
    for key in ("accs", "seeds", "acc_mean", "confirm", "seeds_added", "feasible"):
        assert again[key] == row[key], key


def test_a_packed_trial_trains_its_extra_seeds_solo_and_a_rerun_reuses_them(ray_session,
                                                                             tmp_path):
    from hsearch.data import load_dataset
    from hsearch.workflows.context import run_fixed
    from hsearch.workflows.ray_session import put_dataset
    from tests.workflows.test_workflows_packed_trial import SPEC, _trial_result

    data = put_dataset(load_dataset("digits"))
    solo = run_fixed(tmp_path / "solo", SPEC, data, None)[0]  # no threshold: no confirmation
    # at exactly the own mean, the lower bound is below the threshold: seeds are added
    confirming = replace(SPEC, threshold=mean_accuracy(solo["accs"]),
                         confirm=ConfirmRule(enabled=True, max_seeds=5),
                         cache_dir=str(tmp_path / "cache"))
    packed = run_fixed(tmp_path / "packed", replace(confirming, pack=True), data, None)[0]
    assert packed["accs"][:3] == solo["accs"] and packed["seeds_added"] >= 1
    assert packed["seeds"] == list(range(3 + packed["seeds_added"]))
    assert packed["seeds_trained"] == len(packed["seeds"]) and packed["seeds_reused"] == 0
    used, verdict = confirming.confirm.confirm(packed["accs"][:3], packed["accs"][3:],
                                               confirming.threshold)
    assert (used, verdict) == (packed["accs"], packed["confirm"])
    assert _trial_result(tmp_path / "packed")["pack"]["groups"] == [[0, 1, 2]]  # own seeds only
    # an epoch budget keys packed and solo seeds alike: an unpacked trial reuses every seed
    again = run_fixed(tmp_path / "again", confirming, data, None)[0]
    assert again["seeds_reused"] == len(packed["seeds"]) and again["seeds_trained"] == 0
    assert again["accs"] == packed["accs"] and again["confirm"] == packed["confirm"]
