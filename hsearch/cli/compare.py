"""``hsearch compare``: NOMAD against Tune's searchers, same budget, space, x0 and concurrency.

Example (the tabulated NAS benchmark: minutes on 2 CPU cores)::

    hsearch compare --problem tabular --searchers nomad,random,optuna,hyperopt --max-evals 60 \\
        --repeats 10 --out runs/compare

runs every (searcher, repetition) as a Ray task that replays the problem (the table answers each
trial and a simulated clock charges its recorded training time; hsearch.compare.replay) and writes
``runs.csv``, ``summary.md`` and the convergence and data-profile PNGs into ``--out``. Problems:
``suite`` (every instance of hsearch.compare.suite, one directory each, and a suite summary),
``tabular`` (the shipped table, or ``--table FILE``; ``--baseline-acc 0.95`` picks the instance
whose accuracy level is 0.95), the analytic ones (``g06``, ``g04``, ``pressure_vessel``,
``g07``) and ``nas``, the real NAS of the workflows (trains every evaluation: keep ``--max-evals``
and ``--repeats`` small). The flags say what ``hsearch nas`` says: ``--max-evals`` (evaluations
per run) and ``--baseline-acc`` (the mean accuracy the threshold is taken from, minus
``--tolerance``); the old spellings ``--budget`` and ``--threshold`` still work for one release
(:data:`DEPRECATED`), with one line on stderr. Searchers whose package is missing are skipped with one line
(``pip install "hsearch[compare]"`` installs them); ``--list`` shows which. ``--merge A --merge
B`` joins result sets of the same protocol (hsearch.compare.merge).
"""

from __future__ import annotations

import argparse
import datetime
import shlex
import sys
from pathlib import Path

from hsearch.cli._workflow_options import quiet_ray
from hsearch.compare.protocol import CompareSettings, list_compare_problems
from hsearch.errors import UserError


#: old spelling -> the flag that replaced it (kept for one release, with one line on stderr)
DEPRECATED = {"--budget": "--max-evals", "--threshold": "--baseline-acc"}


