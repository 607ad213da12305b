"""experiments/gpu_smoke.py's CPU dry run (--device cpu --tiny): every check runs, no Ray or
PyNomad gets imported, and the figures come out in the JSON file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "experiments" / "gpu_smoke.py"


@pytest.mark.slow
def test_gpu_smoke_dry_run_on_cpu(tmp_path):
    out = tmp_path / "smoke.json"
    env = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])}
    run = subprocess.run([sys.executable, str(SCRIPT), "--device", "cpu", "--tiny", "--out",
                          str(out)], capture_output=True, text=True, timeout=600, env=env)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert figures["forbidden_modules"] == []
    assert set(figures) >= {"env", "augment", "throughput", "sync_cost", "budget", "oom", "shared",
                            "end_to_end"}
    assert not [name for name, f in figures.items() if isinstance(f, dict) and "error" in f]
    assert figures["end_to_end"]["status"] == "ok" and 0 <= figures["end_to_end"]["accuracy"] <= 1
    assert figures["budget"]["overrun_s"] <= figures["budget"]["last_two_steps_s"]
    assert len(figures["shared"]["together_images_per_s"]) == 2
    assert all(r["status"] == "ok" for r in figures["throughput"].values() if isinstance(r, dict))


def test_gpu_smoke_without_cuda_is_one_clear_error():
    if __import__("torch").cuda.is_available():
        pytest.skip("CUDA is available here")
    env = {**os.environ, "PYTHONPATH": str(SCRIPT.parents[1])}
    run = subprocess.run([sys.executable, str(SCRIPT), "--device", "cuda"], capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 2
    assert "CUDA is not available" in run.stderr and "Traceback" not in run.stderr
