"""Random request contexts for the differential tests: for a random policy's schema, and for the
stdlib; and how a backend's answer to one is compared (`outcome`) and checked unmutated.

Valid contexts mix absent and null attributes, boundary integers, repeats, other mappings and
str/int subclasses; a quarter have one attribute broken. All draws come from the caller's seed.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as _dt
import pickle
import random
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from typing import Any

from randpolicy import (
    DATETIMES,
    DECIMALS,
    DURATIONS,
    STRINGS,
    Case,
    Fld,
    Ty,
    make_case,
    make_shape_case,
)


def valid_time(rng: random.Random, kind: str) -> Any:
    """A request's datetime (RFC 3339 text, at or beside a literal of the policies, or an aware
    `datetime`) or duration (its text, or a `timedelta`)."""
    if kind == "duration":
        text = rng.choice(DURATIONS)
        if rng.random() < 0.2:
            return _dt.timedelta(milliseconds=rng.randint(-(10**9), 10**9))
        return ("-" if rng.random() < 0.3 and text != "0ms" else "") + text
    text = rng.choice(DATETIMES)
    moment = _dt.datetime.fromisoformat(text if "T" in text else text + "T00:00:00Z")
    with contextlib.suppress(OverflowError):  # beside it, unless that leaves years 1 to 9999
        moment += _dt.timedelta(milliseconds=rng.choice((0, 0, 1, -1, 3_600_000, -86_400_000)))
    if rng.random() < 0.5:
        zone = _dt.timezone(_dt.timedelta(minutes=rng.choice((-330, 60, 0))))
        with contextlib.suppress(OverflowError):
            moment = moment.astimezone(zone)
    if rng.random() < 0.15:
        return moment
    return moment.isoformat(timespec=rng.choice(("seconds", "milliseconds")))


def contexts(case: Case, n: int) -> list[Any]:
    """`n` contexts for `case`'s schema, the same for the same case."""
    rng = random.Random(case.seed * 7919 + 1)
    found = [ContextGen(case, rng).context() for _ in range(n)]
    if case.entities is not None:  # from a generator of their own: the rest stays as it was
        entity_rng = random.Random(f"entity contexts:{case.seed}")
        for context in found:
            case.entities.fill(context, entity_rng)
    return found


class StrSub(str):
    """A `str` subclass: a valid string whose class is not exactly `str`."""


class IntSub(int):
    """An `int` subclass (think `IntEnum`): a valid integer whose class is not exactly `int`."""


class ReadOnly(Mapping[str, Any]):
    """A mapping that is not a dict: valid wherever a record is."""

    def __init__(self, data: Mapping[str, Any]):
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