class _Deprecated(argparse.Action):
    """An old spelling of a flag: stores into the new flag's ``dest`` and says so in one line."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"hsearch compare: {option_string} is deprecated, use {DEPRECATED[option_string]}",
              file=sys.stderr)
        setattr(namespace, self.dest, values)


def register(subparsers) -> None:
    """Add the ``compare`` sub-command."""
    p = subparsers.add_parser(
        "compare", help="benchmark NOMAD against Tune's searchers (repeated runs, summary, plots)",
        description="Compare searchers on one problem under one protocol: the same evaluation "
                    "budget, search space, starting point and concurrency, R repetitions with "
                    "different searcher seeds. Writes runs.csv, summary.md and PNG plots.")
    p.add_argument("--problem", default="tabular",
                   help="tabular (default), suite (every instance), an analytic problem (g06, "
                        "g04, pressure_vessel, g07) or nas (real training)")
    p.add_argument("--baseline-acc", type=float, default=None,
                   help="tabular: the mean accuracy the threshold is taken from (minus "
                        "--tolerance), absolute (default: the baseline's); e.g. 0.95")
    p.add_argument("--threshold", dest="baseline_acc", type=float, action=_Deprecated,
                   help=argparse.SUPPRESS)
    p.add_argument("--searchers", default="all",
                   help="comma-separated searcher names, or 'all' (default; the ones not "
                        "installed are skipped)")
    p.add_argument("--max-evals", type=int, default=60,
                   help="evaluations per run (default 60)")
    p.add_argument("--budget", dest="max_evals", type=int, action=_Deprecated,
                   help=argparse.SUPPRESS)
    p.add_argument("--repeats", type=int, default=10,
                   help="runs per searcher, searcher seeds SEED..SEED+R-1 (default 10)")
    p.add_argument("--concurrency", type=int, default=1,
                   help="trials at once, the same for every searcher (default 1)")
    p.add_argument("--seed", type=int, default=0, help="first searcher seed (default 0)")
    p.add_argument("--rule", choices=("penalty", "barrier"), default=None,
                   help="constraint handling for searchers without constraint support "
                        "(default: penalty for NAS problems, barrier for analytic ones)")
    p.add_argument("--penalty", type=float, default=None,
                   help="weight of the violation in the penalty rule (default 100)")
    p.add_argument("--table", default=None,
                   help="tabular: a table made by experiments/make_tabular.py (default: shipped)")
    p.add_argument("--tolerance", type=float, default=None,
                   help="tabular: accuracy below the baseline still feasible (default 0)")
    p.add_argument("--seeds-per-eval", type=int, default=None, metavar="K",
                   help="tabular: answer each evaluation with K of the network's seeds, drawn "
                        "per run, not the all-seed mean (noise as real training has it; "
                        "default: exact; the suite's noisy instances: 4)")
    p.add_argument("--confirm", action="store_true",
                   help="tabular with --seeds-per-eval: confirm a feasible result within "
                        "reach of the threshold with more seeds, as hsearch nas --confirm does")
    p.add_argument("--max-seeds", type=int, default=None,
                   help="confirmation: seeds a result may reach (default 10)")
    p.add_argument("--confidence", type=float, default=None,
                   help="confirmation: level of the one-sided bound (default 0.95)")
    p.add_argument("--nas-config", default=None, metavar="FILE",
                   help="nas: the experiment YAML of the runs (default: the demo's settings)")
    p.add_argument("--nomad-param", action="append", default=None, metavar="LINE",
                   help="extra NOMAD parameter line, e.g. 'NM_SEARCH no' (repeatable; default: "
                        "NOMAD as hsearch nas runs it)")
    p.add_argument("--num-cpus", type=int, default=None,
                   help="CPUs of the local Ray started for the runs (default: all)")
    p.add_argument("--serial", action="store_true",
                   help="run the repetitions one after the other in this process, without Ray")
    p.add_argument("--out", default=None,
                   help="output directory (default runs/compare-<problem>-<date>-<time>)")
    p.add_argument("--instances", default=None,
                   help="suite: comma-separated instance names to run (default: all), e.g. "
                        "tabular,tabular@0.952")
    p.add_argument("--max-proposals", type=int, default=None,
                   help="suggestions taken per run at most (default 10 x max-evals; free points "
                        "count); lower only for a searcher too slow otherwise")
    p.add_argument("--merge", action="append", default=None, metavar="DIR",
                   help="merge result directories of the same protocol into --out instead of "
                        "running (repeatable)")
    p.add_argument("--exclude", action="append", default=None, metavar="DIR:INSTANCE",
                   help="with --merge: leave this instance of this merged suite out "
                        "(repeatable)")
    p.add_argument("--exclude-searcher", action="append", default=None, metavar="DIR:NAME",
                   help="with --merge: leave this searcher's runs of this merged directory out, "
                        "e.g. one re-run with newer code of its own (repeatable)")
    p.add_argument("--list", action="store_true",
                   help="list the searchers and problems, and whether each searcher is installed")
    p.set_defaults(run=run)


def parse_searchers(text: str) -> tuple[str, ...]:
    """``"all"`` or a comma-separated list of searcher names -> a tuple of names."""
    from hsearch.search.factory import list_searchers  # imports ray: kept out of `hsearch --help`

    names = tuple(s.strip() for s in text.split(",") if s.strip())
    if names == ("all",):
        return tuple(list_searchers())
    if not names:
        raise UserError(f"`--searchers` must name at least one searcher, but got {text!r}")
    return names


def settings_from_args(args: argparse.Namespace):
    """The CompareSettings the flags describe (validated)."""
    return CompareSettings(
        problem=args.problem, searchers=parse_searchers(args.searchers), budget=args.max_evals,
        repeats=args.repeats, concurrency=args.concurrency, seed=args.seed, rule=args.rule,
        penalty=args.penalty, table=args.table,
        tolerance=0.0 if args.tolerance is None else args.tolerance, num_cpus=args.num_cpus,
        nas_config=args.nas_config, nomad_params=tuple(args.nomad_param or ()),
        threshold=args.baseline_acc,
        instances=tuple(s.strip() for s in (args.instances or "").split(",") if s.strip()),
        seeds_per_eval=args.seeds_per_eval, confirm=args.confirm,
        **{k: v for k, v in (("max_seeds", args.max_seeds), ("confidence", args.confidence))
           if v is not None})


def command_line(settings, out: str | Path) -> str:
    """The command that reproduces ``settings`` (recorded at the top of summary.md)."""
    parts = ["hsearch", "compare", "--problem", settings.problem,
             "--searchers", ",".join(settings.searchers), "--max-evals", str(settings.budget),
             "--repeats", str(settings.repeats), "--concurrency", str(settings.concurrency),
             "--seed", str(settings.seed)]
    for flag, value in (("--baseline-acc", settings.threshold),
                        ("--rule", settings.rule), ("--penalty", settings.penalty),
                        ("--table", settings.table), ("--nas-config", settings.nas_config),
                        ("--seeds-per-eval", settings.seeds_per_eval)):
        if value is not None:
            parts += [flag, str(value)]
    if settings.tolerance:
        parts += ["--tolerance", str(settings.tolerance)]
    if settings.instances:
        parts += ["--instances", ",".join(settings.instances)]
    if settings.confirm:
        parts.append("--confirm")
    if settings.confirm or settings.problem == "suite":
        parts += ["--max-seeds", str(settings.max_seeds), "--confidence",
                  str(settings.confidence)]
    for line in settings.nomad_params:
        parts += ["--nomad-param", line]
    parts += ["--out", str(out)]
    return shlex.join(parts)


def _listing() -> str:
    from hsearch.search.factory import SEARCHERS, is_available  # imports ray (as above)

    lines = ["searchers:"]
    width = max(map(len, SEARCHERS))
    for name, entry in SEARCHERS.items():
        state = "installed" if is_available(name) else f"missing: pip install {entry.install}"
        cons = "native constraints" if entry.constraints else "penalised objective"
        lines.append(f"  {name:<{width}} {entry.description} [{cons}; {state}]")
    lines.append("problems: " + ", ".join(list_compare_problems()))
    return "\n".join(lines)


def _out_dir(out: str | None, problem: str) -> Path:
    path = Path(out) if out else Path("runs") / datetime.datetime.now().strftime(
        f"compare-{problem}-%Y%m%d-%H%M%S")
    if path.exists() and not path.is_dir():
        raise UserError(f"--out {str(path)!r} exists and is not a directory")
    taken = [n for n in ("runs.csv", "summary.md", "real") if (path / n).exists()]
    if taken:
        raise UserError(f"{path} holds a comparison already ({', '.join(taken)}); choose "
                        f"another --out or remove it")
    return path


def run(args: argparse.Namespace) -> int:
    """Run the comparison and print the summary."""
    if args.list:
        print(_listing())
        return 0
    if args.merge:
        if not args.out:
            raise UserError("--merge needs --out (the merged directory)")
        out = _out_dir(args.out, "merge")
        from hsearch.compare.merge import merge_comparisons  # imports ray: as above

        line = shlex.join(["hsearch", "compare", *[x for d in args.merge for x in ("--merge", d)],
                           *[x for e in args.exclude or () for x in ("--exclude", e)],
                           *[x for e in args.exclude_searcher or ()
                             for x in ("--exclude-searcher", e)],
                           "--out", str(out)])
        result = merge_comparisons(args.merge, out, command=line, echo=True,
                                   exclude=tuple(args.exclude or ()),
                                   exclude_searchers=tuple(args.exclude_searcher or ()))
        print(result.summary)
        return 0
    settings = settings_from_args(args)
    out = _out_dir(args.out, settings.problem)
    quiet_ray(args.verbose)
    from hsearch.compare.run import run_comparison  # imports ray: as above

    if args.max_proposals is not None and args.max_proposals < settings.budget:
        raise UserError(f"`--max-proposals >= max-evals` must hold, but got "
                        f"{args.max_proposals} < {settings.budget}")
    line = command_line(settings, out)
    if args.max_proposals is not None:
        line = line.replace(" --out ", f" --max-proposals {args.max_proposals} --out ", 1)
    result = run_comparison(settings, out, use_ray=not args.serial, echo=True, command=line,
                            max_proposals=args.max_proposals)
    print(result.summary)
    return 0
