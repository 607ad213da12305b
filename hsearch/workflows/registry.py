"""Workflows by name: one table, so adding a workflow is one row plus its own module.

Each row says what ``config.yaml``'s ``workflow`` key means everywhere it is read: the settings
class (:func:`load_run_settings`), the run function (hsearch.workflows.launch, for the CLI and
``hsearch resume``), the objective and its sense and the summary lines (hsearch.workflows.report;
the lines are hsearch.workflows.report_lines'), and the command line (hsearch.cli.workflows:
help, description, option groups, its own flags, defaults, checks). ``train`` is a row too: its
run writes ``result.json`` instead of a run directory of the others' kind, so it has no summary
lines (``summary=None``), and ``hsearch report``/``resume`` and ``config.yaml`` do not know it.
The order of :data:`WORKFLOWS` is the order ``hsearch --help`` lists the commands in.

Example::

    nas = find_workflow("nas")
    settings = nas.settings_class(seeds=2)   # NasSettings
    result = run_workflow("nas", settings, echo=True)   # hsearch.workflows.launch

Rows name classes and functions by dotted path (``"module:name"``), resolved when used: this
module imports no more of hsearch than the run directory's config reader, so the CLI reads the
table without importing torch or Ray (``hsearch --help`` stays quick). A run function is called
as ``run(settings, run_dir=None, *, resume=False, echo=False)`` and returns a result with
``run_dir`` and a ``summary`` field that its caller fills (the run function writes no summary:
hsearch.workflows.launch.run_workflow does, after it; a row without summary lines fills it
itself), and optionally an ``exit_code`` (default 0); a summary function as
``lines(run_dir, settings, rows, best) -> list[str]``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from hsearch.configs import from_mapping
from hsearch.errors import UserError
from hsearch.workflows.run_dir import CONFIG_FILE, read_run_config

__all__ = ["Option", "CommandLine", "Workflow", "WORKFLOWS", "SETTINGS_CLASSES",
           "find_workflow", "list_workflows", "load_run_settings", "resolve"]


def resolve(path: str) -> Any:
    """The object a dotted path ``"package.module:name"`` names (its module imported now)."""
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def _comma_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


@dataclass(frozen=True)
class Option:
    """A flag of one workflow's own (beside the shared option groups) that sets settings field
    ``key`` (also the argparse dest); ``type`` converts the text (argparse's ``type``: a bad value
    is an argument error), ``parse`` turns a given value into the field's value."""

    flag: str
    key: str
    help: str
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    parse: Callable[[Any], Any] | None = None
    type: Callable[[str], Any] | None = None

    def value(self, given: Any) -> Any:
        """The settings value of the flag's parsed value (None: not given)."""
        return self.parse(given) if given is not None and self.parse else given


