"""What defines a NOMAD run of :class:`~hsearch.search.nomad.MadsAskTell`: settings, defaults,
seeds.

:class:`MadsSettings` is a frozen, self-checking dataclass. :meth:`MadsSettings.nomad_lines`
turns it into NOMAD parameter lines: the searcher's own lines, then the *grid-safe defaults*
(:func:`default_lines`), then the user's ``nomad_params`` -- a user line replaces the default
line with the same keyword, so experts can override every default.

Why these defaults: ``docs/search-nomad.md`` (measured); the table of figures is in
``experiments/results/mads_defaults.md``.

Seeds: NOMAD's ``SEED`` collides (4 and 6, 5 and 7, 12/14/16, 13/15 gave identical runs on the
shipped NAS table), so the user's seed is never passed through: :func:`nomad_seed` maps
``(seed, run)`` to a NOMAD seed one-to-one (``tests/search/test_mads_features.py``
checks that seeds 0..9 give 10 different runs).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any


from hsearch.checks import is_int

if TYPE_CHECKING:  # annotation only: SpaceCodec's module needs Ray, this one does not
    from hsearch.search.space import SpaceCodec

__all__ = ["MadsSettings", "Evaluation", "NomadError", "nomad_seed", "default_lines"]

# Parameters the searcher sets itself; passing them through would break the budget,
# determinism or replay bookkeeping.
_RESERVED = frozenset(
    {
        "DIMENSION", "BB_INPUT_TYPE", "BB_OUTPUT_TYPE", "LOWER_BOUND", "UPPER_BOUND", "X0",
        "MAX_BB_EVAL", "BB_MAX_BLOCK_SIZE", "SEED", "NB_THREADS_PARALLEL_EVAL", "CACHE_FILE",
        "GRANULARITY", "DISPLAY_DEGREE", "BB_EXE",
    }
)
_KEYWORD = re.compile(r"^[A-Z][A-Z0-9_]*$")
#: NOMAD's evaluations per restart: the trained budget times this (free answers -- screened,
#: duplicate, cached -- count for NOMAD), plus a floor.
NOMAD_EVALS_PER_TRAINED = 10
NOMAD_EVALS_FLOOR = 200


class NomadError(RuntimeError):
    """NOMAD could not start (bad parameters, missing PyNomad): raised by ``ask``."""


def fmt(v: float) -> str:
    """Shortest exact text of a float (NOMAD parses it back to the same double)."""
    return repr(float(v))


def nomad_seed(seed: int, run: int = 0) -> int:
    """NOMAD's ``SEED`` for the user's ``seed`` and NOMAD run number (0 = first, then the
    restarts): ``1000 + (7919 * seed + 104729 * run) mod 99000`` -- one-to-one for 99 000
    consecutive user seeds (7919 is prime to 99 000), far from NOMAD's colliding small seeds,
    and below 100 000: NOMAD 4.6's ``setSeed`` draws ``seed`` numbers first (a large SEED delays
    the first evaluation by seconds: experiments/results/mads_block_mode.md)."""
    return 1000 + (7919 * int(seed) + 104729 * int(run)) % 99_000


@dataclass(frozen=True)
class Evaluation:
    """One evaluation as NOMAD saw it: the point, its outputs (None = failed) and status.

    ``status``: ``"ok"``/``"failed"`` (trained; these count against ``max_evals``),
    ``"screened"`` (known objective >= best feasible: not trained, told ``f = known`` and
    every constraint 0), ``"pruned"`` (handed out, then stopped before training by a pruner
    because it cannot improve: told as if screened), ``"duplicate"`` (same network as a
    trained point: its outputs), ``"skipped"`` (beyond the budget, never run). ``run``: the
    NOMAD run (0 = first) during which it was answered. ``source``: ``"nomad"`` (NOMAD asked
    for it) or ``"model"`` (the model search step proposed it; NOMAD learns of it from the log
    when it asks).
    """

    x: tuple[float, ...]
    outputs: tuple[float, ...] | None
    status: str
    run: int = 0
    source: str = "nomad"

    @property
    def trained(self) -> bool:
        return self.status in ("ok", "failed")


def default_lines(lower, upper, granularity, input_types, surrogate: bool,
                  max_evals: int = 100) -> list[str]:
    """hsearch's defaults (measured; see ``docs/search-nomad.md``). With a known objective,
    candidates are sorted by it (``EVAL_QUEUE_SORT SURROGATE``). When every variable is on a
    grid (integer or granular) the grid-safe set: ``ORTHO 2N`` polls, no quadratic-model or
    Nelder-Mead search, a frame of about a third of each range, and ``MAX_EVAL`` (which
    counts NOMAD's cache hits) ``4 * max_evals + 100``: NOMAD raises it to
    max(100*3^n, 10*MAX_BB_EVAL) when every variable is granular and then spins on cached
    points at its minimum frame (seconds of CPU); a NOMAD run that reaches it is restarted.
    On continuous and mixed spaces NOMAD's own search defaults measured better and are kept
    (NOMAD does not raise MAX_EVAL there)."""
    sort = ["EVAL_QUEUE_SORT SURROGATE"] if surrogate else []
    if not all(g > 0 or t == "I" for g, t in zip(granularity, input_types)):
        return sort
    frame = []
    for lo, hi, g, t in zip(lower, upper, granularity, input_types):
        size = (hi - lo) / 3.0
        step = g if g > 0 else (1.0 if t == "I" else 0.0)
        if step > 0:
            size = max(step, round(size / step) * step)
        elif size <= 0:
            size = 1.0
        frame.append(fmt(size))
    return ["DIRECTION_TYPE ORTHO 2N", "QUAD_MODEL_SEARCH no", "NM_SEARCH no",
            f"INITIAL_FRAME_SIZE ( {' '.join(frame)} )", f"MAX_EVAL {4 * max_evals + 100}"] + sort


@dataclass(frozen=True)
class MadsSettings:
    """Everything that defines one search (and nothing that changes during it).

    Bounds are inclusive. ``input_types`` are NOMAD's ``R``/``I`` per coordinate;
    ``granularity`` is 0 for continuous coordinates. Outputs told for a point are
    ``[objective, c_1, ..., c_m]`` with ``m = n_constraints`` and ``c_j <= 0`` feasible,
    minimised.

    Args:
        lower, upper: box bounds (inclusive).
        x0: one or more starting points (NOMAD evaluates them first).
        input_types: ``"R"`` or ``"I"`` per coordinate (default all real).
        granularity: per coordinate, 0 = continuous (default all 0).
        n_constraints: number of constraint outputs after the objective.
        constraint_type: ``"PB"`` (progressive barrier) or ``"EB"`` (extreme barrier).
        max_evals: budget of *trained* evaluations (failures count; screened, duplicate
            and cached answers do not). NOMAD's own ``MAX_BB_EVAL`` is larger, managed here.
        block_size: NOMAD ``BB_MAX_BLOCK_SIZE``: the most points evaluated at once.
        seed: the user's seed (mapped by :func:`nomad_seed`).
        nomad_params: extra NOMAD parameter lines (expert use), e.g.
            ``("DIRECTION_TYPE ORTHO N+1 QUAD",)``; a line replaces the default line with the
            same keyword. Lines the searcher owns are rejected.
        defaults: apply :func:`default_lines` (False: NOMAD's own defaults).
        restart: start a new NOMAD run while budget is left (see ``restarts``); False = one run.
        max_runs: the most NOMAD runs (the first and its restarts) in one search.
        model_search: the model search step (``model_search.py``) proposes points beside
            NOMAD's poll; False = NOMAD alone.
        monotone_constraints: every constraint is (roughly) non-increasing in every
            coordinate (NAS: accuracy rises with width, depth and resolution). The static
            surrogate then also estimates the constraints from trained points that bound a
            candidate (``answers``), so candidates likely infeasible are tried last. Used only
            with a known objective; it orders, it never skips a point.
    """

    lower: tuple[float, ...]
    upper: tuple[float, ...]
    x0: tuple[tuple[float, ...], ...]
    input_types: tuple[str, ...] = ()
    granularity: tuple[float, ...] = ()
    n_constraints: int = 0
    constraint_type: str = "PB"
    max_evals: int = 100
    block_size: int = 1
    seed: int = 0
    nomad_params: tuple[str, ...] = ()
    defaults: bool = True
    restart: bool = True
    max_runs: int = 100
    model_search: bool = True
    monotone_constraints: bool = False

    def __post_init__(self) -> None:
        lower = tuple(float(v) for v in self.lower)
        upper = tuple(float(v) for v in self.upper)
        n = len(lower)
        object.__setattr__(self, "lower", lower)
        object.__setattr__(self, "upper", upper)
        if n == 0 or len(upper) != n:
            raise ValueError(
                f"`lower` and `upper` must be non-empty and of equal length, but got "
                f"{len(lower)} and {len(upper)}"
            )
        for i, (lo, hi) in enumerate(zip(lower, upper)):
            if not (math.isfinite(lo) and math.isfinite(hi) and lo <= hi):
                raise ValueError(
                    f"`low <= high` must hold with finite bounds, but got low={lo}, high={hi} "
                    f"for coordinate {i}"
                )
        types = tuple(self.input_types) or ("R",) * n
        gran = tuple(float(g) for g in self.granularity) or (0.0,) * n
        object.__setattr__(self, "input_types", types)
        object.__setattr__(self, "granularity", gran)
        if len(types) != n or any(t not in ("R", "I") for t in types):
            raise ValueError(f"`input_types` must be {n} of 'R'/'I', but got {types}")
        if len(gran) != n or any(not (g >= 0 and math.isfinite(g)) for g in gran):
            raise ValueError(f"`granularity` must be {n} values >= 0, but got {gran}")
        x0 = tuple(tuple(float(v) for v in p) for p in self.x0)
        object.__setattr__(self, "x0", x0)
        if not x0:
            raise ValueError("`x0` must hold at least one starting point")
        for p in x0:
            self.check_point(p)
        if self.constraint_type not in ("PB", "EB"):
            raise ValueError(
                f"`constraint_type` must be 'PB' or 'EB', but got {self.constraint_type!r}"
            )
        for name in ("n_constraints", "max_evals", "block_size", "seed", "max_runs"):
            value = getattr(self, name)
            if not is_int(value):
                raise TypeError(f"`{name}` must be an int, but got {value!r}")
            object.__setattr__(self, name, int(value))
        if (self.n_constraints < 0 or self.max_evals < 1 or self.block_size < 1
                or self.max_runs < 1):
            raise ValueError(
                "`n_constraints >= 0`, `max_evals >= 1`, `block_size >= 1` and "
                f"`max_runs >= 1` must hold, but got n_constraints={self.n_constraints}, "
                f"max_evals={self.max_evals}, block_size={self.block_size}, "
                f"max_runs={self.max_runs}"
            )
        if self.seed < 0:
            raise ValueError(f"`seed >= 0` must hold, but got seed={self.seed}")
        lines = tuple(self.nomad_params)
        object.__setattr__(self, "nomad_params", lines)
        for line in lines:
            if not isinstance(line, str) or not line.strip():
                raise ValueError(f"`nomad_params` must be non-empty strings, but got {line!r}")
            keyword = line.split()[0]
            if not _KEYWORD.match(keyword):
                raise ValueError(
                    f"`nomad_params` lines must start with an upper-case NOMAD keyword, but "
                    f"got {line!r}"
                )
            if keyword in _RESERVED:
                raise ValueError(
                    f"`nomad_params` must not set {keyword} (the searcher sets it from its "
                    f"own arguments), but got {line!r}"
                )

    @classmethod
    def from_codec(cls, codec: SpaceCodec, x0: Sequence[Sequence[float]] | None = None,
                   **kwargs: Any) -> MadsSettings:
        """Settings for the box of ``codec`` (a :class:`~hsearch.search.space.SpaceCodec`):
        its bounds, input types and granularity; ``x0``: encoded starting points (default the
        box's centre); ``kwargs``: the other fields."""
        if x0 is None:
            x0 = (codec.center(),)
        return cls(lower=tuple(codec.lower), upper=tuple(codec.upper),
                   x0=tuple(tuple(p) for p in x0), input_types=tuple(codec.input_types),
                   granularity=tuple(codec.granularity), **kwargs)

    def check_point(self, p) -> None:
        """ValueError unless ``p`` lies in the box and is integral where it must be."""
        lower, upper, types = self.lower, self.upper, self.input_types
        if len(p) != len(lower) or any(not lo <= v <= hi for v, lo, hi in zip(p, lower, upper)):
            raise ValueError(
                f"every starting point must lie in the box, but got x0={p} for "
                f"lower={lower}, upper={upper}"
            )
        if any(t == "I" and v != round(v) for v, t in zip(p, types)):
            raise ValueError(f"integer coordinates of x0 must be integral, but got {p}")

    @property
    def dimension(self) -> int:
        return len(self.lower)

    @property
    def nomad_max_bb_eval(self) -> int:
        """NOMAD's ``MAX_BB_EVAL`` per run: free answers count for NOMAD, not for the budget."""
        return max(NOMAD_EVALS_FLOOR, NOMAD_EVALS_PER_TRAINED * self.max_evals)

    def nomad_lines(self, run: int = 0, surrogate: bool = False) -> list[str]:
        """The parameter lines of NOMAD run ``run`` (bounds and x0 go as arguments)."""
        max_bb = self.nomad_max_bb_eval
        lines = [
            f"DIMENSION {self.dimension}",
            f"BB_INPUT_TYPE ( {' '.join(self.input_types)} )",
            "BB_OUTPUT_TYPE OBJ" + f" {self.constraint_type}" * self.n_constraints,
            f"MAX_BB_EVAL {max_bb}",
            f"BB_MAX_BLOCK_SIZE {self.block_size}",
            f"SEED {nomad_seed(self.seed, run)}",
            "DISPLAY_DEGREE 0",
        ]
        if any(self.granularity):
            lines.append(f"GRANULARITY ( {' '.join(fmt(g) for g in self.granularity)} )")
        optional = []
        if self.defaults:
            optional = default_lines(self.lower, self.upper, self.granularity,
                                     self.input_types, surrogate, self.max_evals)
        users = {line.split()[0] for line in self.nomad_params}
        return (lines + [line for line in optional if line.split()[0] not in users]
                + list(self.nomad_params))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        return {k: [list(p) for p in v] if k == "x0" else (list(v) if isinstance(v, tuple) else v)
                for k, v in d.items()}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MadsSettings:
        d = dict(d)
        for key in ("lower", "upper", "input_types", "granularity", "nomad_params"):
            d[key] = tuple(d.get(key, ()))
        d["x0"] = tuple(tuple(p) for p in d["x0"])
        d.setdefault("model_search", False)  # saved before the step existed: resumed as it ran
        return cls(**d)