class ContextGen:
    """Request contexts for one schema: mostly valid (absent, null, boundary values, odd but valid
    Python types), a quarter with one attribute broken."""

    def __init__(self, case: Case, rng: random.Random):
        self.case = case
        self.rng = rng

    def context(self) -> Any:
        rng = self.rng
        ctx: Any = self.record(self.case.schema)
        if rng.random() < 0.25:
            if rng.random() < 0.08:
                return rng.choice((None, [], "ctx", 3, [("a", 1)]))
            self.break_one(ctx, self.case.schema)
        return self.wrap(ctx)

    def wrap(self, data: dict[str, Any]) -> Mapping[str, Any]:
        r = self.rng.random()
        if r < 0.06:
            return collections.OrderedDict(data)
        if r < 0.1:
            return ReadOnly(data)
        return data

    def record(self, fields: Sequence[Fld], mischief: bool = True) -> dict[str, Any]:
        """A record's value; with `mischief`, now and then an invalid one (a required attribute
        left out or null, an undeclared key)."""
        rng = self.rng
        out: dict[str, Any] = {}
        for f in fields:
            r = rng.random()
            required = not f.optional and f.default is None and f.ty.kind != "record"
            if r < (0.02 * mischief if required else 0.18):
                continue
            if r < (0.03 * mischief if required else 0.25):
                out[f.name] = None
                continue
            out[f.name] = self.valid(f.ty)
        if mischief and rng.random() < 0.03:  # records are closed: an undeclared key is invalid
            key = rng.choice(("extra", "__class__", "zz", 1, *(f.name + "s" for f in fields)))
            out[key] = rng.choice((None, 1, "x", [1.5], {"a": None}))
        return out

    def valid(self, ty: Ty) -> Any:
        rng = self.rng
        if ty.kind == "record":
            return self.wrap(self.record(ty.fields))
        if ty.kind == "records":
            assert ty.elem is not None
            elements = [
                self.record(ty.elem.fields, mischief=False) for _ in range(rng.randint(0, 2))
            ]
            items = [self.wrap(e) for e in elements]
            return tuple(items) if rng.random() < 0.15 else items
        if ty.kind == "map":
            return self.map_value(ty)
        if ty.kind == "bool":
            return rng.random() < 0.5
        if ty.kind == "decimal":
            return self.decimal()
        if ty.kind == "int":
            value = rng.choice(self.ints(ty))
            return IntSub(value) if rng.random() < 0.04 else value
        if ty.kind == "string":
            value = self.string()
            return StrSub(value) if rng.random() < 0.04 else value
        if ty.kind == "enum":
            value = rng.choice(self.case.enums[ty.enum])
            return StrSub(value) if rng.random() < 0.03 else value
        if ty.kind in ("datetime", "duration"):
            return valid_time(rng, ty.kind)
        assert ty.elem is not None
        pool = [self.valid(ty.elem) for _ in range(rng.randint(1, 3))]
        items = [rng.choice(pool) for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))]  # duplicates
        return tuple(items) if rng.random() < 0.15 else items

    def map_value(self, ty: Ty) -> Any:
        """A map: keys from the policy's strings (so its lookups hit), now and then a `null`
        value (absent), within the declared maximum."""
        rng = self.rng
        assert ty.elem is not None
        most = 4 if ty.max is None else ty.max
        keys = rng.sample([*self.case.strings, "", "k"], rng.randint(0, most))
        out: dict[str, Any] = {}
        for key in keys:
            if rng.random() < 0.05:
                out[key] = None
            elif ty.elem.kind == "record":
                out[key] = self.wrap(self.record(ty.elem.fields, mischief=False))
            else:
                out[key] = self.valid(ty.elem)
        return self.wrap(out)

    def decimal(self) -> Any:
        """A decimal as a request may give it: text, `Decimal`, `int`, or a `float` whose
        shortest text is the decimal (small ones), at or beside the policy's literals."""
        rng = self.rng
        text = rng.choice(DECIMALS)
        value = Decimal(text) + rng.choice((0, 0, Decimal("0.0001"), Decimal("-0.0001")))
        if not Decimal("-922337203685477.5808") <= value <= Decimal("922337203685477.5807"):
            value = Decimal(text)
        r = rng.random()
        if r < 0.3:
            return str(value)
        if r < 0.45 and value == value.to_integral_value():
            return int(value)
        if r < 0.65 and abs(value) < 10**6:
            return float(value)
        if r < 0.75:
            return str(value) + "000"  # zeros past the fourth digit change nothing
        return value

    def ints(self, ty: Ty) -> list[int]:
        lo, hi = ty.lo, ty.hi
        found = {v + d for v in self.case.ints for d in (-1, 0, 1)}
        found.update(v for v in (lo, hi) if v is not None)
        if hi is None:
            found.add(2**70)
        if lo is None:
            found.add(-(2**70))
        return sorted(v for v in found if (lo is None or v >= lo) and (hi is None or v <= hi))

    def string(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.35:
            return rng.choice(self.case.strings)
        if r < 0.65:  # a string some `like` pattern matches
            pattern = rng.choice(self.case.patterns)
            return "".join(
                rng.choice(("", "q", "a.b")) if c == "*" else "z" if c == "?" else c
                for c in pattern
            )
        base = rng.choice(self.case.strings)
        return rng.choice((base + "!", "x" + base, base[:-1], base.upper(), rng.choice(STRINGS)))

    def invalid(self, ty: Ty) -> Any:
        rng = self.rng
        if ty.kind == "record":
            return rng.choice(("x", 3, True, [1], ("a",), 1.5))
        if ty.kind == "records":
            assert ty.elem is not None
            good = self.valid(ty.elem)
            return rng.choice(([good, self.invalid(ty.elem)], [good, {}], {"m": good}, "m", [3]))
        if ty.kind == "map":
            assert ty.elem is not None
            good = self.valid(ty.elem) if ty.elem.kind != "record" else {}
            wrong = self.invalid(ty.elem)
            if rng.random() < 0.1:  # one key past the maximum
                return {str(i): good for i in range((ty.max or 10_000) + 1)}
            return rng.choice(("m", [good], {1: good}, {"a": wrong}, {"a": good, "b": wrong}))
        if ty.kind == "bool":
            return rng.choice((1, 0, "true", "false", 1.0, [True], {}, IntSub(1)))
        if ty.kind == "decimal":
            return rng.choice(
                (
                    True,
                    "0.12345",
                    0.1 + 0.2,
                    float("nan"),
                    float("inf"),
                    Decimal("NaN"),
                    Decimal("1E+30"),
                    "922337203685477.5808",
                    "1e3",
                    "",
                    [1],
                    {"v": 1},
                    2**70,
                )
            )
        if ty.kind == "int":
            bad: list[Any] = [True, False, 1.0, 17.5, "17", [1], {"v": 1}, float("nan")]
            if ty.lo is not None:
                bad += [ty.lo - 1, ty.lo - 2**80]
            if ty.hi is not None:
                bad += [ty.hi + 1, 2**5000]
            return rng.choice(bad)
        if ty.kind == "string":
            return rng.choice((3, True, ["a"], {"a": 1}, b"bytes", 1.5))
        if ty.kind == "enum":
            member = rng.choice(self.case.enums[ty.enum])
            return rng.choice(("nope", member.upper() + "_", "", 3, [member], member + " ", True))
        if ty.kind == "datetime":
            naive = _dt.datetime(2024, 1, 1)
            return rng.choice(
                ("2024-01-01T00:00:00", "2023-02-29T00:00:00Z", "2024-01-01", 5, "", naive)
            )
        if ty.kind == "duration":
            return rng.choice(("1h1h", "1x", "1m1h", "", "-", 5, 2.5, "9223372036854775808ms"))
        assert ty.elem is not None
        good = [self.valid(ty.elem) for _ in range(2)]
        hashable = [v for v in good if not isinstance(v, list | dict)]
        # a wrong element equal to a right one: 1.0 or True beside 1 (a set would merge them)
        twin = {0: False, 1: True}.get(good[0], float(good[0])) if ty.elem.kind == "int" else None
        return rng.choice(
            (
                [*good, twin],
                [twin, *good],
                set(hashable),
                frozenset(hashable),
                collections.deque(good),
                "m",
                {"m": True},
                7,
                [*good, self.invalid(ty.elem)],
                [*good, None],
                [good],
                iter(good),
            )
        )

    def break_one(self, ctx: dict[str, Any], fields: Sequence[Fld]) -> None:
        """Give one attribute (possibly nested, possibly a record) a wrong value."""
        rng = self.rng
        f = rng.choice(fields)
        if f.ty.kind == "record" and rng.random() < 0.7:
            inner = ctx.get(f.name)
            if not isinstance(inner, dict):
                inner = ctx[f.name] = {}
            self.break_one(inner, f.ty.fields)
            return
        if f.ty.kind == "record" or rng.random() < 0.9 or not f.ty.fields:
            ctx[f.name] = self.invalid(f.ty)


# ---- stdlib contexts ------------------------------------------------------------------------

AGES: tuple[Any, ...] = (None, 0, 1, 16, 17, 18, 19, 30, 99, 2**70)
PRIORS: tuple[Any, ...] = (None, 0, 1, 2, 3, 4, 7)
_STDLIB_FLAGS = {
    "user": ("parental_consent", "restricted"),
    "use": ("professional_oversight", "legally_permitted"),
    "content": ("subject_consent", "guardian_consent"),
}


def _stdlib_invalid(rng: random.Random) -> tuple[str, str | None, Any]:
    """One way to break a stdlib request: (section, key or None for the section, value)."""
    from benchmarks.contexts import CATEGORIES

    labels = rng.sample(CATEGORIES, 2)
    section = rng.choice(("user", "use", "content"))
    flag = rng.choice(_STDLIB_FLAGS[section])
    return rng.choice(
        (
            (section, None, rng.choice(("u1", 3, True, ["age", 30], ("a",), 1.5))),
            (section, flag, rng.choice((1, 0, "true", "false", 1.0, [True], {}, IntSub(1)))),
            ("user", "age", rng.choice(("17", 17.0, 17.5, True, False, -1, [17], {"y": 17}))),
            ("user", "age", rng.choice((-(2**70), IntSub(-1), float("nan"), b"17"))),
            ("user", "prior_violations", rng.choice((-1, 1.0, "3", True, False, -(2**5000)))),
            ("user", "id", rng.choice((123, ["u"], b"u", True, {"id": 1}))),
            ("use", "domain", rng.choice(("medical", "General", "", 3, ["general"], "legal "))),
            ("content", "categories", rng.choice(("spam", {"spam": True}, 7, set(labels)))),
            ("content", "categories", rng.choice((frozenset(labels), collections.deque(labels)))),
            ("content", "categories", rng.choice(([*labels, "nope"], ["Spam"], [None], [1]))),
            (
                "content",
                "categories",
                rng.choice(([labels], [True], iter(labels), ["spam"] * 10_001)),
            ),
        )
    )


def stdlib_contexts(n: int, seed: int) -> list[Any]:
    """`n` stdlib requests: the benchmark's fixed mix and invalid table, then random ones
    (category mixes with repeats, every domain, ages around 17/18, flags, prior violations,
    absent or null sections, undeclared attributes, odd valid types), a quarter of them broken."""
    from benchmarks.contexts import CATEGORIES, DOMAINS, make_contexts, make_invalid_contexts

    rng = random.Random(seed)
    out: list[Any] = make_contexts(n // 10, seed) + [c for c, _ in make_invalid_contexts(seed)]
    gen = ContextGen(Case(seed, "", (), {}, [], [], []), rng)
    while len(out) < n:
        ctx: dict[str, Any] = {}
        user: dict[str, Any] = {}
        if rng.random() < 0.9:
            user["age"] = rng.choice(AGES)
            user["prior_violations"] = rng.choice(PRIORS)
            user["id"] = rng.choice((None, "u1", StrSub("u2"), ""))
        use: dict[str, Any] = {"domain": rng.choice((None, *DOMAINS))}
        if rng.random() < 0.05:
            use["domain"] = StrSub(use["domain"] or "general")
        labels = [rng.choice(CATEGORIES) for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))]
        labels += rng.sample(labels, min(len(labels), rng.randint(0, 1)))  # a repeat
        content: dict[str, Any] = {"categories": tuple(labels) if rng.random() < 0.1 else labels}
        for section, values in (("user", user), ("use", use), ("content", content)):
            for flag in _STDLIB_FLAGS[section]:
                values[flag] = rng.choice((None, False, True, True))
            values = {k: v for k, v in values.items() if rng.random() < 0.85}
            if rng.random() < 0.03:  # an undeclared key: invalid, records are closed
                values[rng.choice(("extra", "categoris", 7))] = rng.choice((None, "x", [0.5]))
            r = rng.random()
            if r < 0.06:
                continue  # the section is absent
            ctx[section] = None if r < 0.1 else gen.wrap(values)
        if rng.random() < 0.25:
            section, key, value = _stdlib_invalid(rng)
            if key is None:
                ctx[section] = value
            else:
                ctx[section] = dict(ctx.get(section) or {}, **{key: value})
        if rng.random() < 0.02:
            ctx["request"] = {"id": "r1", "scores": [0.5]}
        out.append(gen.wrap(ctx) if rng.random() < 0.9 else rng.choice((None, [], "ctx", 3)))
    return out[:n]


