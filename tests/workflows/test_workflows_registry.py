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
    assert list(inspect.signature(resolve(workflow.summary)).parameters) == [
        "run_dir", "settings", "rows", "best"]
    assert workflow.mode in ("min", "max")
    assert set(workflow.cli.groups) <= set(OPTION_GROUPS) and "run" in workflow.cli.groups
    for option in workflow.cli.options:
        assert option.key in fields, option
    settings = cls()
    assert workflow.planned(settings) >= 1
    assert ("search" in workflow.cli.groups) == ("search" in fields)


def test_names_and_lookup():
    assert list_workflows() == ["demo", "baseline", "nas", "hpo", "evaluate"]
    assert find_workflow("hpo").objective == "acc_mean"
    with pytest.raises(KeyError, match="known workflows: demo, baseline"):
        find_workflow("nsa")
    assert set(SETTINGS_CLASSES) == set(list_workflows())
    assert SETTINGS_CLASSES["demo"] is SETTINGS_CLASSES["nas"]
    with pytest.raises(KeyError):
        SETTINGS_CLASSES["nsa"]


def test_the_cli_has_one_command_per_row_in_the_table_order():
    parser = build_parser()
    commands = list(parser._subparsers._group_actions[0].choices)
    assert commands == ["train", *list_workflows(), "report", "resume", "compare"]


def test_a_row_option_reaches_the_settings(tmp_path):
    from hsearch.cli._workflow_options import settings_from_args

    row = find_workflow("baseline")
    args = build_parser().parse_args(["baseline", "--models", "resnet18, senet18,"])
    extra = {o.key: o.value(getattr(args, o.key)) for o in row.cli.options}
    settings = settings_from_args(row.settings_class, args, extra)
    assert settings.models == ("resnet18", "senet18")
