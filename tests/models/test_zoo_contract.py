"""What every model of the registry must satisfy; a new model is held to it once registered.

Parametrised over the registry (timm's tests/test_models.py). A model must:

* be a ``ZooModel`` whose ``stage_depths`` follow the depth rule ``max(1, round(n * d))``
  from its own depths at d=1, with one width per stage, and give ``[B, num_classes]`` logits;
* train (forward and backward, every parameter used) at 32 and 8 px, and run in eval mode at
  16, 64 and 13 px (the input size is free: global pooling, no fixed-size pooling);
* cost more MACs as each of width, depth and resolution grows, and more parameters as width
  and depth grow (resolution leaves the parameters alone).

The last tests register throw-away models (a sound one and one with kuangliu's fixed-size
pooling) to show the contract takes new models in and turns a broken one away.
"""

from types import MappingProxyType

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from hsearch.models import ZooModel, create_model, list_models, model_cost
from hsearch.models import cost as cost_module
from hsearch.models import registry
from hsearch.models.common import conv_bn, scale_width
from hsearch.models.skeleton import StagedNet, scaled_stages

MODELS = list_models()

# The base point of the cost checks: small enough to trace fast, deep enough that every
# family has a stage that grows when the depth multiplier does.
BASE = {"width_mult": 0.25, "depth_mult": 0.25, "resolution_mult": 0.5}
# round(0.75 n) > max(1, round(0.25 n)) for every stage of n >= 2 blocks; every model has one.
STEPS = {"width_mult": 0.5, "depth_mult": 0.75, "resolution_mult": 0.75}


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


@pytest.mark.parametrize("name", MODELS)
def test_structure(name):
    with torch.device("meta"):  # shapes only: even DPN-92 builds in a fraction of a second
        reference = create_model(name, num_classes=7)
        models = {d: create_model(name, num_classes=7, width_mult=0.5, depth_mult=d)
                  for d in (0.6, 1.7)}
    assert isinstance(reference, ZooModel) and isinstance(reference, nn.Module)
    depths = reference.stage_depths
    assert depths and all(isinstance(n, int) and n >= 1 for n in depths)
    assert len(reference.stage_widths) == len(depths)
    for depth_mult, model in models.items():
        assert model.stage_depths == tuple(max(1, round(n * depth_mult)) for n in depths)
        assert len(model.stage_widths) == len(depths)
    assert models[1.7].num_params() > models[0.6].num_params()


@pytest.mark.parametrize("name", MODELS)
def test_train_step_at_32_and_8_px(name):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, width_mult=0.25).train()
    for resolution in (32, 8):
        model.zero_grad()
        images = torch.randn(2, 3, resolution, resolution)
        logits = model(images)
        assert logits.shape == (2, 7)
        assert torch.isfinite(logits).all()
        F.cross_entropy(logits, torch.tensor([0, 6])).backward()
        grads = {n: p.grad for n, p in model.named_parameters()}
        # No dead parameters: every one of them takes part in the forward pass.
        assert [n for n, g in grads.items() if g is None] == []
        assert all(torch.isfinite(g).all() for g in grads.values())
        assert any(g.abs().sum() > 0 for g in grads.values())


@pytest.mark.parametrize("name", MODELS)
def test_eval_forward_at_any_resolution(name):
    model = create_model(name, num_classes=3, width_mult=0.25, depth_mult=0.5).eval()
    with torch.no_grad():
        for resolution in (16, 64, 13):  # 8 and 32 px: the training test above
            logits = model(torch.randn(2, 3, resolution, resolution))
            assert logits.shape == (2, 3), resolution
            assert torch.isfinite(logits).all(), resolution


@pytest.mark.parametrize("name", MODELS)
def test_cost_grows_with_every_multiplier(name):
    base = model_cost(name, **BASE)
    assert base.resolution == 16 and base.macs > 0 and base.params > 0
    for key, value in STEPS.items():
        grown = model_cost(name, **{**BASE, key: value})
        assert grown.macs > base.macs, key
        if key == "resolution_mult":
            assert grown.resolution == 24
            assert grown.params == base.params
        else:
            assert grown.params > base.params, key


CONTRACT = (test_structure, test_train_step_at_32_and_8_px, test_eval_forward_at_any_resolution,
            test_cost_grows_with_every_multiplier)


class _TinyNet(StagedNet):
    """Two stages of conv-BN-ReLU blocks; ``fixed_pool``: a fixed 8x8 average pooling before
    the head (the trap of kuangliu's ``avg_pool2d(out, 4)``), too large for inputs below 16 px."""

    def __init__(self, *, num_classes=10, width_mult=1.0, depth_mult=1.0, fixed_pool=False):
        super().__init__()
        width = scale_width(16, width_mult)
        self.stem = conv_bn(3, width)
        stages = scaled_stages([(_conv_block, 2, 16, 1), (_conv_block, 2, 32, 2)], width,
                               width_mult, depth_mult)
        channels = self.add_stages(stages)
        if fixed_pool:
            self.pool = nn.AvgPool2d(8)
        self.add_head(channels, num_classes)


def _conv_block(in_channels, out_channels, stride):
    return conv_bn(in_channels, out_channels, stride=stride)


@pytest.fixture
def register(monkeypatch):
    """``register(name, **kwargs)`` adds a :class:`_TinyNet` entry to the registry (the table
    create_model reads) for this test only; model_cost's cache is emptied before and after."""

    def add(name, **kwargs):
        def entry(num_classes, width_mult, depth_mult):
            return _TinyNet(num_classes=num_classes, width_mult=width_mult,
                            depth_mult=depth_mult, **kwargs)

        monkeypatch.setattr(registry, "_ENTRY_POINTS",
                            MappingProxyType({**registry._ENTRY_POINTS, name: entry}))

    cost_module._measure.cache_clear()
    yield add
    cost_module._measure.cache_clear()


def test_a_new_model_meets_the_contract_once_registered(register):
    register("tiny_test_net")
    assert "tiny_test_net" in list_models()
    for check in CONTRACT:
        check("tiny_test_net")
    model = create_model("tiny_test_net", width_mult=0.5, depth_mult=1.5)
    assert model.stage_depths == (3, 3) and model.stage_widths == (8, 16)


def test_the_contract_turns_away_fixed_size_pooling(register):
    register("tiny_fixed_pool", fixed_pool=True)
    test_structure("tiny_fixed_pool")  # sound in structure, and it runs at 32 px...
    with pytest.raises(RuntimeError, match="too small"):
        test_train_step_at_32_and_8_px("tiny_fixed_pool")  # ...but not at 8 px
