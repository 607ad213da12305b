"""Bad input to the workflow commands: one clear line on stderr, exit code 2, no traceback,
nothing lost, and (where the input can tell) before Ray or any training starts.

Every case runs in-process (``hsearch.cli.main``, stderr captured at the file-descriptor level,
so Ray's or C++ output would show), and leaves every file already on disk as it was. A few also
run as real ``python -m hsearch`` subprocesses, all at once: an unreachable ``--address`` (refused
in a fraction of a second, before torch is even imported), an argparse error, and ``resume`` of a
directory that is not a run and of a killed run with a bad override.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from hsearch.cli import main


def unwritable_dir(tmp_path: Path) -> Path:
    """A path under which nothing can be created (root ignores permission bits: use /sys)."""
    if os.geteuid() != 0:
        locked = tmp_path / "locked"
        locked.mkdir()
        locked.chmod(0o500)
        return locked / "run"
    if not os.path.isdir("/sys"):
        pytest.skip("no read-only place to test an unwritable --out")
    return Path("/sys/hsearch-test-run")


def make_files(tmp_path: Path) -> dict:
    """The YAML files and directories the cases refer to."""
    files = {"tmp": tmp_path}
    files["syntax"] = tmp_path / "syntax.yaml"
    files["syntax"].write_text("bounds: {width: [0.5, 2\n")
    files["unknown_key"] = tmp_path / "unknown_key.yaml"
    files["unknown_key"].write_text("search:\n  searcher: nomad\n  max_evalz: 3\n")
    files["wrong_type"] = tmp_path / "wrong_type.yaml"
    files["wrong_type"].write_text("seeds: many\n")
    files["empty_bounds"] = tmp_path / "empty_bounds.yaml"
    files["empty_bounds"].write_text("bounds: {width: []}\n")
    files["lr_range"] = tmp_path / "lr_range.yaml"
    files["lr_range"].write_text("space: {lr: [0.5, 0.01]}\n")
    files["a_file"] = tmp_path / "a_file"
    files["a_file"].write_text("not a directory\n")
    files["old_run"] = tmp_path / "old_run"
    files["old_run"].mkdir()
    (files["old_run"] / "config.yaml").write_text("workflow: nas\nsettings: {}\n")
    files["partial"] = tmp_path / "partial"
    files["partial"].mkdir()
    (files["partial"] / "evaluations.csv").write_text("eval_id,trial_id\n1,a\n")
    files["not_a_run"] = tmp_path / "not_a_run"
    files["not_a_run"].mkdir()
    files["unwritable"] = unwritable_dir(tmp_path)
    return files


# name: (argv with {placeholders}, fragment of the error line)
CASES = {
    "unknown model": (["nas", "--model", "resnet9000"], "unknown model 'resnet9000'"),
    "unknown searcher": (["nas", "--searcher", "bohb-ish"], "unknown searcher 'bohb-ish'"),
    "unknown objective": (["nas", "--objective", "flops"], "unknown objective 'flops'"),
    "unknown constraint metric": (["demo", "--constraint", "energy <= 3"],
                                  "unknown metric 'energy'"),
    "unparsable constraint": (["nas", "--constraint", "latency_ms < 2.5"],
                              "strict < and > are not supported"),
    "unknown data set": (["hpo", "--data", "mnist"], "unknown data set 'mnist'"),
    "no data root": (["nas", "--data", "cifar10"], "needs a data root"),
    "missing data root": (["nas", "--data", "cifar10", "--data-root", "{tmp}/nowhere"],
                          "CIFAR-10 not found"),
    "zero budget": (["nas", "--budget", "0s"], "budget must be positive"),
    "negative budget": (["hpo", "--budget=-5m"], "budget must be positive"),
    "malformed budget": (["nas", "--budget", "fast"], "cannot read budget 'fast'"),
    "budget without unit": (["nas", "--budget", "600"], "no unit"),
    "reversed bounds": (["nas", "--width-bounds", "2", "0.5"],
                        "`0 < low <= 1 <= high` must hold for bounds.width"),
    "bounds leaving nothing to search": (
        ["nas", "--width-bounds", "1", "1", "--depth-bounds", "1", "1",
         "--resolution-bounds", "1", "1"], "nothing to search"),
    "bounds without values": (["nas", "--width-bounds"], "expected 2 arguments"),
    "empty bounds in YAML": (["nas", "--config", "{empty_bounds}"], "expected 2 values, got 0"),
    "reversed lr range in YAML": (["hpo", "--config", "{lr_range}"],
                                  "`0 < low < high` must hold for space.lr"),
    "zero width": (["nas", "--width", "0"], "`width > 0` must hold"),
    "negative width": (["evaluate", "--width=-1"], "`width > 0` must hold"),
    "zero seeds": (["nas", "--seeds", "0"], "`seeds >= 1` must hold"),
    "negative seeds": (["baseline", "--seeds=-2"], "`seeds >= 1` must hold"),
    "YAML syntax error": (["nas", "--config", "{syntax}"], "YAML syntax error (line 2"),
    "unknown YAML key": (["nas", "--config", "{unknown_key}"], "search.max_evalz: unknown key"),
    "wrong value type": (["nas", "--config", "{wrong_type}"],
                         "seeds: expected an integer, got 'many'"),
    "missing YAML file": (["nas", "--config", "{tmp}/absent.yaml"], "no such file"),
    "non-integer flag": (["nas", "--seeds", "two"], "invalid int value: 'two'"),
    "unknown flag": (["nas", "--max-eval", "3"], "unrecognized arguments"),
    "out is a file": (["nas", "--out", "{a_file}"], "exists and is not a directory"),
    "out under a file": (["nas", "--out", "{a_file}/run"], "is not a writable directory"),
    "out not writable": (["nas", "--out", "{unwritable}"], "is not a writable directory"),
    "out holds a run": (["nas", "--out", "{old_run}"], "holds a run already"),
    "out holds run results": (["hpo", "--out", "{partial}"], "holds results of a run already"),
    "resume a directory that is not a run": (["resume", "{not_a_run}"], "not a run directory"),
    "resume a missing directory": (["resume", "{tmp}/nowhere"], "no such run directory"),
    "report a directory that is not a run": (["report", "{not_a_run}"], "not a run directory"),
    "address refused": (["nas", "--address", "127.0.0.1:1"], "Connection refused"),
    "address without port": (["nas", "--address", "headnode"], "must be 'auto', host:port"),
    "address with a bad port": (["nas", "--address", "10.0.0.1:99999"],
                                "must be 'auto', host:port"),
    "address of an unknown host": (["hpo", "--address", "no-such-host.invalid:6379"],
                                   "unknown host 'no-such-host.invalid'"),
    "more CPUs than the machine": (["nas", "--cpus-per-seed", "100000"],
                                   "needs 100000 CPUs"),
    "GPUs on a machine without": (["nas", "--gpus-per-seed", "1"], "GPUs"),
    "zero concurrency": (["hpo", "--concurrency", "0"], "concurrency >= 1"),
}

# also as real subprocesses (all started at once)
IN_SUBPROCESS = ("address refused", "bounds without values", "resume a directory that is not a run")


@pytest.fixture
def files(tmp_path):
    return make_files(tmp_path)


def expand(argv, files) -> list[str]:
    return [a.format(**files) for a in argv]


def check_one_line(command: str, code: int, err: str, fragment: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    assert lines[0].startswith(f"hsearch {command}: error: ") or (
        lines[0].startswith("hsearch: error: ")), lines[0]
    assert fragment in lines[0], lines[0]
    return lines[0]


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_is_one_line_exit_2_before_ray(name, files, capfd):
    import ray

    argv, fragment = CASES[name]
    argv = expand(argv, files)
    if argv[0] not in ("resume", "report") and "--out" not in argv:
        argv += ["--out", str(files["tmp"] / "never")]
    if name == "GPUs on a machine without":
        import torch

        if torch.cuda.is_available():
            pytest.skip("this machine has a GPU")
    ray_before = ray.is_initialized()
    on_disk = fingerprint(files["tmp"])
    capfd.readouterr()
    with pytest.raises(SystemExit) if name in ("bounds without values", "non-integer flag",
                                                "unknown flag") else _no_raise() as exit_info:
        code = main(argv)
    if exit_info is not None and exit_info.value is not None:
        code = exit_info.value.code
    check_one_line(argv[0], code, capfd.readouterr().err, fragment)
    assert not (files["tmp"] / "never").exists()  # nothing was created for a refused run
    assert fingerprint(files["tmp"]) == on_disk  # nothing there changed (old runs included)
    assert ray.is_initialized() == ray_before  # Ray was not started for it


class _no_raise:
    """``with`` block that binds None (the counterpart of pytest.raises above)."""

    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_an_address_that_accepts_but_is_not_ray_fails_fast(files, capfd, monkeypatch):
    """A port that accepts TCP but does not speak gRPC: ray.init would retry for minutes."""
    from hsearch.workflows import ray_session

    monkeypatch.setattr(ray_session, "CONNECT_TIMEOUT_S", 1.0)
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    accepted = []
    thread = threading.Thread(target=lambda: accepted.append(server.accept()), daemon=True)
    thread.start()
    try:
        port = server.getsockname()[1]
        start = time.monotonic()
        code = main(["nas", "--address", f"127.0.0.1:{port}", "--out",
                     str(files["tmp"] / "never")])
        elapsed = time.monotonic() - start
    finally:
        server.close()
    check_one_line("nas", code, capfd.readouterr().err, "does not answer as a Ray cluster")
    print(f"refused a non-Ray address in {elapsed:.1f} s")
    assert not (files["tmp"] / "never").exists()


def fingerprint(folder: Path) -> dict:
    """Every file (its sha256) and folder under ``folder``."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "folder" for p in sorted(folder.rglob("*"))}


