"""Run a comparison: replayed problems (the table, the analytic ones, the suite) or the trained
NAS problem, each by its own module, into one output layout (hsearch.compare.outputs)."""

from __future__ import annotations

from pathlib import Path

from hsearch.compare.outputs import ComparisonResult
from hsearch.compare.protocol import SUITE, CompareSettings
from hsearch.compare.real import run_real_comparison
from hsearch.compare.replayed import run_replayed_comparison

__all__ = ["run_comparison"]


def run_comparison(settings: CompareSettings, out_dir: str | Path, *, use_ray: bool = True,
                   echo: bool = False, command: str | None = None,
                   max_proposals: int | None = None) -> ComparisonResult:
    """Run ``settings`` and write ``out_dir``; returns what was written (for the suite: the
    suite's summary and every instance's rows).

    Replayed problems: hsearch.compare.replayed (one Ray task per repetition); the real NAS
    problem (``problem="nas"``): hsearch.compare.real (one ``hsearch nas`` run per repetition).
    ``use_ray=False`` runs the replayed repetitions one after the other in this process (tests,
    debugging). ``command`` is recorded in the outputs (the CLI passes its command line).
    ``max_proposals``: suggestions taken per replayed run at most (None: the replay's
    10 x budget); lower it only for a searcher too slow to run otherwise -- it is recorded and
    shown in summary.md.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if settings.problem != SUITE and settings.spec.real:
        return run_real_comparison(settings, out_dir, echo=echo, command=command)
    return run_replayed_comparison(settings, out_dir, use_ray=use_ray, echo=echo,
                                   command=command, max_proposals=max_proposals)