# ---- comparing backends ---------------------------------------------------------------------


REFERENCE = "interpreted"  # the backend the others are compared with
Outcome = tuple[Any, ...]


def outcome(decide: Callable[[Any], Any], context: Any, *, exact: bool = False) -> Outcome:
    """What a backend makes of one context, in a form to compare: the decision or the error;
    `exact` adds the `Decision` itself, typed (`typed`), outputs included.

    The compiled backends share one decision among the requests that end alike, so a caller that
    changes the dict it got must not change what the next caller gets: each first dict is spoilt.
    """
    from policydsl import ContextError

    try:
        decision = decide(context)
    except ContextError as err:
        return ("ContextError", err.attribute, str(err))
    except Exception as err:  # any other exception is a finding, reported by the caller
        return (type(err).__name__, str(err))
    spoilt = decision.to_dict()
    for value in spoilt.values():
        if isinstance(value, list):
            value.append("<changed by a caller>")
            for item in value:
                if isinstance(item, list):
                    item.append("<changed by a caller>")
    spoilt["decision"] = "<changed by a caller>"
    if exact:
        return ("decision", decision.to_dict(), typed(decision))
    return ("decision", decision.to_dict())


def typed(value: Any) -> Any:
    """A comparable form that keeps types: `Decision` equality, and `True` is not `1`, a tuple
    not a list; a set's elements in a fixed order."""
    import attrs

    if attrs.has(type(value)):
        fields = attrs.fields(type(value))
        return (
            type(value).__name__,
            tuple((f.name, typed(getattr(value, f.name))) for f in fields if f.eq),
        )
    if isinstance(value, set | frozenset):
        return (type(value).__name__, tuple(sorted((typed(v) for v in value), key=repr)))
    if isinstance(value, list | tuple):
        return (type(value).__name__, tuple(typed(v) for v in value))
    return (type(value).__name__, value)


