"""The ``hsearch`` command: sub-commands registered by the modules of this package.

Each command module defines ``register(subparsers)``, which adds its parser(s) and sets
``run=<function(args) -> int>`` as a default; hsearch.cli.workflows adds one command per row of
the workflow table (hsearch.workflows.registry). Heavy imports (torch, ray) stay inside the
``run`` functions so that ``hsearch --help`` and argument errors are quick.

Bad user input ends as one line on stderr and exit code 2, never a traceback (argument errors
too: no usage block): a :class:`~hsearch.errors.UserError` (what the library and the commands
raise for input they refuse) or an OSError (a path that cannot be read or written, a full disk,
an unreachable host). Any other exception is a bug in hsearch: its traceback is shown, then one
line saying so, and the exit code is 1. ``HSEARCH_DEBUG=1`` shows the traceback of user errors
too. Logging goes to stderr at WARNING level (``-v``: DEBUG); the commands print their own
progress to stdout.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback

from hsearch.errors import UserError

# Modules of this package that define sub-commands, in the order `--help` lists them
# ("workflows": train, demo, baseline, nas, hpo, evaluate, in the workflow table's order).
# Whole names, not pieces: tests/core/test_layers.py reads them as this package's imports.
COMMAND_MODULES = ("hsearch.cli.workflows", "hsearch.cli.report", "hsearch.cli.resume",
                   "hsearch.cli.compare")

# Exceptions that mean "the user asked for something that cannot be done" (OSError: a path
# that cannot be read or written, a full or read-only disk, an unreachable host).
USER_ERRORS = (UserError, OSError)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, but an argument error is one line (argparse prints the usage first),
    and a long option must be spelt out: argparse would take ``--max-eval`` for ``--max-evals``
    (and a misspelt flag for whichever flag it starts), silently running something not asked
    for."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every sub-command registered."""
    parser = _Parser(
        prog="hsearch",
        description="Constrained NAS and HPO under tight training budgets (NOMAD + Ray Tune).",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return int(args.run(args) or 0)
    except USER_ERRORS as exc:
        if os.environ.get("HSEARCH_DEBUG"):
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"hsearch {args.command}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hsearch {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 -- not a user error: a bug, shown as one
        traceback.print_exc()
        print(f"hsearch {args.command}: internal error ({type(exc).__name__}): a bug in hsearch, "
              f"not in your input; please report it to the hsearch maintainers with the "
              f"traceback above and the command line (HSEARCH_DEBUG=1 also shows the traceback "
              f"of an input error)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
