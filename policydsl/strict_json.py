"""JSON as requests and test cases must be read: an object may not give a key twice.

`json.loads` keeps the last of two equal keys, another parser may keep the first: one request
would then decide two ways. A duplicate is refused, naming the key and the object that holds it.
"""

from __future__ import annotations

import decimal
import json
from collections.abc import Callable
from typing import Any, NoReturn


class DuplicateKeyError(ValueError):
    """An object that gives one key twice; `path` names the object (`""`: the top level)."""

    def __init__(self, key: str, path: str):
        where = f"in `{_shown(path)}`" if path else "at the top level"
        super().__init__(f"duplicate key `{_shown(key)}` {where}")
        self.key = key
        self.path = path


def _shown(text: str, limit: int = 60) -> str:
    """A key from the request as a message may print it: escaped, and clipped when long."""
    if not text.isprintable():
        text = json.dumps(text)[1:-1]
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Duplicate(Exception):
    """Raised by the hook on the first duplicate; the object's path is found afterwards."""


class _Marked(dict[str, Any]):
    """An object that had a duplicate key (`duplicate`), kept only to find its path."""

    duplicate: str


def _reject_constant(name: str) -> NoReturn:
    raise ValueError(f"`{name}` is not allowed in JSON")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _Duplicate(key)
        obj[key] = value
    return obj


def _marking(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = _Marked()
    for key, value in pairs:
        if key in obj and not hasattr(obj, "duplicate"):
            obj.duplicate = key
        obj[key] = value
    return obj


def _decode(text: str, hook: Callable[[list[tuple[str, Any]]], dict[str, Any]]) -> Any:
    # a number with a fraction or exponent is read exactly: a `decimal` attribute must never see
    # a binary float's rounding (`0.1`), and every other type refuses a fraction anyway
    return json.loads(
        text, object_pairs_hook=hook, parse_constant=_reject_constant, parse_float=decimal.Decimal
    )


def loads(text: str) -> Any:
    """`json.loads` that refuses `NaN`/`Infinity` and duplicate keys (`DuplicateKeyError`)."""
    try:
        return _decode(text, _unique)
    except _Duplicate:
        pass
    found = _first_duplicate(_decode(text, _marking))
    if found is None:  # pragma: no cover - the second reading sees what the first one saw
        raise AssertionError("a duplicate key went missing")
    raise DuplicateKeyError(*found)


def _first_duplicate(value: Any) -> tuple[str, str] | None:
    """(key, path) of the first object in document order that repeats a key (iteratively)."""
    stack: list[tuple[Any, str]] = [(value, "")]
    while stack:
        node, path = stack.pop()
        if isinstance(node, _Marked) and hasattr(node, "duplicate"):
            return node.duplicate, path
        if isinstance(node, dict):
            children = [(v, f"{path}.{k}" if path else str(k)) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(v, f"{path}[{i}]") for i, v in enumerate(node)]
        else:
            continue
        stack.extend(reversed(children))
    return None