def backends(policy: Any, *, fail_closed: bool = False) -> dict[str, Any]:
    """The same checked policy on every backend, deciding with its entity data: checking once
    keeps random campaigns fast."""
    import policydsl

    made = {
        b: policydsl.Policy(
            policy.checked, backend=b, fail_closed=fail_closed, sources=policy.sources
        )
        for b in policydsl.BACKENDS
    }
    for each in made.values():
        each.use_entities(policy.entities)
    return made


Found = tuple[int, Any, dict[str, Outcome]]


def disagreements(
    policies: Mapping[str, Any],
    contexts: Sequence[Any],
    stats: collections.Counter[str] | None = None,
    *,
    exact: bool = False,
) -> Iterator[Found]:
    """Each context some backend decides differently from the reference (or mutates)."""
    for i, context in enumerate(contexts):
        before = snapshot(context)
        seen = {b: outcome(p.decide, context, exact=exact) for b, p in policies.items()}
        if snapshot(context) != before:
            seen["mutated the context"] = (repr(context),)
        ref = seen[REFERENCE]
        if stats is not None:
            stats[ref[0]] += 1
            stats["fired"] += ref[0] == "decision" and bool(ref[1]["rules"])
            stats["rules fired"] += len(ref[1]["rules"]) if ref[0] == "decision" else 0
        if any(v != ref for v in seen.values()):
            yield i, context, seen


