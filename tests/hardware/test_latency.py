"""Measured latency and throughput (hsearch.hardware): figures, spread, cache."""

import math
import time

import pytest
import torch

from hsearch.hardware import LatencySettings, measure_latency, network_latency
from hsearch.hardware.latency import quartiles
from hsearch.train import Architecture

TINY = Architecture("senet18", width=0.125, depth=0.25, resolution=0.25)  # 8 px
FAST = LatencySettings(repeats=15, throughput_batch=8, throughput_repeats=3)


def test_figures_are_positive_finite_and_say_where_they_were_measured(tmp_path):
    latency, hit = network_latency(TINY, 10, "cpu", tmp_path, threads=1, settings=FAST)
    assert not hit
    for value in (latency.latency_ms, latency.throughput_ips):
        assert math.isfinite(value) and value > 0
    assert latency.latency_ms_iqr >= 0 and len(latency.samples_ms) == 15
    assert all(s > 0 for s in latency.samples_ms)
    q1, median, q3 = quartiles(latency.samples_ms)
    assert latency.latency_ms == median and latency.latency_ms_iqr == pytest.approx(q3 - q1)
    assert latency.threads == 1 and latency.device == "cpu" and latency.device_name
    assert latency.dtype == "float32" and latency.batch == 1 and latency.throughput_batch == 8
    metrics = latency.metrics()
    assert metrics["latency_ms"] == latency.latency_ms
    assert metrics["latency_samples_ms"] == list(latency.samples_ms)


class Sleeper(torch.nn.Module):
    """A network whose forward pass takes at least ``seconds`` (it sleeps), counting its calls."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds, self.calls = seconds, []
        self.head = torch.nn.Linear(1, 10)

    def forward(self, x):
        self.calls.append(x.shape[0])
        time.sleep(self.seconds)
        return self.head(x.mean(dim=(1, 2, 3)).unsqueeze(1))


def test_the_timed_passes_hold_the_forward_pass_and_the_warm_up_is_not_timed():
    """Lower bounds only (load can slow a pass, never speed it up): no timing noise can fail it."""
    settings = LatencySettings(warmup=2, repeats=5, throughput_batch=4, throughput_repeats=3)
    model = Sleeper(0.02)
    latency = measure_latency(model, 8, "cpu", settings)
    assert len(latency.samples_ms) == 5 and min(latency.samples_ms) >= 20.0
    assert latency.latency_ms >= 20.0
    assert latency.throughput_ips <= 4 / 0.02
    # warm-up at batch 1, timed passes at batch 1, one warm-up and the timed ones at batch 4
    assert model.calls == [1] * (2 + 5) + [4] * (1 + 3)
    assert not model.training  # timed in eval mode


def test_the_cache_hits_for_a_second_identical_network(tmp_path):
    first, hit = network_latency(TINY, 10, "cpu", tmp_path, threads=1, settings=FAST)
    assert not hit
    # other multipliers that round to the same channels, blocks and pixels: the same network
    same = Architecture("senet18", width=0.126, depth=0.26, resolution=0.251)
    assert same.input_size == TINY.input_size
    again, hit = network_latency(same, 10, "cpu", tmp_path, threads=1, settings=FAST)
    assert hit and again == first
    assert len(list(tmp_path.glob("*.json"))) == 1
    # another thread count or another network is timed anew
    _, hit = network_latency(TINY, 10, "cpu", tmp_path, threads=2, settings=FAST)
    assert not hit
    bigger = Architecture("senet18", width=0.25, depth=0.25, resolution=0.25)
    _, hit = network_latency(bigger, 10, "cpu", tmp_path, threads=1, settings=FAST)
    assert not hit
    assert len(list(tmp_path.glob("*.json"))) == 3


def test_measuring_restores_the_thread_count_and_the_random_state(tmp_path):
    torch.set_num_threads(2)
    state = torch.random.get_rng_state()
    network_latency(TINY, 10, "cpu", None, threads=1, settings=FAST)
    assert torch.get_num_threads() == 2
    assert torch.equal(torch.random.get_rng_state(), state)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="repeats >= 1"):
        LatencySettings(repeats=0)
    with pytest.raises(ValueError, match="warmup >= 0"):
        LatencySettings(warmup=-1)
