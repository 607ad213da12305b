"""Rounds to the optimum (hsearch.compare.rounds) and what summary.json/.md and the suite report
of the wait: simulated time and rounds at the run's concurrency."""

from __future__ import annotations

import csv
import json
import math

import pytest
from compare_tiny_table import write_tiny_table

from hsearch.cli import main
from hsearch.compare.protocol import CompareSettings
from hsearch.compare.rounds import depths
from hsearch.compare.run import run_comparison
from hsearch.compare.summary import rounds_to_reach, summarize, time_to_reach

OPT = 1.0


def _row(start, finish, kind="trained", objective=5.0, feasible=True, repeat=0, eval_=0):
    return {"searcher": "s", "repeat": repeat, "eval": eval_, "kind": kind, "start": start,
            "finish": finish, "objective": objective, "feasible": feasible,
            "suggest_ms": 1.0, "complete_ms": 1.0, "end_ms": 0.0, "stop_reason": "budget"}


def _numbered(rows):
    """Rows in finish order, numbered, with ``trained`` so far (as runs.csv has them)."""
    trained = 0
    for i, r in enumerate(rows, start=1):
        trained += r["kind"] == "trained"
        r.update(eval=i, trained=trained)
    return rows


def _serial():
    """One worker: trained rows end to end, free rows (cost 0) between them."""
    return _numbered([
        _row(0, 3), _row(3, 3, "duplicate"), _row(3, 5), _row(5, 5, "screened", feasible=False),
        _row(5, 5, "screened", feasible=False), _row(5, 9), _row(9, 9, "duplicate"),
        _row(9, 10, objective=OPT), _row(10, 12, objective=OPT)])


def _parallel():
    """Two workers: B [0, 4] and A [0, 10] start together; C [4, 8] after B; a screened point at
    8; D [8, 12] after C; E [10, 15] after A (B, C done too); F [12, 14] after D."""
    return _numbered([
        _row(0, 4), _row(4, 8), _row(8, 8, "screened", feasible=False), _row(0, 10),
        _row(8, 12), _row(12, 14, objective=OPT), _row(10, 15, objective=OPT)])


def test_serial_rounds_are_the_trained_evaluations():
    run = _serial()
    got = depths(run)
    assert got == [r["trained"] if r["kind"] == "trained" else None for r in run]
    assert rounds_to_reach(run, OPT, 0.01) == 4.0 == run[7]["trained"]
    assert time_to_reach(run, OPT, 0.01) == 10.0


def test_parallel_rounds_follow_what_had_finished_at_each_start():
    run = _parallel()
    # B, C, screened, A, D, F, E
    assert depths(run) == [1, 2, None, 1, 3, 4, 3]
    # F (depth 4) finishes first within the level, at 14; E (depth 3) later
    assert rounds_to_reach(run, OPT, 0.01) == 4.0
    assert time_to_reach(run, OPT, 0.01) == 14.0


def test_free_rows_neither_train_nor_reach_nor_add_depth():
    run = _numbered([_row(0, 2), _row(2, 2, "duplicate", objective=OPT), _row(2, 4),
                     _row(4, 4, "screened", feasible=False), _row(4, 7, objective=OPT)])
    assert depths(run) == [1, None, 2, None, 3]
    assert rounds_to_reach(run, OPT, 0.01) == 3.0  # the duplicate is no training
    # the same run without its free rows has the same depths
    trained = [dict(r) for r in run if r["kind"] == "trained"]
    assert depths(trained) == [1, 2, 3]
    # rows without a kind count as trained (older runs.csv)
    assert depths([{k: v for k, v in r.items() if k != "kind"} for r in run]) == [1, 2, 3, 4, 5]


def test_an_unsolved_run_has_no_rounds_and_counts_as_infinite():
    never = _numbered([_row(0, 1), _row(1, 2, objective=OPT, feasible=False), _row(2, 3)])
    assert rounds_to_reach(never, OPT, 0.05) == math.inf
    runs = [_serial(), _parallel(), never]
    rows = []
    for repeat, run in enumerate(runs):
        rows += [dict(r, repeat=repeat) for r in run]
    meta = {"settings": {"budget": 6, "concurrency": 2},
            "problem": {"optimum": OPT, "optimum_known": True}}
    stats = summarize(rows, meta)
    assert stats["concurrency"] == 2
    reach = stats["searchers"]["s"]["reach"]["1%"]
    assert reach["rounds"] == [4.0, 4.0, math.inf]
    assert reach["times"] == [10.0, 14.0, math.inf]
    assert reach["median_rounds"] == 4.0 and reach["q1_rounds"] == 4.0
    assert reach["q3_rounds"] == math.inf  # next to an unsolved run
    assert reach["median_time"] == 14.0 and reach["q1_time"] == 12.0
    assert reach["evals"] == [4.0, 5.0, math.inf] and reach["q1_evals"] == 4.5
    assert reach["solved"] == 2


