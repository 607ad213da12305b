"""MadsSettings.from_codec: the one way a search space becomes MADS settings."""

import pytest
from ray import tune

from hsearch.search import MadsSettings, SpaceCodec


@pytest.fixture
def codec():
    # every kind of domain the codec maps: real, log-real, integer, grid, choice
    return SpaceCodec({"lr": tune.loguniform(1e-4, 1e-1), "x": tune.uniform(-1.0, 3.0),
                       "n": tune.randint(1, 9), "w": tune.quniform(0.25, 1.0, 0.25),
                       "act": tune.choice(["relu", "gelu", "tanh"])})


def test_from_codec_takes_the_box_types_and_grid_of_the_codec(codec):
    settings = MadsSettings.from_codec(codec, n_constraints=2, max_evals=7, seed=3)
    assert settings.lower == tuple(float(v) for v in codec.lower)
    assert settings.upper == tuple(float(v) for v in codec.upper)
    assert settings.input_types == tuple(codec.input_types)
    assert "I" in settings.input_types and "R" in settings.input_types
    assert settings.granularity == tuple(float(g) for g in codec.granularity)
    assert any(g > 0 for g in settings.granularity)
    assert settings.x0 == (tuple(float(v) for v in codec.center()),)
    assert (settings.n_constraints, settings.max_evals, settings.seed) == (2, 7, 3)


def test_from_codec_keeps_given_starting_points_and_checks_them(codec):
    a = codec.encode({"lr": 1e-3, "x": 0.0, "n": 2, "w": 0.5, "act": "gelu"})
    b = codec.encode({"lr": 1e-2, "x": 2.5, "n": 8, "w": 1.0, "act": "tanh"})
    settings = MadsSettings.from_codec(codec, x0=[a, b])
    assert settings.x0 == (tuple(float(v) for v in a), tuple(float(v) for v in b))
    outside = list(codec.upper)
    outside[1] += 1.0
    with pytest.raises(ValueError, match="must lie in the box"):
        MadsSettings.from_codec(codec, x0=[outside])
