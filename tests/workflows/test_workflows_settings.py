"""Settings, config mapping, searcher factory and result rows: everything without Ray running."""

from pathlib import Path

import pytest

from hsearch.errors import UserError
from hsearch.search.factory import (
    SEARCHERS,
    SearchRequest,
    available_searchers,
    check_searcher_name,
    list_searchers,
    make_searcher,
)
from hsearch.train import Architecture, TrainConfig, parse_budget
from hsearch.workflows.callbacks import as_search_row, evaluation_row, format_evaluation
from hsearch.workflows.hpo import default_point
from hsearch.workflows.nas import nas_space
from hsearch.workflows.registry import SETTINGS_CLASSES
from hsearch.workflows.settings import (
    BaselineSettings,
    EvaluateSettings,
    HpoSettings,
    HpoSpace,
    NasBounds,
    NasSettings,
    load_settings,
)
from hsearch.workflows.seed_cache import network_digest
from hsearch.workflows.trial_spec import TrialSpec, resolve_config, sgd_scale_lr, trial_resources

EXPERIMENTS = Path(__file__).resolve().parents[2] / "experiments"
CLASSES = {"baseline": BaselineSettings, "nas": NasSettings, "hpo": HpoSettings,
           "evaluate": EvaluateSettings}


@pytest.mark.parametrize("path", sorted(EXPERIMENTS.glob("*/*.yaml")), ids=lambda p: p.stem
                         + "-" + p.parent.name)
def test_every_experiment_file_parses(path):
    settings = load_settings(CLASSES[path.stem], path)
    assert settings.seeds >= 1
    if path.parent.name == "paper":
        assert settings.data.name == "cifar10" and settings.budget.text == "600s"
        assert settings.seeds == 10 and settings.resources.gpus_per_seed == 1
    else:
        assert settings.data.name == "digits"


