"""hsearch.configs: mappings into validated dataclasses, YAML errors; hsearch.files: atomic
writes."""

from __future__ import annotations

import dataclasses
from typing import Literal

import pytest

from hsearch.configs import dump_yaml, from_mapping, load_yaml, to_mapping
from hsearch.errors import UserError
from hsearch.files import write_atomic


@dataclasses.dataclass(frozen=True)
class Inner:
    lr: float = 0.1
    optimizer: Literal["sgd", "adam"] = "sgd"

    def __post_init__(self):
        if self.lr <= 0:
            raise ValueError(f"`lr > 0` must hold, but got lr={self.lr}")


@dataclasses.dataclass(frozen=True)
class Outer:
    seeds: int = 3
    bounds: tuple[float, float] = (0.25, 2.0)
    root: str | None = None
    augment: bool = True
    train: Inner = dataclasses.field(default_factory=Inner)


def test_defaults_and_nested_values():
    cfg = from_mapping(Outer, {"seeds": 5, "bounds": [0.5, 1], "train": {"lr": 1}})
    assert cfg == Outer(seeds=5, bounds=(0.5, 1.0), train=Inner(lr=1.0))
    assert isinstance(cfg.train.lr, float)


def test_round_trip_through_yaml(tmp_path):
    cfg = Outer(seeds=2, root="/data", train=Inner(optimizer="adam"))
    dump_yaml(tmp_path / "c.yaml", cfg)
    assert from_mapping(Outer, load_yaml(tmp_path / "c.yaml")) == cfg
    assert to_mapping(cfg)["train"] == {"lr": 0.1, "optimizer": "adam"}


@pytest.mark.parametrize(
    "data, message",
    [
        ({"seedz": 1}, "seedz: unknown key; known keys: augment, bounds, root, seeds, train"),
        ({"train": {"lrr": 1}}, "train.lrr: unknown key"),
        ({"seeds": "3"}, "seeds: expected an integer, got '3'"),
        ({"seeds": True}, "seeds: expected an integer"),
        ({"augment": "yes"}, "augment: expected true or false"),
        ({"bounds": [1]}, "bounds: expected 2 values"),
        ({"train": {"lr": "fast"}}, "train.lr: expected a number"),
        ({"train": {"optimizer": "lion"}}, "train.optimizer: must be one of 'sgd', 'adam'"),
        ({"train": {"lr": -1}}, "train: `lr > 0` must hold, but got lr=-1.0"),
        ({"train": 3}, "train: expected a mapping"),
    ],
)
def test_bad_values_name_their_key(data, message):
    with pytest.raises(UserError) as info:
        from_mapping(Outer, data)
    assert message in str(info.value)


def test_yaml_errors_are_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seeds: [1, 2\nroot: x\n")
    with pytest.raises(UserError, match=r"bad.yaml: YAML syntax error \(line \d+, column \d+\)"):
        load_yaml(bad)
    with pytest.raises(UserError, match="no such file"):
        load_yaml(tmp_path / "missing.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n")
    with pytest.raises(UserError, match="expected a mapping at the top level"):
        load_yaml(tmp_path / "list.yaml")


def test_write_atomic_replaces_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.json"
    write_atomic(target, "old")
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
