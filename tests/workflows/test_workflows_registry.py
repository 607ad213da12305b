"""The workflow table: every row resolves to real classes and functions, and every place that
looks a workflow up by name (CLI, settings of a run directory, summary, resume) reads the table."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from hsearch.cli import build_parser
from hsearch.cli._workflow_options import OPTION_GROUPS
from hsearch.workflows.registry import (
    SETTINGS_CLASSES,
    WORKFLOWS,
    find_workflow,
    list_workflows,
    resolve,
)
from hsearch.workflows.settings import RunSettings


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_every_row_resolves(workflow):
    cls = workflow.settings_class
    assert issubclass(cls, RunSettings)
    fields = {f.name for f in dataclasses.fields(cls)}
    run = inspect.signature(workflow.run_function)
    assert list(run.parameters)[:2] == ["settings", "run_dir"]
    assert {"resume", "echo"} <= set(run.parameters)
    if workflow.records_run:
        assert list(inspect.signature(resolve(workflow.summary)).parameters) == [
            "run_dir", "settings", "rows", "best"]
    assert workflow.mode in ("min", "max")
    assert set(workflow.cli.groups) <= set(OPTION_GROUPS)
    # every command takes the data, architecture and training flags, from one declaration
    assert {"run", "training"} & set(workflow.cli.groups)
    for option in workflow.cli.options:
        assert option.key in fields, option
    assert set(workflow.cli.defaults) <= fields
    settings = cls(**workflow.cli.defaults)
    assert workflow.planned(settings) >= 1
    assert ("search" in workflow.cli.groups) == ("search" in fields)


def test_names_and_lookup():
    assert list_workflows() == ["train", "demo", "baseline", "nas", "hpo", "evaluate"]
    assert find_workflow("hpo").objective == "acc_mean"
    with pytest.raises(KeyError, match="known workflows: train, demo, baseline"):
        find_workflow("nsa")
    # train leaves result.json, not a run directory that config.yaml's `workflow` could name
    assert not find_workflow("train").records_run
    assert set(SETTINGS_CLASSES) == set(list_workflows()) - {"train"}
    assert len(SETTINGS_CLASSES) == 5
    assert SETTINGS_CLASSES["demo"] is SETTINGS_CLASSES["nas"]
    with pytest.raises(KeyError):
        SETTINGS_CLASSES["nsa"]


def test_the_cli_has_one_command_per_row_in_the_table_order():
    parser = build_parser()
    commands = list(parser._subparsers._group_actions[0].choices)
    assert commands == [*list_workflows(), "report", "resume", "compare"]


SHARED_FLAGS = ("--data", "--model", "--width", "--depth", "--resolution", "--budget", "--seeds",
                "--optimizer", "--lr", "--wd", "--batch-size", "--no-augment", "--out")


def _actions(command: str) -> dict:
    parser = build_parser()._subparsers._group_actions[0].choices[command]
    return {flag: action for action in parser._actions for flag in action.option_strings}


def test_train_takes_the_shared_flags_and_only_its_defaults_differ():
    """train's --model ... --seeds are the workflows' declarations (same dest, type, default,
    help), the help naming the row's own budget and seeds defaults."""
    train, nas = _actions("train"), _actions("nas")
    for flag in SHARED_FLAGS:
        mine, theirs = train[flag], nas[flag]
        assert (mine.dest, mine.type, mine.default, mine.nargs) == (
            theirs.dest, theirs.type, theirs.default, theirs.nargs), flag
        if flag not in ("--budget", "--seeds"):
            assert mine.help == theirs.help, flag
    assert "(default 60s)" in train["--budget"].help and "(default 600s)" in nas["--budget"].help
    assert "(default 3)" in train["--seeds"].help and "(default 10)" in nas["--seeds"].help
    assert "--concurrency" not in train and "--config" not in train  # Ray's, the workflows'
    assert "--momentum" not in nas  # the optimisation group is train's only, for now


def test_train_settings_start_from_the_row_defaults():
    from hsearch.cli.workflows import settings_of

    row = find_workflow("train")
    assert dict(row.cli.defaults) == {"budget": "60s", "seeds": 3}

    def settings(*argv):
        return settings_of(row, build_parser().parse_args(["train", *argv]))

    s = settings()
    assert (str(s.budget), s.seeds, s.first_seed, s.split, s.device) == ("60s", 3, 0, "val", "auto")
    assert s.arch.model == "senet18" and s.arch.depth == 1.0 and s.train.optimizer == "sgd"
    s = settings("--budget", "2ep", "--seeds", "5", "--first-seed", "4", "--momentum", "0.5",
                 "--no-augment", "--cutout", "--no-epoch-eval", "--threads", "2")
    assert (str(s.budget), s.seed_range, s.train.momentum, s.threads) == ("2ep", (4, 5, 6, 7, 8),
                                                                          0.5, 2)
    assert not s.train.eval_each_epoch and not s.train.augment.cutout  # --no-augment wins


def test_a_row_option_reaches_the_settings(tmp_path):
    from hsearch.cli._workflow_options import settings_from_args

    row = find_workflow("baseline")
    args = build_parser().parse_args(["baseline", "--models", "resnet18, senet18,"])
    extra = {o.key: o.value(getattr(args, o.key)) for o in row.cli.options}
    settings = settings_from_args(row.settings_class, args, extra)
    assert settings.models == ("resnet18", "senet18")
