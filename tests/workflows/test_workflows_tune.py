"""The workflows through Ray Tune on digits: tiny NAS and HPO, racing with parallel seeds,
results and TensorBoard files read back, report from disk (resume after a SIGKILL: tests/faults).

One Ray instance for the module (2 CPUs); tiny networks (SENet-18 at width 0.125, 8 px),
one-epoch budgets on small subsets, 2-3 seeds, a handful of evaluations.
"""

import csv
import json
import os
from pathlib import Path

import pytest
import yaml

from hsearch.cli import main
from hsearch.data import AugmentConfig
from hsearch.train import Architecture, TrainConfig, parse_budget
from hsearch.workflows.racing import RacingRule
from hsearch.workflows.settings import (
    DataSettings,
    HpoSettings,
    HpoSpace,
    NasBounds,
    NasSettings,
    ResourceSettings,
    SearchSettings,
)

pytestmark = pytest.mark.ray

TINY = dict(
    data=DataSettings("digits", train_per_class=40, val_per_class=15, test_per_class=10),
    arch=Architecture("senet18", width=0.125, resolution=0.25),
    train=TrainConfig(batch_size=64, lr=0.2, eval_batch_size=256,
                      augment=AugmentConfig(crop_flip=False, autoaugment=False, cutout=False)),
    budget=parse_budget("1ep"),
    seeds=2,
    resources=ResourceSettings(concurrency=2, torch_threads=1),
)


@pytest.fixture(scope="module")
def nas_run(ray_session, tmp_path_factory):
    from hsearch.workflows.launch import run_workflow

    out = tmp_path_factory.mktemp("nas") / "run"
    settings = NasSettings(
        **TINY, out=str(out),
        bounds=NasBounds(width=(0.5, 2.0), depth=(0.5, 1.5), resolution=(1.0, 2.0), step=0.25),
        search=SearchSettings(max_evals=5, seed=1))
    return run_workflow("nas", settings, echo=True)


def baseline_row(rows):
    """The evaluation of x0, the baseline's multipliers (1, 1, 1)."""
    [row] = [r for r in rows if r["status"] == "ok" and (
        float(r["width"]), float(r["depth"]), float(r["resolution"])) == (1, 1, 1)]
    return row