def _brute_depths(run):
    """Depths straight from the definition, by recursion (trained rows cost > 0 here)."""
    memo = {}

    def depth(i):
        if i not in memo:
            before = [j for j, r in enumerate(run) if j != i and r["kind"] == "trained"
                      and float(r["finish"]) <= float(run[i]["start"])]
            memo[i] = 1 + max((depth(j) for j in before), default=0)
        return memo[i]

    return depth


def _read(path):
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_a_replayed_comparison_at_concurrency_4_writes_time_and_rounds(tmp_path, capsys):
    table = write_tiny_table(tmp_path / "tiny.csv")
    out = tmp_path / "cmp"
    assert main(["compare", "--problem", "tabular", "--table", str(table), "--searchers",
                 "nomad,random", "--max-evals", "12", "--repeats", "2", "--concurrency", "4",
                 "--serial", "--out", str(out)]) == 0
    capsys.readouterr()
    stats = json.loads((out / "summary.json").read_text())
    assert stats["concurrency"] == 4
    rows = _read(out / "runs.csv")
    ref = stats["reference"]
    parallel = False
    for name in ("nomad", "random"):
        reach = stats["searchers"][name]["reach"]
        for label, level in (("5%", 0.05), ("1%", 0.01)):
            r = reach[label]
            rounds = []
            for repeat in range(2):
                run = [x for x in rows if x["searcher"] == name and int(x["repeat"]) == repeat]
                hits = [i for i, x in enumerate(run) if x["kind"] == "trained"
                        and x["feasible"] == "True" and float(x["objective"]) <= ref * (1 + level)]
                rounds.append(float(_brute_depths(run)(hits[0])) if hits else math.inf)
                starts = {x["start"] for x in run if x["kind"] == "trained"}
                parallel |= len(starts) < sum(x["kind"] == "trained" for x in run)
            assert r["rounds"] == rounds
            assert all(d <= e for d, e in zip(r["rounds"], r["evals"]))
            assert r["median_rounds"] == pytest.approx(sum(rounds) / 2)
            assert {"q1_time", "q3_time", "times", "q1_rounds", "q3_rounds", "q1_evals",
                    "q3_evals"} <= set(r)
            assert {"median_evals", "solved", "median_time", "evals"} <= set(r)  # kept
    assert parallel  # some trained evaluations did start together
    text = (out / "summary.md").read_text()
    assert "Waiting for the optimum at 4 trial(s) at once" in text
    nomad = stats["searchers"]["nomad"]["reach"]["1%"]
    line = next(li for li in text.splitlines()
                if li.startswith(f"| **nomad** | {nomad['solved']}/2 | "))
    assert line.count("|") == 6 and "[" in line


def test_the_suite_reports_the_wait_per_instance_and_nomads_time_ratio(tmp_path):
    table = write_tiny_table(tmp_path / "tiny.csv")
    settings = CompareSettings(problem="suite", searchers=("nomad", "random"), budget=8,
                               repeats=2, table=str(table), instances=("tabular", "g06"),
                               concurrency=2)
    result = run_comparison(settings, tmp_path / "s", use_ray=False)
    suite = json.loads((result.out_dir / "summary.json").read_text())
    for label in ("tabular", "g06"):
        for name in ("nomad", "random"):
            w = suite["waiting"][label][name]
            r = suite["problems"][label]["searchers"][name]["reach"]["1%"]
            assert (w["median_time"], w["median_rounds"]) == (r["median_time"],
                                                              r["median_rounds"])
        row = suite["nomad"][label]
        assert row["best_other_by_time"] == "random"
        other = suite["waiting"][label]["random"]["median_time"]
        if math.isfinite(row["median_time"]) and math.isfinite(other):
            assert row["time_ratio"] == pytest.approx(row["median_time"] / other)
    text = result.summary
    assert "Waiting for the optimum at 2 trial(s) at once" in text
    assert "2 trial(s) at a time for every searcher" in text
    assert "Median time ratio over the instances" in text
