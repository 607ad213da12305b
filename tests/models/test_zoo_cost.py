"""Model cost (fvcore MACs at the input resolution, parameters): anchors, agreement with an
independent count, caching, and validation. Monotonicity in every multiplier: the contract,
test_zoo_contract.py."""

import math

import pytest
import torch
from torch import nn

from hsearch.errors import UserError
from hsearch.models import ModelCost, create_model, input_resolution, list_models, model_cost

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_resnet18_anchor():
    cost = model_cost("resnet18")
    assert cost.resolution == 32
    assert cost.macs == pytest.approx(0.56e9, rel=0.03)
    assert cost.params == pytest.approx(11.2e6, rel=0.02)


def test_senet18_near_its_known_size():
    cost = model_cost("senet18")
    assert cost.params == pytest.approx(11.26e6, rel=0.01)
    # SE adds a few hundred thousand MACs at most on top of the ResNet-18 convs.
    assert cost.macs == pytest.approx(model_cost("resnet18").macs, rel=0.01)


def _hook_macs(model: nn.Module, image: torch.Tensor) -> int:
    """Independent count with forward hooks: convs by k*k*C_in/groups*C_out*H*W (grouped and
    depthwise included), linear layers, eval BatchNorm (2 per element) and adaptive average
    pooling (1 per input element), which is what fvcore's handles count."""
    total = 0

    def hook(module, inputs, output):
        nonlocal total
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size[0] * module.kernel_size[1]
            total += output.numel() * k * module.in_channels // module.groups
        elif isinstance(module, nn.Linear):
            total += output.numel() * module.in_features
        elif isinstance(module, nn.BatchNorm2d):
            total += 2 * output.numel()
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            total += inputs[0].numel()

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.no_grad():
        model.eval()(image)
    for handle in handles:
        handle.remove()
    return total


@pytest.mark.parametrize("name", list_models())
def test_fvcore_counts_grouped_depthwise_and_se_convs(name):
    model = create_model(name, width_mult=0.25, depth_mult=0.25)
    assert model_cost(name, 0.25, 0.25, 0.5).macs == _hook_macs(model, torch.zeros(1, 3, 16, 16))


def test_fvcore_on_known_layers():
    from fvcore.nn import FlopCountAnalysis
    from torchvision.ops import SqueezeExcitation

    # Depthwise 3x3 on 8 channels at 8x8, SE (pool, 8 -> 2 -> 8), grouped 1x1 (g=2).
    model = nn.Sequential(nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                          SqueezeExcitation(8, 2),
                          nn.Conv2d(8, 16, 1, groups=2, bias=False)).eval()
    expected = 8 * 8 * 8 * 9 + (8 * 8 * 8 + 8 * 2 + 2 * 8) + 8 * 8 * 16 * 4
    image = torch.zeros(1, 8, 8, 8)
    analysis = FlopCountAnalysis(model, image)
    analysis.unsupported_ops_warnings(False)
    assert analysis.total() == expected == _hook_macs(model, image)


def test_cost_is_cached_and_keyed_on_rounded_arguments():
    first = model_cost("mobilenetv1", 0.3, 0.4, 0.5)
    assert model_cost("mobilenetv1", 0.3 + 1e-9, 0.4, 0.5) is first
    # Different multipliers, same pixels: the same measurement.
    assert model_cost("mobilenetv1", 0.3, 0.4, 0.51).resolution == 16
    assert model_cost("mobilenetv1", 0.3, 0.4, 0.5, num_classes=100).macs > first.macs


def test_cost_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    model_cost("shufflenet_g2", 0.27, 0.33, 0.41)
    assert torch.equal(torch.random.get_rng_state(), state)


def test_cost_emits_no_warnings(recwarn):
    model_cost("shufflenetv2", 0.29, 0.31, 0.37)
    assert [str(w.message) for w in recwarn] == []


@pytest.mark.parametrize(("mult", "expected"), [
    (1.0, 32), (0.5, 16), (2.0, 64), (0.75, 24), (0.1, 8), (1e-6, 8), (0.26, 8), (0.3, 10),
    (1.234, 39),
])
def test_input_resolution(mult, expected):
    assert input_resolution(mult) == expected
    assert model_cost("vgg19", 0.125, 0.25, mult).resolution == expected


def test_input_resolution_base():
    assert input_resolution(0.5, base=64) == 32


@pytest.mark.parametrize("kwargs", [
    {"name": "resnet-18"}, {"width_mult": 0}, {"depth_mult": -1}, {"resolution_mult": 0},
    {"resolution_mult": math.nan}, {"width_mult": "0.5"},
])
def test_cost_rejects_bad_input(kwargs):
    arguments = {"name": "resnet18", **kwargs}
    with pytest.raises(UserError):
        model_cost(**arguments)


def test_model_cost_dataclass_validates():
    with pytest.raises(ValueError, match="resolution >= 8"):
        ModelCost(macs=1, params=1, resolution=4)
    with pytest.raises(ValueError, match="macs >= 0"):
        ModelCost(macs=-1, params=1, resolution=8)
    cost = ModelCost(macs=1, params=2, resolution=8)
    with pytest.raises(AttributeError):
        cost.macs = 3
