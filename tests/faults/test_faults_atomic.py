"""A process killed while it writes a run's results never leaves a file that ``hsearch report``
cannot read: evaluations.csv, best.json and the experiment snapshot are each the old or the new
version, whole.

The writer is a real process that records evaluations as the driver's recorder does
(hsearch.results.EvaluationLog, hsearch.files.write_atomic) and is SIGKILLed:
first deterministically *inside* a write (its file handle writes half the data, syncs it to disk
and kills the process: a writer that wrote the file in place would leave it truncated), then at
random moments of a tight write loop. No Ray here.
"""

import json
import pickle
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hsearch.cli import main
from hsearch.train import parse_budget

# argv: run dir, rows (JSON file), which write dies (1, 2, ...; 0: none), "loop" to write forever
WRITER = r"""
import json, os, pickle, signal, sys
from pathlib import Path

run, rows, die_at = Path(sys.argv[1]), json.loads(Path(sys.argv[2]).read_text()), int(sys.argv[3])
real_fdopen, calls = os.fdopen, [0]


class DyingHandle:
    '''Writes half of what it is given, syncs it to disk, and SIGKILLs its own process.'''

    def __init__(self, handle):
        self.handle = handle

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return self.handle.__exit__(*exc)

    def write(self, data):
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        os.fsync(self.handle.fileno())
        os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def fdopen(*args, **kwargs):  # the atomic writers open their temporary file with os.fdopen
    calls[0] += 1
    handle = real_fdopen(*args, **kwargs)
    return DyingHandle(handle) if calls[0] == die_at else handle


os.fdopen = fdopen
from hsearch.files import write_atomic
from hsearch.results import EvaluationLog
from hsearch.workflows.run_dir import SNAPSHOT_FILE
from hsearch.train import parse_budget

log = EvaluationLog(run, "macs", "min")
n = len(log)
while True:
    for row in rows:
        n += 1
        log.record({**row, "trial_id": f"t{n:05d}"})  # evaluations.csv, then best.json
        snapshot = {"version": 1, "files": {"experiment_state-x.json": b"{}" * 4000 * n}}
        write_atomic(run / SNAPSHOT_FILE, pickle.dumps(snapshot))
    if sys.argv[4:] != ["loop"]:
        break
"""

WRITES_PER_ROW = 3  # evaluations.csv, best.json, snapshot.pkl


@pytest.fixture
def run_dir(tmp_path):
    """A NAS run directory (config.yaml only) and evaluation rows as the recorder writes them."""
    from hsearch.train import Architecture, TrainConfig
    from hsearch.workflows.callbacks import evaluation_row
    from hsearch.workflows.run_dir import write_run_config
    from hsearch.workflows.settings import NasSettings
    from hsearch.workflows.trial_spec import TrialSpec

    run = tmp_path / "run"
    run.mkdir()
    settings = NasSettings(seeds=2, budget="1ep")
    write_run_config(run, "nas", settings)
    spec = TrialSpec(arch=Architecture(), train=TrainConfig(), budget=parse_budget("1ep"),
                     seeds=(0, 1),
                     sizes=settings.data.sizes(), threshold=0.5, baseline_macs=5e8)
    rows = []
    for k in range(3):
        config = {"width": 1.0 - 0.1 * k, "depth": 1.0, "resolution": 1.0}
        result = {"status": "ok", "feasible": True, "acc_mean": 0.6 - 0.01 * k, "acc_std": 0.01,
                  "accs": [0.59 - 0.01 * k, 0.61 - 0.01 * k] * 200, "macs": 5e8 - 5e7 * k,
                  "seeds_done": 2, "seeds_total": 2, "seed_statuses": "ok,ok"}
        rows.append(evaluation_row(f"t{k}", config, result, spec, ("width", "depth", "resolution"),
                                  objective="macs"))
    path = tmp_path / "rows.json"
    path.write_text(json.dumps(rows))
    return run, path


def start_writer(run: Path, rows: Path, die_at: int, loop: bool = False):
    argv = [sys.executable, "-c", WRITER, str(run), str(rows), str(die_at)]
    return subprocess.Popen(argv + (["loop"] if loop else []), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def check_readable(run: Path, capsys) -> list[dict]:
    """Every result file parses; the rows are whole and numbered; `hsearch report` works."""
    from hsearch.results import read_rows
    from hsearch.workflows.run_dir import SNAPSHOT_FILE

    rows = read_rows(run / "evaluations.csv") if (run / "evaluations.csv").exists() else []
    assert [r["eval_id"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(r["status"] == "ok" and len(r["accs"]) == 400 for r in rows)  # no cut-off row
    if (run / "best.json").exists():
        best = json.loads((run / "best.json").read_text())
        assert best["evaluations"] in (len(rows) - 1, len(rows))  # csv is written first
    if (run / SNAPSHOT_FILE).exists():
        assert pickle.loads((run / SNAPSHOT_FILE).read_bytes())["version"] == 1
    capsys.readouterr()
    assert main(["report", str(run), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert f"incomplete: {len(rows)} of 50 evaluations" in out
    return rows


def test_a_kill_inside_any_write_leaves_the_previous_whole_file(run_dir, capsys):
    run, rows = run_dir
    recorded = 0
    for die_at in range(1, WRITES_PER_ROW + 1):  # each time: a new row, killed in its k-th write
        writer = start_writer(run, rows, die_at)
        out, _ = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL, out
        # the file being written when the writer died is the old one, whole; those before are new
        expected = recorded + (die_at > 1)
        assert len(check_readable(run, capsys)) == expected
        recorded = expected
    assert list(run.glob(".*.tmp"))  # the half-written temporary files are all that is left
    writer = start_writer(run, rows, 0)  # a writer that is not killed records everything
    out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0, out
    assert len(check_readable(run, capsys)) == recorded + 3


def test_kills_at_random_moments_leave_readable_results(run_dir, capsys):
    run, rows = run_dir
    draw = random.Random(6)
    counts = []
    for _ in range(4):
        writer = start_writer(run, rows, 0, loop=True)
        time.sleep(draw.uniform(0.6, 1.2))  # the writer imports for ~0.3-0.5 s, then writes
        writer.send_signal(signal.SIGKILL)
        out, _ = writer.communicate(timeout=60)
        assert writer.returncode == -signal.SIGKILL, out
        counts.append(len(check_readable(run, capsys)))
    print(f"rows after each kill: {counts}")
    assert counts == sorted(counts)  # nothing recorded was lost
