"""Requests as bytes: JSON read as the command line and the decision service must read it.

UTF-8 only, at most a size limit, no key given twice (`strict_json`), and an object at the top;
every way a request fails is a `RequestError` whose message says which.
"""

from __future__ import annotations

import json
from typing import Any

from policydsl import strict_json

MAX_REQUEST_BYTES = 10 * 1024 * 1024


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


def json_kind(value: object) -> str:
    """How a JSON value reads in a message: `an array`, `a string`."""
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, dict):
        return "an object"
    return "null"
