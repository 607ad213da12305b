"""hsearch.train.device: bf16 default, compilation across architectures, memory after an OOM,
compile threads, the step loop's loss check. CPU everywhere; the CUDA-only checks skip here
(experiments/gpu_smoke.py measures them on a GPU)."""

from __future__ import annotations

import inspect
import logging
import math
import subprocess
import sys
import weakref

import pytest
import torch
from torch import nn

from hsearch.data import AugmentConfig
from hsearch.train import OOM, TrainConfig, train, parse_budget
from hsearch.train.device import (
    COMPILE_THREADS_ENV,
    LossCheck,
    compile_model,
    default_bf16,
    default_channels_last,
    release_memory,
)

NO_AUGMENT = AugmentConfig(crop_flip=False, autoaugment=False, cutout=False)
CUDA = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")


def small_net(width: int) -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10))


@pytest.mark.parametrize("device, capability, expected", [
    ("cpu", None, False),
    ("cuda", (7, 0), False),  # V100: bf16 "supported" through emulation only
    ("cuda", (7, 5), False),  # T4
    ("cuda", (8, 0), True),   # A100
    ("cuda", (8, 6), True),
    ("cuda", (9, 0), True),   # H100 / H200
])
def test_bf16_is_the_default_only_from_compute_capability_8(device, capability, expected):
    assert default_bf16(torch.device(device), capability) is expected


@pytest.mark.parametrize("device, packed, expected", [
    ("cpu", False, True), ("cpu", True, True),  # one format on CPU: --pack == --no-pack
    ("cuda", False, True), ("cuda", True, False),
])
def test_packed_and_solo_share_the_format_default_except_packed_on_cuda(device, packed,
                                                                         expected):
    assert default_channels_last(torch.device(device), packed=packed) is expected


def test_compiled_runs_stay_static_and_compiled_across_many_architectures():
    """A process training nine architectures (widths and resolutions) in turn: every run gets
    its own graph, with static shapes, and Dynamo never gives up (a plain torch.compile here
    makes H/W symbolic from the second run on and falls back to eager after the eighth)."""
    graphs = []

    def counting_backend(gm, example_inputs):
        graphs.append([tuple(t.shape) if isinstance(t, torch.Tensor) else t
                       for t in example_inputs])
        return gm.forward

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for i in range(9):
            width, resolution = 4 + 2 * i, 8 + 2 * (i % 3)
            model = compile_model(small_net(width), backend=counting_backend)
            before = len(graphs)
            model(torch.randn(4, 3, resolution, resolution)).sum().backward()
            assert len(graphs) == before + 1, f"architecture {i} ran without a compiled graph"
            shapes = graphs[-1]
            assert all(isinstance(s, tuple) and all(isinstance(d, int) for d in s)
                       for s in shapes), f"symbolic shapes in architecture {i}: {shapes}"
            assert (4, 3, resolution, resolution) in shapes and (width, 3, 3, 3) in shapes
    finally:
        torch.set_num_threads(threads)


def test_oom_frees_the_runs_tensors_before_releasing_memory(small_data, caplog):
    """A simulated OOM raised from inside the loop: by the time the trainer releases memory (its
    warning), the optimiser, its state, the batch and the activations are gone."""
    refs: dict[str, weakref.ref] = {}

    def report(**metrics):
        frame = inspect.currentframe()
        while frame is not None and frame.f_code.co_name != "_train":
            frame = frame.f_back
        assert frame is not None
        local = frame.f_locals
        refs["optimizer"] = weakref.ref(local["optimizer"])
        for i, state in enumerate(local["optimizer"].state.values()):
            refs[f"momentum_{i}"] = weakref.ref(state["momentum_buffer"])
        for name in ("x", "y", "loss", "logits", "idx"):
            refs[name] = weakref.ref(local[name])
        del frame, local
        raise torch.OutOfMemoryError("CUDA out of memory (simulated by the test)")

    alive_at_release = {}

    class AtRelease(logging.Handler):
        def emit(self, record):
            if "out of device memory" in record.getMessage():
                alive_at_release.update({k: r() is not None for k, r in refs.items()})

    handler = AtRelease(level=logging.WARNING)
    logger = logging.getLogger("hsearch.train.trainer")
    logger.addHandler(handler)
    try:
        model = small_net(8)
        config = TrainConfig(batch_size=64, augment=NO_AUGMENT, eval_each_epoch=False)
        result = train(model, small_data, config, parse_budget("2ep"), report=report, device="cpu")
    finally:
        logger.removeHandler(handler)
    assert result.status == OOM and "simulated" in result.message
    assert len(refs) > 6 and alive_at_release, "the report callback or the warning never ran"
    assert not any(alive_at_release.values()), \
        f"still alive when memory was released: {[k for k, v in alive_at_release.items() if v]}"
    assert all(p.grad is None for p in model.parameters())
    assert release_memory(torch.device("cpu")) == 0


@pytest.mark.parametrize("inductor_loaded_first", [False, True])
def test_seed_workers_compile_with_one_inductor_thread(inductor_loaded_first):
    """In a fresh process: whether Inductor's config is imported before or after the limit."""
    code = (
        "import os, torch\n"
        + ("import torch._inductor.config\n" if inductor_loaded_first else "")
        + "from hsearch.train.device import limit_compile_threads\n"
        "limit_compile_threads(1)\n"
        "import torch._inductor.config as c\n"
        f"print(c.compile_threads, os.environ[{COMPILE_THREADS_ENV!r}])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["1", "1"]


def test_loss_check_on_cpu_finds_a_non_finite_loss_at_its_step():
    check = LossCheck(torch.device("cpu"))
    assert not check.lagged
    assert check.after_step(1, torch.tensor(2.0)) is None
    step, value = check.after_step(2, torch.tensor(float("nan")))
    assert step == 2 and math.isnan(value)
    assert check.drain() is None
    with pytest.raises(ValueError, match="CUDA"):
        LossCheck(torch.device("cpu"), lag=1)


@CUDA
def test_loss_check_on_cuda_is_one_step_late_and_never_syncs_the_stream():
    device = torch.device("cuda")
    check = LossCheck(device)
    assert check.lagged
    losses = [torch.tensor(v, device=device) for v in (1.0, 2.0, float("inf"), 3.0)]
    torch.cuda.set_sync_debug_mode("error")  # a synchronising op (.item() ...) would raise
    try:
        found = [check.after_step(i + 1, loss) for i, loss in enumerate(losses)]
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert found[:3] == [None, None, None]
    assert found[3] == (3, math.inf)
    assert check.drain() is None


@CUDA
def test_cuda_time_budget_overruns_by_less_than_two_steps(small_data):
    model = small_net(16)
    config = TrainConfig(batch_size=64, augment=NO_AUGMENT, eval_each_epoch=False)
    result = train(model, small_data, config, parse_budget("2s"), device="cuda")
    assert result.ok and result.steps > 2
    assert result.overrun_seconds < sum(result.step_seconds[-2:])
    assert math.isclose(sum(result.step_seconds), result.train_seconds, rel_tol=0.05)
