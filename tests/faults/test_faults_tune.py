"""Faults during a NAS search, with the real trainer, Ray trial actors and NOMAD.

One search (6 evaluations of 2 seeds, one at a time, given baseline) lives through every fault,
so that Ray worker processes (each imports torch; every failed attempt costs one) are started as
few times as possible:

* trial 2's worker process is SIGKILLed mid-training once (retried, then fine);
* trial 3 hangs, and while it runs the **driver** is SIGKILLed; Tune's snapshot files are then
  torn (one truncated, one deleted) as a kill during Tune's background copy leaves them;
  ``hsearch report`` reads the killed run; ``hsearch resume`` finishes it (trial 3 re-run under
  its own trial id);
* trial 4 runs out of (simulated CUDA) memory in every seed, trial 5 raises in every attempt (an
  errored evaluation after its retry), and trial 6 diverges to NaN.

Faults come from the documented test hook (HSEARCH_TEST_FAULTS, hsearch.workflows.faults). The
module-scoped ``scenario`` runs it all once; each test checks one fault's outcome.
"""

import contextlib
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from hsearch.cli import main
from hsearch.workflows.faults import FAULTS_ENV

pytestmark = [pytest.mark.ray, pytest.mark.slow]

BUDGET = 6
HANGS = 3  # the trial running when the driver is killed
FAULTS = [
    {"trial": 2, "fault": "kill", "times": 1},  # its process dies once: retried, fine
    {"trial": HANGS, "fault": "hang", "times": 1},  # then runs normally after the resume
    {"trial": 4, "fault": "oom"},  # torch.OutOfMemoryError in every seed
    {"trial": 5, "fault": "raise"},  # raises in every attempt
    {"trial": 6, "fault": "diverge"},  # the loss really becomes NaN
]
NAS = ["nas", "--data", "digits", "--train-per-class", "30", "--val-per-class", "10",
       "--test-per-class", "5", "--model", "senet18", "--width", "0.125", "--resolution", "0.25",
       "--budget", "1ep", "--seeds", "2", "--batch-size", "64", "--no-augment",
       "--torch-threads", "1", "--concurrency", "1", "--max-evals", str(BUDGET),
       "--search-seed", "2", "--baseline-acc", "0.05", "--no-prune",
       "--width-bounds", "0.5", "2", "--depth-bounds", "0.5", "1.5",
       "--resolution-bounds", "1", "2", "--step", "0.25"]


@dataclass
class Scenario:
    run: Path
    before: list  # evaluations.csv rows when the driver was killed
    in_flight: set  # trial ids running (or being retried) when the driver was killed
    torn: list  # Tune state files torn after the kill
    report_killed: str  # `hsearch report` of the killed run
    resume_code: int
    after: list  # evaluations.csv rows at the end
    records: list  # NOMAD's evaluation records (the searcher's saved state)
    nomad_child_gone: bool  # the killed driver's NOMAD child process ended by itself


#: further ray.init arguments of tests/conftest.py's ray_session: idle workers started in
#: advance would go unused (trials get their own)
RAY_INIT_OPTIONS = {"_system_config": {"prestart_worker_first_driver": False,
                                       "enable_worker_prestart": False}}


def rows_of(run: Path) -> list[dict]:
    """The trial rows (NOMAD's screened/duplicate rows are untrained answers, not trials)."""
    from hsearch.results import read_rows

    path = run / "evaluations.csv"
    rows = read_rows(path) if path.exists() else []
    return [r for r in rows if r.get("status") not in ("screened", "duplicate")]


def trial_number(name: str, trial_id: str) -> int:
    """The trial's number in creation order (1, 2, ...), from its folder name."""
    return int(name.split(f"{trial_id}_", 1)[1].split("_", 1)[0])


def trial_dirs(run: Path) -> dict[str, Path]:
    """trial id -> folder of every trial Tune created in the run so far."""
    found = {}
    for path in (run / "trials").glob("hsearch_trial_*"):
        if path.is_dir():
            found[path.name.split("_")[2]] = path
    return found


def snapshot_knows(run: Path, trial_id: str) -> bool:
    """Whether the run's whole experiment snapshot (hsearch.workflows.snapshots) holds the trial."""
    try:
        files = pickle.loads((run / "snapshot.pkl").read_bytes())["files"]
    except (OSError, EOFError, KeyError, pickle.UnpicklingError):
        return False
    return any(name.startswith("experiment_state-") and trial_id.encode() in data
               for name, data in files.items())


def hanging_trial(run: Path, number: int = HANGS) -> str | None:
    """The id of trial ``number`` once it hangs (its fault marker exists) and the snapshot holds
    it."""
    for trial_id, path in trial_dirs(run).items():
        if trial_number(path.name, trial_id) == number and (path / ".fault-attempt-1").exists():
            return trial_id if snapshot_knows(run, trial_id) else None
    return None