@pytest.fixture
def run_with_evaluations(tmp_path):
    """A run directory of a NAS killed after two evaluations (written as the recorder does)."""
    from hsearch.results import EvaluationLog
    from hsearch.workflows.run_dir import write_run_config
    from hsearch.workflows.settings import NasSettings, ResourceSettings

    run = tmp_path / "killed"
    run.mkdir()
    settings = NasSettings(seeds=2, budget="1ep",
                           resources=ResourceSettings(address="127.0.0.1:1"))
    write_run_config(run, "nas", settings)
    log = EvaluationLog(run, "macs", "min")
    for n, (macs, acc) in enumerate([(5.0e5, 0.31), (3.0e5, 0.29)]):
        log.record({"trial_id": f"37015e4{n}", "status": "ok", "feasible": True, "macs": macs,
                    "acc_mean": acc, "width": 1.0})
    return run


def test_resume_with_a_bad_override_loses_nothing(run_with_evaluations, capfd):
    run = run_with_evaluations
    before = fingerprint(run)
    for argv, fragment in (
        (["resume", str(run), "--address", "127.0.0.1:1"], "Connection refused"),
        (["resume", str(run), "--address", "nowhere"], "must be 'auto', host:port"),
        (["resume", str(run)], "Connection refused"),  # the run's own address is gone
    ):
        check_one_line("resume", main(argv), capfd.readouterr().err, fragment)
        assert fingerprint(run) == before  # not a byte changed
    config = run / "config.yaml"
    config.write_text(config.read_text().replace("seeds: 2", "seeds: 0"))
    before = fingerprint(run)
    check_one_line("resume", main(["resume", str(run)]), capfd.readouterr().err,
                   "`seeds >= 1` must hold")
    assert fingerprint(run) == before
    from hsearch.results import read_rows

    assert [r["trial_id"] for r in read_rows(run / "evaluations.csv")] == ["37015e40",
                                                                           "37015e41"]


