"""Fault injection, for tests only: a test's rules become one hook per trial attempt.

When the *driver's* environment names a JSON file in ``HSEARCH_TEST_FAULTS`` (read by
hsearch.workflows.context.open_run into ``TrialSpec.faults``), trials read rules from it, e.g.
``[{"trial": 2, "fault": "kill", "times": 1}]``: the second trial Tune created (the number after
the trial id in its name and folder, ``hsearch_trial_<id>_2_...``) gets the fault, in its first
``times`` attempts (0 or absent: every attempt; attempts are counted with marker files in the
trial's folder). Faults fire inside the real trainer at the end of the first epoch (``raise``,
``kill`` and ``hang`` at the start of the trial when every seed comes from the cache):
``raise`` (RuntimeError), ``kill`` (SIGKILL of the trial's own process), ``oom``
(torch.OutOfMemoryError, every seed), ``diverge`` (every seed trains with lr 1e30, so the loss
really becomes non-finite) and ``hang`` (the trial sleeps HANG_S seconds, so it is surely running
when a test kills the driver). Users never set this; without the variable nothing is read.

:func:`hook_from` gives the trainable the :class:`Fault` of one attempt (or None); the trainable
builds it into the seeds' work (:meth:`Fault.arm`), so the seed runners know nothing of faults.
Seeds trained under a fault are not the configuration's result: the seed cache keeps none of
them, and a fault that acts while training (``oom``, ``diverge``) reuses no cached seed either.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from ray import tune

logger = logging.getLogger(__name__)

#: Environment variable naming a fault-rules file (tests only; see the module docstring).
FAULTS_ENV = "HSEARCH_TEST_FAULTS"
FAULT_KINDS = ("raise", "kill", "oom", "diverge", "hang")
#: How long the ``hang`` test fault sleeps (it ends with the test's kill of the driver).
HANG_S = 600.0


@dataclass(frozen=True)
class Fault:
    """The test fault one attempt of a trial suffers (picklable: it travels to seed tasks).

    Called, it is a per-epoch report callback of the trainer that fires the fault.
    """

    kind: str

    @property
    def in_training(self) -> bool:
        """Whether it acts on the training itself (``oom``, ``diverge``): seeds must train."""
        return self.kind in ("oom", "diverge")

    def arm(self, work):
        """``work`` (hsearch.workflows.seeds.SeedWork) with the fault built in: ``diverge``
        trains with lr 1e30, the others fire from the trainer's per-epoch report."""
        if self.kind == "diverge":
            return dataclasses.replace(work, train=dataclasses.replace(work.train, lr=1e30))
        return dataclasses.replace(work, report=self)

    def fire_untrained(self) -> None:
        """Fire now, for an attempt in which no seed trains (every seed from the cache):
        ``raise``, ``kill`` and ``hang``; ``oom`` and ``diverge`` need training to act on."""
        if not self.in_training:
            self()

    def __call__(self, **metrics) -> None:
        if self.kind == "oom":
            raise torch.OutOfMemoryError(f"CUDA out of memory (injected by {FAULTS_ENV})")
        if self.kind == "raise":
            raise RuntimeError(f"fault injected by {FAULTS_ENV}")
        if self.kind == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        if self.kind == "hang":
            time.sleep(HANG_S)


def hook_from(rules: str | Path | None, trial_dir: Path) -> Fault | None:
    """The fault this attempt of the trial in ``trial_dir`` must suffer under the rules file
    ``rules`` (``TrialSpec.faults``), or None (always None without rules: real runs).

    Counts the attempt (a marker file in ``trial_dir``) when the rule limits its ``times``, so
    call it once per attempt. ValueError names an unknown fault kind.
    """
    if not rules:
        return None
    trial_id = tune.get_context().get_trial_id() or ""
    # the trial's folder is "<trainable>_<trial id>_<n>_<config>_<date>": n counts trials from 1
    tag = trial_dir.name.split(f"{trial_id}_", 1)[-1].split("_", 1)[0]
    if not tag.isdigit():
        return None
    for rule in json.loads(Path(rules).read_text()):
        if int(rule["trial"]) != int(tag):
            continue
        kind = rule["fault"]
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r} in {rules}; known: {FAULT_KINDS}")
        times = int(rule.get("times", 0))
        if times:
            attempts = len(list(trial_dir.glob(".fault-attempt-*")))
            if attempts >= times:
                return None
            (trial_dir / f".fault-attempt-{attempts + 1}").touch()
        logger.warning("trial %s: injecting the test fault %r (%s)", trial_id, kind, FAULTS_ENV)
        return Fault(kind)
    return None
