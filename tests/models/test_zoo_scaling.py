"""Width/depth scaling rules, the reference networks at w=1, d=1, and input validation."""

import math

import pytest
import torch
from torch import nn
from torchvision.ops import SqueezeExcitation

from hsearch.errors import UserError
from hsearch.models import create_model, list_models, make_divisible
from hsearch.models.common import scale_depth, scale_width

# Parameters and blocks per stage at w=1, d=1. Parameter counts are those of kuangliu's
# pytorch-cifar models (10 classes), which the HAET 2021 paper used, except where noted.
REFERENCE = {
    "densenet121": (6_956_298, (6, 12, 24, 16)),
    "dpn92": (34_236_634, (3, 4, 20, 3)),
    # kuangliu: 3,599,686, including a 1x1 conv its first block builds but never uses.
    "efficientnet_b0": (3_598_598, (1, 2, 2, 3, 3, 4, 1)),
    # kuangliu: 6,166,250, with a redundant bias in every conv (each feeds a BatchNorm).
    "googlenet": (6_158_346, (2, 5, 2)),
    "mobilenetv1": (3_217_226, (1, 2, 2, 6, 2)),
    # kuangliu: 2,296,922; torchvision's blocks have no projection shortcuts.
    "mobilenetv2": (2_236_682, (1, 2, 3, 4, 3, 3, 1)),
    "preact_resnet18": (11_171_146, (2, 2, 2, 2)),
    "regnetx_200mf": (2_321_946, (1, 1, 4, 7)),
    "resnet110": (1_727_962, (18, 18, 18)),  # He et al. 2016: 1.7 M
    "resnet18": (11_173_962, (2, 2, 2, 2)),
    "resnet50": (23_520_842, (3, 4, 6, 3)),
    "resnext29_2x64d": (9_128_778, (3, 3, 3)),
    "senet18": (11_260_354, (2, 2, 2, 2)),
    "shufflenet_g2": (887_582, (4, 8, 4)),
    "shufflenetv2": (1_263_854, (4, 8, 4)),
    "simple_dla": (15_142_970, (2, 4, 4, 2)),
    "vgg19": (20_040_522, (2, 2, 4, 4, 4)),
}


def test_the_papers_baselines_stay_registered():
    # Results name them; a new model joins the registry without an entry here (its tests:
    # test_zoo_contract.py).
    assert set(REFERENCE) <= set(list_models())
    assert list_models() == sorted(list_models())


def _meta_model(name, **kwargs):
    # Parameters on the meta device: shapes without memory or initialisation, so even
    # DPN-92 builds in a fraction of a second.
    with torch.device("meta"):
        return create_model(name, **kwargs)


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_reference_network_at_unit_multipliers(name):
    params, depths = REFERENCE[name]
    model = _meta_model(name)
    assert model.num_params() == params
    assert model.stage_depths == depths


@pytest.mark.parametrize("name", list_models())
def test_tiny_width_and_depth_give_multiples_of_8(name):
    model = create_model(name, width_mult=0.01, depth_mult=0.01)
    squeeze = {id(m) for se in model.modules() if isinstance(se, SqueezeExcitation)
               for m in se.modules()}
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and id(m) not in squeeze]
    assert convs
    for conv in convs:
        for channels in (conv.in_channels, conv.out_channels):
            if conv is convs[0] and channels == conv.in_channels:
                continue  # the RGB input
            assert channels >= 8 and channels % 8 == 0, (conv, channels)
    linear = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(linear) == 1 and linear[0].in_features % 8 == 0
    assert all(c % 8 == 0 and c >= 8 for c in model.stage_widths)
    assert model.stage_depths == (1,) * len(model.stage_depths)
    with torch.no_grad():
        assert model.eval()(torch.randn(1, 3, 8, 8)).shape == (1, 10)


def test_senet18_scaling_as_in_the_paper_but_divisible_by_8():
    # HAET 2021: blocks round(2 d), channels round(64 w) .. round(512 w); we round to 8.
    model = _meta_model("senet18", width_mult=0.5, depth_mult=1.5)
    assert model.stage_depths == (3, 3, 3, 3)
    assert model.stage_widths == (32, 64, 128, 256)
    model = _meta_model("senet18", width_mult=0.3, depth_mult=0.75)
    assert model.stage_depths == (2, 2, 2, 2)  # round(1.5) = 2
    assert model.stage_widths == tuple(make_divisible(c * 0.3) for c in (64, 128, 256, 512))
    assert model.stage_widths == (24, 40, 80, 152)


