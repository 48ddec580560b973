"""Conformance of `datetime` and `duration` with Cedar's `datetime` extension, through cedarpy.

Seeded random values (with the edges: leap days, February 29 of years that are not leap years,
offsets, dates before the epoch, years 0000 and 9999, durations at the 64-bit limits) are given
to both, and compared decision by decision:

- texts: each datetime and duration text as a request's value (policydsl) and as Cedar's
  `datetime("...")` / `duration("...")` of a request: both refuse it, or both read the same
  number of milliseconds; and as a policy's literal (policydsl's `datetime("...")`);
- operations: comparisons, `+` (Cedar's `offset`), `-` of two datetimes (`durationSince`),
  `date` (`toDate`), `time_of_day` (`toTime`) and `to_days` and the others, each one rule of its
  own policy (an error, such as an overflow, makes the whole decision an error in policydsl and
  one policy's in Cedar): true, false or an error, alike.

Deliberate differences, excluded with their reason (`DIFFERENT`): a request's datetime is
RFC 3339 with a time and an offset, so a date alone is refused there (policy literals take it,
as Cedar does); RFC 3339's own spellings Cedar lacks (`+hh:mm`, a fraction of 1 to 9 digits,
`t`, `z` or a space) are taken from requests.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from typing import Any

import pytest

import policydsl

cedarpy = pytest.importorskip("cedarpy")

SEED = 20_241_015
COUNT = 5_000
INT64 = 2**63
BACKEND = "compiled"
DIFFERENT = {
    "date only": "a request's datetime needs a time and an offset (a naive time is ambiguous)",
    "rfc3339 spelling": "RFC 3339 spellings Cedar lacks are taken from requests",
}
PRINCIPAL = {"principal": 'User::"u"', "action": 'Action::"a"', "resource": 'R::"r"'}
EPOCH = 'datetime("1970-01-01")'


# ---- random texts ------------------------------------------------------------------------------


def _two(rng: random.Random, valid: int, edge: int) -> str:
    """Two digits: mostly in range, else the first out of range, or any."""
    roll = rng.random()
    number = rng.randint(0, valid) if roll < 0.93 else edge if roll < 0.97 else rng.randint(0, 99)
    return f"{number:02d}"


def datetime_text(rng: random.Random) -> str:
    """A datetime text in Cedar's forms, mostly valid, with the edges and many near misses."""
    year = rng.choice([0, 1, 1900, 1969, 1970, 2000, 2023, 2024, 2100, 9999, rng.randint(0, 9999)])
    if rng.random() < 0.15:  # February 29 of a year that is or is not a leap year
        month, day = "02", "29"
    else:
        month = rng.choice([f"{rng.randint(1, 12):02d}"] * 30 + ["00", "13"])
        day = rng.choice([f"{rng.randint(1, 28):02d}"] * 24 + ["00", "30", "31", "31", "32"])
    text = f"{year:04d}-{month}-{day}"
    if rng.random() < 0.15:
        return text
    hms = ":".join(_two(rng, top, edge) for top, edge in ((23, 24), (59, 60), (59, 60)))
    text += "T" + hms
    if rng.random() < 0.4:
        text += "." + "".join(rng.choice("0123456789") for _ in range(3))
    if rng.random() < 0.4:
        return text + "Z"
    sign = rng.choice("+-")
    return text + sign + _two(rng, 23, 24) + _two(rng, 59, 60)


def mangled(rng: random.Random, text: str) -> str:
    """A near miss: a character dropped, doubled or changed, or an RFC 3339 spelling."""
    i = rng.randrange(len(text))
    return rng.choice(
        [
            text[:i] + text[i + 1 :],
            text[:i] + text[i] + text[i:],
            text[:i] + rng.choice("0123456789:-+TZ.x ") + text[i + 1 :],
            re.sub(r"([+-]\d\d)(\d\d)$", r"\1:\2", text),  # `+hh:mm`
            text.replace(".", ".0", 1) if "." in text else text[:19] + ".5Z",
            text.lower(),
        ]
    )


