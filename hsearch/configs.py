"""Typed configuration: plain mappings (YAML files, CLI overrides) into validated dataclasses and back.

Every configuration object of hsearch is a frozen dataclass that checks its own values in
``__post_init__``. This module only moves data between those dataclasses and plain mappings:
unknown keys are rejected with the list of known ones, and values of the wrong type are named with
their key path, e.g. ``train.lr: expected a number, got 'fast'``. A value type written as text
(a class with ``from_text(text)`` and ``to_text()``, such as hsearch.train.Budget: ``"10m"``) is
parsed from its text here, once, and written back as the same text.
"""

from __future__ import annotations

import dataclasses
import os
import types
import typing
from pathlib import Path
from typing import Any, Mapping, TypeVar

import yaml

from hsearch.checks import is_int, is_number
from hsearch.errors import UserError
from hsearch.files import write_atomic

T = TypeVar("T")


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, where: str = "") -> T:
    """Build dataclass ``cls`` from ``data``; missing keys keep their defaults.

    ``where`` prefixes key paths in error messages (a file name, or a parent key).
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise UserError(f"{where or cls.__name__}: expected a mapping, got {data!r}")
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(
            f"{_join(where, unknown[0])}: unknown key; known keys: {', '.join(sorted(fields))}"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {
        name: _convert(hints[name], value, _join(where, name)) for name, value in data.items()
    }
    try:
        return cls(**kwargs)
    except (ValueError, TypeError) as exc:
        raise UserError(f"{where + ': ' if where else ''}{exc}") from exc


def to_mapping(obj: Any) -> Any:
    """A dataclass (nested, with tuples) as plain YAML/JSON-ready data."""
    if _is_text_value(type(obj)):
        return obj.to_text()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, Mapping):
        return {str(k): to_mapping(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def load_yaml(path: str | os.PathLike) -> dict:
    """Read a YAML mapping; a missing file or a syntax error is a UserError naming the file."""
    path = Path(path)
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, expected a YAML file") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise UserError(f"{path}: YAML syntax error{at}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def dump_yaml(path: str | os.PathLike, obj: Any) -> None:
    """Write a dataclass or mapping as YAML, atomically."""
    write_atomic(path, yaml.safe_dump(to_mapping(obj), sort_keys=False))


def _is_text_value(cls) -> bool:
    """A value type written as text (module docstring)."""
    return isinstance(cls, type) and hasattr(cls, "from_text") and hasattr(cls, "to_text")


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key


def _convert(hint: Any, value: Any, where: str) -> Any:
    """Check/convert one value against a type hint (dataclasses, Optional, tuples, scalars)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        options = [a for a in args if a is not type(None)]
        errors = []
        for option in options:
            try:
                return _convert(option, value, where)
            except UserError as exc:
                errors.append(exc)
        raise errors[0]
    if hint is Any:
        return value
    if _is_text_value(hint):
        if _is_text_value(type(value)) and isinstance(value, hint):
            return value
        if not isinstance(value, str):
            raise UserError(f"{where}: expected a string, got {value!r}")
        try:
            return hint.from_text(value)
        except ValueError as exc:
            raise UserError(f"{where}: {exc}") from None
    if origin is typing.Literal:
        if value not in args:
            raise UserError(f"{where}: must be one of {', '.join(map(repr, args))}, got {value!r}")
        return value
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, where)
    if origin in (tuple, list):
        if not isinstance(value, (list, tuple)):
            raise UserError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise UserError(f"{where}: expected {len(args)} values, got {len(value)}: {value!r}")
            return tuple(_convert(a, v, f"{where}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
        item = args[0] if args else Any
        converted = [_convert(item, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(converted) if origin is tuple else converted
    if origin is dict or hint is dict:
        if not isinstance(value, Mapping):
            raise UserError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if hint is bool:
        if not isinstance(value, bool):
            raise UserError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is int:
        if not is_int(value):
            raise UserError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is float:
        if not is_number(value):
            raise UserError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise UserError(f"{where}: expected a string, got {value!r}")
        return value
    return value