def rows_of(run_dir):
    with open(Path(run_dir) / "evaluations.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def scalars(folder):
    """tag -> [(step, value)] from the event files directly in ``folder``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = {}
    for path in sorted(Path(folder).glob("events.out.tfevents.*")):
        acc = EventAccumulator(str(path), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags()["scalars"]:
            out.setdefault(tag, []).extend((e.step, e.value) for e in acc.Scalars(tag))
    return out


def hparams(folder):
    """The hparams (name -> value) of the session-start summaries in ``folder``'s events."""
    from tensorboard.backend.event_processing import event_file_loader
    from tensorboard.plugins.hparams import plugin_data_pb2

    found = {}
    for path in Path(folder).glob("events.out.tfevents.*"):
        for event in event_file_loader.EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                if value.tag == "_hparams_/session_start_info":
                    data = plugin_data_pb2.HParamsPluginData.FromString(
                        value.metadata.plugin_data.content)
                    for name, v in data.session_start_info.hparams.items():
                        found[name] = v.number_value if v.HasField("number_value") else v
    return found


def test_nas_records_every_evaluation_and_reuses_the_baseline(nas_run):
    run = nas_run.run_dir
    rows = rows_of(run)
    # trained (or pruned) trials: the budget; NOMAD's screened/duplicate points are free rows
    trials = [r for r in rows if r["status"] in ("ok", "pruned")]
    assert len(trials) == 5
    assert len({r["trial_id"] for r in rows}) == len(rows)
    assert [int(r["eval_id"]) for r in rows] == list(range(1, len(rows) + 1))
    # x0 = the baseline: its seeds come from the baseline measurement (with two trials at once
    # the model search step's first point may end before it)
    first = baseline_row(rows)
    assert first["seeds_reused"] == "2" and first["seeds_trained"] == "0"
    baseline = json.loads((run / "baseline.json").read_text())
    assert float(first["acc_mean"]) == pytest.approx(baseline["acc_mean"])
    assert first["status"] == "ok" and first["feasible"] == "true"  # acc == threshold
    assert float(first["acc_gap"]) == 0.0 and first["penalized"] == first["macs_ratio"]
    # pruned and screened configurations cost at least the best feasible MACs seen before them
    best = float("inf")
    for r in rows:
        if r["status"] in ("pruned", "screened"):
            assert int(r["macs"]) >= best
            assert r["acc_mean"] == ""
        if r["status"] == "pruned":
            assert r["seed_runs_saved"] == "2"
        if r["status"] == "ok" and r["feasible"] == "true":
            best = min(best, int(r["macs"]))
    assert {r["status"] for r in rows} <= {"ok", "pruned", "screened", "duplicate"}
    summary = json.loads((run / "best.json").read_text())
    assert summary["evaluations"] == len(rows) and summary["best"]["macs"] == best
    statuses = [r["status"] for r in rows]  # counted by status: pruned is not failed
    expected = {s: statuses.count(s) for s in
                ("ok", "pruned", "rejected", "screened", "failed", "error")}
    if "duplicate" in statuses:
        expected["duplicate"] = statuses.count("duplicate")
    assert summary["statuses"] == expected
    assert summary["failed"] == 0
    assert summary["feasible"] + summary["infeasible"] == statuses.count("ok")
    for name in ("progress.png", "pareto.png", "summary.txt", "config.yaml"):
        assert (run / name).stat().st_size > 0, name
    config = yaml.safe_load((run / "config.yaml").read_text())
    assert config["workflow"] == "nas" and config["version"]["hsearch"]
    assert config["settings"]["search"]["max_evals"] == 5
    assert nas_run.best is not None and "best" in nas_run.summary


def test_nas_writes_the_tensorboard_events(nas_run):
    run = nas_run.run_dir
    rows = rows_of(run)
    progress = scalars(run / "tensorboard")
    assert len(progress["search/objective"]) == 5  # one point per evaluation
    assert len(progress["search/constraint/acc_gap"]) == 5
    assert progress["search/best_feasible_objective"][-1][1] == pytest.approx(
        min(int(r["macs"]) for r in rows if r["feasible"] == "true"))
    trained = [r for r in rows if r["status"] == "ok" and r["seeds_trained"] == "2"]
    reused = baseline_row(rows)
    # reports: the cost report, one per finished seed but the last, the final one
    for row, reports in [(reused, 2)] + [(r, 3) for r in trained]:
        trial_dir = run / row["trial_dir"]
        tune_scalars = scalars(trial_dir)
        assert len(tune_scalars["ray/tune/acc_mean"]) == reports
        assert "ray/tune/macs" in tune_scalars and "ray/tune/acc_gap" in tune_scalars
        params = hparams(trial_dir)
        for name in ("width", "depth", "resolution"):
            assert params[name] == pytest.approx(float(row[name]))
    for row in trained:
        for seed in (0, 1):
            curves = scalars(run / row["trial_dir"] / f"seed_{seed}")
            assert len(curves["train/loss"]) >= 1 and len(curves["final/acc"]) == 1


def test_report_prints_the_summary_from_disk(nas_run, capsys):
    assert main(["report", str(nas_run.run_dir)]) == 0
    out = capsys.readouterr().out
    assert "(finished)" in out and "baseline" in out and "best" in out
    assert "5 evaluations" in out and f"tensorboard --logdir {nas_run.run_dir}" in out
    assert " ok (" in out and "feasible" in out and "failed" not in out


def test_evaluate_takes_a_runs_best_onto_the_test_split(nas_run, capsys):
    out = nas_run.run_dir.parent / "test"
    assert main(["evaluate", "--from", str(nas_run.run_dir), "--seeds", "1", "--out", str(out),
                 "--train-per-class", "40", "--val-per-class", "15", "--test-per-class", "10",
                 "--budget", "1ep"]) == 0
    assert "test      acc" in capsys.readouterr().out
    (row,) = rows_of(out)
    best = nas_run.best
    assert row["status"] == "ok" and row["seeds_done"] == "1"
    for key in ("arch_model", "arch_width", "arch_depth", "arch_resolution", "train_lr",
                "train_batch_size"):
        assert row[key] == str(best[key]), key
    assert yaml.safe_load((out / "config.yaml").read_text())["settings"]["split"] == "test"


@pytest.mark.slow
def test_racing_with_parallel_seeds(nas_run, tmp_path):
    """Seeds as Ray tasks in the trial's placement group: the same accuracies as in sequence
    (x0 is the NAS baseline's network), and racing stops hopeless configurations."""
    from hsearch.workflows.launch import run_workflow

    settings = NasSettings(
        **{**TINY, "seeds": 3,
           "resources": ResourceSettings(concurrency=1, parallel_seeds=2, torch_threads=1)},
        out=str(tmp_path / "race"), baseline_acc=0.99,
        bounds=NasBounds(width=(0.5, 2.0), depth=(1.0, 1.0), resolution=(1.0, 1.0)),
        search=SearchSettings(searcher="random", max_evals=1, seed=0),
        racing=RacingRule(enabled=True, min_seeds=2), prune=False)
    result = run_workflow("nas", settings)
    rows = result.rows
    assert len(rows) == 1 and result.best is None
    for row in rows:
        assert row["status"] == "rejected" and row["feasible"] is False
        assert row["seeds_done"] == 2 and row["seeds_trained"] in (2, 3)
        assert row["seed_runs_saved"] == 3 - row["seeds_trained"]
        assert row["acc_gap"] > 0 and row["acc_mean"] < 0.99
    baseline = json.loads((nas_run.run_dir / "baseline.json").read_text())
    assert rows[0]["width"] == 1.0 and rows[0]["seeds_reused"] == 0
    assert rows[0]["accs"] == pytest.approx(baseline["accs"])  # trained in sequence there
    assert "rejected by racing" in result.summary
    assert "seed_0" in os.listdir(result.run_dir / rows[0]["trial_dir"])


def test_hpo_searches_the_rescaled_space(ray_session, tmp_path):
    from hsearch.workflows.hpo import run_hpo

    settings = HpoSettings(
        **TINY, out=str(tmp_path / "hpo"),
        space=HpoSpace(lr=(0.01, 0.5), weight_decays=(0.0, 5e-3), optimizers=("sgd", "adam"),
                       batch_sizes=(32, 64)),
        search=SearchSettings(searcher="nomad", max_evals=3, seed=0))
    result = run_hpo(settings)
    rows = result.rows
    assert len(rows) == 3 and len({r["trial_id"] for r in rows}) == 3
    # the settings' own training config starts the search (with two trials at once the model
    # search step's first point may end before it)
    start = [r for r in rows if (r["optimizer"], r["batch_size"], r["weight_decay"]) == (
        "sgd", 64, 0.005) and r["lr"] == pytest.approx(0.2)]
    assert len(start) == 1
    for row in rows:
        scale = {"sgd": 1.0, "adam": 1e-2}[row["optimizer"]]
        assert row["train_lr"] == pytest.approx(row["lr"] * scale)
        assert 0.0 <= row["acc_mean"] <= 1.0 and len(row["accs"]) == 2
    assert result.best["acc_mean"] == max(r["acc_mean"] for r in rows)
    assert len(scalars(result.run_dir / "tensorboard")["search/objective"]) == 3