def duration_text(rng: random.Random) -> str:
    """A duration text: units in order or not, repeated or not, up to and past the limits."""
    units = ["d", "h", "m", "s", "ms"]
    chosen = [u for u in units if rng.random() < 0.45] or [rng.choice(units)]
    if rng.random() < 0.1:
        rng.shuffle(chosen)
    if rng.random() < 0.05:
        chosen.append(rng.choice(units))
    limit = {"d": 106_751_991_167, "h": 2_562_047_788_015, "ms": INT64, "s": INT64 // 1000}
    parts = []
    for unit in chosen:
        top = limit.get(unit, INT64 // 60_000)
        number = rng.choice([rng.randint(0, 999), rng.randint(0, top), top, top + 1, 0])
        parts.append(f"{number}{unit}")
    sign = "-" if rng.random() < 0.3 else ""
    text = sign + "".join(parts)
    return text if rng.random() > 0.02 else rng.choice(["", "-", "1", "1x", "-1 h"])


def _rfc3339_only(text: str) -> str | None:
    """Which deliberate difference a datetime text of a request meets, if any."""
    if re.fullmatch(r"\d{4}-\d\d-\d\d", text):
        return "date only"
    cedar_form = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?(Z|[+-]\d{4})"
    ours = r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:?\d\d)"
    if re.fullmatch(ours, text, re.ASCII) and not re.fullmatch(cedar_form, text, re.ASCII):
        return "rfc3339 spelling"
    return None


# ---- both sides --------------------------------------------------------------------------------


def _extn(fn: str, arg: str) -> dict[str, Any]:
    return {"__extn": {"fn": fn, "arg": arg}}


def _cedar(policies: list[str], contexts: list[dict[str, Any]]) -> list[list[str | None]]:
    """Per request, per policy: "true", "false", "error"; or None when Cedar refused the
    request itself (a value it cannot read)."""
    text = "\n".join(f"permit(principal, action, resource) when {{ {p} }};" for p in policies)
    results = cedarpy.is_authorized_batch([{**PRINCIPAL, "context": c} for c in contexts], text, [])
    out: list[list[str | None]] = []
    for result in results:
        errors = " ".join(result.diagnostics.errors)
        if "failed to build request" in errors:
            out.append([None] * len(policies))
            continue
        reasons = set(result.diagnostics.reasons)
        failed = set(re.findall(r"policy `(policy\d+)`", errors))
        out.append(
            [
                "error" if f"policy{i}" in failed else str(f"policy{i}" in reasons).lower()
                for i in range(len(policies))
            ]
        )
    return out


def _ours(policy: policydsl.Policy, context: dict[str, Any]) -> str | None:
    try:
        return "true" if policy.decide(context).decision == "allow" else "false"
    except policydsl.ContextError:
        return None
    except policydsl.EvaluationError:
        return "error"


def _policy(context: str, condition: str, backend: str = BACKEND) -> policydsl.Policy:
    source = f"""
context {{ {context} }}
effects deny > allow default deny
rule r: allow {{ when {condition} cite "c" reason "r" }}
output ms: int {{ otherwise => 0 }}
"""
    return policydsl.loads(source, backend=backend)


MILLIS = """
context { a: datetime = "1970-01-01"  d: duration = 0ms }
effects deny > allow default deny
output ms_a: int { otherwise => to_milliseconds(a - datetime("1970-01-01")) }
output ms_d: int { otherwise => to_milliseconds(d) }
"""


# ---- texts -------------------------------------------------------------------------------------


def test_datetime_texts_of_requests_read_as_cedar_reads_them() -> None:
    rng = random.Random(SEED)
    texts = [datetime_text(rng) for _ in range(COUNT)]
    texts = [mangled(rng, t) if rng.random() < 0.15 else t for t in texts]
    policy = policydsl.loads(MILLIS, backend=BACKEND)
    ours: list[int | None] = []
    for text in texts:
        try:
            ours.append(policy.decide({"a": text}).output("ms_a"))
        except policydsl.ContextError:
            ours.append(None)
    # Cedar reads the text; the request then says what we read, for Cedar to compare
    contexts = [
        {"a": _extn("datetime", t), "m": _extn("duration", f"{0 if v is None else v}ms")}
        for t, v in zip(texts, ours, strict=True)
    ]
    cedar = _cedar([f"context.a == {EPOCH}.offset(context.m)"], contexts)
    compared = excluded = accepted = 0
    for text, value, (theirs,) in zip(texts, ours, cedar, strict=True):
        difference = _rfc3339_only(text)
        if difference is not None:
            assert difference in DIFFERENT  # documented, with its reason
            excluded += 1
            continue
        compared += 1
        accepted += value is not None
        want = None if value is None else "true"
        assert theirs == want, (text, value, theirs)
    assert compared >= 4_000 and accepted >= 2_000 and excluded < 1_000, (compared, accepted)


def test_datetime_literals_read_as_cedar_reads_them() -> None:
    """Policy literals take exactly Cedar's forms (a date alone included): one policy holds
    them all, each an output, and its diagnostics (P338) name the ones refused."""
    rng = random.Random(SEED + 1)
    texts = [datetime_text(rng) for _ in range(1_500)]
    texts = [mangled(rng, t) if rng.random() < 0.2 else t for t in texts]
    texts = [t for t in texts if '"' not in t and "\\" not in t]

    def source(chosen: list[str]) -> str:
        outputs = "\n".join(
            f'output v{i}: int {{ otherwise => to_milliseconds(datetime("{t}") - '
            f'datetime("1970-01-01")) }}'
            for i, t in enumerate(chosen)
        )
        return f"context {{ }}\neffects deny > allow default deny\n{outputs}\n"

    refused: set[int] = set()
    try:
        policydsl.loads(source(texts))
    except policydsl.PolicyError as err:
        for diagnostic in err.diagnostics:
            assert diagnostic.code == "P338", diagnostic
            assert diagnostic.help, diagnostic
            assert diagnostic.span is not None
            refused.add(diagnostic.span.line - 3)
    kept = [t for i, t in enumerate(texts) if i not in refused]
    decision = policydsl.loads(source(kept)).decide({})
    values = iter(decision.output(f"v{i}") for i in range(len(kept)))
    policies = []
    for i, text in enumerate(texts):
        value = None if i in refused else next(values)
        policies.append(
            f'datetime("{text}") == datetime("{text}")'
            if value is None
            else f'datetime("{text}") == {EPOCH}.offset(duration("{value}ms"))'
        )
    (cedar,) = _cedar(policies, [{}])
    for i, (text, theirs) in enumerate(zip(texts, cedar, strict=True)):
        assert theirs == ("error" if i in refused else "true"), (text, theirs)
    assert 300 <= len(refused) <= len(texts) - 600


def test_duration_texts_read_as_cedar_reads_them() -> None:
    rng = random.Random(SEED + 2)
    texts = [duration_text(rng) for _ in range(COUNT)]
    policy = policydsl.loads(MILLIS, backend=BACKEND)
    ours: list[int | None] = []
    for text in texts:
        try:
            ours.append(policy.decide({"d": text}).output("ms_d"))
        except policydsl.ContextError:
            ours.append(None)
    contexts = [
        {"d": _extn("duration", t), "m": _extn("duration", f"{0 if v is None else v}ms")}
        for t, v in zip(texts, ours, strict=True)
    ]
    cedar = _cedar(["context.d == context.m"], contexts)
    for text, value, (theirs,) in zip(texts, ours, cedar, strict=True):
        assert theirs == (None if value is None else "true"), (text, value, theirs)
    assert sum(v is not None for v in ours) >= 1_500
    assert sum(v is not None and abs(v) > 2**62 for v in ours) >= 20  # near the limits


# ---- operations --------------------------------------------------------------------------------

# (policydsl condition, Cedar condition): a, b datetimes; d, e durations; n an integer
OPERATIONS = [
    ("a < b", "context.a < context.b"),
    ("a <= b", "context.a <= context.b"),
    ("a > b", "context.a > context.b"),
    ("a >= b", "context.a >= context.b"),
    ("a == b", "context.a == context.b"),
    ("a != b", "context.a != context.b"),
    ("d < e", "context.d < context.e"),
    ("d >= e", "context.d >= context.e"),
    ("d == e", "context.d == context.e"),
    ("a + d < b", "context.a.offset(context.d) < context.b"),
    ("a + d >= b + e", "context.a.offset(context.d) >= context.b.offset(context.e)"),
    ("a - b < d", "context.a.durationSince(context.b) < context.d"),
    ("a - b == d", "context.a.durationSince(context.b) == context.d"),
    ("date(a) <= b", "context.a.toDate() <= context.b"),
    ("date(a) == date(b)", "context.a.toDate() == context.b.toDate()"),
    ("time_of_day(a) < d", "context.a.toTime() < context.d"),
    ("to_days(d) < n", "context.d.toDays() < context.n"),
    ("to_hours(d) < n", "context.d.toHours() < context.n"),
    ("to_minutes(d) >= n", "context.d.toMinutes() >= context.n"),
    ("to_seconds(d) == n", "context.d.toSeconds() == context.n"),
    ("to_milliseconds(d) < n", "context.d.toMilliseconds() < context.n"),
    ('a < "2024-02-29T12:00:00.500+0100"', 'context.a < datetime("2024-02-29T12:00:00.500+0100")'),
    ("a + 1d < b", 'context.a.offset(duration("1d")) < context.b'),
    # Cedar has no negation of durations: policydsl's `-d` against Cedar's arithmetic on longs
    ("to_milliseconds(-d) < n", "0 - context.d.toMilliseconds() < context.n"),
]


@pytest.fixture(scope="module")
def requests() -> list[dict[str, Any]]:
    rng = random.Random(SEED + 3)
    reader = policydsl.loads(MILLIS)

    def valid(make: Callable[[], str], key: str) -> str:
        while True:
            text = make()
            try:
                reader.decide({key: text})
            except policydsl.ContextError:
                continue
            return text

    def moment() -> str:
        text = datetime_text(rng)
        return text if "T" in text else text + "T00:00:00Z"

    def span() -> str:
        if rng.random() < 0.6:  # mostly within what datetimes can be moved by
            sign = "-" if rng.random() < 0.4 else ""
            return f"{sign}{rng.randint(0, 4_000_000)}d{rng.randint(0, 23)}h"
        return duration_text(rng)

    made = []
    for _ in range(COUNT):
        a = valid(moment, "a")
        b = a if rng.random() < 0.1 else valid(moment, "a")
        d = valid(span, "d")
        e = d if rng.random() < 0.1 else valid(span, "d")
        made.append(
            {
                "a": a,
                "b": b,
                "d": d,
                "e": e,
                "n": rng.randint(-50, 50) * rng.choice([1, 1000, 10**9]),
            }
        )
    return made


@pytest.fixture(scope="module")
def cedar_outcomes(requests: list[dict[str, Any]]) -> list[list[str | None]]:
    """Every operation's outcome for every request: one Cedar batch, a policy per operation."""
    contexts = [
        {
            **{k: _extn("datetime", r[k]) for k in "ab"},
            **{k: _extn("duration", r[k]) for k in "de"},
            "n": r["n"],
        }
        for r in requests
    ]
    return _cedar([theirs for _, theirs in OPERATIONS], contexts)


@pytest.mark.parametrize("index", range(len(OPERATIONS)), ids=[o for o, _ in OPERATIONS])
def test_operations_decide_as_cedar_decides(
    index: int, requests: list[dict[str, Any]], cedar_outcomes: list[list[str | None]]
) -> None:
    ours = OPERATIONS[index][0]
    context = "a: datetime b: datetime d: duration e: duration n: int"
    policies = {b: _policy(context, ours, b) for b in policydsl.BACKENDS}
    outcomes: dict[str | None, int] = {}
    for i, (request, row) in enumerate(zip(requests, cedar_outcomes, strict=True)):
        want = row[index]
        for backend, policy in policies.items():
            if backend != BACKEND and i % 10:
                continue  # every backend on a tenth of them: the differential tests do the rest
            got = _ours(policy, request)
            assert got == want, (backend, ours, request, got, want)
        outcomes[want] = outcomes.get(want, 0) + 1
    assert outcomes.get("true") and outcomes.get("false"), outcomes
    if re.search(r"\+ [de]\b", ours):  # durations near the 64-bit limits overflow
        assert outcomes.get("error"), outcomes


def test_overflow_is_an_evaluation_error_refused_fail_closed() -> None:
    """Leaving the 64-bit range is an error of the decision on every backend, never a value."""
    source = """
context { a: datetime  d: duration }
effects deny > allow default allow refuse deny
rule late: deny { when a + d > datetime("2000-01-01") cite "c" reason "late" }
"""
    request = {"a": "1970-01-01T00:00:00.001Z", "d": "9223372036854775807ms"}
    for backend in policydsl.BACKENDS:
        with pytest.raises(policydsl.EvaluationError, match="overflow"):
            policydsl.loads(source, backend=backend).decide(request)
        closed = policydsl.loads(source, backend=backend, fail_closed=True).decide(request)
        assert closed.decision == "deny", backend
