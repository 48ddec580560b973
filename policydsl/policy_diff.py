"""`policyc diff OLD NEW`: which requests two versions of a policy set decide differently.

Both versions are encoded over one symbolic request (`smt`), and the solver is asked for a request
whose decision, obligations or outputs differ. Each answer is decided by both engines before it is
shown, then its region (the rules responsible on each side, firing as they do there) is excluded
and the solver asked again, until no differing request is left: the regions found cover every
request that changes. `replay` does the same for recorded requests, one line at a time.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import attrs

from policydsl import model, smt
from policydsl import typesys as t
from policydsl.context import ContextError
from policydsl.decision import Decision, EvaluationError, to_json
from policydsl.engine import Policy

MAX_REGIONS = 64  # regions listed before the report says there are more
TIMEOUT_MS = 20_000


class SchemaMismatch(ValueError):
    """The two versions read different requests: a diff compares decisions of one schema."""


@attrs.frozen
class Region:
    """Requests whose outcome changes the same way, through the same rules."""

    move: str  # "allow -> deny"; the same effect twice when obligations or outputs change
    request: dict[str, Any]
    old: dict[str, Any]  # each side's decision of `request`
    new: dict[str, Any]
    responsible_old: tuple[str, ...]
    responsible_new: tuple[str, ...]
    changes: tuple[str, ...] = ()  # what else changes: `enforcement: warn -> none`

    def to_dict(self) -> dict[str, Any]:
        return {
            "move": self.move,
            "changes": list(self.changes),
            "request": self.request,
            "old": self.old,
            "new": self.new,
            "responsible": {"old": list(self.responsible_old), "new": list(self.responsible_new)},
        }


@attrs.frozen
class Report:
    """`status`: `equivalent`, `different` (with its regions), or `unknown` (not decided)."""

    status: str
    regions: tuple[Region, ...] = ()
    complete: bool = True  # every region was found (False: stopped at MAX_REGIONS)
    detail: str = ""
    changed_rules: tuple[str, ...] = ()
    seconds: float = 0.0

    @property
    def moves(self) -> dict[str, int]:
        return dict(Counter(r.move for r in self.regions))

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "detail": self.detail,
            "moves": self.moves,
            "complete": self.complete,
            "changed_rules": list(self.changed_rules),
            "regions": [r.to_dict() for r in self.regions],
            "seconds": round(self.seconds, 3),
        }


def schema_text(record: t.RecordType, members: dict[str, tuple[str, ...]] | None = None) -> str:
    """The schema as text, enum members included (or as `members` gives them)."""
    parts = []
    for f in record.fields:
        inner = (
            schema_text(f.type, members)
            if isinstance(f.type, t.RecordType)
            else _type_text(f.type, members or {})
        )
        default = "" if f.default is t.MISSING else f"={to_json(f.default)!r}"
        parts.append(f"{f.name}{'?' if f.optional else ''}:{inner}{default}")
    return "{" + ",".join(parts) + "}"


def _type_text(type_: t.Type, given: dict[str, tuple[str, ...]]) -> str:
    match type_:
        case t.EnumType(name, members):
            return f"{name}({','.join(given.get(name, members))})"
        case t.CollectionType(kind, element, max_size):
            return f"{kind}<{_type_text(element, given)}>[..{max_size}]"
        case t.StringType(max_length):
            return f"string[..{max_length}]"
    return str(type_)


def changed_rules(old: model.CheckedPolicy, new: model.CheckedPolicy) -> tuple[str, ...]:
    """Rule ids added, removed, or written differently (conditions compared as trees)."""
    before = {r.id: r for r in old.rules}
    after = {r.id: r for r in new.rules}
    return tuple(sorted(i for i in before.keys() | after.keys() if before.get(i) != after.get(i)))


REFUSED = "refused"  # what a version "decides" for a request its own schema refuses


def _enums(record: t.RecordType, found: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    for f in record.fields:
        type_ = f.type.element if isinstance(f.type, t.CollectionType) else f.type
        if isinstance(type_, t.RecordType):
            _enums(type_, found)
        elif isinstance(type_, t.EnumType):
            found[type_.name] = type_.members
    return found


def _wider(a: t.RecordType, b: t.RecordType) -> t.RecordType:
    """The schema to ask about: the same schema, or, when the versions differ only in members
    of their enums (a label added or removed), the one whose enums hold all the other's."""
    if schema_text(a) == schema_text(b):
        return a
    ea, eb = _enums(a, {}), _enums(b, {})
    plain: dict[str, tuple[str, ...]] = {n: (n,) for n in ea}
    same_shape = schema_text(a, plain) == schema_text(b, plain) and ea.keys() == eb.keys()
    if same_shape and all(set(ea[n]) <= set(eb[n]) for n in ea):
        return b
    if same_shape and all(set(eb[n]) <= set(ea[n]) for n in ea):
        return a
    raise SchemaMismatch(
        "the two versions declare different request schemas (beyond members added to or "
        "removed from their enums)"
    )


