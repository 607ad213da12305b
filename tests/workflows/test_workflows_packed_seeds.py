"""A trial's seeds trained packed (hsearch.workflows.seeds.train_pack, hsearch.train.packed_seeds)
without Ray: per-seed results, subsets and TensorBoard curves as solo; faults and fall-backs."""

from __future__ import annotations

import pytest

from hsearch.data import AugmentConfig, SubsetSizes, load_dataset
from hsearch.train import DIVERGED, OK, OOM, Architecture, TrainConfig, parse_budget
from hsearch.workflows.faults import Fault
from hsearch.workflows.seeds import PackedSeeds, SeedWork, seed_runner, train_pack, train_seed
from hsearch.workflows.trial_spec import TrialSpec

TINY = Architecture("senet18", width=0.125, depth=0.5, resolution=0.25)
SIZES = SubsetSizes(train_per_class=10, val_per_class=5, test_per_class=0)
FAST = TrainConfig(lr=0.05, batch_size=25,  # default format: --pack == --no-pack
                   augment=AugmentConfig(crop_flip=True, autoaugment=False, cutout=False))


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _work(tmp_path, arch=TINY, pack=True) -> tuple[TrialSpec, SeedWork]:
    spec = TrialSpec(arch=arch, train=FAST, budget=parse_budget("2ep"), seeds=(0, 1, 2), sizes=SIZES,
                     torch_threads=1, pack=pack)
    return spec, SeedWork.of(spec, arch, FAST, tmp_path)


def test_packed_seeds_report_what_solo_seeds_report(tmp_path, digits):
    from tests.workflows.test_workflows_tune import scalars

    spec, work = _work(tmp_path / "packed")
    run = train_pack(work, digits, [0, 1, 2])
    assert run.groups == ((0, 1, 2),) and run.notes == ()
    _, solo_work = _work(tmp_path / "solo", pack=False)
    for packed in run.results:
        alone = train_seed(solo_work, digits, packed.seed)
        assert packed.status == alone.status == OK
        assert packed.subset_digest == alone.subset_digest  # the seed's own subset
        assert (packed.steps, packed.epochs) == (alone.steps, alone.epochs)
        assert packed.accuracy == pytest.approx(alone.accuracy, abs=1e-9)
        assert [h["loss"] for h in packed.history] == \
            pytest.approx([h["loss"] for h in alone.history], rel=1e-4)
        curves = scalars(tmp_path / "packed" / f"seed_{packed.seed}")
        assert [v for _, v in curves["train/loss"]] == \
            pytest.approx([h["loss"] for h in packed.history])
        assert curves["final/acc"][0][1] == pytest.approx(packed.accuracy)


def test_the_runner_packs_only_when_asked_and_with_two_seeds(tmp_path):
    spec, work = _work(tmp_path)
    assert isinstance(seed_runner(spec, work, None, [0, 1]), PackedSeeds)
    assert not isinstance(seed_runner(spec, work, None, [0]), PackedSeeds)
    spec, work = _work(tmp_path, pack=False)
    assert not isinstance(seed_runner(spec, work, None, [0, 1, 2]), PackedSeeds)


def test_an_unpackable_model_trains_solo_and_says_why(tmp_path, digits):
    arch = Architecture("efficientnet_b0", width=0.125, depth=0.25, resolution=0.25)
    _, work = _work(tmp_path, arch=arch)
    run = train_pack(work, digits, [0, 1])
    assert run.groups == ((0,), (1,))
    assert "efficientnet_b0 trains solo" in run.notes[0] and "Dropout" in run.notes[0]
    assert [r.seed for r in run.results] == [0, 1]


def test_out_of_memory_retries_smaller_packs_then_solo(tmp_path, digits):
    _, work = _work(tmp_path)
    run = train_pack(Fault("oom").arm(work), digits, [0, 1, 2])
    assert [r.status for r in run.results] == [OOM] * 3
    assert run.groups == ((0,), (1,), (2,))  # 3 -> 2 + 1 -> solo, every try out of memory
    assert "a pack of 3 seeds ran out of device memory" in run.notes[0]
    assert "a pack of 2 seeds" in run.notes[1]
    for seed in (0, 1, 2):  # the failed packs' event files are gone: one per seed folder
        assert len(list((tmp_path / f"seed_{seed}").glob("events.out.tfevents.*"))) == 1


def test_diverge_fault_diverges_every_packed_seed(tmp_path, digits):
    _, work = _work(tmp_path)
    run = train_pack(Fault("diverge").arm(work), digits, [0, 1])
    assert [r.status for r in run.results] == [DIVERGED, DIVERGED]
    assert run.groups == ((0, 1),)
