"""Every registered model trains the way the trainer runs it on CUDA (channels-last, bf16
autocast), here on the CPU. Forward and backward at every input size the search uses: the
contract, test_zoo_contract.py. Small widths keep the file to a second or so per model.
"""

import pytest
import torch
import torch.nn.functional as F

from hsearch.models import create_model, list_models

MODELS = list_models()


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


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
