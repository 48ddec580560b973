"""Datetimes and durations: `datetime` and `duration` values, held as integer milliseconds.

A datetime is the number of milliseconds since 1970-01-01T00:00:00Z (no leap seconds), a
duration a number of milliseconds; both are signed 64-bit integers, as Cedar's `datetime`
extension has them, so ordered comparisons are comparisons of integers (the ordered index
takes them as it takes `int`s) and arithmetic leaving the 64-bit range is an error
(`TimeOverflow`), never a wrapped value.

A request's value is normalised once, when the request is read, into an instance of `Datetime`
or `Duration`: `int`s whose class says they were checked, so the compiled fast path takes the
validator's output as it is and refuses a bare integer (whose unit nobody declared).
"""

from __future__ import annotations

import datetime as _dt
import functools
import re
from collections.abc import Callable
from typing import Any

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
SECOND = 1_000
MINUTE = 60 * SECOND
HOUR = 60 * MINUTE
DAY = 24 * HOUR
UNITS = {"d": DAY, "h": HOUR, "m": MINUTE, "s": SECOND, "ms": 1}
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
_MS = _dt.timedelta(milliseconds=1)
_MAX_TEXT = 64  # characters of a datetime or duration text: anything longer is refused unread


class TimeOverflow(ArithmeticError):
    """Datetime or duration arithmetic that leaves the signed 64-bit range of milliseconds: the
    decision is an error (`EvaluationError`, refused in fail-closed mode), as Cedar's is. Both
    backends turn it into one (this module imports nothing of the package: the runtime uses it)."""


class Datetime(int):
    """Milliseconds since the Unix epoch, checked (a request's value or a policy literal)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f'"{format_datetime(self)}"'


class Duration(int):
    """A number of milliseconds, checked (a request's value or a policy literal)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return format_duration(self)


# ---- the calendar: proleptic Gregorian, days since the epoch ----------------------------------


def days_from_civil(year: int, month: int, day: int) -> int:
    """Days from 1970-01-01 to the date (Howard Hinnant's algorithm; any year)."""
    year -= month <= 2
    era = year // 400
    yoe = year - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146_097 + doe - 719_468


def civil_from_days(days: int) -> tuple[int, int, int]:
    """The (year, month, day) of a count of days since 1970-01-01."""
    days += 719_468
    era = days // 146_097
    doe = days - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + (3 if mp < 10 else -9)
    return yoe + era * 400 + (month <= 2), month, day


def _month_days(year: int, month: int) -> int:
    if month == 2:
        leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
        return 29 if leap else 28
    return 30 if month in (4, 6, 9, 11) else 31


# ---- text -------------------------------------------------------------------------------------


class TimeTextError(ValueError):
    """A datetime or duration text that is not one; `help` says what one looks like."""

    def __init__(self, message: str, help: str):
        self.help = help
        super().__init__(message)


LITERAL_HELP = 'write "YYYY-MM-DD", "YYYY-MM-DDThh:mm:ssZ", with ".SSS" or "+hhmm"/"-hhmm"'
REQUEST_HELP = 'RFC 3339 with an offset: "2024-10-15T11:35:00Z", "2024-10-15T13:35:00.5+02:00"'
DURATION_HELP = "units in the order d, h, m, s, ms, each at most once: 90d, 1h30m, 500ms"


# The patterns are compiled when first used, not by every start-up (a quarter of a millisecond
# each): the ones of rarer paths through `functools.cache`, the hot one by rebinding itself.
@functools.cache
def _literal() -> re.Pattern[str]:
    return re.compile(
        r"(\d{4})-(\d{2})-(\d{2})"
        r"(?:T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{3}))?(?:(Z)|([+-])(\d{2})(\d{2})))?",
        re.ASCII,
    )


@functools.cache
def _request() -> re.Pattern[str]:
    return re.compile(
        r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?"
        r"(?:([Zz])|([+-])(\d{2}):?(\d{2}))?",
        re.ASCII,
    )


@functools.cache
def _duration() -> re.Pattern[str]:
    return re.compile(r"(-?)(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?", re.ASCII)


def _epoch(groups: tuple[str | None, ...], help: str) -> int:
    year, month, day, hh, mm, ss, frac, zulu, sign, oh, om = groups
    y, mo, d = int(year or 0), int(month or 0), int(day or 0)
    if not 1 <= mo <= 12 or not 1 <= d <= _month_days(y, mo):
        raise TimeTextError(f"no such date {year}-{month}-{day}", help)
    h, mi, s = int(hh or 0), int(mm or 0), int(ss or 0)
    if h > 23 or mi > 59 or s > 59:
        raise TimeTextError(f"no such time of day {hh}:{mm}:{ss}", help)
    ms = int((frac or "0")[:3].ljust(3, "0"))
    offset = 0
    if sign is not None:
        if int(oh or 0) > 23 or int(om or 0) > 59:
            raise TimeTextError(f"no such UTC offset {sign}{oh}{om}", help)
        offset = (int(oh or 0) * HOUR + int(om or 0) * MINUTE) * (-1 if sign == "-" else 1)
    del zulu
    return days_from_civil(y, mo, d) * DAY + h * HOUR + mi * MINUTE + s * SECOND + ms - offset


def parse_literal(text: str) -> Datetime:
    """A policy's datetime literal, in Cedar's forms: `YYYY-MM-DD`, `YYYY-MM-DDThh:mm:ssZ`,
    `.SSS` milliseconds, a `+hhmm`/`-hhmm` offset in place of `Z`."""
    found = _literal().fullmatch(text) if len(text) <= _MAX_TEXT else None
    if found is None:
        raise TimeTextError("not a datetime", LITERAL_HELP)
    return Datetime(_epoch(found.groups(), LITERAL_HELP))


def _compile_common(text: str) -> re.Match[str] | None:
    """The form requests mostly hold (`T`, then `Z` or `+hh:mm` with an offset below a day),
    which `fromisoformat` reads as RFC 3339 does, recognised without capturing groups. The first
    call compiles the pattern and puts its `fullmatch` in its own place."""
    global _common_request
    _common_request = re.compile(
        r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)",
        re.ASCII,
    ).fullmatch
    return _common_request(text)


