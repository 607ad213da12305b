"""Adding a data set and a model, as the README says, without editing the package: a row in
the data sets' table and an entry in the model registry (both patched for the test only), then
the normal path: load, subset, build, forward, cost, ``train_one_seed`` and ``hsearch train``."""

from __future__ import annotations

import json
from types import MappingProxyType

import pytest
import torch

from hsearch.cli import main
from hsearch.data import (
    AugmentConfig,
    ImageDataset,
    SubsetSizes,
    channel_stats,
    default_sizes,
    list_datasets,
    load_dataset,
    make_subset,
)
from hsearch.data import catalog
from hsearch.data.catalog import DataProfile, DataSetRow, data_help
from hsearch.data.profiles import apply_profile, get_profile
from hsearch.models import create_model, list_models, model_cost, registry
from hsearch.models import cost as cost_module
from hsearch.models.common import conv_bn, scale_width
from hsearch.models.skeleton import StagedNet, scaled_stages
from hsearch.train import OK, Architecture, TrainConfig, train_one_seed, parse_budget
from hsearch.workflows.settings import DataSettings

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # tests/conftest.py


def load_stripes(root=None, download=False) -> ImageDataset:
    """Two classes, horizontal and vertical stripes of random phase and contrast: 40 train
    and 12 test images per class, 32x32, the same on every call."""
    generator = torch.Generator().manual_seed(7)
    count = 52
    phase = torch.randint(0, 4, (2, count), generator=generator)
    level = torch.randint(80, 255, (2, count), generator=generator)
    lines = (torch.arange(32).view(1, 1, 32) + phase.unsqueeze(-1)) % 4 < 2  # [2, count, 32]
    horizontal = lines[0].unsqueeze(-1).expand(count, 32, 32) * level[0].view(count, 1, 1)
    vertical = lines[1].unsqueeze(-2).expand(count, 32, 32) * level[1].view(count, 1, 1)
    images = torch.stack([horizontal, vertical]).to(torch.uint8)  # [class, count, 32, 32]
    images = images.unsqueeze(2).expand(2, count, 3, 32, 32)

    def split(part: slice) -> tuple[torch.Tensor, torch.Tensor]:
        chosen = images[:, part].reshape(-1, 3, 32, 32).contiguous()
        return chosen, torch.arange(2).repeat_interleave(chosen.shape[0] // 2)

    train_images, train_labels = split(slice(0, 40))
    test_images, test_labels = split(slice(40, count))
    mean, std = channel_stats(train_images)
    return ImageDataset("stripes", ("horizontal", "vertical"), train_images, train_labels,
                        test_images, test_labels, mean, std, source="test")


STRIPES = DataSetRow(
    "stripes", load_stripes, sizes=(20, 8, 6), note="test only",
    profile=DataProfile("stripes", width=0.5, resolution=0.5, batch_size=16, lr=0.05,
                        crop_flip=False, autoaugment=False, cutout=False))


class StripeNet(StagedNet):
    """Stem and two stages of conv-BN-ReLU blocks (16 and 32 channels)."""

    def __init__(self, *, num_classes=10, width_mult=1.0, depth_mult=1.0):
        super().__init__()
        width = scale_width(16, width_mult)
        self.stem = conv_bn(3, width)
        stages = scaled_stages([(_block, 1, 16, 1), (_block, 2, 32, 2)], width, width_mult,
                               depth_mult)
        self.add_head(self.add_stages(stages), num_classes)


def _block(in_channels, out_channels, stride):
    return conv_bn(in_channels, out_channels, stride=stride)


def stripe_net(num_classes, width_mult, depth_mult):
    return StripeNet(num_classes=num_classes, width_mult=width_mult, depth_mult=depth_mult)


@pytest.fixture
def added(monkeypatch):
    """The data set ``stripes`` and the model ``stripe_net``, for this test only."""
    monkeypatch.setattr(catalog, "DATASETS", (*catalog.DATASETS, STRIPES))
    monkeypatch.setattr(registry, "_ENTRY_POINTS",
                        MappingProxyType({**registry._ENTRY_POINTS, "stripe_net": stripe_net}))
    cost_module._measure.cache_clear()
    yield
    cost_module._measure.cache_clear()


def test_the_new_rows_are_read_wherever_data_sets_and_models_are(added):
    assert list_datasets()[-1] == "stripes" and "stripe_net" in list_models()
    assert data_help().endswith(", stripes (test only)")
    assert default_sizes("stripes") == SubsetSizes(20, 8, 6)
    assert get_profile("stripes").batch_size == 16
    settings = {"data": {"name": "stripes"}, "train": {"lr": 0.3}}
    sources = apply_profile(settings, "stripes")
    assert settings["train"]["batch_size"] == 16
    assert sources["train.batch_size"] == "profile:stripes"
    assert sources["train.lr"] == "user" and settings["train"]["lr"] == 0.3
    data = DataSettings("stripes", train_per_class=10)
    assert data.sizes() == SubsetSizes(10, 8, 6)

    dataset = data.load()
    assert dataset.name == "stripes" and dataset.num_classes == 2
    subset = make_subset(dataset, seed=1)
    assert (subset.train_idx.size, subset.val_idx.size, subset.test_idx.size) == (40, 16, 12)

    model = create_model("stripe_net", num_classes=2, width_mult=0.5, depth_mult=2.0)
    assert model.stage_depths == (2, 4) and model.stage_widths == (8, 16)
    images, labels = subset.tensors(dataset, "train")
    with torch.no_grad():
        assert model.eval()(images.float() / 255).shape == (labels.numel(), 2)
    assert model_cost("stripe_net", 0.5, 2.0, 0.5).macs < model_cost("stripe_net", 0.5, 2.0).macs


def test_train_one_seed_on_the_new_data_set_and_model(added):
    arch = Architecture("stripe_net", width=0.5, depth=1.0, resolution=0.5)
    config = TrainConfig(lr=0.05, batch_size=16,
                         augment=AugmentConfig(crop_flip=False, autoaugment=False, cutout=False))
    dataset = load_dataset("stripes")
    result = train_one_seed(arch, config, parse_budget("2ep"), dataset, seed=0)
    assert result.status == OK and result.epochs == pytest.approx(2.0)
    assert 0.0 <= result.accuracy <= 1.0
    assert result.subset_digest == make_subset(dataset, 0).digest()


def test_hsearch_train_runs_them_from_the_command_line(added, tmp_path):
    out = tmp_path / "run"
    code = main(["train", "--data", "stripes", "--model", "stripe_net", "--budget", "1ep",
                 "--seeds", "1", "--threads", "1", "--out", str(out)])
    assert code == 0
    record = json.loads((out / "result.json").read_text())
    assert record["statuses"] == ["ok"]
    assert record["arch"] == {"model": "stripe_net", "width": 0.5, "depth": 1.0,
                              "resolution": 0.5}
