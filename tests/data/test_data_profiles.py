"""Data-set profiles: defaults per data set, a user's value wins (flag or YAML), provenance."""

import pytest

from hsearch.cli import build_parser
from hsearch.cli._workflow_options import settings_from_args
from hsearch.configs import to_mapping
from hsearch.data.profiles import PROFILE_KEYS, apply_profile, get_profile
from hsearch.errors import UserError
from hsearch.workflows.demo import demo_settings
from hsearch.workflows.settings import NasSettings, load_settings


def test_apply_profile_fills_only_what_is_unset():
    data = {"data": {"name": "digits"}, "train": {"batch_size": 32, "augment": {"cutout": True}}}
    sources = apply_profile(data, "digits")
    assert set(sources) == set(PROFILE_KEYS)
    assert data["train"]["batch_size"] == 32 and sources["train.batch_size"] == "user"
    assert data["train"]["augment"] == {"cutout": True, "crop_flip": False, "autoaugment": False}
    assert sources["train.augment.cutout"] == "user"
    assert sources["train.augment.crop_flip"] == "profile:digits"
    assert data["arch"]["resolution"] == 0.25 and data["train"]["lr"] == 0.2
    with pytest.raises(UserError, match="unknown data set 'mnist'"):
        get_profile("mnist")


@pytest.mark.parametrize("name, resolution, batch, lr, flags", [
    ("digits", 0.25, 64, 0.2, (False, False, False)),
    ("cifar10", 1.0, 512, 0.042, (True, True, True)),        # the paper's settings
    ("imagefolder", 1.0, 128, 0.1, (True, False, True)),
])
def test_workflow_settings_take_the_data_sets_profile(name, resolution, batch, lr, flags):
    s = load_settings(NasSettings, overrides={"data.name": name})
    assert s.arch.resolution == resolution and s.train.batch_size == batch and s.train.lr == lr
    aug = s.train.augment
    assert (aug.crop_flip, aug.autoaugment, aug.cutout) == flags
    assert set(s.provenance.values()) == {f"profile:{name}"}


def test_a_yaml_value_and_a_flag_win_over_the_profile(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("data: {name: digits}\ntrain: {batch_size: 128, augment: {crop_flip: true}}\n")
    args = build_parser().parse_args(["nas", "--config", str(path), "--resolution", "0.5"])
    s = settings_from_args(NasSettings, args)
    assert s.train.batch_size == 128 and s.train.augment.crop_flip is True
    assert s.arch.resolution == 0.5 and s.train.lr == 0.2 and s.train.augment.cutout is False
    assert s.provenance["train.batch_size"] == "user"
    assert s.provenance["train.augment.crop_flip"] == "user"
    assert s.provenance["arch.resolution"] == "user"
    assert s.provenance["train.lr"] == "profile:digits"
    # the provenance is part of the resolved settings, so config.yaml shows it
    assert to_mapping(s)["provenance"]["train.lr"] == "profile:digits"


def test_another_optimizer_rescales_the_profile_lr():
    s = settings_from_args(NasSettings, build_parser().parse_args(["nas", "--optimizer", "adam"]))
    assert s.train.lr == pytest.approx(0.2 * 1e-3 / 0.1)
    assert s.provenance["train.lr"] == "profile:digits, rescaled for adam"


def test_the_demo_keeps_its_own_settings_labelled_preset():
    args = build_parser().parse_args(["demo", "--batch-size", "32"])
    s = settings_from_args(NasSettings, args, base=to_mapping(demo_settings()))
    assert s.arch.resolution == 0.375 and s.train.batch_size == 32
    assert s.provenance["arch.resolution"] == "preset"
    assert s.provenance["train.batch_size"] == "user"


def build_config(args, dataset):
    """(arch, train config, provenance) of ``hsearch train``'s settings on ``dataset``."""
    from hsearch.cli.workflows import settings_of
    from hsearch.workflows.registry import find_workflow

    args.data = dataset
    s = settings_of(find_workflow("train"), args)
    return s.arch, s.train, s.provenance


def train_args(*argv):
    return build_parser().parse_args(["train", *argv])


def test_train_command_uses_the_profile_unless_a_flag_is_given():
    arch, config, provenance = build_config(train_args(), "digits")
    assert arch.width == 0.25 and arch.resolution == 0.25
    assert config.batch_size == 64 and config.lr == 0.2
    assert not (config.augment.crop_flip or config.augment.autoaugment or config.augment.cutout)
    assert set(provenance.values()) == {"profile:digits"}

    arch, config, provenance = build_config(train_args(), "cifar10")
    assert (arch.width, arch.resolution, config.batch_size, config.lr) == (1.0, 1.0, 512, 0.042)
    assert config.augment.autoaugment and config.augment.cutout and config.augment.crop_flip

    arch, config, provenance = build_config(
        train_args("--resolution", "0.5", "--batch-size", "32", "--lr", "0.05", "--autoaugment"),
        "digits")
    assert (arch.resolution, config.batch_size, config.lr) == (0.5, 32, 0.05)
    assert config.augment.autoaugment and not config.augment.cutout
    assert provenance["train.augment.autoaugment"] == "user"
    assert provenance["train.augment.cutout"] == "profile:digits"

    _, config, provenance = build_config(train_args("--no-augment"), "cifar10")
    assert not (config.augment.crop_flip or config.augment.autoaugment or config.augment.cutout)
    assert provenance["train.augment.cutout"] == "user"


def test_train_help_names_the_profile_defaults(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "default from the data set's profile: digits 64, cifar10 512, imagefolder 128" in text
    assert "digits 0.25, cifar10 1.0" in text and "digits off, cifar10 on" in text
