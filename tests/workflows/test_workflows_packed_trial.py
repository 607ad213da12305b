"""A trial whose seeds train packed, through Ray Tune: the same accuracies as ``--no-pack``, the
packing recorded in its result, a re-run trial replays its result, and the seed cache serves a
packed trial's seeds to a later one."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from hsearch.data import AugmentConfig, SubsetSizes, load_dataset
from hsearch.train import Architecture, TrainConfig, parse_budget
from hsearch.workflows.context import run_fixed
from hsearch.workflows.ray_session import put_dataset
from hsearch.workflows.trial import RESULT_FILE
from hsearch.workflows.trial_spec import TrialSpec

pytestmark = pytest.mark.ray

SPEC = TrialSpec(arch=Architecture("senet18", width=0.125, depth=0.5, resolution=0.25),
                 train=TrainConfig(batch_size=25, lr=0.05,  # default format
                                   augment=AugmentConfig(False, False, False)),
                 budget=parse_budget("2ep"), seeds=(0, 1, 2), sizes=SubsetSizes(10, 5, 0), torch_threads=1)


def _trial_result(run_dir: Path) -> dict:
    (path,) = Path(run_dir).rglob(RESULT_FILE)
    return json.loads(path.read_text())


def test_a_packed_trial_matches_the_unpacked_one(ray_session, tmp_path):
    data = put_dataset(load_dataset("digits"))
    packed_spec = replace(SPEC, pack=True, cache_dir=str(tmp_path / "cache"))
    solo = run_fixed(tmp_path / "solo", SPEC, data, None)[0]
    packed = run_fixed(tmp_path / "packed", packed_spec, data, None)[0]
    assert packed["status"] == solo["status"] == "ok"
    assert packed["accs"] == pytest.approx(solo["accs"], abs=1e-9)
    assert packed["seeds_trained"] == 3 and packed["seed_runs_saved"] == 0
    record = _trial_result(tmp_path / "packed")["pack"]
    assert record["groups"] == [[0, 1, 2]] and record["notes"] == []
    assert "group" in record["time_rule"]
    assert "pack" not in _trial_result(tmp_path / "solo")  # --no-pack: today's result
    # finished packed seeds are in the cache: a later trial of the network trains nothing
    again = run_fixed(tmp_path / "again", packed_spec, data, None)[0]
    assert again["seeds_reused"] == 3 and again["seeds_trained"] == 0
    assert again["accs"] == packed["accs"]
