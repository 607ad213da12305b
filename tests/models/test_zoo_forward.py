"""Every registered model runs forward and backward at every input size the search uses.

Parametrised over the registry (timm's tests/test_models.py): a model is tested the moment
it is added to it. Small widths keep the whole file to a few seconds per model.
"""

import pytest
import torch
import torch.nn.functional as F

from hsearch.models import create_model, list_models

MODELS = list_models()


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def test_registry_has_the_papers_baselines():
    assert set(MODELS) == {
        "resnet18", "senet18", "preact_resnet18", "regnetx_200mf", "shufflenetv2",
        "efficientnet_b0", "mobilenetv2", "googlenet", "densenet121", "dpn92", "resnet110",
        "shufflenet_g2", "resnext29_2x64d", "mobilenetv1", "vgg19", "resnet50", "simple_dla",
    }
    assert MODELS == sorted(MODELS)


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
def test_channels_last_bf16_autocast(name):
    """What the trainer does on CUDA, here with CPU autocast: no view-after-permute errors."""
    torch.manual_seed(0)
    model = create_model(name, width_mult=0.25, depth_mult=0.5).train()
    model = model.to(memory_format=torch.channels_last)
    images = torch.randn(4, 3, 16, 16).to(memory_format=torch.channels_last)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        logits = model(images)
    assert logits.shape == (4, 10)
    loss = F.cross_entropy(logits.float(), torch.tensor([0, 1, 2, 3]))
    loss.backward()
    assert torch.isfinite(loss)
    assert all(torch.isfinite(p.grad).all() for p in model.parameters())
