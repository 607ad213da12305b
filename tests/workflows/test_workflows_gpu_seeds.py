"""Seeds on GPUs without a GPU: Ray's fake GPU resources (Ray sets CUDA_VISIBLE_DEVICES for GPU
tasks whether or not the devices exist), the shared-GPU warning, and the GPU share in the
seed-cache key and the trial's reports."""

from __future__ import annotations

import logging
import os
from collections import defaultdict

import pytest

from hsearch.data import SubsetSizes
from hsearch.train import Architecture, TrainConfig, parse_budget
from hsearch.workflows.ray_session import DataHandle
from hsearch.workflows.seed_cache import SeedCache
from hsearch.workflows.seeds import seed_remote
from hsearch.workflows.trial import _Metrics
from hsearch.workflows.trial_spec import TrialSpec


def spec(gpus: float, budget: str = "1ep") -> TrialSpec:
    return TrialSpec(arch=Architecture("senet18", width=0.125), train=TrainConfig(),
                     budget=parse_budget(budget), seeds=(0, 1), sizes=SubsetSizes(10, 5, 0),
                     parallel_seeds=2, cpus_per_seed=1.0, gpus_per_seed=gpus)


@pytest.mark.ray
def test_gpu_seed_tasks_never_reuse_a_process_across_gpus():
    """Eight seed tasks on two fake GPUs: each worker process serves one task, so no process
    sees two different CUDA_VISIBLE_DEVICES (CUDA would keep the first)."""
    import ray

    def where_am_i(_):  # nested: Ray pickles it by value (workers cannot import tests/)
        """A seed task's view of its process: pid and the devices CUDA would see."""
        import time

        time.sleep(0.2)  # let tasks overlap, so both fake GPUs are in use
        return os.getpid(), os.environ.get("CUDA_VISIBLE_DEVICES")

    ray.init(address="local", num_cpus=2, num_gpus=2, include_dashboard=False, logging_level="ERROR",
             log_to_driver=False)
    try:
        task = seed_remote(where_am_i, spec(1.0))
        seen = ray.get([task.remote(i) for i in range(8)])
    finally:
        ray.shutdown()
    devices_by_pid = defaultdict(set)
    for pid, devices in seen:
        devices_by_pid[pid].add(devices)
    assert {d for _, d in seen} == {"0", "1"}, seen
    assert len(devices_by_pid) == 8, f"worker processes were reused: {dict(devices_by_pid)}"


def test_fractional_gpus_with_a_time_budget_warn(caplog):
    with caplog.at_level(logging.WARNING, logger="hsearch.workflows.trial_spec"):
        spec(1.0, "30s"), spec(0.5, "3ep"), spec(0.0, "30s")
    assert not caplog.records
    with caplog.at_level(logging.WARNING, logger="hsearch.workflows.trial_spec"):
        spec(0.5, "30s")
    assert len(caplog.records) == 1 and "gpus_per_seed=0.5" in caplog.text


def test_gpu_share_is_in_the_seed_cache_key_and_the_reports(tmp_path):
    data = DataHandle(ref=None, name="digits", num_classes=10)
    paths = {}
    for gpus in (0.0, 0.5, 1.0):
        s = TrialSpec(**{**spec(gpus).__dict__, "cache_dir": str(tmp_path)})
        paths[gpus] = SeedCache(s, s.arch, s.train, data)._path(0)
        report = _Metrics(s, s.arch.cost(), {}).report({}, "cost")
        assert report["gpu_share"] == gpus
    assert len(set(paths.values())) == 3
