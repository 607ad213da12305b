"""Suggestions put back on the grid of quantized domains, for Tune searchers that drop the step.

Ray's wrappers of BayesOpt, Nevergrad, BOHB and Ax drop the quantization of ``tune.quniform`` /
``tune.qrandint`` (they warn "does not support quantization") and ZOOpt takes the step as a
precision, so ``hsearch nas --step`` would train multipliers between grid points. A searcher class
that inherits :class:`GridSnapMixin` before Ray's class rounds each suggested value of a quantized
domain to the nearest multiple of its step inside the domain's bounds, as Tune's own sampling
does; the searcher is then told the result of the point that was trained.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

__all__ = ["GridSnapMixin", "quantized_domains", "snap_to_grid"]


def quantized_domains(space: Mapping[str, Any]) -> dict[str, tuple[float, float, float]]:
    """``{name: (lower, upper, step)}`` of the top-level quantized Float/Integer domains."""
    from ray.tune.search.sample import Float, Integer, Quantized

    out = {}
    for name, domain in (space or {}).items():
        if isinstance(domain, (Float, Integer)):
            sampler = domain.get_sampler()
            if isinstance(sampler, Quantized):
                # quantization makes the upper bound inclusive (Tune's qrandint and quniform)
                out[name] = (domain.lower, domain.upper, sampler.q)
    return out


def snap_to_grid(config: Mapping[str, Any], grids: Mapping[str, tuple[float, float, float]]) -> dict:
    """``config`` with each value of ``grids`` rounded to the nearest multiple of its step within
    its bounds (a multiple of the step that lies outside them is moved one step inwards)."""
    out = dict(config)
    for name, (lower, upper, step) in grids.items():
        if name not in out or out[name] is None:
            continue
        highest = math.floor((upper + 1e-12) / step)  # the multiples of step within the bounds
        lowest = math.ceil((lower - 1e-12) / step)
        k = max(min(round(float(out[name]) / step), highest), lowest)
        value = round(k * step, 12)
        out[name] = int(value) if isinstance(step, int) else value
    return out


class GridSnapMixin:
    """Rounds suggestions of quantized domains to their grid (module docstring). Put it before
    the Tune searcher class in the bases."""

    _grids: dict = {}

    def set_search_properties(self, metric, mode, config, **spec):
        accepted = super().set_search_properties(metric, mode, config, **spec)
        if accepted:
            self._grids = quantized_domains(config)
        return accepted

    def suggest(self, trial_id: str):
        config = super().suggest(trial_id)
        if isinstance(config, dict) and self._grids:
            return snap_to_grid(config, self._grids)
        return config