def test_bad_input_through_python_m_hsearch(files, run_with_evaluations):
    env = {k: v for k, v in os.environ.items() if k != "HSEARCH_DEBUG"}
    cases = {name: expand(CASES[name][0], files) for name in IN_SUBPROCESS}
    for argv in cases.values():
        if argv[0] not in ("resume", "report") and "--out" not in argv:
            argv += ["--out", str(files["tmp"] / "never")]
    cases["resume with a bad override"] = ["resume", str(run_with_evaluations), "--address",
                                           "127.0.0.1:1"]
    before = fingerprint(run_with_evaluations)
    start = time.monotonic()
    processes = {name: subprocess.Popen([sys.executable, "-m", "hsearch", *argv], env=env,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, cwd=files["tmp"])
                 for name, argv in cases.items()}
    for name, process in processes.items():
        _, err = process.communicate(timeout=120)
        fragment = CASES[name][1] if name in CASES else "Connection refused"
        check_one_line(cases[name][0], process.returncode, err, fragment)
    print(f"{len(cases)} refusals as real processes, at once, in {time.monotonic() - start:.1f} s")
    assert not (files["tmp"] / "never").exists()
    assert fingerprint(run_with_evaluations) == before


@pytest.mark.parametrize("error", [ValueError("a bug's ValueError"), KeyError("arch_model"),
                                   TypeError("a bug's TypeError")])
@pytest.mark.parametrize("command", ["nas", "demo", "hpo"])
def test_a_bug_shows_its_traceback_and_exit_1(command, error, tmp_path, capfd, monkeypatch):
    """Only user errors are one line and exit 2: an exception from hsearch's own code (here a
    run function that raises) is a bug, shown with its traceback and a line saying so."""
    import hsearch.workflows.demo
    import hsearch.workflows.hpo
    import hsearch.workflows.nas

    def broken(*args, **kwargs):
        raise error

    module, name = {"nas": (hsearch.workflows.nas, "run_nas"),
                    "demo": (hsearch.workflows.demo, "run_demo"),
                    "hpo": (hsearch.workflows.hpo, "run_hpo")}[command]
    monkeypatch.setattr(module, name, broken)
    monkeypatch.delenv("HSEARCH_DEBUG", raising=False)
    capfd.readouterr()
    code = main([command, "--out", str(tmp_path / "never")])
    err = capfd.readouterr().err
    assert code == 1, err
    assert "Traceback (most recent call last)" in err, err
    assert f"{type(error).__name__}: " in err or f"{type(error).__name__}(" in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"hsearch {command}: internal error ({type(error).__name__}): a bug "
                           f"in hsearch"), last
    assert "error: " not in err.replace("internal error", ""), err  # not dressed as bad input


def test_a_user_error_from_a_run_function_is_still_one_line(tmp_path, capfd, monkeypatch):
    """A UserError raised deep in a run (e.g. a run directory found bad late) stays exit 2."""
    import hsearch.workflows.nas
    from hsearch.errors import UserError

    def refuses(*args, **kwargs):
        raise UserError("found late: the data set changed under the run")

    monkeypatch.setattr(hsearch.workflows.nas, "run_nas", refuses)
    monkeypatch.delenv("HSEARCH_DEBUG", raising=False)
    capfd.readouterr()
    code = main(["nas", "--out", str(tmp_path / "never")])
    check_one_line("nas", code, capfd.readouterr().err, "found late")
