"""Same machine, same thread count: two ``hsearch train`` processes give bit-identical results."""

import json
import os
import subprocess
import sys

import pytest

RUN = ["--model", "senet18", "--width", "0.25", "--depth", "0.5", "--budget", "2ep",
       "--seeds", "1", "--batch-size", "50", "--train-per-class", "20", "--val-per-class", "10",
       "--test-per-class", "0", "--crop-flip", "--autoaugment", "--cutout"]


def learned(out, threads: int) -> dict:
    env = dict(os.environ)
    env.pop("HSEARCH_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "hsearch", "train", *RUN, "--threads",
                           str(threads), "--out", str(out)], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    record = json.loads((out / "result.json").read_text())
    seed = record["seed_results"][0]
    return {"accs": record["accs"], "steps": seed["steps"],
            "history": [(h["loss"], h["train_acc"], h["val_acc"]) for h in seed["history"]]}


@pytest.mark.slow
def test_two_processes_with_the_same_threads_are_bit_identical(tmp_path):
    first, second = learned(tmp_path / "a", 2), learned(tmp_path / "b", 2)
    assert first["steps"] == 8 and len(first["history"]) == 2
    assert first == second  # exact float equality: every loss, accuracy, step
