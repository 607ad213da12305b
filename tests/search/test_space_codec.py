"""SpaceCodec: Tune search space <-> NOMAD vectors, bounds conventions, round trips."""

import itertools
import math

import numpy as np
import pytest
from ray import tune

from hsearch.search import SpaceCodec


def _space():
    return {
        "lr": tune.loguniform(1e-4, 1e-1),
        "width": tune.uniform(0.25, 2.0),
        "depth": tune.randint(1, 4),  # 1..3 (upper exclusive)
        "batch": tune.qrandint(32, 256, 32),  # 32..256 (upper inclusive)
        "steps": tune.qrandint(1, 5, 1),  # q == 1: Tune makes it exclusive again: 1..4
        "drop": tune.quniform(0.0, 0.5, 0.1),
        "opt": tune.choice(["sgd", "adam", "lamb"]),
        "model": {"name": "senet18", "res": tune.quniform(0.5, 1.5, 0.25)},
        "fixed": tune.randint(7, 8),  # single value: a constant
        "tags": ["a", "b"],
    }


def test_box_types_bounds_and_granularity():
    codec = SpaceCodec(_space())
    assert codec.names == ["lr", "width", "depth", "batch", "steps", "drop", "opt", "model/res"]
    assert codec.input_types == ["R", "R", "I", "I", "I", "R", "I", "R"]
    np.testing.assert_allclose(codec.lower, [-4, 0.25, 1, 1, 1, 0.0, 0, 0.5])
    np.testing.assert_allclose(codec.upper, [-1, 2.0, 3, 8, 4, 0.5, 2, 1.5])
    np.testing.assert_allclose(codec.granularity, [0, 0, 0, 0, 0, 0.1, 0, 0.25])


def test_decode_corners_are_the_declared_extremes():
    codec = SpaceCodec(_space())
    low, high = codec.decode(codec.lower), codec.decode(codec.upper)
    assert (low["depth"], high["depth"]) == (1, 3)
    assert (low["batch"], high["batch"]) == (32, 256)
    assert (low["steps"], high["steps"]) == (1, 4)
    assert (low["opt"], high["opt"]) == ("sgd", "lamb")
    assert low["lr"] == pytest.approx(1e-4) and high["lr"] == pytest.approx(1e-1)
    assert 1e-4 <= low["lr"] and high["lr"] <= 1e-1  # clipped, never outside by round-off
    assert (low["drop"], high["drop"]) == (0.0, 0.5)
    assert (low["model"]["res"], high["model"]["res"]) == (0.5, 1.5)
    # constants and nested dicts carried through
    assert low["fixed"] == 7 and low["tags"] == ["a", "b"] and low["model"]["name"] == "senet18"


def test_types_of_decoded_values():
    config = SpaceCodec(_space()).decode(SpaceCodec(_space()).center())
    assert isinstance(config["depth"], int) and isinstance(config["batch"], int)
    assert isinstance(config["lr"], float) and isinstance(config["drop"], float)


def test_round_trip_from_tune_samples():
    """Every value Tune's own sampler draws encodes, and decodes back to itself."""
    space = _space()
    codec = SpaceCodec(space)
    rng = np.random.default_rng(0)
    for _ in range(200):
        config = {}
        for key, dom in space.items():
            if isinstance(dom, dict):
                config[key] = {k: (v.sample(random_state=rng) if hasattr(v, "sample") else v)
                               for k, v in dom.items()}
            else:
                config[key] = dom.sample(random_state=rng) if hasattr(dom, "sample") else dom
        x = codec.encode(config)
        assert codec.is_valid_vector(x)
        back = codec.decode(x)
        for key in ("depth", "batch", "steps", "opt", "fixed", "tags"):
            assert back[key] == config[key], key
        for key in ("lr", "width"):
            assert back[key] == pytest.approx(config[key], rel=1e-12), key
        assert back["drop"] == pytest.approx(config["drop"], abs=1e-12)
        assert back["model"]["res"] == pytest.approx(config["model"]["res"], abs=1e-12)


