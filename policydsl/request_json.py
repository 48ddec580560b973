"""Requests as bytes: JSON read as the command line and the decision service must read it.

UTF-8 only, at most a size limit, no key given twice (`strict_json`), and an object at the top;
every way a request fails is a `RequestError` whose message says which. With `orjson` installed
(the `fast` extra) a request is read by it first, and accepted only when it provably gives no
key twice (below); anything else is read again the strict way, which then decides and explains.
"""

from __future__ import annotations

import decimal
import json
from types import ModuleType
from typing import Any

from policydsl import strict_json

MAX_REQUEST_BYTES = 10 * 1024 * 1024


def _fast_json() -> ModuleType | None:
    """orjson (the `fast` extra) from 3.10, whose parser refuses nesting past 1,024 levels (an
    older one recurses until the process crashes); None without it."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - the tests run with it, and without it
        return None
    major, minor = (int(part) for part in orjson.__version__.split(".")[:2])
    return orjson if (major, minor) >= (3, 10) else None


_orjson = _fast_json()


class RequestError(ValueError):
    """A request (or one batch line) that cannot become a context: not JSON, too big, too deep."""


def too_large(limit: int = MAX_REQUEST_BYTES) -> RequestError:
    return RequestError(f"request is larger than {_size(limit)}")


def _size(limit: int) -> str:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MB"
    if limit % 1024 == 0:
        return f"{limit // 1024} KB"
    return f"{limit:,} bytes"


def parse_request(data: bytes, limit: int = MAX_REQUEST_BYTES) -> dict[str, Any]:
    """Bytes to a request object; every way this fails is a `RequestError` with a clear message."""
    if len(data) > limit:
        raise too_large(limit)
    if _orjson is not None:
        fast = _fast(data)
        if fast is not None:
            return fast
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RequestError(f"request is not valid UTF-8 (byte {err.start})") from None
    try:
        value = strict_json.loads(text)
    except strict_json.DuplicateKeyError as err:
        raise RequestError(f"request gives a key twice: {err}") from None
    except RecursionError:
        raise RequestError("request nests too deeply") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        raise RequestError(f"request is not valid JSON: {err.msg} ({where})") from None
    except ValueError as err:  # `NaN`, integers too long to convert
        raise RequestError(f"request is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise RequestError(f"a request must be a JSON object, not {json_kind(value)}")
    return value


def _fast(data: bytes) -> dict[str, Any] | None:
    """The object `orjson` reads, when it is provably the one the strict path reads; else None.

    Two differences are ruled out. orjson keeps the last of two equal keys: each key in the text
    is followed by one `:` outside any string, so the text holds at least as many `:` as keys,
    and the parsed objects hold fewer keys than the text whenever one is repeated; equal counts
    prove there is none (a colon inside a string only sends the request the strict way). And
    some versions read an integer past 64 bits as a float: any float does the same.
    """
    assert _orjson is not None
    try:
        value = _orjson.loads(data)
    except _orjson.JSONDecodeError:  # `NaN`, too deep...: the strict path says which
        return None
    if type(value) is not dict or data.count(b":") != _keys_without_floats(value):
        return None
    return value


def _keys_without_floats(value: dict[str, Any]) -> int:
    """How many keys the objects in `value` hold, all levels; -1 if it holds a float."""
    count = 0
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is dict:
            count += len(item)
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
        elif kind is float:
            return -1
    return count


def dumps(value: Any) -> bytes:
    """One line of compact JSON, ASCII-only (a non-ASCII character as `\\u00e9`): `orjson`
    when installed and the text is ASCII, the standard library otherwise (the same bytes)."""
    if _orjson is not None:
        data: bytes = _orjson.dumps(value)
        if data.isascii():
            return data
    return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode()


def json_kind(value: object) -> str:
    """How a JSON value reads in a message: `an array`, `a string`."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float | decimal.Decimal):  # a fraction is read as a `Decimal`
        return "a number"
    if isinstance(value, dict):
        return "an object"
    return "null"