@dataclass(frozen=True)
class CommandLine:
    """How a workflow appears as ``hsearch <name>``.

    groups: the shared option groups it takes, in order (``"run"``, ``"search"``, ``"nas"``, ...
    hsearch.cli._workflow_options). options: its own flags, after the groups. checks: dotted
    paths of ``check(settings)`` functions that refuse settings before a run directory or Ray
    exists. preset: dotted path of a function returning the settings the config file and flags
    start from (default: the settings class's defaults). banner: dotted path of
    ``banner(settings) -> str``, printed before the run. wall_time: print the command's wall
    time after the summary. defaults: top-level settings values the command starts from instead
    of the settings class's (under the preset, the config file and the flags; its --help shows
    them), e.g. ``train``'s shorter budget.
    """

    help: str
    description: str
    groups: tuple[str, ...]
    options: tuple[Option, ...] = ()
    checks: tuple[str, ...] = ()
    preset: str | None = None
    banner: str | None = None
    wall_time: bool = False
    defaults: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Workflow:
    """One row: a workflow's name and everything that is looked up by it.

    objective / mode: the metric the run's evaluations.csv ranks by and its sense (a NAS's
    ``settings.objective`` overrides it). planned: the number of evaluations the settings ask
    for. stops_early: the searcher may end the search before that number (the summary then says
    why, hsearch.workflows.report.read_stop_reason). summary: dotted path of the summary lines;
    None for a row whose run leaves no run directory of the workflows' kind (``train``: no
    config.yaml or summary.txt, so neither ``hsearch report`` nor ``resume`` applies).
    """

    name: str
    settings: str
    run: str
    objective: str
    mode: str
    summary: str | None
    planned: Callable[[Any], int]
    cli: CommandLine
    stops_early: bool = False

    @property
    def records_run(self) -> bool:
        """Whether the run leaves a run directory with config.yaml and summary.txt."""
        return self.summary is not None

    @property
    def settings_class(self) -> type:
        """The settings dataclass (imports its module)."""
        return resolve(self.settings)

    @property
    def run_function(self) -> Callable[..., Any]:
        """``run(settings, run_dir=None, *, resume=False, echo=False)`` (imports its module)."""
        return resolve(self.run)

    def summary_lines(self, run_dir, settings, rows: list, best: dict | None) -> list[str]:
        """The workflow's own lines of a run summary (hsearch.workflows.report)."""
        assert self.summary is not None, f"workflow {self.name!r} writes no summary"
        return resolve(self.summary)(run_dir, settings, rows, best)


def _max_evals(settings) -> int:
    return settings.search.max_evals


_NAS_CLI = dict(groups=("run", "search", "nas"), checks=("hsearch.workflows.nas:check_searchable",))

WORKFLOWS: tuple[Workflow, ...] = (
    Workflow(
        name="train", settings="hsearch.workflows.train:TrainSettings",
        run="hsearch.workflows.train:run_train", objective="acc_mean", mode="max",
        summary=None, planned=lambda settings: 1,
        cli=CommandLine(
            help="train an architecture on seeded subsets, report mean ± std accuracy",
            description="Train one (scaled) architecture once per seed, each on its own seeded "
                        "subset, under a wall-clock or epoch budget; report the final models' "
                        "accuracies, their mean and sample std, and the model's MACs.",
            groups=("training", "optimisation", "out"),
            # one look at an architecture: a minute a seed, three seeds (the workflows compare
            # many and default to the paper's 10 minutes and 10 seeds)
            defaults={"budget": "60s", "seeds": 3},
            options=(Option("--split", "split", choices=("val", "test"),
                            help="score on the subset's validation (default) or test images"),
                     Option("--first-seed", "first_seed", type=int,
                            help="seeds run from this one up (default 0)"),
                     Option("--device", "device",
                            help="auto (default: CUDA when present), cpu, cuda, cuda:1"),
                     Option("--threads", "threads", type=int,
                            help="torch CPU threads (default: torch's own setting; on a machine "
                                 "shared with other processes, 1 is often faster for small "
                                 "models)")))),
    Workflow(
        name="demo", settings="hsearch.workflows.settings:NasSettings",
        run="hsearch.workflows.demo:run_demo", objective="macs", mode="min",
        summary="hsearch.workflows.report_lines:nas_lines", planned=_max_evals,
        stops_early=True,
        cli=CommandLine(
            help="a small NAS on the embedded digits data, start to finish",
            description="A complete NAS on the digits data that runs in minutes on 2 CPU cores.",
            preset="hsearch.workflows.demo:demo_settings",
            banner="hsearch.workflows.demo:banner", wall_time=True, **_NAS_CLI)),
    Workflow(
        name="baseline", settings="hsearch.workflows.settings:BaselineSettings",
        run="hsearch.workflows.baseline:run_baseline", objective="acc_mean", mode="max",
        summary="hsearch.workflows.report_lines:baseline_lines",
        planned=lambda settings: len(settings.models),
        cli=CommandLine(
            help="rank registry models by mean accuracy over K seeds (Table 1)",
            description="Train each model K times (one seeded subset each) under the budget and "
                        "print the table sorted by mean accuracy.",
            groups=("run",),
            options=(Option("--models", "models", parse=_comma_list,
                            help="comma-separated model names (default: the paper's list)"),))),
    Workflow(
        name="nas", settings="hsearch.workflows.settings:NasSettings",
        run="hsearch.workflows.nas:run_nas", objective="macs", mode="min",
        summary="hsearch.workflows.report_lines:nas_lines", planned=_max_evals,
        stops_early=True,
        cli=CommandLine(
            help="NAS: smallest scaled network matching the baseline's accuracy",
            description="Minimise MACs over depth/width/resolution multipliers of a baseline, "
                        "subject to mean accuracy over K seeds >= the baseline's, on Ray Tune.",
            **_NAS_CLI)),
    Workflow(
        name="hpo", settings="hsearch.workflows.settings:HpoSettings",
        run="hsearch.workflows.hpo:run_hpo", objective="acc_mean", mode="max",
        summary="hsearch.workflows.report_lines:hpo_lines", planned=_max_evals,
        cli=CommandLine(
            help="HPO: lr, weight decay, optimiser and batch size maximising mean accuracy",
            description="Maximise mean accuracy over K seeds over the paper's training "
                        "hyperparameter space for a fixed architecture, on Ray Tune.",
            groups=("run", "search"),
            options=(Option("--from-nas", "from_nas", metavar="RUN_DIR",
                            help="take the architecture of this NAS run's best evaluation"),))),
    Workflow(
        name="evaluate", settings="hsearch.workflows.settings:EvaluateSettings",
        run="hsearch.workflows.evaluation:run_evaluate", objective="acc_mean", mode="max",
        summary="hsearch.workflows.report_lines:evaluate_lines", planned=lambda settings: 1,
        cli=CommandLine(
            help="score a configuration on the held-out test split (K seeds)",
            description="Train an architecture with its hyperparameters on K seeded subsets and "
                        "score the final models on the subsets' test images.",
            groups=("run",),
            options=(Option("--from", "from_run", metavar="RUN_DIR",
                            help="take the best configuration of this NAS/HPO/baseline run"),
                     Option("--split", "split", choices=("test", "val"),
                            help="score on test (default) or val images")))),
)


