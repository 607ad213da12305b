"""The packed trainer against the solo trainer: each seed of a pack trains as it would alone."""

import math

import pytest
import torch

from hsearch.data import AugmentConfig, SubsetSizes, make_subset
from hsearch.models import create_model, list_models
from hsearch.train import (
    OPTIMIZERS,
    Architecture,
    TrainConfig,
    evaluate_accuracy,
    prepare_data,
    train,
)
from hsearch.train.packed import check_packable, pack_problem, train_packed
from hsearch.train.run_types import DIVERGED, OK, derive_seed
from hsearch.train import parse_budget

SEEDS = (0, 1, 2)
# The default memory format (channels_last None: one format for both trainers on CPU), so the
# only difference left is rounding (grouped vs separate convolutions); gentle steps keep that
# rounding from growing into different models.
CONFIG = TrainConfig(batch_size=20, lr=0.02,
                     augment=AugmentConfig(autoaugment=True, cutout=True))


def _model(arch: Architecture, seed: int) -> torch.nn.Module:
    """The model train_one_seed would build for ``seed``."""
    with torch.random.fork_rng():
        torch.manual_seed(derive_seed(seed, 3))
        return arch.build(num_classes=10)


@pytest.fixture(scope="module")
def seed_data(digits):
    """Each seed's own subset (10 train / 5 val images per class) at 16 px."""
    return {s: prepare_data(digits, make_subset(digits, s, SubsetSizes(10, 5, 0)), 16, "val",
                            "cpu") for s in SEEDS}


def _losses(result) -> list[float]:
    return [h["loss"] for h in result.history]


@pytest.mark.parametrize("model", ["senet18", "resnet18"])  # senet18: BatchNorm + squeeze-excite
def test_packed_seeds_match_solo_runs(model, seed_data):
    arch = Architecture(model, width=0.125, depth=0.25, resolution=0.5)
    alone_models = [_model(arch, s) for s in SEEDS]
    solo = [train(m, seed_data[s], CONFIG, parse_budget("2ep"), seed=s) for m, s in zip(alone_models, SEEDS)]
    reports = {s: [] for s in SEEDS}
    models = [_model(arch, s) for s in SEEDS]
    packed = train_packed(models, [seed_data[s] for s in SEEDS], CONFIG, parse_budget("2ep"), SEEDS,
                          reports=[lambda s=s, **m: reports[s].append(m) for s in SEEDS])
    for seed, alone, together in zip(SEEDS, solo, packed):
        assert together.status == OK and alone.status == OK
        assert together.steps == alone.steps == 10
        assert together.accuracy == pytest.approx(alone.accuracy, abs=1e-9), seed
        assert _losses(together) == pytest.approx(_losses(alone), rel=1e-4), seed
        assert [h["train_acc"] for h in together.history] == \
            pytest.approx([h["train_acc"] for h in alone.history], abs=1e-9)
        assert [m["loss"] for m in reports[seed]] == _losses(together)
    # the seeds differ from one another (their own data, initialisation and draws)
    assert len({round(_losses(r)[0], 6) for r in packed}) == len(SEEDS)
    # with default settings both trainers train in one memory format (channels_last on CPU)
    for alone, together in zip(alone_models, models):
        convs = [(a.weight, b.weight) for a, b in zip(alone.modules(), together.modules())
                 if isinstance(a, torch.nn.Conv2d)]
        assert convs and all(a.is_contiguous(memory_format=torch.channels_last)
                             and b.is_contiguous(memory_format=torch.channels_last)
                             for a, b in convs if a.shape[-1] > 1)
    # each caller's model holds its own seed's final state
    for model_k, seed in zip(models, SEEDS):
        data = seed_data[seed]
        acc = evaluate_accuracy(model_k, data.eval_images, data.eval_labels, data.mean, data.std,
                                bf16=False, channels_last=True)
        assert acc == packed[SEEDS.index(seed)].accuracy


