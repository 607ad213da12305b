"""Hardware-aware NAS through Ray Tune on digits: latency as the objective, a params
constraint, latency columns, pareto.csv/png, TensorBoard latency, report --pareto."""

import csv
import json
from pathlib import Path

import pytest

from hsearch.cli import main
from hsearch.data import AugmentConfig
from hsearch.train import Architecture, TrainConfig, parse_budget
from hsearch.workflows.settings import (
    DataSettings,
    NasBounds,
    NasSettings,
    ResourceSettings,
    SearchSettings,
)

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture(scope="module")
def run(ray_session, tmp_path_factory):
    from hsearch.workflows.launch import run_workflow

    base = Architecture("senet18", width=0.125, resolution=0.25)
    limit = base.cost().params * 1.5  # width x2 (about 4x the parameters) breaks it
    settings = NasSettings(
        data=DataSettings("digits", train_per_class=30, val_per_class=10, test_per_class=10),
        arch=base,
        train=TrainConfig(batch_size=64, lr=0.2, eval_batch_size=256,
                          augment=AugmentConfig(crop_flip=False, autoaugment=False,
                                                cutout=False)),
        budget=parse_budget("1ep"), seeds=2, baseline_acc=0.0,
        resources=ResourceSettings(concurrency=2, torch_threads=1),
        out=str(tmp_path_factory.mktemp("hw") / "run"),
        bounds=NasBounds(width=(0.5, 2.0), depth=(1.0, 1.0), resolution=(1.0, 2.0), step=0.5),
        search=SearchSettings(max_evals=5, seed=0),
        objective="latency_ms", constraints=(f"params <= {limit}",))
    result = run_workflow("nas", settings, echo=True)
    yield result, limit


def test_latency_is_the_objective_and_params_bound_feasibility(run):
    result, limit = run
    with open(result.run_dir / "evaluations.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 5
    for r in rows:  # every network timed before training, pruned ones included
        assert float(r["latency_ms"]) > 0 and float(r["throughput_ips"]) > 0
        assert r["objective"] == r["latency_ms"] and r["latency_threads"] == "1"
        if float(r["params"]) > limit:
            assert r["feasible"] == "false"
            assert r["status"] == "pruned"  # decided at the cost report: never trained
    assert any(float(r["params"]) > limit for r in rows)
    baseline = json.loads((result.run_dir / "baseline.json").read_text())
    assert baseline["latency_ms"] > 0  # given accuracy: the driver timed the baseline
    assert "fastest" in result.summary and "minimising latency_ms" in result.summary


def test_pareto_files_tensorboard_and_report(run, capsys):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result, _ = run
    run_dir = Path(result.run_dir)
    with open(run_dir / "pareto.csv", newline="") as handle:
        table = list(csv.DictReader(handle))
    assert len(table) == 5 and any(r["on_front"] == "true" for r in table)
    assert all(0.0 <= float(r["p_front"]) <= 1.0 for r in table if r["p_front"])
    assert (run_dir / "pareto.png").stat().st_size > 0
    tags = set()
    for path in (run_dir / "tensorboard").glob("events.out.tfevents.*"):
        acc = EventAccumulator(str(path))
        acc.Reload()
        tags |= set(acc.Tags()["scalars"])
    assert {"search/latency_ms", "search/latency_ms_iqr", "search/throughput_ips"} <= tags
    assert main(["report", str(run_dir), "--pareto", "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "p_front" in out and "on the front of the means" in out