def _valid(request: smt.Request, schema: t.RecordType) -> Any:
    """The requests `schema` admits among those of the wider schema `request` is made for: no
    enum member it does not declare."""
    z3 = smt.z3
    members = _enums(schema, {})
    held = []
    for value in request.values.values():
        if isinstance(value, smt.Enum) and value.type.name in members:
            own = members[value.type.name]
            if len(own) < len(value.type.members):
                held.append(z3.Or([_is(value, m) for m in own]) if own else z3.BoolVal(False))
        elif isinstance(value, smt.EnumBag) and value.type.name in members:
            own = members[value.type.name]
            held.extend(z3.Not(f) for m, f in value.flags.items() if m not in own)
    return z3.And(held)


def diff(old: Policy, new: Policy, max_regions: int = MAX_REGIONS) -> Report:
    """The regions of requests whose decision, obligations or outputs change from OLD to NEW
    (or that one version's schema refuses and the other decides)."""
    z3 = smt.load_z3()
    started = time.perf_counter()
    a, b = old.checked, new.checked
    schema = _wider(a.schema, b.schema)
    changed = changed_rules(a, b)

    def report(status: str, **kw: Any) -> Report:
        seconds = time.perf_counter() - started
        return Report(status, changed_rules=changed, seconds=seconds, **kw)

    try:
        request = smt.Request(schema, "r:")
        out_a = smt.Encoder(a).decide(request)
        out_b = smt.Encoder(b).decide(request)
        valid_a, valid_b = _valid(request, a.schema), _valid(request, b.schema)
        solver = z3.Solver()
        solver.set("timeout", TIMEOUT_MS)
        solver.add(*request.constraints)
        solver.add(z3.Or(valid_a != valid_b, z3.And(valid_a, valid_b, _differ(out_a, out_b))))
    except smt.Unsupported as err:
        return report("unknown", detail=f"not decided: the encoding does not cover {err}")
    regions: list[Region] = []
    while True:
        answer = solver.check()
        if answer == z3.unsat:
            break
        if answer != z3.sat:
            why = f"not decided: the solver gave up ({solver.reason_unknown()})"
            return report("unknown", regions=tuple(regions), detail=why, complete=False)
        if len(regions) >= max_regions:
            return report("different", regions=tuple(regions), complete=False)
        example = request.example(smt.shrink(solver, request.preferences()))
        solver.pop()
        try:
            da, db = _decide(old, example), _decide(new, example)
        except EvaluationError as err:
            why = f"internal error: the solver's example is not usable ({err})"
            return report("unknown", regions=tuple(regions), detail=why, complete=False)
        if (da is None and db is None) or not changes(da, db):
            why = "internal error: the engines do not confirm the solver's example"
            return report("unknown", regions=tuple(regions), detail=why, complete=False)
        fired_a = set(da.rules) if da else set()
        fired_b = set(db.rules) if db else set()
        differing = fired_a ^ fired_b if da and db else set()  # a refusal fires nothing
        key = [i for i in sorted(set(changed) | differing) if i in fired_a | fired_b]
        regions.append(
            Region(
                f"{da.decision if da else REFUSED} -> {db.decision if db else REFUSED}",
                example,
                da.to_dict() if da else {"decision": REFUSED},
                db.to_dict() if db else {"decision": REFUSED},
                tuple(i for i in key if i in fired_a),
                tuple(i for i in key if i in fired_b),
                what_changed(da, db) if da and db else (),
            )
        )
        sides = [(out_a, da, valid_a), (out_b, db, valid_b)]
        solver.add(z3.Not(_region(key, sides)))
    if not regions:
        return report("equivalent")
    return report("different", regions=tuple(regions))


def _decide(policy: Policy, request: Mapping[str, Any]) -> Decision | None:
    """The version's decision, or None when its schema refuses the request."""
    try:
        return policy.decide(request)
    except ContextError:
        return None


def _region(key: list[str], sides: list[tuple[smt.Outcome, Decision | None, Any]]) -> Any:
    """The requests each side refuses or decides as it does this example, the rules of `key`
    firing as they do here: the example's region, excluded before the solver is asked again."""
    z3 = smt.z3
    same = []
    for outcome, decided, valid in sides:
        if decided is None:
            same.append(z3.Not(valid))
            continue
        same.append(valid)
        same.append(_is(outcome.decision, decided.decision))
        for rule_id in key:
            if rule_id in outcome.fired:
                same.append(outcome.fired[rule_id] == (rule_id in decided.rules))
    return z3.And(same)


def _is(value: smt.Enum, member: str) -> Any:
    return value.term == value.type.members.index(member)


def _differ(a: smt.Outcome, b: smt.Outcome) -> Any:
    """The outcomes differ: decision (by effect name), an obligation, or a shared output."""
    z3 = smt.z3
    parts = [z3.Not(_same_enum(a.decision, b.decision))]
    for name in sorted(a.obligated.keys() | b.obligated.keys()):
        parts.append(a.obligated.get(name, False) != b.obligated.get(name, False))
    for name in sorted(a.outputs.keys() & b.outputs.keys()):
        parts.append(z3.Not(_same_value(a.outputs[name], b.outputs[name])))
    return z3.Or([smt._bool(p) for p in parts])


