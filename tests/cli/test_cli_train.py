"""``hsearch train``: a tiny run end to end through ``python -m hsearch`` (a subprocess), the run
directory rules and the one-line errors (in process, where a subprocess adds nothing but imports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TINY_RUN = ["--model", "senet18", "--width", "0.25", "--depth", "0.5", "--resolution", "0.5",
            "--budget", "1ep", "--seeds", "2", "--batch-size", "100", "--no-augment",
            "--train-per-class", "20", "--val-per-class", "10", "--test-per-class", "0",
            "--threads", "1"]


def start(args: list[str], cwd: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("HSEARCH_DEBUG", None)
    return subprocess.Popen([sys.executable, "-m", "hsearch", "train", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


def test_tiny_run_writes_result_json_and_tensorboard_events(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # a folder with other files is fine ...
    code, stdout, stderr = finish(start([*TINY_RUN, "--out", str(out)], tmp_path))
    assert code == 0, stderr
    assert (out / "notes.txt").read_text() == "mine"  # ... and they are left alone
    # result.json and TensorBoard folders only: no config.yaml or summary.txt of the workflows
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "result.json", "seed_0",
                                                     "seed_1"]
    # the per-seed table and the summary line
    lines = stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:2] == ["seed", "status"])
    table = [line.split() for line in lines[header + 1:header + 3]]
    assert [row[:2] for row in table] == [["0", "ok"], ["1", "ok"]]
    assert "±" in lines[header + 3] and "M MACs" in stdout

    record = json.loads((out / "result.json").read_text())
    assert record["seeds"] == [0, 1] and record["statuses"] == ["ok", "ok"]
    assert len(record["accs"]) == 2 and len(set(record["subset_digests"])) == 2
    assert [float(row[2]) for row in table] == [round(a, 4) for a in record["accs"]]
    assert [row[-1] for row in table] == record["subset_digests"]
    assert record["arch"] == {"model": "senet18", "width": 0.25, "depth": 0.5, "resolution": 0.5}
    # batch size from the flag, lr from the digits profile (SGD's scale)
    assert record["config"]["batch_size"] == 100 and record["config"]["lr"] == 0.2
    assert record["provenance"]["train.batch_size"] == "user"
    assert record["provenance"]["train.lr"] == "profile:digits"
    assert record["machine"]["torch_threads"] == 1 and record["machine"]["cpu_count"] >= 1
    # 200 images in batches of 100 for 1 epoch: 2 steps a seed, warned once for both seeds
    assert stderr.count("optimiser steps") == 1 and "about 2 optimiser steps" in stderr
    assert len(record["warnings"]) == 1 and "resolution=0.5 (user)" in stdout
    assert "defaults: width=0.25 (user), resolution=0.5 (user)" in stdout
    assert record["config"]["augment"]["autoaugment"] is False
    assert record["budget"]["text"] == "1ep" and record["split"] == "val"
    assert record["data"]["sizes"] == {"train_per_class": 20, "val_per_class": 10,
                                       "test_per_class": 0}
    assert record["macs"] > 0 and record["resolution"] == 16
    assert "hsearch" in record["version"] and record["torch_threads"] == 1
    assert f"{record['acc_mean']:.4f} ± {record['acc_std']:.4f}" in stdout

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for seed in (0, 1):
        events = EventAccumulator(str(out / f"seed_{seed}"))
        events.Reload()
        tags = set(events.Tags()["scalars"])
        assert {"train/loss", "train/acc", "eval/acc", "train/lr", "time/images_per_second",
                "final/acc"} <= tags
        final = events.Scalars("final/acc")
        assert final[-1].value == pytest.approx(record["accs"][seed], abs=1e-6)

    # a second run into the same folder is refused rather than mixed in (in process: cheaper)
    from hsearch.cli import main

    before = (out / "result.json").read_text()
    assert main(["train", *TINY_RUN, "--out", str(out)]) == 2
    assert (out / "result.json").read_text() == before


@pytest.mark.parametrize("leftover", ["result.json", "seed_0", "config.yaml", "evaluations.csv"])
def test_out_holding_a_run_or_part_of_one_is_refused(leftover, tmp_path, capsys):
    """No overwriting and no flag to force it, as for the workflow commands: an interrupted run
    (seed_* folders only) or a workflow's run directory is refused like a finished run."""
    from hsearch.cli import main

    out = tmp_path / "run"
    out.mkdir()
    if leftover.startswith("seed_"):
        (out / leftover).mkdir()
        (out / leftover / "events.out.tfevents.1").write_bytes(b"old")
    else:
        (out / leftover).write_text("old")
    code = main(["train", *TINY_RUN, "--out", str(out)])
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1
    assert "holds results of a run already" in lines[0] and leftover in lines[0]
    assert sorted(p.name for p in out.iterdir()) == [leftover]  # nothing added or removed