def nomad_children(pid: int) -> list[int]:
    """Process ids of the NOMAD child processes started by process ``pid``."""
    children = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"hsearch/search/nomad/child.py" in cmdline:
            children.append(int(entry.name))
    return children


def gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.1)
    return False


def tear(folder: Path) -> list[str]:
    """Tune's state files as a kill during its background copy can leave them: the experiment
    state truncated, the searcher state missing."""
    torn = []
    for path in folder.glob("experiment_state-*.json"):
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        torn.append(f"{path.name} truncated")
    for path in folder.glob("searcher-state-*.pkl"):
        path.unlink()
        torn.append(f"{path.name} deleted")
    return torn


def start_driver(tmp: Path, nas: list[str], faults: list[dict], address: str):
    """``hsearch <nas> --out tmp/run`` on the cluster at ``address`` with the fault plan
    ``faults`` (written to tmp/faults.json), in its own session, logging to tmp/driver.log:
    (driver, run dir, log path)."""
    run, log_path, plan = tmp / "run", tmp / "driver.log", tmp / "faults.json"
    plan.write_text(json.dumps(faults))
    env = {**os.environ, FAULTS_ENV: str(plan), "PYTHONUNBUFFERED": "1"}
    env.pop("HSEARCH_DEBUG", None)
    with open(log_path, "w") as log:
        driver = subprocess.Popen(
            [sys.executable, "-m", "hsearch", *nas, "--out", str(run), "--address", address],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return driver, run, log_path


def kill_while_hanging(tmp: Path, nas: list[str], faults: list[dict], address: str,
                       number: int) -> Path:
    """:func:`start_driver`, then SIGKILL the driver once trial ``number`` hangs (within 400 s);
    returns the run directory."""
    driver, run, log_path = start_driver(tmp, nas, faults, address)
    try:
        deadline = time.monotonic() + 400
        while hanging_trial(run, number) is None:
            assert driver.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(driver.pid, signal.SIGKILL)
        driver.wait(timeout=60)
    return run


@pytest.fixture(scope="module")
def scenario(ray_session, tmp_path_factory) -> Scenario:
    tmp = tmp_path_factory.mktemp("faults")
    driver, run, log_path = start_driver(tmp, NAS, FAULTS, ray_session)
    children: list[int] = []
    try:
        deadline = time.monotonic() + 400
        while (hanging := hanging_trial(run)) is None:
            assert driver.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            children = nomad_children(driver.pid) or children
            time.sleep(0.2)
        children = nomad_children(driver.pid) or children
    finally:
        with contextlib.suppress(ProcessLookupError):  # the driver (NOMAD's child has its own
            os.killpg(driver.pid, signal.SIGKILL)  # session: it must end by itself)
        driver.wait(timeout=60)
    assert children, "the driver had no NOMAD child process"
    child_gone = all(gone(pid, timeout=30) for pid in children)

    before = rows_of(run)
    recorded = {r["trial_id"] for r in before}
    in_flight = {tid for tid, path in trial_dirs(run).items()
                 if tid not in recorded and not (path / "hsearch_result.json").exists()}
    assert hanging in in_flight
    torn = tear(run / "trials")

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(FAULTS_ENV, str(tmp / "faults.json"))  # the rules go on: numbers continue
        patch.delenv("HSEARCH_DEBUG", raising=False)
        with contextlib.redirect_stdout(io.StringIO()) as report:
            assert main(["report", str(run), "--no-plots"]) == 0  # a killed run reports too
        code = main(["resume", str(run), "--address", ray_session])
    after = rows_of(run)
    states = sorted((run / "trials").glob("searcher-state-*.pkl"))
    records = pickle.loads(states[-1].read_bytes())["records"] if states else []
    print(f"driver SIGKILLed with {len(before)} of {BUDGET} evaluations recorded and "
          f"{len(in_flight)} trial(s) in flight; torn: {torn}; after resume: {len(after)} "
          f"evaluations, {len({r['trial_id'] for r in after})} distinct trials")
    return Scenario(run, before, in_flight, torn, report.getvalue(), code, after, records,
                    child_gone)


def by_number(rows: list[dict]) -> dict[int, dict]:
    return {trial_number(Path(r["trial_dir"]).name, r["trial_id"]): r for r in rows}


def test_driver_sigkill_then_resume_evaluates_exactly_the_budget(scenario, capsys):
    assert scenario.resume_code == 0
    before, after = scenario.before, scenario.after
    assert len(before) == HANGS - 1  # one trial at a time: those before the hanging one
    assert f"incomplete: {len(before)} of {BUDGET} evaluations" in scenario.report_killed
    # exactly the budget, no evaluation twice, none lost, numbered in completion order
    assert len(after) == BUDGET
    assert len({r["trial_id"] for r in after}) == BUDGET
    ids = [r["eval_id"] for r in after]  # free rows (screened) may sit between them
    assert ids == sorted(set(ids)) and ids[0] == 1
    assert sorted(by_number(after)) == list(range(1, BUDGET + 1))
    for old in before:  # finished evaluations were kept, not run again
        (new,) = [r for r in after if r["trial_id"] == old["trial_id"]]
        assert new["acc_mean"] == old["acc_mean"] and new["status"] == old["status"]
        assert new["eval_id"] == old["eval_id"]
    # every trial that was running when the driver died ran again under its own id
    hung = by_number(after)[HANGS]
    assert scenario.in_flight == {hung["trial_id"]}
    assert hung["status"] == "ok" and hung["seeds_done"] == 2 and hung["seeds_trained"] == 2
    assert (scenario.run / "summary.txt").exists()
    # NOMAD's own log of evaluations agrees: every trial once, every point once
    records = scenario.records
    assert sorted(r["trial_id"] for r in records) == sorted(r["trial_id"] for r in after)
    assert len({tuple(r["x"]) for r in records}) == BUDGET
    # the killed driver's NOMAD child did not outlive it
    assert scenario.nomad_child_gone
    capsys.readouterr()
    assert main(["report", str(scenario.run), "--no-plots"]) == 0
    assert "(finished)" in capsys.readouterr().out


def test_torn_tune_state_is_restored_from_the_runs_snapshot(scenario):
    assert any("truncated" in t for t in scenario.torn)
    assert any("deleted" in t for t in scenario.torn)
    # the resume restored the experiment (no fresh start: the old trials and rows were kept)
    assert {r["trial_id"] for r in scenario.before} <= {r["trial_id"] for r in scenario.after}
    from hsearch.workflows.snapshots import unusable_state_files

    assert unusable_state_files(scenario.run / "trials") == []  # whole again, and consistent


def test_worker_process_death_is_retried_and_the_search_goes_on(scenario):
    retried = by_number(scenario.after)[2]
    assert retried["status"] == "ok" and retried["failures"] == 1
    assert retried["seeds_done"] == 2 and retried["acc_mean"] is not None
    numbers = by_number(scenario.after)
    assert numbers[1]["failures"] == 0 and numbers[HANGS]["status"] == "ok"


def test_a_trial_that_raises_is_an_errored_evaluation(scenario):
    raised = by_number(scenario.after)[5]
    assert raised["status"] == "error" and raised["feasible"] is False
    assert raised["failures"] == 2  # the first attempt and its one retry
    assert raised["acc_mean"] is None
    assert raised["message"] == "RuntimeError: fault injected by HSEARCH_TEST_FAULTS"
    errors = [r for r in scenario.after if r["status"] == "error"]
    assert errors == [raised]  # not run again by the resume
    assert by_number(scenario.after)[6]["eval_id"] > raised["eval_id"]  # the search went on


@pytest.mark.parametrize("number, seed_status", [(4, "oom"), (6, "diverged")])
def test_oom_and_nan_are_failed_evaluations(scenario, number, seed_status):
    row = by_number(scenario.after)[number]
    assert row["status"] == "failed" and row["feasible"] is False, row
    assert row["seed_statuses"] == f"{seed_status},{seed_status}"
    assert row["acc_mean"] is None and row["acc_gap"] is None and row["n_failed"] == 2
    assert row["macs"] > 0  # the cost is known even when training failed
    assert row["node_id"] and row["node_ip"]


def test_nomad_counted_each_fault_as_a_failed_evaluation(scenario, capsys):
    numbers = by_number(scenario.after)
    records = {r["trial_id"]: r for r in scenario.records}
    status = {n: records[row["trial_id"]]["status"] for n, row in numbers.items()}
    assert status == {1: "ok", 2: "ok", 3: "ok", 4: "failed", 5: "failed", 6: "failed"}
    assert records[numbers[5]["trial_id"]]["reason"] == "the trial raised an error"
    for n in (4, 6):
        assert "not finite" in records[numbers[n]["trial_id"]]["reason"]
    best = json.loads((scenario.run / "best.json").read_text())
    untrained = best["statuses"].get("screened", 0) + best["statuses"].get("duplicate", 0)
    assert best["evaluations"] - untrained == BUDGET and best["failed"] == 3  # failed + error
    assert (best["statuses"]["failed"], best["statuses"]["error"]) == (2, 1)
    capsys.readouterr()
    assert main(["report", str(scenario.run), "--no-plots"]) == 0
    report = capsys.readouterr().out
    assert "1 error" in report and "2 failed" in report