_common_request: Callable[[str], re.Match[str] | None] = _compile_common


def parse_request(text: str) -> Datetime:
    """A request's datetime: RFC 3339 with an offset (`Z`, `+02:00`; `+0200` as Cedar writes it
    too); a fraction of a second is cut to milliseconds. No offset is an error: a naive time
    means a different instant on every server."""
    if text.__class__ is str and len(text) <= _MAX_TEXT and _common_request(text) is not None:
        try:  # in C: the same instant, its fraction floored to milliseconds
            return Datetime((_dt.datetime.fromisoformat(text) - _EPOCH) // _MS)
        except (ValueError, OverflowError):  # year 0, no such date: read below, and refused
            pass
    found = _request().fullmatch(text) if text.__class__ is str and len(text) <= _MAX_TEXT else None
    if found is None:
        raise TimeTextError("not an RFC 3339 date and time", REQUEST_HELP)
    if found.group(8) is None and found.group(9) is None:
        raise TimeTextError("has no UTC offset (a naive time is ambiguous)", REQUEST_HELP)
    sign, oh, om = found.group(9, 10, 11)
    if sign is None or (oh < "24" and om < "60"):  # `fromisoformat` takes `+0460`: not here
        try:  # the common case in C: the same instant, its fraction floored to milliseconds
            return Datetime((_dt.datetime.fromisoformat(text) - _EPOCH) // _MS)
        except (ValueError, OverflowError):  # year 0, a lower-case `t`, not a date: below
            pass
    return Datetime(_epoch(found.groups(), REQUEST_HELP))


def parse_duration(text: str) -> Duration:
    """A duration: `1d2h3m4s5ms`, units in that order, each at most once, an optional `-`
    first (Cedar's `duration("...")`); beyond the 64-bit range is an error."""
    found = _duration().fullmatch(text) if len(text) <= _MAX_TEXT else None
    if found is None or text in ("", "-"):
        raise TimeTextError("not a duration", DURATION_HELP)
    total = sum(int(n) * u for n, u in zip(found.groups()[1:], UNITS.values(), strict=True) if n)
    total = -total if found.group(1) else total
    if not INT64_MIN <= total <= INT64_MAX:
        raise TimeTextError("beyond the 64-bit range of milliseconds", DURATION_HELP)
    return Duration(total)


def request_datetime(value: Any) -> Datetime:
    """What the compiled fast path makes of a request's datetime: a checked one as it is, a
    string read; anything else raises, so the validator decides and names the problem."""
    if value.__class__ is Datetime:
        return value
    return parse_request(value)


def request_duration(value: Any) -> Duration:
    """What the compiled fast path makes of a request's duration (as `request_datetime`)."""
    if value.__class__ is Duration:
        return value
    if value.__class__ is not str:
        raise TimeTextError("not a duration", DURATION_HELP)
    return parse_duration(value)


def validate_datetime(value: Any) -> Datetime:
    """The validator's reading: also an aware `datetime.datetime` (a naive one is refused)."""
    if isinstance(value, _dt.datetime):
        if value.utcoffset() is None:
            raise TimeTextError("is a naive datetime (no UTC offset)", REQUEST_HELP)
        delta = value - _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)
        return Datetime(delta // _dt.timedelta(milliseconds=1))
    if isinstance(value, Datetime):
        return Datetime(int.__int__(value))
    if isinstance(value, str):
        return parse_request(str.__str__(value))
    raise TimeTextError("not an RFC 3339 date and time", REQUEST_HELP)


def validate_duration(value: Any) -> Duration:
    """The validator's reading of a duration: its text, or a `datetime.timedelta`."""
    if isinstance(value, _dt.timedelta):
        return Duration(checked(value // _dt.timedelta(milliseconds=1)))
    if isinstance(value, Duration):
        return Duration(int.__int__(value))
    if isinstance(value, str):
        return parse_duration(str.__str__(value))
    raise TimeTextError("not a duration", DURATION_HELP)


def format_datetime(ms: int) -> str:
    """RFC 3339 in UTC with milliseconds (`2024-10-15T11:35:00.000Z`)."""
    days, rest = divmod(int(ms), DAY)
    year, month, day = civil_from_days(days)
    h, rest = divmod(rest, HOUR)
    m, rest = divmod(rest, MINUTE)
    s, milli = divmod(rest, SECOND)
    return f"{year:04d}-{month:02d}-{day:02d}T{h:02d}:{m:02d}:{s:02d}.{milli:03d}Z"


def format_duration(ms: int) -> str:
    """The literal of a duration (`1d2h30m`, `-500ms`, `0ms`)."""
    ms = int(ms)
    if ms == 0:
        return "0ms"
    sign, rest, parts = ("-" if ms < 0 else ""), abs(ms), []
    for unit, size in UNITS.items():
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count}{unit}")
    return sign + "".join(parts)


def format_offset(ms: int) -> str:
    """A UTC offset as a calendar function takes it (`+0530`)."""
    sign, rest = ("-" if ms < 0 else "+"), abs(ms)
    return f"{sign}{rest // HOUR:02d}{rest % HOUR // MINUTE:02d}"


def parse_offset(text: str) -> int:
    """A fixed UTC offset, `+hhmm`, `-hhmm` or `Z`, in milliseconds."""
    found = re.fullmatch(r"([+-])(\d{2}):?(\d{2})", text, re.ASCII)
    if text in ("Z", "z", "UTC"):
        return 0
    if found is None or int(found.group(2)) > 23 or int(found.group(3)) > 59:
        raise TimeTextError(
            f"`{text:.20}` is not a UTC offset", 'write "+hhmm" or "-hhmm": "+0530"'
        )
    size = int(found.group(2)) * HOUR + int(found.group(3)) * MINUTE
    return -size if found.group(1) == "-" else size


# ---- operations (both backends call these) ----------------------------------------------------


def checked(value: int) -> int:
    """`value` if it is a signed 64-bit integer, else `TimeOverflow`."""
    if INT64_MIN <= value <= INT64_MAX:
        return value
    raise TimeOverflow("datetime or duration arithmetic overflows 64-bit milliseconds")


def _truncate(ms: int, unit: int) -> int:
    """Division rounding toward zero, as Cedar's `toHours()` and the others do."""
    whole = abs(ms) // unit
    return -whole if ms < 0 else whole


def date(t: int, offset: int = 0) -> int:
    """The start of `t`'s day (at the offset): Cedar's `toDate()` at offset 0."""
    local = t + offset
    return checked(local - local % DAY - offset)


def time_of_day(t: int, offset: int = 0) -> int:
    """The duration since the start of `t`'s day: Cedar's `toTime()` at offset 0."""
    return (t + offset) % DAY


def _civil(t: int, offset: int) -> tuple[int, int, int]:
    return civil_from_days((t + offset) // DAY)


FUNCTIONS: dict[str, Callable[..., int]] = {
    "checked": checked,
    "date": date,
    "time_of_day": time_of_day,
    "year": lambda t, offset=0: _civil(t, offset)[0],
    "month": lambda t, offset=0: _civil(t, offset)[1],
    "day": lambda t, offset=0: _civil(t, offset)[2],
    "hour": lambda t, offset=0: (t + offset) % DAY // HOUR,
    "minute": lambda t, offset=0: (t + offset) % HOUR // MINUTE,
    "second": lambda t, offset=0: (t + offset) % MINUTE // SECOND,
    "day_of_week": lambda t, offset=0: ((t + offset) // DAY + 3) % 7 + 1,  # Monday 1 .. Sunday 7
    "to_days": lambda d: _truncate(d, DAY),
    "to_hours": lambda d: _truncate(d, HOUR),
    "to_minutes": lambda d: _truncate(d, MINUTE),
    "to_seconds": lambda d: _truncate(d, SECOND),
    "to_milliseconds": int,
}
CALENDAR = frozenset({"date", "time_of_day", "year", "month", "day", "hour", "minute", "second"})
CALENDAR_ALL = CALENDAR | {"day_of_week"}  # take a datetime and an optional offset
OF_DURATION = frozenset({"to_days", "to_hours", "to_minutes", "to_seconds", "to_milliseconds"})


def apply(name: str, *args: int) -> int:
    """The function `name` of the language applied (the reference interpreter's way)."""
    return FUNCTIONS[name](*args)


_OFFSET = ', at a fixed UTC offset if one is given (`"+0530"`)'
DOCS = {  # what the editor's hover says of each function
    "datetime": '`datetime("2024-10-15T11:35:00Z")`: a datetime literal',
    "duration": '`duration("1h30m")`: a duration literal (`-` allowed)',
    "date": f"`date(t)`: the datetime of the start of `t`'s day{_OFFSET}",
    "time_of_day": f"`time_of_day(t)`: the duration since the start of `t`'s day{_OFFSET}",
    "day_of_week": f"`day_of_week(t)`: 1 (Monday) to 7 (Sunday){_OFFSET}",
    **{
        name: f"`{name}(t)`: the {name} of `t` in the Gregorian calendar{_OFFSET}"
        for name in ("year", "month", "day", "hour", "minute", "second")
    },
    **{
        name: f"`{name}(d)`: the duration in {name[3:]}, rounded toward zero"
        for name in ("to_days", "to_hours", "to_minutes", "to_seconds", "to_milliseconds")
    },
}
