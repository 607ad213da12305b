"""The one mapping between Ray Tune configs and NOMAD's bounded vectors.

:class:`SpaceCodec` turns a Tune search space (``param_space``) into a box for NOMAD
(bounds, input types, granularities) and converts configs to vectors and back. The
searchers never branch on parameter types themselves.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from hsearch.checks import is_number

__all__ = ["SpaceCodec"]

Path = tuple[Any, ...]

_SUPPORTED = (
    "tune.uniform, tune.quniform, tune.loguniform, tune.randint, tune.qrandint, "
    "tune.choice, constants and nested dicts"
)


@dataclass(frozen=True)
class _Dim:
    """One searched variable: how its Tune value maps to one NOMAD coordinate."""

    path: Path
    kind: str  # "real", "qreal", "log", "int", "qint", "choice"
    lower: float  # encoded, inclusive
    upper: float  # encoded, inclusive
    value_lower: float = math.nan  # declared domain in Tune units (real kinds)
    value_upper: float = math.nan
    q: float = 0.0  # quantum of "qreal"/"qint"
    digits: int = 0  # decimals used to print k*q without float noise ("qreal")
    categories: tuple = ()

    @property
    def name(self) -> str:
        return "/".join(map(str, self.path))

    @property
    def is_integer(self) -> bool:
        return self.kind in ("int", "qint", "choice")


def _decimals(q: float) -> int:
    """Decimal places of ``q`` as written (0.0625 -> 4, 0.1 -> 1, 5 -> 0), capped at 15."""
    exponent = Decimal(repr(float(q))).normalize().as_tuple().exponent
    return int(min(15, max(0, -exponent)))


def _grid_index(bound: float, q: float, round_fn) -> int:
    """Index of ``bound`` on the grid of multiples of ``q``, rounded inwards (as Tune does)."""
    scaled = bound / q
    nearest = round(scaled)
    return int(nearest) if math.isclose(scaled, nearest) else int(round_fn(scaled))


class SpaceCodec:
    """Encode Tune configs as NOMAD vectors and decode NOMAD vectors as Tune configs.

    **Bounds are inclusive on both sides in the encoded space**: ``lower[i] <= x[i] <=
    upper[i]`` is exactly the set NOMAD may propose, and every such ``x`` (integral where
    ``input_types[i] == "I"``) decodes to a value inside the declared Tune domain. Tune's
    own conventions are translated once, here:

    ========================  ===========================  ==========================
    Tune domain               NOMAD coordinate (type)      decoded value
    ========================  ===========================  ==========================
    ``uniform(lo, hi)``       ``[lo, hi]`` (R)             ``x``
    ``quniform(lo, hi, q)``   multiples of q in            ``k*q`` with k = round(x/q)
                              ``[lo, hi]`` (R, GRANULARITY q)
    ``loguniform(lo, hi)``    ``[log10 lo, log10 hi]`` (R)  ``10**x``
    ``randint(lo, hi)``       ``[lo, hi - 1]`` (I)          ``int(x)`` -- upper exclusive
    ``qrandint(lo, hi, q)``   index k in ``[ceil(lo/q),     ``k*q`` -- upper *inclusive*
                              floor(hi/q)]`` (I)            (Tune: exclusive for q == 1)
    ``choice(cats)``          index ``[0, len(cats)-1]`` (I) ``cats[k]``
    ========================  ===========================  ==========================

    NOMAD has no categorical type, so a choice is an ordered integer index: list the
    categories in a meaningful order. Constants (anything that is not a Tune domain) and
    nested dicts are carried through ``decode`` unchanged; a domain with a single possible
    value is treated as a constant. Decoded values are clipped into the declared domain,
    so float round-off can never push a value outside it.

    Args:
        space: a Tune ``param_space`` dict (nested dicts allowed).

    Raises:
        ValueError: a domain NOMAD cannot search (``tune.sample_from``, ``grid_search``,
            ``randn``, ``lograndint``, ``qloguniform``, domains inside lists), or a space
            with no variable to search.
    """

    def __init__(self, space: Mapping[str, Any]):
        if not isinstance(space, Mapping):
            raise TypeError(f"`space` must be a dict of Tune domains, but got {type(space)}")
        self._space = copy.deepcopy(dict(space))
        dims: list[_Dim] = []
        self._walk(self._space, (), dims)
        if not dims:
            raise ValueError(
                "the search space has no variable to search (only constants or "
                f"single-valued domains); supported domains: {_SUPPORTED}"
            )
        self._dims = tuple(dims)
        self.lower = np.array([d.lower for d in dims], dtype=float)
        self.upper = np.array([d.upper for d in dims], dtype=float)

    # --- construction ------------------------------------------------------------------

    def _walk(self, node: dict, prefix: Path, dims: list[_Dim]) -> None:
        from ray.tune.search.sample import Domain

        for key, value in node.items():
            path = prefix + (key,)
            name = "/".join(map(str, path))
            if isinstance(value, Mapping) and "grid_search" in value:
                raise ValueError(
                    f"`{name}`: grid_search cannot be searched by NOMAD; use tune.choice "
                    f"(an integer index for NOMAD) instead. Supported: {_SUPPORTED}"
                )
            if isinstance(value, Mapping):
                self._walk(value, path, dims)
            elif isinstance(value, Domain):
                dim = self._make_dim(path, value)
                if dim is None:  # single possible value: becomes a constant
                    node[key] = self._only_value(path, value)
                else:
                    dims.append(dim)
            elif isinstance(value, (list, tuple)) and _contains_domain(value):
                raise ValueError(
                    f"`{name}`: Tune domains inside lists are not supported; put them in a "
                    "dict instead"
                )

    @staticmethod
    def _only_value(path: Path, domain) -> Any:
        from ray.tune.search.sample import Categorical, Float

        if isinstance(domain, Categorical):
            return copy.deepcopy(domain.categories[0])
        lo = SpaceCodec._make_dim(path, domain, allow_fixed=True)
        value = lo.lower
        if lo.kind == "qint":
            return int(round(value * lo.q))
        if isinstance(domain, Float):
            return float(10.0**value) if lo.kind == "log" else float(value)
        return int(value)

    @staticmethod
    def _make_dim(path: Path, domain, allow_fixed: bool = False) -> _Dim | None:
        from ray.tune.search.sample import (
            Categorical,
            Float,
            Function,
            Integer,
            LogUniform,
            Normal,
            Quantized,
            Uniform,
        )

        name = "/".join(map(str, path))
        sampler = domain.get_sampler()
        q = None
        if isinstance(sampler, Quantized):
            q, sampler = sampler.q, sampler.get_sampler()

        def fixed_or(dim: _Dim) -> _Dim | None:
            if dim.lower > dim.upper:
                raise ValueError(
                    f"`{name}`: the domain is empty; `low <= high` must hold, but got "
                    f"low={domain.lower}, high={domain.upper}"
                    + (f", q={q}" if q is not None else "")
                )
            if dim.lower == dim.upper and not allow_fixed:
                return None
            return dim

        if isinstance(domain, Function):
            raise ValueError(
                f"`{name}`: tune.sample_from cannot be searched by NOMAD (it needs a bounded "
                f"domain). Supported: {_SUPPORTED}"
            )
        if isinstance(domain, Categorical):
            if not isinstance(sampler, Uniform):
                raise ValueError(
                    f"`{name}`: a grid-sampled categorical cannot be searched by NOMAD; use "
                    "tune.choice"
                )
            if not domain.categories:
                raise ValueError(f"`{name}`: tune.choice needs at least one category")
            if any(_contains_domain([c]) for c in domain.categories):
                raise ValueError(f"`{name}`: tune.choice categories must not be Tune domains")
            return fixed_or(
                _Dim(path, "choice", 0.0, float(len(domain.categories) - 1),
                     categories=tuple(domain.categories))
            )
        if isinstance(sampler, Normal):
            raise ValueError(
                f"`{name}`: tune.randn/qrandn are unbounded and cannot be searched by NOMAD. "
                f"Supported: {_SUPPORTED}"
            )
        if isinstance(domain, Float):
            lo, hi = float(domain.lower), float(domain.upper)
            if not (math.isfinite(lo) and math.isfinite(hi)):
                raise ValueError(f"`{name}`: bounds must be finite, but got low={lo}, high={hi}")
            if isinstance(sampler, LogUniform):
                if q is not None:
                    raise ValueError(
                        f"`{name}`: tune.qloguniform is not supported (NOMAD's granularity is "
                        "linear); use tune.loguniform or tune.quniform"
                    )
                if not 0 < lo:
                    raise ValueError(f"`{name}`: loguniform needs low > 0, but got low={lo}")
                return fixed_or(_Dim(path, "log", math.log10(lo), math.log10(hi), lo, hi))
            if q is not None:
                q = float(q)
                if not q > 0:
                    raise ValueError(f"`{name}`: the quantum must be > 0, but got q={q}")
                digits = _decimals(q)
                k_lo = _grid_index(lo, q, math.ceil)
                k_hi = _grid_index(hi, q, math.floor)
                enc_lo = round(k_lo * q, digits)
                enc_hi = round(k_hi * q, digits)
                return fixed_or(_Dim(path, "qreal", enc_lo, enc_hi, lo, hi, q=q, digits=digits))
            return fixed_or(_Dim(path, "real", lo, hi, lo, hi))
        if isinstance(domain, Integer):
            if isinstance(sampler, LogUniform):
                raise ValueError(
                    f"`{name}`: tune.lograndint/qlograndint are not supported (NOMAD's integer "
                    "mesh is linear); use tune.randint, tune.qrandint or tune.choice over "
                    "explicit values"
                )
            lo, hi = int(domain.lower), int(domain.upper)
            if q is None or int(q) == 1:
                # randint and qrandint(q=1): Tune's upper bound is exclusive
                return fixed_or(_Dim(path, "int", float(lo), float(hi - 1)))
            q = int(q)
            if not q > 0:
                raise ValueError(f"`{name}`: the quantum must be > 0, but got q={q}")
            k_lo = _grid_index(lo, q, math.ceil)
            k_hi = _grid_index(hi, q, math.floor)
            return fixed_or(_Dim(path, "qint", float(k_lo), float(k_hi), q=q))
        raise ValueError(
            f"`{name}`: unsupported Tune domain {type(domain).__name__} with sampler "
            f"{type(sampler).__name__}. Supported: {_SUPPORTED}"
        )

    # --- description of the box ----------------------------------------------------------

    @property
    def dimension(self) -> int:
        """Number of searched variables (length of the encoded vectors)."""
        return len(self._dims)

    @property
    def names(self) -> list[str]:
        """Variable names, nested keys joined with ``/`` (Tune's flattened form)."""
        return [d.name for d in self._dims]

    @property
    def input_types(self) -> list[str]:
        """NOMAD ``BB_INPUT_TYPE`` per coordinate: ``"R"`` (real) or ``"I"`` (integer)."""
        return ["I" if d.is_integer else "R" for d in self._dims]

    @property
    def granularity(self) -> np.ndarray:
        """NOMAD ``GRANULARITY`` per coordinate (0 = continuous; integers need none)."""
        return np.array([d.q if d.kind == "qreal" else 0.0 for d in self._dims])

    @property
    def space(self) -> dict[str, Any]:
        """A copy of the space (single-valued domains already replaced by constants)."""
        return copy.deepcopy(self._space)

    def center(self) -> np.ndarray:
        """The centre of the encoded box, snapped to integers/granularity (rounding down).

        This is the default starting point: for a loguniform variable it is the geometric
        mean of its bounds; for a choice, the middle category.
        """
        x = (self.lower + self.upper) / 2.0
        for i, d in enumerate(self._dims):
            if d.is_integer:
                x[i] = math.floor(x[i])
            elif d.kind == "qreal":
                x[i] = round(math.floor(x[i] / d.q + 1e-9) * d.q, d.digits)
        return np.clip(x, self.lower, self.upper)

    # --- conversion ------------------------------------------------------------------------

    def decode(self, x) -> dict[str, Any]:
        """NOMAD vector -> full Tune config (constants included, nested as declared).

        Coordinates outside the box are clipped to it; integer coordinates are rounded.
        """
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != self.dimension:
            raise ValueError(
                f"expected a vector of length {self.dimension}, but got length {x.shape[0]}"
            )
        config = copy.deepcopy(self._space)
        for d, xi in zip(self._dims, x):
            if not math.isfinite(xi):
                raise ValueError(f"`{d.name}`: coordinate must be finite, but got {xi}")
            xi = min(max(float(xi), d.lower), d.upper)
            _set_path(config, d.path, self._decode_one(d, xi))
        return config

    @staticmethod
    def _decode_one(d: _Dim, xi: float) -> Any:
        if d.kind == "real":
            return float(xi)
        if d.kind == "log":
            return float(min(max(10.0**xi, d.value_lower), d.value_upper))
        if d.kind == "qreal":
            value = round(round(xi / d.q) * d.q, d.digits)
            return float(min(max(value, d.lower), d.upper))
        k = int(round(xi))
        if d.kind == "int":
            return k
        if d.kind == "qint":
            return int(k * d.q)
        return copy.deepcopy(d.categories[k])

    def encode(self, config: Mapping[str, Any]) -> np.ndarray:
        """Tune config -> NOMAD vector. Raises ValueError for a missing or out-of-domain value.

        Accepts nested configs or Tune's flattened form (keys joined with ``/``).
        """
        x = np.empty(self.dimension, dtype=float)
        for i, d in enumerate(self._dims):
            value = _get_path(config, d.path)
            x[i] = self._encode_one(d, value)
        return x

    @staticmethod
    def _encode_one(d: _Dim, value: Any) -> float:
        if d.kind == "choice":
            for k, category in enumerate(d.categories):
                if _same(category, value):
                    return float(k)
            raise ValueError(
                f"`{d.name}`: {value!r} is not one of the choices {list(d.categories)}"
            )
        if not is_number(value):
            raise ValueError(f"`{d.name}`: expected a number, but got {value!r}")
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"`{d.name}`: value must be finite, but got {value!r}")
        if d.kind in ("real", "log", "qreal"):
            if not d.value_lower <= v <= d.value_upper:
                raise ValueError(
                    f"`{d.name}`: `low <= value <= high` must hold, but got low={d.value_lower}, "
                    f"value={value!r}, high={d.value_upper}"
                )
            if d.kind == "real":
                return v
            if d.kind == "log":
                return min(max(math.log10(v), d.lower), d.upper)
            k = round(v / d.q)
            if not math.isclose(k * d.q, v, rel_tol=1e-9, abs_tol=1e-12):
                raise ValueError(f"`{d.name}`: {value!r} is not a multiple of q={d.q}")
            return float(min(max(round(k * d.q, d.digits), d.lower), d.upper))
        if v != round(v):
            raise ValueError(f"`{d.name}`: expected an integer, but got {value!r}")
        if d.kind == "int":
            if not d.lower <= v <= d.upper:
                raise ValueError(
                    f"`{d.name}`: `low <= value <= high` must hold (upper bound inclusive here, "
                    f"i.e. Tune's exclusive bound minus one), but got low={int(d.lower)}, "
                    f"value={value!r}, high={int(d.upper)}"
                )
            return v
        k = v / d.q  # "qint"
        if k != round(k) or not d.lower <= k <= d.upper:
            raise ValueError(
                f"`{d.name}`: expected a multiple of q={int(d.q)} in "
                f"[{int(d.lower * d.q)}, {int(d.upper * d.q)}], but got {value!r}"
            )
        return float(k)

    def contains(self, config: Mapping[str, Any]) -> bool:
        """True when ``config`` gives an in-domain value for every searched variable."""
        try:
            self.encode(config)
        except (ValueError, KeyError):
            return False
        return True

    def is_valid_vector(self, x) -> bool:
        """True when ``x`` lies in the encoded box and integer coordinates are integral."""
        x = np.asarray(x, dtype=float).reshape(-1)
        if x.shape[0] != self.dimension or not np.all(np.isfinite(x)):
            return False
        if np.any(x < self.lower) or np.any(x > self.upper):
            return False
        return all(xi == round(xi) for xi, d in zip(x, self._dims) if d.is_integer)

    def __repr__(self) -> str:
        return f"SpaceCodec({', '.join(f'{d.name}:{d.kind}' for d in self._dims)})"


def _contains_domain(value) -> bool:
    from ray.tune.search.sample import Domain

    if isinstance(value, Domain):
        return True
    if isinstance(value, Mapping):
        return any(_contains_domain(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_contains_domain(v) for v in value)
    return False


def _same(a: Any, b: Any) -> bool:
    """Category equality that keeps True apart from 1 (both hash and compare equal)."""
    if isinstance(a, (bool, np.bool_)) != isinstance(b, (bool, np.bool_)):
        return False
    try:
        return bool(a == b)
    except Exception:  # objects whose == returns arrays or raises
        return a is b


def _set_path(config: dict, path: Path, value: Any) -> None:
    node = config
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _get_path(config: Mapping[str, Any], path: Path) -> Any:
    flat = "/".join(map(str, path))
    if len(path) > 1 and flat in config:
        return config[flat]
    node: Any = config
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            raise ValueError(f"`{flat}` is missing from the config {dict(config)!r}")
        node = node[key]
    return node