def test_round_trip_from_vectors_and_clipping():
    codec = SpaceCodec(_space())
    rng = np.random.default_rng(1)
    for _ in range(300):
        # anything NOMAD could propose, plus far outside the box
        x = rng.uniform(codec.lower - 1.0, codec.upper + 1.0)
        config = codec.decode(x)
        assert codec.contains(config)
        assert 1 <= config["depth"] <= 3 and config["batch"] % 32 == 0
        assert 32 <= config["batch"] <= 256 and 1 <= config["steps"] <= 4
        assert 1e-4 <= config["lr"] <= 1e-1 and 0.25 <= config["width"] <= 2.0
        assert 0.0 <= config["drop"] <= 0.5 and round(config["drop"] * 10) == config["drop"] * 10
        x2 = codec.encode(config)
        assert codec.decode(x2) == config
    # on the grid, encode(decode(x)) == x exactly
    grid = [codec.lower, codec.upper, codec.center()]
    for x in grid:
        np.testing.assert_array_equal(codec.encode(codec.decode(x)), x)


def test_every_integer_and_choice_value_reachable():
    codec = SpaceCodec({"d": tune.randint(1, 4), "b": tune.qrandint(2, 10, 4),
                        "c": tune.choice([True, 1, "1"])})
    seen = {codec.decode(np.array(p, float))["d"] for p in itertools.product([1, 2, 3], [1], [0])}
    assert seen == {1, 2, 3}
    assert {codec.decode(np.array([1.0, k, 0.0]))["b"] for k in (1, 2)} == {4, 8}
    # True == 1 in Python, but they are different categories
    assert [codec.decode(np.array([1.0, 1.0, k]))["c"] for k in (0, 1, 2)] == [True, 1, "1"]
    assert codec.encode({"d": 1, "b": 4, "c": 1})[2] == 1.0


def test_center_is_default_start():
    codec = SpaceCodec({"a": tune.uniform(0, 1), "b": tune.loguniform(1e-3, 1e-1),
                        "c": tune.randint(0, 10), "d": tune.quniform(0, 1.5, 0.5)})
    x = codec.center()
    assert x[0] == 0.5 and x[1] == pytest.approx(-2.0) and x[2] == 4.0
    assert x[3] == 0.5  # (0 + 1.5)/2 = 0.75 -> down to the grid
    assert codec.decode(x)["b"] == pytest.approx(0.01)


def test_flattened_config_keys_accepted():
    codec = SpaceCodec({"model": {"w": tune.uniform(0, 1)}, "lr": tune.uniform(0, 1)})
    np.testing.assert_allclose(codec.encode({"model/w": 0.2, "lr": 0.3}), [0.2, 0.3])


@pytest.mark.parametrize(
    "domain, message",
    [
        (tune.sample_from(lambda spec: 1), "sample_from"),
        (tune.grid_search([1, 2]), "grid_search"),
        (tune.randn(0, 1), "randn"),
        (tune.lograndint(1, 100), "lograndint"),
        (tune.qloguniform(1e-4, 1e-1, 1e-4), "qloguniform"),
        ([tune.uniform(0, 1)], "inside lists"),
    ],
)
def test_unsupported_domains_raise(domain, message):
    with pytest.raises(ValueError, match=message):
        SpaceCodec({"x": tune.uniform(0, 1), "bad": domain})


def test_space_without_variables_raises():
    with pytest.raises(ValueError, match="no variable"):
        SpaceCodec({"a": 1, "b": tune.choice(["only"])})


@pytest.mark.parametrize(
    "config, message",
    [
        ({"a": 1.5, "d": 1, "c": "x"}, "low <= value <= high"),
        ({"a": 0.5, "d": 4, "c": "x"}, "low <= value <= high"),  # randint(1, 4) excludes 4
        ({"a": 0.5, "d": 2.5, "c": "x"}, "integer"),
        ({"a": 0.5, "d": 1, "c": "z"}, "not one of the choices"),
        ({"a": 0.5, "c": "x"}, "missing"),
        ({"a": math.nan, "d": 1, "c": "x"}, "finite"),
    ],
)
def test_encode_rejects_out_of_domain(config, message):
    codec = SpaceCodec({"a": tune.uniform(0, 1), "d": tune.randint(1, 4),
                        "c": tune.choice(["x", "y"])})
    with pytest.raises(ValueError, match=message):
        codec.encode(config)


def test_quantized_encode_requires_grid_value():
    codec = SpaceCodec({"q": tune.quniform(0.0, 1.0, 0.25)})
    assert codec.encode({"q": 0.75})[0] == 0.75
    with pytest.raises(ValueError, match="multiple"):
        codec.encode({"q": 0.3})