def test_out_that_is_a_file_is_refused(tmp_path, capsys):
    from hsearch.cli import main

    (tmp_path / "file").write_text("x")
    assert main(["train", *TINY_RUN, "--out", str(tmp_path / "file")]) == 2
    assert "is not a directory" in capsys.readouterr().err


BAD_ARGUMENTS = {
    "unknown model": (["--model", "resnet9000"], "unknown model 'resnet9000'"),
    "zero budget": (["--budget", "0s"], "budget must be positive"),
    "negative budget": (["--budget=-3m"], "budget must be positive"),
    "budget without unit": (["--budget", "600"], "no unit"),
    "zero width": (["--width", "0"], "width > 0"),
    "negative width": (["--width=-0.5"], "width > 0"),
    "zero depth": (["--depth", "0"], "depth > 0"),
    "missing data root": (["--data", "cifar10"], "needs a data root"),
    "absent data root": (["--data", "cifar10", "--data-root", "/nonexistent/cifar"],
                         "CIFAR-10 not found"),
    "unknown data set": (["--data", "mnist"], "unknown data set 'mnist'"),
    "zero seeds": (["--seeds", "0"], "`seeds >= 1` must hold"),
    "negative first seed": (["--first-seed=-1"], "`first_seed >= 0` must hold"),
    "unknown optimizer": (["--optimizer", "rmsprop"], "unknown optimizer 'rmsprop'"),
    "bad lr": (["--lr=-1"], "lr > 0"),
    "unknown device": (["--device", "tpu"], "device"),
    "scored split empty": (["--split", "test", "--test-per-class", "0"], "--test-per-class is 0"),
    "subset larger than a class": (["--train-per-class", "5000"], "must hold"),
    "zero threads": (["--threads", "0"], "`threads >= 1` must hold"),
}
# Run as a real subprocess too: the case that gets furthest (torch, torchvision and the data
# loader imported; each subprocess costs several seconds of imports, so only this one).
IN_SUBPROCESS = ("missing data root",)


def check_one_line(name: str, code: int, stderr: str) -> None:
    fragment = BAD_ARGUMENTS[name][1]
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert code == 2, (name, stderr)
    assert "Traceback" not in stderr, name
    assert len(lines) == 1, (name, stderr)
    assert lines[0].startswith("hsearch train: error: "), (name, lines[0])
    assert fragment in lines[0], (name, lines[0])


@pytest.mark.parametrize("name", sorted(BAD_ARGUMENTS))
def test_bad_argument_exits_2_with_one_line(name, tmp_path, capsys):
    from hsearch.cli import main

    args, _ = BAD_ARGUMENTS[name]
    code = main(["train", *args, "--out", str(tmp_path / "never")])
    check_one_line(name, code, capsys.readouterr().err)
    assert not (tmp_path / "never").exists()  # nothing written for a rejected command


def test_bad_arguments_through_python_m_hsearch_exit_2_without_traceback(tmp_path):
    processes = {name: start([*BAD_ARGUMENTS[name][0], "--out", str(tmp_path / "never")], tmp_path)
                 for name in IN_SUBPROCESS}
    for name, process in processes.items():
        code, _, stderr = finish(process)
        check_one_line(name, code, stderr)
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize("args, fragment", [
    (["--first-seed", "one"], "argument --first-seed: invalid int value: 'one'"),
    (["--split", "train"], "argument --split: invalid choice: 'train'"),
    (["--concurrency", "2"], "unrecognized arguments: --concurrency"),  # workflows' only
])
def test_argument_errors_exit_2_with_one_line(args, fragment, tmp_path, capsys):
    """The row's own flags keep their types and choices (argparse's errors, one line)."""
    from hsearch.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train", *args, "--out", str(tmp_path / "never")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert exit_info.value.code == 2 and len(lines) == 1
    assert lines[0].startswith("hsearch") and ": error: " in lines[0] and fragment in lines[0]
    assert not (tmp_path / "never").exists()


def test_a_diverged_seed_exits_1_with_its_result_written(tmp_path, capsys):
    """Exit code 1 (not 2: the input was fine) when a seed fails; result.json says which."""
    from hsearch.cli import main

    out = tmp_path / "run"
    code = main(["train", *TINY_RUN, "--seeds", "1", "--batch-size", "20", "--lr", "1e12",
                 "--out", str(out)])
    record = json.loads((out / "result.json").read_text())
    assert code == 1 and record["statuses"] == ["diverged"] and record["n_failed"] == 1
    assert "1 failed, counted as 0" in capsys.readouterr().out


def test_result_options_keep_the_budget_as_written():
    from hsearch.workflows.train import TrainSettings, command_options

    options = command_options(TrainSettings(budget="10m"), Path("run"))
    assert options["budget"] == "10m"  # as the flag said it, not its 600s meaning
