"""The test-fault hook (hsearch.workflows.faults) armed into a seed's work and trained by the real
trainer, without Ray: the seed runners see only a SeedWork, so a fault must act through it.

The rules file and the trial numbering need a Tune trial (tests/faults/test_faults_tune.py runs
every kind, kill and hang included, in real Ray trials)."""

from __future__ import annotations

import pickle

import pytest
import torch

from hsearch.data import AugmentConfig, SubsetSizes, load_dataset
from hsearch.train import DIVERGED, OOM, Architecture, TrainConfig, parse_budget
from hsearch.workflows.faults import FAULTS_ENV, Fault, hook_from
from hsearch.workflows.seeds import SeedWork, train_seed
from hsearch.workflows.trial_spec import TrialSpec

TINY = Architecture("senet18", width=0.125, depth=0.5, resolution=0.25)
SIZES = SubsetSizes(train_per_class=10, val_per_class=5, test_per_class=0)
FAST = TrainConfig(lr=0.1, batch_size=50,
                   augment=AugmentConfig(crop_flip=False, autoaugment=False, cutout=False))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture
def work(tmp_path):
    spec = TrialSpec(arch=TINY, train=FAST, budget=parse_budget("1ep"), seeds=(0,), sizes=SIZES,
                     torch_threads=1)
    return SeedWork.of(spec, TINY, FAST, tmp_path)


def test_without_rules_there_is_no_hook(tmp_path):
    assert hook_from(None, tmp_path) is None
    assert hook_from("", tmp_path) is None


def test_diverge_trains_every_seed_into_a_real_nan(work, digits):
    armed = Fault("diverge").arm(work)
    assert armed.train.lr == 1e30 and armed.report is None
    assert work.train.lr == FAST.lr  # the trial's own work is left as it was
    result = train_seed(armed, digits, 0)
    assert result.status == DIVERGED and not result.ok


def test_oom_fires_inside_the_trainer_and_fails_the_seed(work, digits):
    armed = Fault("oom").arm(work)
    assert armed.report == Fault("oom") and armed.train == work.train
    result = train_seed(armed, digits, 0)
    assert result.status == OOM and FAULTS_ENV in result.message


def test_raise_propagates_out_of_the_seed(work, digits):
    with pytest.raises(RuntimeError, match=f"fault injected by {FAULTS_ENV}"):
        train_seed(Fault("raise").arm(work), digits, 0)


def test_an_armed_work_travels_to_seed_tasks(work):
    for kind in ("raise", "oom", "diverge"):
        armed = Fault(kind).arm(work)
        assert pickle.loads(pickle.dumps(armed)) == armed


def test_untrained_attempts_fire_only_the_faults_that_need_no_training():
    Fault("oom").fire_untrained()  # nothing to act on without training: no error
    Fault("diverge").fire_untrained()
    with pytest.raises(RuntimeError):
        Fault("raise").fire_untrained()
    assert Fault("oom").in_training and Fault("diverge").in_training
    assert not any(Fault(k).in_training for k in ("raise", "kill", "hang"))
    with pytest.raises(torch.OutOfMemoryError):
        Fault("oom")(epoch=1)