def list_workflows() -> list[str]:
    """The workflow names, in the table's order."""
    return [w.name for w in WORKFLOWS]


def find_workflow(name: str) -> Workflow:
    """The row of workflow ``name``; KeyError naming the known ones otherwise."""
    for workflow in WORKFLOWS:
        if workflow.name == name:
            return workflow
    raise KeyError(f"unknown workflow {name!r}; known workflows: {', '.join(list_workflows())}")


class _SettingsClasses(Mapping):
    """Workflow name -> settings class of the rows that record a run directory, read from
    :data:`WORKFLOWS` (classes imported on access)."""

    def __getitem__(self, name: str) -> type:
        if name not in self._names():
            raise KeyError(name)
        return find_workflow(name).settings_class

    def __iter__(self) -> Iterator[str]:
        return iter(self._names())

    def __len__(self) -> int:
        return len(self._names())

    @staticmethod
    def _names() -> list[str]:
        return [w.name for w in WORKFLOWS if w.records_run]


#: Workflow name -> settings class (config.yaml's ``workflow`` key: the rows that record a run
#: directory), a read-only view of the table.
SETTINGS_CLASSES: Mapping[str, type] = _SettingsClasses()


def load_run_settings(run_dir: str | Path):
    """(workflow name, settings dataclass, the whole config document) of a run directory."""
    document = read_run_config(run_dir)
    workflow = document["workflow"]
    if workflow not in SETTINGS_CLASSES:
        raise UserError(f"{run_dir}: unknown workflow {workflow!r} in {CONFIG_FILE}")
    settings = from_mapping(SETTINGS_CLASSES[workflow], document["settings"],
                            f"{Path(run_dir) / CONFIG_FILE}: settings")
    return workflow, settings, document