def _same_enum(a: smt.Enum, b: smt.Enum) -> Any:
    z3 = smt.z3
    pairs = [
        z3.And(a.term == i, b.term == b.type.members.index(m))
        for i, m in enumerate(a.type.members)
        if b.type.has(m)
    ]
    return z3.Or(pairs) if pairs else z3.BoolVal(False)


def _same_value(a: Any, b: Any) -> Any:
    z3 = smt.z3
    if isinstance(a, smt.Unencoded) or isinstance(b, smt.Unencoded):
        raise smt.Unsupported(a.reason if isinstance(a, smt.Unencoded) else b.reason)
    if isinstance(a, str) and isinstance(b, str):
        return z3.BoolVal(a == b)
    if isinstance(a, smt.Enum | str) and isinstance(b, smt.Enum | str):
        if isinstance(a, str):
            a, b = b, a
        assert isinstance(a, smt.Enum)
        if isinstance(b, str):
            return _is(a, b) if a.type.has(b) else z3.BoolVal(False)
        return _same_enum(a, b)
    if isinstance(a, smt.Enum | smt.EnumBag | smt.Sequence_ | smt.Items | frozenset | tuple):
        raise smt.Unsupported("comparing outputs that are collections")
    return smt._bool(smt._string(a) == smt._string(b))


def what_changed(a: Decision, b: Decision) -> tuple[str, ...]:
    """The obligations and outputs that change between two decisions, as `name: old -> new`."""
    found = []
    if a.obligations != b.obligations:
        found.append(f"obligations: {list(a.obligations)} -> {list(b.obligations)}")
    after = dict(b.outputs)
    for name, value in a.outputs:
        if name in after and after[name] != value:
            found.append(f"{name}: {to_json(value)} -> {to_json(after[name])}")
    return tuple(found)


def changes(a: Decision | None, b: Decision | None) -> bool:
    """Whether two decisions differ in what a diff compares: decision, obligations, outputs
    (None: refused by that version's schema)."""
    if a is None or b is None:
        return a is not b
    shared = dict(a.outputs).keys() & dict(b.outputs).keys()
    return (
        a.decision != b.decision
        or a.obligations != b.obligations
        or any(a.output(n) != b.output(n) for n in shared)
    )


# ---- replaying recorded requests ----------------------------------------------------------------


@attrs.define
class Replay:
    """Totals of a replay: lines read, invalid ones, changed ones, and the moves."""

    lines: int = 0
    invalid: int = 0
    changed: int = 0
    moves: Counter[str] = attrs.Factory(Counter)

    def to_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "invalid": self.invalid,
            "changed": self.changed,
            "moves": dict(self.moves),
        }


def replay(
    old: Policy,
    new: Policy,
    requests: Iterable[tuple[int, Mapping[str, Any] | Exception]],
    totals: Replay,
    progress: Callable[[Replay], None] | None = None,
) -> Iterator[dict[str, Any]]:
    """Each recorded request whose outcome changes, as `{"line", "move", "old", "new"}`, as it is
    found; `totals` is kept up to date (a line that is not a valid request counts as invalid)."""
    for lineno, request in requests:
        totals.lines += 1
        if progress is not None and totals.lines % 10_000 == 0:
            progress(totals)
        if isinstance(request, Exception):
            totals.invalid += 1
            continue
        try:
            da, db = _decide(old, request), _decide(new, request)
        except EvaluationError:
            da = db = None
        if da is None and db is None:
            totals.invalid += 1
            continue
        if changes(da, db):
            move = f"{da.decision if da else REFUSED} -> {db.decision if db else REFUSED}"
            totals.changed += 1
            totals.moves[move] += 1
            yield {
                "line": lineno,
                "move": move,
                "old": da.to_dict() if da else {"decision": REFUSED},
                "new": db.to_dict() if db else {"decision": REFUSED},
            }


def render(report: Report) -> str:
    """The text report: each region's move, example request and the rules responsible."""
    import json

    if report.status == "equivalent":
        return f"equivalent: every request is decided alike ({report.seconds:.2f} s)"
    lines = []
    for region in report.regions:
        lines.append("; ".join([region.move, *region.changes]))
        lines.append(f"    request  {json.dumps(region.request)}")
        lines.append(f"    old      {', '.join(region.responsible_old) or '(none)'}")
        lines.append(f"    new      {', '.join(region.responsible_new) or '(none)'}")
    if report.detail:
        lines.append(report.detail)
    moves = ", ".join(f"{move}: {n}" for move, n in sorted(report.moves.items()))
    more = "" if report.complete else " (stopped: there may be more)"
    # a question the encoding cannot decide (entities, IP addresses) found no region: not
    # "different", which the exit code 1 would otherwise seem to confirm
    verdict = "not decided" if report.status == "unknown" and not report.regions else "different"
    lines.append(
        f"{verdict}: {len(report.regions)} regions{more}; {moves or 'none found'} "
        f"({report.seconds:.2f} s)"
    )
    return "\n".join(lines)