def test_shufflenetv2_keeps_116_channels_only_at_unit_width():
    assert _meta_model("shufflenetv2").stage_widths == (116, 232, 464)
    assert _meta_model("shufflenetv2", width_mult=1.01).stage_widths == (112, 240, 464)
    assert _meta_model("shufflenetv2", width_mult=0.99).stage_widths == (112, 224, 464)


@pytest.mark.parametrize(("value", "divisor", "min_value", "expected"), [
    (64, 8, 8, 64), (32.0, 8, 8, 32), (116, 8, 8, 120), (19.2, 8, 8, 24), (12, 8, 8, 16),
    (11.9, 8, 8, 16), (8.8, 8, 8, 8), (0.64, 8, 8, 8), (3, 8, 8, 8), (90, 32, 8, 96),
    (5, 32, 8, 32),
    (1e-9, 16, 8, 16), (20, 8, 24, 24), (1000.4, 8, 8, 1000),
])
def test_make_divisible(value, divisor, min_value, expected):
    assert make_divisible(value, divisor, min_value) == expected


def test_make_divisible_is_monotone_and_never_10_percent_low():
    values = [v / 7 for v in range(1, 5000)]
    rounded = [make_divisible(v) for v in values]
    assert rounded == sorted(rounded)
    assert all(r % 8 == 0 and r >= 8 and r >= 0.9 * v for v, r in zip(values, rounded))


@pytest.mark.parametrize("bad", [0, -1.0, math.nan, math.inf])
def test_make_divisible_rejects_bad_values(bad):
    with pytest.raises(ValueError, match="value > 0"):
        make_divisible(bad)


def test_scale_helpers():
    assert scale_width(116, 1.0) == 116 and scale_width(116, 1.0, divisor=16) == 116
    assert scale_width(64, 0.5) == 32 and scale_width(64, 0.01) == 8
    assert scale_width(96, 0.25, divisor=32) == 32
    assert [scale_depth(2, d) for d in (0.01, 0.5, 0.74, 0.75, 1.0, 1.25, 1.26, 2)] == \
        [1, 1, 1, 2, 2, 2, 3, 4]


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(UserError) as info:
        create_model("resnet19")
    message = str(info.value)
    assert "'resnet19'" in message and "did you mean 'resnet18'" in message
    assert all(name in message for name in list_models())
    assert "\n" not in message  # the CLI prints the first line only
    with pytest.raises(UserError, match="did you mean 'senet18'"):
        create_model("SENet18")
    with pytest.raises(UserError, match="unknown model None"):
        create_model(None)


@pytest.mark.parametrize("kwargs", [
    {"width_mult": 0}, {"width_mult": -0.5}, {"depth_mult": 0.0}, {"depth_mult": math.nan},
    {"width_mult": math.inf}, {"width_mult": "1"}, {"depth_mult": True}, {"num_classes": 0},
    {"num_classes": 2.5},
])
def test_bad_multipliers_raise_user_error(kwargs):
    key, value = next(iter(kwargs.items()))
    with pytest.raises(UserError, match=f"{key}") as info:
        create_model("resnet18", **kwargs)
    assert repr(value) in str(info.value) or str(value) in str(info.value)


def test_models_use_the_shared_initialisation():
    model = create_model("resnet18", width_mult=0.25)
    bn = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(m.weight, torch.ones_like(m.weight)) for m in bn)
    assert all(torch.equal(m.bias, torch.zeros_like(m.bias)) for m in bn)
    conv = next(m for m in model.modules() if isinstance(m, nn.Conv2d) and m.in_channels == 64)
    fan_out = conv.out_channels * conv.kernel_size[0] * conv.kernel_size[1]
    assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_out), rel=0.1)
    fc = next(m for m in model.modules() if isinstance(m, nn.Linear))
    assert fc.weight.std().item() < 0.02 and torch.all(fc.bias == 0)
