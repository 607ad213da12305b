"""Finished seeds on disk, reused by re-run trials and by configurations of an equal network.

Finished seeds (but not those that ran out of memory: that depends on what else used the device)
are kept in ``spec.cache_dir`` under a key of everything that determines them (data set, subset
sizes, split, the network's structure (:func:`network_digest`), training config, budget, GPU
share, packing when the budget is a time budget, seed), so a re-run trial trains only the
seeds that had not finished, and a configuration
whose network equals an evaluated one (e.g. NAS's x0, the baseline) reuses those seeds
(``seeds_reused``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from pathlib import Path

import torch

from hsearch.files import write_atomic
from hsearch.results.jsonable import json_default
from hsearch.train import Architecture, SeedResult, TrainConfig
from hsearch.train.packed import TIME_RULE
from hsearch.workflows.ray_session import DataHandle
from hsearch.workflows.trial_spec import TrialSpec

logger = logging.getLogger(__name__)


class SeedCache:
    """Finished seeds on disk, keyed by everything that determines a seed's result.

    ``pack``: whether the seeds train packed (None: ``spec.pack``; confirmation's extra seeds
    train solo in a packed trial).
    """

    def __init__(self, spec: TrialSpec, arch: Architecture, train: TrainConfig, data: DataHandle,
                 pack: bool | None = None):
        self.dir = Path(spec.cache_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self._base = {
            "version": 2, "dataset": data.name, "sizes": dataclasses.astuple(spec.sizes),
            "split": spec.split, "network": network_digest(arch, data.num_classes),
            "train": train.to_dict(), "budget": spec.budget.text,
            # a shared GPU changes what a time budget buys (hsearch.workflows.seeds)
            "gpu_share": float(spec.gpus_per_seed),
        }
        if (spec.pack if pack is None else pack) and spec.budget.is_time:
            # a packed seed's time budget is its group's clock (hsearch.train.packed.TIME_RULE)
            self._base["pack"] = TIME_RULE

    def _path(self, seed: int) -> Path:
        text = json.dumps({**self._base, "seed": int(seed)}, sort_keys=True, default=str)
        return self.dir / f"{hashlib.sha256(text.encode()).hexdigest()[:24]}.json"

    def get(self, seed: int) -> SeedResult | None:
        """The cached result of ``seed``, or None (not cached, or unreadable)."""
        path = self._path(seed)
        if not path.exists():
            return None
        try:
            data = json.loads(path.read_text())
            data["history"] = tuple(data.get("history", ()))
            return SeedResult(**data)
        except (OSError, ValueError, TypeError) as exc:
            logger.warning("ignoring unreadable cached seed %s: %s", path, exc)
            return None

    def put(self, result: SeedResult) -> None:
        """Keep ``result`` (atomically) for later trials."""
        write_atomic(self._path(result.seed),
                     json.dumps(result.to_dict(), default=json_default) + "\n")


def network_digest(arch: Architecture, num_classes: int = 10) -> str:
    """A digest of the network an architecture builds: model, input size and every parameter
    and buffer shape. Multipliers that round to the same channels and blocks give the same
    digest (and, for a given seed, the same initialisation and training)."""
    with torch.device("meta"):  # shapes only: nothing is allocated
        model = arch.build(num_classes=num_classes)
    shapes = [(name, tuple(t.shape)) for name, t in model.state_dict().items()]
    text = json.dumps([arch.model, arch.input_size, shapes])
    return hashlib.sha256(text.encode()).hexdigest()[:24]
