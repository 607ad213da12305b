"""A search on a two-node Ray cluster made on this machine: ``hsearch nas --address`` joins it,
trials run on both nodes, and every result reaches the one run directory.

Each node has one CPU and each trial trains its two seeds at once (``--parallel-seeds 2``, one
CPU each): a trial's placement group then needs both nodes, so every trial runs on both whatever
the timing (two trials of their own on two nodes would depend on how fast Ray starts actors:
Tune gives a waiting trial to the first actor that frees up).
"""

import json
from pathlib import Path

import pytest
import ray

from hsearch.cli import main

pytestmark = [pytest.mark.ray, pytest.mark.slow]

NODE = {"num_cpus": 1, "object_store_memory": 150 * 1024**2}
# Ray ends idle workers beyond one per CPU after a second; the seed tasks' workers then start
# again (importing torch) for every trial. Keeping them a minute only saves time.
SYSTEM = {"idle_worker_killing_time_threshold_ms": 60_000}


@pytest.fixture
def two_node_cluster():
    from ray.cluster_utils import Cluster

    if ray.is_initialized():  # another module's instance: this test needs its own cluster
        ray.shutdown()
    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "_system_config": SYSTEM})
    try:
        cluster.add_node(**NODE)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_a_search_on_two_nodes_uses_both_and_records_into_one_run(two_node_cluster, tmp_path,
                                                                   capsys):
    from hsearch.results import read_rows

    run = tmp_path / "run"
    code = main(["nas", "--address", two_node_cluster.address, "--out", str(run),
                 "--data", "digits", "--train-per-class", "30", "--val-per-class", "10",
                 "--test-per-class", "5", "--width", "0.125", "--resolution", "0.25",
                 "--budget", "1ep", "--seeds", "2", "--batch-size", "64", "--no-augment",
                 "--torch-threads", "1", "--cpus-per-seed", "1", "--parallel-seeds", "2",
                 "--gpus-per-seed", "0", "--concurrency", "1", "--max-evals", "3",
                 "--baseline-acc", "0.1", "--no-prune", "--width-bounds", "0.5", "2",
                 "--depth-bounds", "0.5", "1.5", "--resolution-bounds", "1", "2",
                 "--step", "0.25"])
    assert code == 0, capsys.readouterr().err[-3000:]
    nodes = {n["NodeID"] for n in ray.nodes() if n["Alive"]}
    assert len(nodes) == 2

    rows = read_rows(run / "evaluations.csv")
    assert len(rows) == 3 and all(r["status"] == "ok" for r in rows)
    for row in rows:
        assert row["node_id"] in nodes  # the trial's own process
        trained = [n for n in row["seed_nodes"].split(",") if n]  # reused seeds name no node
        assert len(trained) == row["seeds_trained"]
    trained_on = {n for r in rows for n in r["seed_nodes"].split(",") if n}
    assert trained_on == nodes  # seeds trained on both nodes
    assert any(len(set(r["seed_nodes"].split(","))) == 2 for r in rows)  # within one trial
    for row in rows:  # and every trial and seed wrote into the run directory given to the driver
        trial_dir = run / row["trial_dir"]
        saved = json.loads((trial_dir / "hsearch_result.json").read_text())
        assert saved["seed_nodes"] == row["seed_nodes"] and saved["acc_mean"] == row["acc_mean"]
        assert all(list((trial_dir / f"seed_{s}").glob("events.out.tfevents.*")) for s in (0, 1))
    assert json.loads((run / "best.json").read_text())["evaluations"] == 3
    assert (run / "summary.txt").exists() and (run / "snapshot.pkl").exists()
    assert not list(Path(run).glob("**/.*.tmp"))  # no temporary file left behind