def test_unknown_keys_name_the_key_and_the_file(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("search: {sercher: nomad}\n")
    with pytest.raises(UserError, match=r"x\.yaml: search\.sercher: unknown key; known keys: "):
        load_settings(NasSettings, path)
    path.write_text("train: {lr: fast}\n")
    with pytest.raises(UserError, match=r"train\.lr: expected a number, got 'fast'"):
        load_settings(NasSettings, path)
    path.write_text("bounds: {width: [0.5\n")
    with pytest.raises(UserError, match="YAML syntax error"):
        load_settings(NasSettings, path)


def test_overrides_win_over_the_file_and_are_validated_together(tmp_path):
    path = tmp_path / "nas.yaml"
    path.write_text("seeds: 10\nracing: {enabled: true, min_seeds: 3}\nbudget: 5s\n")
    settings = load_settings(NasSettings, path, {"seeds": 3, "racing.min_seeds": 2,
                                                 "budget": None, "search.max_evals": 7})
    assert (settings.seeds, settings.racing.min_seeds, settings.budget.text) == (3, 2, "5s")
    assert settings.search.max_evals == 7 and settings.racing.enabled
    with pytest.raises(UserError, match="min_seeds < seeds"):
        load_settings(NasSettings, path, {"seeds": 3})


@pytest.mark.parametrize("overrides, message", [
    ({"bounds.width": [1.5, 2.0]}, "0 < low <= 1 <= high"),
    ({"search.searcher": "nope"}, "unknown searcher 'nope'"),
    ({"search.max_evals": 0}, "max_evals >= 1"),
    ({"budget": "10"}, "has no unit"),
    ({"data.name": "mnist"}, "unknown data set"),
    ({"resources.gpus_per_seed": 1.5}, "whole number"),
    ({"tolerance": -0.1}, "0 <= tolerance < 1"),
])
def test_bad_nas_settings_are_user_errors(overrides, message):
    with pytest.raises(UserError, match=message):
        load_settings(NasSettings, None, overrides)


def test_bad_hpo_and_baseline_settings_are_user_errors():
    with pytest.raises(UserError, match="unknown optimizer 'lion'"):
        HpoSpace(optimizers=("sgd", "lion"))
    with pytest.raises(UserError, match="0 < low < high"):
        HpoSpace(lr=(0.5, 0.1))
    with pytest.raises(UserError, match="unknown model 'resnet9000'"):
        BaselineSettings(models=("resnet18", "resnet9000"))
    assert set(SETTINGS_CLASSES) == {"baseline", "nas", "demo", "hpo", "evaluate"}


def test_resolve_config_scales_the_base_and_rescales_lr():
    base_arch = Architecture("senet18", width=0.5, depth=1.0, resolution=0.5)
    base_train = TrainConfig(optimizer="sgd", lr=0.042, batch_size=512)
    arch, train = resolve_config({"width": 0.5, "depth": 2.0, "resolution": 1.5}, base_arch,
                                 base_train)
    assert (arch.width, arch.depth, arch.resolution) == (0.25, 2.0, 0.75)
    assert train == base_train
    arch, train = resolve_config({"lr": 0.1, "optimizer": "adam", "batch_size": 128,
                                  "weight_decay": 0.0}, base_arch, base_train)
    assert arch == base_arch
    assert (train.optimizer, train.lr, train.batch_size, train.weight_decay) == (
        "adam", pytest.approx(1e-3), 128, 0.0)
    _, train = resolve_config({"optimizer": "adadelta"}, base_arch, base_train)
    assert train.lr == pytest.approx(0.42)  # the base lr moved to Adadelta's scale
    assert sgd_scale_lr(train) == pytest.approx(0.042)
    with pytest.raises(ValueError, match="unknown trial config key 'widht'"):
        resolve_config({"widht": 1.0}, base_arch, base_train)


def test_network_digest_identifies_equal_networks():
    a = Architecture("senet18", width=0.25, depth=1.0, resolution=0.25)
    same = Architecture("senet18", width=0.251, depth=0.9, resolution=0.26)  # same rounding
    assert network_digest(a) == network_digest(same)
    assert network_digest(a) != network_digest(Architecture("senet18", width=0.5,
                                                             resolution=0.25))
    assert network_digest(a) != network_digest(Architecture("senet18", width=0.25,
                                                            resolution=0.5))


def test_trial_resources_bundle_per_parallel_seed():
    spec = TrialSpec(Architecture(), TrainConfig(), parse_budget("1ep"), (0, 1, 2), None, cpus_per_seed=2.0,
                     gpus_per_seed=0.5)
    assert trial_resources(spec) == {"cpu": 2.0, "gpu": 0.5}
    factory = trial_resources(TrialSpec(Architecture(), TrainConfig(), parse_budget("1ep"), (0, 1, 2), None,
                                        parallel_seeds=3, gpus_per_seed=0.25))
    assert factory.head_bundle_is_empty  # the trial only waits for its seed tasks
    assert factory.bundles == [{"CPU": 1.0, "GPU": 0.25}] * 3
    assert spec.device == "cuda" and spec.threads == 2


def test_searcher_table_and_factory():
    assert list_searchers()[:4] == ["nomad", "nomad-plain", "random", "optuna"]
    assert {"nomad", "random", "optuna"} <= set(available_searchers())
    with pytest.raises(UserError, match="unknown searcher 'tpe'; known searchers: nomad"):
        check_searcher_name("tpe")
    missing = [name for name in SEARCHERS if name not in available_searchers()]
    for name in missing:
        with pytest.raises(UserError, match="pip install"):
            check_searcher_name(name)
    request = SearchRequest(points_to_evaluate=({"width": 1.0},), max_evals=5, max_concurrent=2,
                            constraints=("acc_gap",))
    nomad = make_searcher("nomad", request)
    assert nomad.handles_constraints and [str(c) for c in nomad.algorithm.constraints] == [
        "acc_gap <= 0.0"]
    plain = make_searcher("nomad-plain", request)
    assert plain.handles_constraints and plain.algorithm._options.model_search is False
    assert nomad.algorithm._options.model_search is True
    for name in ("random", "optuna"):
        made = make_searcher(name, request)
        assert not made.handles_constraints and made.algorithm is not None


def test_nas_space_and_hpo_default_point():
    from ray.tune.search.sample import Float

    space = nas_space(NasBounds(width=(0.5, 2.0), depth=(1.0, 1.0), resolution=(0.5, 1.5),
                                step=0.25))
    assert space["depth"] == 1.0 and isinstance(space["width"], Float)
    hpo = HpoSpace()
    assert default_point(hpo, TrainConfig()) == {"lr": 0.042, "weight_decay": 5e-3,
                                                 "optimizer": "sgd", "batch_size": 512}
    assert default_point(hpo, TrainConfig(batch_size=64)) is None  # not one of the choices


def test_rows_and_printed_lines():
    spec = TrialSpec(Architecture("senet18", width=0.5), TrainConfig(), parse_budget("1ep"), (0, 1, 2), None,
                     threshold=0.9, baseline_macs=1e6)
    cost_report = {"status": "cost", "macs": 2_000_000, "acc_mean": 0.0, "acc_gap": 0.9,
                   "feasible": False, "macs_ratio": 2.0, "seeds_done": 0, "seeds_total": 3}
    row = evaluation_row("t1", {"width": 2.0, "depth": 1.0, "resolution": 1.0}, cost_report,
                         spec, ("width", "depth", "resolution"), objective="macs")
    assert row["status"] == "pruned" and row["acc_mean"] is None
    assert row["seed_runs_saved"] == 3 and row["objective"] == 2_000_000
    assert row["arch_width"] == 1.0 and row["feasible"] is False
    assert as_search_row(row)["status"] == "ok" and not as_search_row(row)["feasible"]
    line = format_evaluation({**row, "eval_id": 4}, {"macs": 1e6, "eval_id": 1, "objective": 1e6},
                             ("width", "depth", "resolution"), total=10)
    assert line.startswith("[  4/10] width=2 depth=1 resolution=1 | 2.00M MACs (2.00x)")
    assert "pruned" in line and "best 1.00M MACs (#1)" in line
    final = {"status": "rejected", "macs": 500_000, "acc_mean": 0.8, "acc_std": 0.01,
             "seeds_done": 2, "seeds_total": 3, "seed_runs_saved": 1, "feasible": False}
    row = evaluation_row("t2", {"width": 0.5}, final, spec, ("width",), objective="macs")
    line = format_evaluation({**row, "eval_id": 5}, None, ("width",), total=10)
    assert "acc 0.800 ± 0.010 (2/3 seeds)" in line and "rejected by racing (1" in line
    assert "none feasible yet" in line
    line = format_evaluation({**row, "eval_id": 9}, None, ("width",), total=10, trained=3)
    assert line.startswith("[  3/10] width=0.5")  # trained so far, not the answer's id
    assert evaluation_row("t3", {}, {}, spec, (), "macs", error=True)["status"] == "error"


def test_packing_is_on_with_gpus_and_off_on_cpu_unless_set(tmp_path):
    import argparse

    from hsearch.cli._workflow_options import add_run_options, run_overrides
    from hsearch.workflows.context import base_spec

    for pack, gpus, expected in ((None, 0.0, False), (None, 1.0, True), (True, 0.0, True),
                                 (False, 1.0, False)):
        settings = load_settings(NasSettings, None, {"resources.pack": pack})
        assert base_spec(settings, tmp_path, gpus).pack is expected
    parser = argparse.ArgumentParser()
    add_run_options(parser)
    assert run_overrides(parser.parse_args(["--pack"]))["resources.pack"] is True
    assert run_overrides(parser.parse_args(["--no-pack"]))["resources.pack"] is False
    assert run_overrides(parser.parse_args([]))["resources.pack"] is None
    with pytest.raises(UserError, match="resources.pack"):
        load_settings(NasSettings, None, {"resources.pack": "yes"})
