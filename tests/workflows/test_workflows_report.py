"""The run summary reads a run directory and calls no workflow's code; whoever runs a workflow
writes it (hsearch.workflows.launch)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hsearch.workflows.run_dir import BASELINE_FILE, SUMMARY_FILE, write_run_config
from hsearch.workflows.settings import NasSettings

ROOT = Path(__file__).resolve().parents[2]

# writes summary.txt of the run in argv[1], prints the text, then which workflow modules ran
SCRIPT = """
import sys
from hsearch.workflows.report import write_summary
print(write_summary(sys.argv[1]))
ran = [m for m in ("hsearch.workflows.nas", "hsearch.workflows.hpo", "hsearch.workflows.baseline",
                   "hsearch.workflows.evaluation", "hsearch.workflows.demo") if m in sys.modules]
print("imported:", ",".join(ran))
"""


def test_the_summary_of_a_nas_run_imports_no_workflow(tmp_path):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_run_config(run_dir, "nas", NasSettings(seeds=2))
    (run_dir / BASELINE_FILE).write_text(json.dumps({
        "model": "senet18", "width": 1.0, "depth": 1.0, "resolution": 1.0, "input_size": 32,
        "acc_mean": 0.9, "acc_std": 0.01, "accs": [0.89, 0.91], "macs": 2e6, "params": 1e5,
        "measured": True, "tolerance": 0.01, "threshold": 0.89}))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(run_dir)], capture_output=True,
                          text=True, cwd=ROOT, check=True)
    text, imported = done.stdout.rsplit("imported:", 1)
    assert imported.strip() == ""
    assert text.startswith(f"hsearch nas run {run_dir} (finished)")
    assert "baseline  senet18 width 1 depth 1 resolution 1 (32 px): acc 0.9000 ± 0.0100 " \
           "(measured), 2.00M MACs" in text
    assert "threshold acc_mean >= 0.8900 (tolerance 0.01); minimising macs" in text
    assert "evals     none yet" in text
    assert (run_dir / SUMMARY_FILE).read_text() == text.rstrip("\n") + "\n"