def test_a_diverging_seed_leaves_the_pack_and_the_others_are_unchanged(seed_data):
    arch = Architecture("senet18", width=0.125, depth=0.25, resolution=0.5)
    reference = train_packed([_model(arch, s) for s in SEEDS], [seed_data[s] for s in SEEDS],
                             CONFIG, parse_budget("2ep"), SEEDS)
    models = [_model(arch, s) for s in SEEDS]
    with torch.no_grad():  # seed 1's classifier makes a non-finite loss at the first step
        next(p for n, p in models[1].named_parameters() if n.endswith("weight")).fill_(math.nan)
    results = train_packed(models, [seed_data[s] for s in SEEDS], CONFIG, parse_budget("2ep"), SEEDS)
    assert [r.status for r in results] == [OK, DIVERGED, OK]
    assert results[1].accuracy == 0.0 and results[1].steps == 1 and not results[1].history
    assert "non-finite training loss" in results[1].message
    for k in (0, 2):
        assert results[k].steps == reference[k].steps
        assert results[k].accuracy == reference[k].accuracy
        assert _losses(results[k]) == pytest.approx(_losses(reference[k]), rel=1e-5)


def test_a_time_budget_gives_every_seed_the_groups_steps(seed_data):
    arch = Architecture("senet18", width=0.125, depth=0.25, resolution=0.5)
    results = train_packed([_model(arch, s) for s in SEEDS], [seed_data[s] for s in SEEDS],
                           CONFIG, parse_budget("1s"), SEEDS)
    assert {r.steps for r in results} == {results[0].steps} and results[0].steps >= 1
    assert {r.train_seconds for r in results} == {results[0].train_seconds}
    assert all(r.status == OK and r.train_seconds >= 1.0 for r in results)


def test_models_with_dropout_are_named_and_refused(seed_data):
    model = create_model("efficientnet_b0", width_mult=0.125, depth_mult=0.25)
    assert "Dropout" in pack_problem(model)
    with pytest.raises(ValueError, match="cannot train packed"):
        check_packable([model, model], [seed_data[0], seed_data[1]], [0, 1])


@pytest.mark.parametrize("name", list_models())
def test_every_registry_model_packs_or_says_why(name):
    model = create_model(name, width_mult=0.125, depth_mult=0.25)
    if pack_problem(model) is not None:
        assert name == "efficientnet_b0"  # dropout before its classifier
        return
    models = [create_model(name, width_mult=0.125, depth_mult=0.25) for _ in range(2)]
    params, buffers = torch.func.stack_module_state(models)
    x = torch.randn(2, 2, 3, 16, 16)
    out = torch.func.vmap(lambda p, b, x: torch.func.functional_call(models[0], (p, b), (x,)))(
        params, buffers, x)
    out.sum().backward()
    assert out.shape == (2, 2, 10) and all(p.grad is not None for p in params.values())


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_leaving_the_pack_keeps_every_optimizers_state(optimizer, seed_data):
    """Seed 1 diverges at the first step; seeds 0 and 2 then go on as a pack of their own
    would (their optimiser state sliced out of the stack, whatever the optimiser keeps). The
    tolerance is wider than for SGD: Adam-like first steps are lr x sign(gradient), so the
    rounding of a near-zero gradient entry (three groups vs two) can move a weight by lr."""
    arch = Architecture("senet18", width=0.125, depth=0.25, resolution=0.25)
    config = TrainConfig(optimizer=optimizer, lr=0.01, batch_size=25, channels_last=False,
                         eval_each_epoch=False)
    pair = train_packed([_model(arch, s) for s in (0, 2)], [seed_data[s] for s in (0, 2)],
                        config, parse_budget("1ep"), (0, 2))
    models = [_model(arch, s) for s in SEEDS]
    with torch.no_grad():
        next(iter(models[1].parameters())).fill_(math.nan)
    trio = train_packed(models, [seed_data[s] for s in SEEDS], config, parse_budget("1ep"), SEEDS)
    assert [r.status for r in trio] == [OK, DIVERGED, OK]
    for alone, together in zip(pair, (trio[0], trio[2])):
        assert together.accuracy == pytest.approx(alone.accuracy, abs=1e-9)
        assert _losses(together) == pytest.approx(_losses(alone), rel=1e-3)