def report(where: str, found: list[Found]) -> str:
    i, context, seen = found[0]
    lines = [f"{len(found)} disagreement(s) {where}; the first, context #{i}: {context!r:.2000}"]
    lines.extend(f"  {b}: {v[:2]!r:.2000}" for b, v in seen.items())
    return "\n".join(lines)


def snapshot(value: Any) -> Any:
    """A deep, comparable copy of a context, classes included: deciding must not mutate it."""
    if isinstance(value, Mapping):
        return (type(value), tuple((k, snapshot(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | collections.deque):
        return (type(value), tuple(snapshot(v) for v in value))
    if isinstance(value, set | frozenset):
        return (type(value), frozenset(value))
    return (type(value), value)


def decide_pickled(
    payload: bytes, requests: list[Any], entities: Any = None
) -> list[tuple[Any, ...]]:
    """In a worker process: rebuild a pickled policy, load its entity data (sent beside it: a
    policy pickles without it) and decide each request."""
    policy = pickle.loads(payload)
    if entities is not None:
        policy.load_entities(entities)
    return [outcome(policy.decide, c) for c in requests]


def replay(seed: int, n: int = 0, shape: str = "") -> int:
    """Print the policy of `seed` (of `shape`, if given) and every context the backends
    disagree on, then the smallest policy and request that still disagree; the exit status."""

    case = make_shape_case(seed, shape) if shape else make_case(seed)
    n = n if n else 100 if shape else 50
    print(case.text)
    failures = 0
    first: tuple[Any, bool] | None = None
    reference = load_case(case)
    for fail_closed in (False, True):
        policies = backends(reference, fail_closed=fail_closed)
        for i, context, seen in disagreements(policies, case.contexts(n), exact=bool(shape)):
            failures += 1
            first = first or (context, fail_closed)
            print(f"context {i}{' (fail-closed)' if fail_closed else ''}: {context!r}")
            for b, v in seen.items():
                print(f"  {b}: {v}")
    print(f"{failures} disagreement(s) in {n} contexts of seed {seed}")
    if first is not None:
        entities = case.entities.data if case.entities is not None else None
        text, context = minimal(case.text, first[0], fail_closed=first[1], entities=entities)
        print(f"\nsmallest policy{' (fail-closed)' if first[1] else ''}:\n{text}")
        print(f"smallest request: {context!r}")
    return 1 if failures else 0


# ---- contexts for a policy of one index shape -------------------------------------------------


def shape_contexts(case: Case, n: int) -> list[Any]:
    """`n` contexts for a shape's policy (`randpolicy.make_shape_case`), the same for the same
    case: values at the rules' boundaries, a tenth of the contexts with one attribute broken."""
    rng = random.Random(f"{case.shape}:{case.seed}")
    gen = ShapeContextGen(case, rng)
    return [gen.shape_context() for _ in range(n)]


def required(f: Fld) -> bool:
    """A field a valid context must give: no `?`, no default, or a record with such a field."""
    if f.optional or f.default is not None:
        return False
    return f.ty.kind != "record" or any(required(c) for c in f.ty.fields)


class ShapeContextGen(ContextGen):
    """Values an index can get wrong: each integer constant and its neighbours, the type's
    bounds; a pool string, its prefixes and suffixes (the empty one and the whole), what a
    pattern matches or just fails to; empty collections and repeated elements; absent
    optionals."""

    def shape_context(self) -> Any:
        rng = self.rng
        ctx = self.record(self.case.schema)
        if rng.random() < 0.1:
            self.break_one(ctx, self.case.schema)
        return self.wrap(ctx)

    def record(self, fields: Sequence[Fld]) -> dict[str, Any]:
        rng = self.rng
        out: dict[str, Any] = {}
        for f in fields:
            r = rng.random()
            if r < (0.005 if required(f) else 0.25):
                continue
            if r < (0.01 if required(f) else 0.3):
                out[f.name] = None
                continue
            out[f.name] = self.valid(f.ty)
        return out

    def valid(self, ty: Ty) -> Any:
        rng = self.rng
        if ty.kind == "record":
            return self.wrap(self.record(ty.fields))
        if ty.collection:
            assert ty.elem is not None
            size = rng.choice((0, 0, 1, 1, 2, 3, 4, 6))
            if ty.max is not None:
                size = min(size, ty.max)
            pool = [self.valid(ty.elem) for _ in range(rng.randint(1, 3))]
            items = [rng.choice(pool) for _ in range(size)]  # repeats
            return tuple(items) if rng.random() < 0.1 else items
        if ty.kind == "int":
            return rng.choice(self.ints(ty))
        if ty.kind == "string":
            value = self.string()
            if ty.max is not None and len(value) > ty.max:
                value = value[: ty.max]
            return value
        if ty.kind == "enum":  # plain `str`: what a `str` subclass does is `contexts`'s concern
            return rng.choice(self.case.enums[ty.enum])
        return super().valid(ty)

    def ints(self, ty: Ty) -> list[int]:
        lo, hi = ty.lo, ty.hi
        found = {v + d for v in self.case.ints for d in (-2, -1, 0, 1, 2)}
        found.update(-v for v in self.case.ints)
        found.update(v for v in (lo, hi, 0) if v is not None)
        return sorted(v for v in found if (lo is None or v >= lo) and (hi is None or v <= hi))

    def string(self) -> str:
        rng = self.rng
        pool = self.case.strings
        word = rng.choice(pool)
        r = rng.random()
        if r < 0.3:
            return word
        if r < 0.45:
            return word[: rng.randint(0, len(word))]
        if r < 0.6:
            return word[rng.randint(0, len(word)) :]
        if r < 0.8:  # what a pattern matches: its stars as nothing, a pool string or a token
            pattern = rng.choice(self.case.patterns)
            return "".join(
                rng.choice(("", "", "a", ".", rng.choice(pool)))
                if c == "*"
                else rng.choice(("a", "?", "é"))
                if c == "?"
                else c
                for c in pattern
            )
        if r < 0.9:
            return word + rng.choice(pool)
        return rng.choice(("", word + "a", "a" + word, word[:-1], word[1:], word.upper()))


# ---- the smallest reproducer --------------------------------------------------------------------


def load_case(case: Case) -> Any:
    """The reference backend's policy of `case`, deciding with its entity data if it has some."""
    import policydsl

    reference = policydsl.loads(case.text, backend=REFERENCE)
    if case.entities is not None:
        reference.load_entities(case.entities.data)
    return reference


def disagree_on(
    text: str, context: Any, *, fail_closed: bool = False, entities: Any = None
) -> bool:
    """Whether some backend decides `context` differently from the reference under `text`
    (deciding with `entities`, entity data, if given)."""
    import policydsl
    from policydsl.entity_data import EntityDataError

    try:
        reference = policydsl.loads(text, backend=REFERENCE)
        if entities is not None:
            reference.load_entities(entities)
    except (policydsl.PolicyError, EntityDataError):  # a smaller policy the data no longer fits
        return False
    policies = backends(reference, fail_closed=fail_closed)
    return any(True for _ in disagreements(policies, [context], exact=True))


def minimal(
    text: str,
    context: Any,
    *,
    fail_closed: bool = False,
    budget: int = 1500,
    disagree: Callable[[str, Any], bool] | None = None,
    entities: Any = None,
) -> tuple[str, Any]:
    """A smaller policy and request the backends still disagree on (`disagree_on`, or
    `disagree`): declarations, then lines, then the `and`/`or` operands of conditions dropped
    one at a time while the disagreement stays; then the request's attributes and elements;
    again until nothing more goes. At most `budget` trials."""
    trials = 0

    def still(candidate: str, ctx: Any) -> bool:
        nonlocal trials
        trials += 1
        if trials > budget:
            return False
        if disagree is not None:
            return disagree(candidate, ctx)
        return disagree_on(candidate, ctx, fail_closed=fail_closed, entities=entities)

    while True:
        before = (text, repr(context))
        for split in ("\n\n", "\n"):
            parts = text.split(split)
            i = 0
            while i < len(parts):
                candidate = split.join(parts[:i] + parts[i + 1 :])
                if still(candidate, context):
                    parts, text = parts[:i] + parts[i + 1 :], candidate
                else:
                    i += 1
        lines = text.split("\n")
        for n in range(len(lines)):
            while True:
                for simpler in _simpler_lines(lines[n]):
                    candidate = "\n".join([*lines[:n], simpler, *lines[n + 1 :]])
                    if still(candidate, context):
                        lines[n], text = simpler, candidate
                        break
                else:
                    break
        plain = _plain(context)
        if type(context) is not dict and plain is not context and still(text, plain):
            context = plain
        while True:
            for smaller in _smaller_contexts(context):
                if still(text, smaller):
                    context = smaller
                    break
            else:
                break
        if (text, repr(context)) == before or trials > budget:
            break
    return text, context


def _operands(expr: str) -> tuple[str, list[str]] | None:
    """`expr` split at its outermost `and` or `or` (outside brackets and strings)."""
    depth, quoted, escaped = 0, False, False
    cuts: dict[str, list[int]] = {" and ": [], " or ": []}
    for i, c in enumerate(expr):
        if quoted:
            quoted, escaped = (escaped or c != '"'), (not escaped and c == "\\")
            continue
        if c == '"':
            quoted = True
        elif c in "([":
            depth += 1
        elif c in ")]":
            depth -= 1
        elif depth == 0:
            for word, found in cuts.items():
                if expr.startswith(word, i):
                    found.append(i)
    for word in (" or ", " and "):  # `or` binds loosest
        if cuts[word]:
            bounds = [0, *cuts[word], len(expr)]
            skip = [0] + [len(word)] * len(cuts[word])
            return word, [
                expr[a + s : b] for a, b, s in zip(bounds, bounds[1:], skip, strict=False)
            ]
    return None


def _simpler_lines(line: str) -> Iterator[str]:
    """A `when` line (of a rule or an output case) or a definition with one operand dropped
    or unbracketed."""
    found = re.match(r"\s*when |def \S+ = ", line)
    if found is None:
        return
    lead = found.group(0)
    expr, arrow = line[len(lead) :], ""
    if " => " in expr:
        expr, value = expr.rsplit(" => ", 1)
        arrow = " => " + value
    split = _operands(expr)
    if split is not None:
        word, operands = split
        for i in range(len(operands)):
            rest = operands[:i] + operands[i + 1 :]
            yield lead + word.join(rest) + arrow
        for i, operand in enumerate(operands):
            if operand.startswith("(") and operand.endswith(")"):
                inner = [*operands[:i], operand[1:-1], *operands[i + 1 :]]
                yield lead + word.join(inner) + arrow
    elif expr.startswith("(") and expr.endswith(")"):
        yield lead + expr[1:-1] + arrow


def _plain(value: Any) -> Any:
    """Mappings as dicts, at every depth (the same object when there is none)."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _smaller_contexts(context: Any) -> Iterator[Any]:
    """The context with one attribute (at any depth) or one element left out."""
    if isinstance(context, dict):
        for key in list(context):
            yield {k: v for k, v in context.items() if k != key}
            for smaller in _smaller_contexts(context[key]):
                yield {**context, key: smaller}
    elif isinstance(context, list):
        for i in range(len(context)):
            yield context[:i] + context[i + 1 :]
