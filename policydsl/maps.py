"""The checker's half of maps: `map<string, T>` types, `m[key]` lookups, `has m[key]`, `keys`
and `values`. Kept apart from `typecheck` (which calls in here) so maps stay one piece.

A key read is proved present the way an optional attribute is: `has m["app"]` gives the fact
that makes `m["app"]` readable in the rest of an `and` (`presence.read_fact`), and a
quantifier over `keys(m)` makes `m[k]` readable for its variable `k`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from policydsl import model, nodes
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.environment import Environment
from policydsl.model import Const, FieldOf, FieldPresent, Local, MapGet, MapHas, MapView
from policydsl.presence import Fact, facts_of, read_fact
from policydsl.source import Span


class _Typed(Protocol):
    @property
    def expr(self) -> Any: ...
    @property
    def type(self) -> t.Type: ...


class ExprChecker(Protocol):
    """What this module uses of `typecheck.ExprChecker` (which imports this module)."""

    env: Environment
    definitions: dict[str, model.Definition]

    def error(self, code: Code, message: str, span: Span | None, help: str | None = None) -> None:
        """Report an error."""

    def expr(self, e: Any, scope: Any, facts: frozenset[Fact], expected: t.Type | None) -> _Typed:
        """Check an expression."""

    def maximum(
        self, size: tuple[int | None, int | None] | None, what: str, unit: str, span: Span | None
    ) -> int | None:
        """A size bound's maximum."""

    def _walk(
        self, path: nodes.Path, scope: Any, facts: frozenset[Fact] | None
    ) -> list[t.FieldType] | None:
        """The schema fields along a context path."""


Scope = Any  # `typecheck.Scope`
FUNCTIONS = ("keys", "values")


def map_type(
    checker: ExprChecker, node: nodes.MapType, value_type: Callable[[nodes.TypeExpr], t.Type]
) -> t.Type:
    """The type `map<string, T>[..N]` declares; `value_type` resolves `T` (in `context`, a
    record is allowed there)."""
    key = node.key
    if not (isinstance(key, nodes.NamedType) and key.name == "string" and not key.has_range):
        checker.error(
            Code.BAD_MAP_KEY,
            "a map's keys are strings",
            key.span,
            help="declare it `map<string, T>`: request objects have string keys",
        )
    size = checker.maximum(node.size, "map<…>", "keys", node.span)
    value = value_type(node.value)
    if isinstance(value, t.MapType) or (
        isinstance(value, t.CollectionType) and isinstance(value.element, t.MapType)
    ):
        checker.error(
            Code.MAP_OUT_OF_PLACE,
            "a map's values cannot be maps",
            node.value.span,
            help="a record with a map attribute can be: `map<string, {labels: map<string, T>}>`",
        )
        value = t.ANY
    return t.MapType(value, t.MAX_COLLECTION if size is None else size)


def in_collection(checker: ExprChecker, node: nodes.CollectionType) -> t.Type:
    """`list<map<string, T>>` in `context`: collections do not nest (`P311`)."""
    checker.error(
        Code.NESTED_COLLECTION,
        f"a {node.kind} holds enum members, strings, integers, booleans or records, not a map",
        node.span,
        help="collections do not nest: a list of records may hold a map attribute",
    )
    return t.CollectionType(node.kind, t.ANY)


def outside_context(checker: ExprChecker, node: nodes.MapType) -> t.Type:
    """A map type where a value is declared, not read from a request (an output's type)."""
    checker.error(
        Code.MAP_OUT_OF_PLACE,
        "a map type is allowed only in `context`",
        node.span,
        help="maps come from requests; name a value with `m[key]`, `keys(m)` or `values(m)`",
    )
    return t.ANY


def text(e: Any) -> str:
    """A lookup as written, for messages: `pod.labels["app"]`, `m[k].cpu`."""
    match e:
        case nodes.Path():
            return e.dotted
        case nodes.Lookup(base, key, fields):
            inner = f'"{key.value}"' if isinstance(key, nodes.StrLit) else _key_text(key)
            return f"{text(base)}[{inner}]" + "".join(f".{f}" for f in fields)
    return "…"


def _key_text(key: Any) -> str:
    return key.dotted if isinstance(key, nodes.Path) else "…"


def _map_and_key(
    checker: ExprChecker,
    e: nodes.Lookup,
    scope: Scope,
    base_facts: frozenset[Fact],
    facts: frozenset[Fact],
) -> tuple[Any, t.MapType, Any] | None:
    """A lookup's map (read under `base_facts`), its type and its key (a string, reported if
    not); None, reported, when the base is no map."""
    base, btype = _base(checker, e, scope, base_facts)
    key_typed = checker.expr(e.key, scope, facts, t.STRING)
    if not t.is_string(key_typed.type):
        checker.error(
            Code.TYPE_MISMATCH, f"a map's key is a string, not {key_typed.type}", e.key.span
        )
    if not isinstance(btype, t.MapType):
        _not_a_map(checker, text(e.base), btype, e.base.span)
        return None
    return base, btype, key_typed.expr


def _not_a_map(checker: ExprChecker, what: str, found: t.Type, span: Span | None) -> None:
    if not isinstance(found, t.AnyType):
        checker.error(
            Code.NOT_A_MAP,
            f"`{what}` is {found}, not a map",
            span,
            help="only a `map<string, T>` attribute has keys",
        )


def _base(
    checker: ExprChecker, e: nodes.Lookup, scope: Scope, facts: frozenset[Fact]
) -> tuple[Any, t.Type]:
    typed = checker.expr(e.base, scope, facts, None)
    return typed.expr, typed.type


def lookup(
    checker: ExprChecker,
    e: nodes.Lookup,
    scope: Scope,
    facts: frozenset[Fact],
    through: int | None = None,
) -> tuple[Any, t.Type]:
    """`m[key].f.g`, checked: the key proved present, each optional field too (the first
    `through` fields only, for the owner of a `has`)."""
    read = _map_and_key(checker, e, scope, facts, facts)
    if read is None:
        return Const(None, span=e.span), t.ANY
    base, btype, key = read
    expr: Any = MapGet(base, key, span=e.span)
    written = text(nodes.Lookup(e.base, e.key))
    fact = read_fact(expr)
    if fact is None or fact not in facts:
        checker.error(
            Code.MAY_BE_ABSENT,
            f"`{written}` may be absent here: the map may not hold the key",
            e.span,
            help=f"test it first: `has {written} and ...`",
        )
        facts = facts | ({fact} if fact is not None else set())  # one report per read
    vtype = btype.value
    fields = e.fields if through is None else e.fields[:through]
    for i, name in enumerate(fields):
        shown = written + "".join(f".{f}" for f in fields[: i + 1])
        vtype = _attributes_of(vtype)
        field = vtype.field(name) if isinstance(vtype, t.RecordType) else None
        if field is None:
            if isinstance(vtype, t.RecordType):
                checker.error(
                    Code.UNKNOWN_NAME,
                    f"unknown attribute `{shown}`",
                    e.span,
                    help="declared: " + ", ".join(f"`{f.name}`" for f in vtype.fields[:12]),
                )
            elif not isinstance(vtype, t.AnyType):
                checker.error(
                    Code.NO_ATTRIBUTES,
                    f"`{shown.rsplit('.', 1)[0]}` is {vtype}, which has no attributes",
                    e.span,
                )
            return Const(None, span=e.span), t.ANY
        expr = FieldOf(expr, name, span=e.span)
        field_fact = read_fact(expr)
        if field.optional and (field_fact is None or field_fact not in facts):
            checker.error(
                Code.MAY_BE_ABSENT,
                f"`{shown}` may be absent here",
                e.span,
                help=f"test it first: `has {shown} and ...`",
            )
        vtype = field.type
    if isinstance(vtype, t.RecordType) and through is None:
        checker.error(
            Code.RECORD_READ_WHOLE,
            f"`{text(e)}` is a record; name one of its attributes",
            e.span,
            help="declared: " + ", ".join(f"`{f.name}`" for f in vtype.fields[:12]),
        )
        return Const(None, span=e.span), t.ANY
    return expr, vtype


def _attributes_of(type_: t.Type) -> t.Type:
    """What a map's value read after a `.` is: a record, or the attributes of an entity the
    data holds (one written in the policy has none to read: P349 says so)."""
    if isinstance(type_, t.EntityType) and not type_.literal:
        return type_.record
    return type_


def has(
    checker: ExprChecker,
    e: nodes.Lookup,
    scope: Scope,
    facts: frozenset[Fact],
    span: Span | None,
) -> tuple[Any, t.Type]:
    """`has m[key]` (the map holds the key; an optional map is present first) or
    `has m[key].f` (the key, then the field): true exactly when the read is readable."""
    if e.fields:
        key_read = nodes.Lookup(e.base, e.key, span=e.span)
        guard, _ = has(checker, key_read, scope, facts, span)
        given = facts_of(guard, True, checker.definitions, {})
        known = facts | given
        owner, otype = lookup(checker, e, scope, known, through=len(e.fields) - 1)
        name = e.fields[-1]
        otype = _attributes_of(otype)
        field = otype.field(name) if isinstance(otype, t.RecordType) else None
        if field is None:
            lookup(checker, e, scope, known)  # names the problem
            return Const(False, span=span), t.BOOL
        field_test: Any = (
            FieldPresent(owner, name, span=span) if field.optional else Const(True, span=span)
        )
        if isinstance(guard, Const) or given <= facts:  # the key is known held: no test
            return field_test, t.BOOL
        return nodes.And((guard, field_test), span=span), t.BOOL
    guards, known = _path_guards(checker, e.base, scope, facts)
    read = _map_and_key(checker, e, scope, known, facts)
    if read is None:
        return Const(False, span=span), t.BOOL
    test: Any = MapHas(read[0], read[2], span=span)
    if not guards:
        return test, t.BOOL
    return nodes.And((*guards, test), span=span), t.BOOL


def _path_guards(
    checker: ExprChecker, base: Any, scope: Scope, facts: frozenset[Fact]
) -> tuple[list[Any], frozenset[Fact]]:
    """The presence tests `has m[key]` makes first when the map, or a record on the way to it,
    is optional (`has pod.annotations["a"]`, `has c.env["A"]`), and the facts they give."""
    if not isinstance(base, nodes.Path):
        return [], facts
    head, parts = base.parts[0], base.parts
    if head in scope.locals:
        guards: list[Any] = []
        owner: Any = Local(head, span=base.span)
        ltype = scope.locals[head]
        for i, name in enumerate(parts[1:], start=1):
            field = ltype.field(name) if isinstance(ltype, t.RecordType) else None
            if field is None:
                break
            fact = ("local", *parts[: i + 1])
            if field.optional and fact not in facts:
                guards.append(FieldPresent(owner, name, span=base.span))
                facts = facts | {fact}
            owner, ltype = FieldOf(owner, name, span=base.span), field.type
        return guards, facts
    if head in checker.env.schema.names:
        fields = checker._walk(base, scope, None)
        optional = {("ctx", *parts[: i + 1]) for i, f in enumerate(fields or ()) if f.optional}
        # tested already (`has m and has m["k"]`: printed so, the guarded form reads back alike)
        if not optional <= facts:
            prefixes = {("ctx", *parts[: i + 1]) for i in range(len(parts))}
            return [model.Present(parts, span=base.span)], facts | prefixes
    return [], facts


def call(
    checker: ExprChecker, name: str, arg: nodes.Expr, scope: Scope, facts: frozenset[Fact]
) -> tuple[Any, t.Type]:
    """`keys(m)`: a set of strings; `values(m)`: a list of the values, in the request's order."""
    typed = checker.expr(arg, scope, facts, None)
    if not isinstance(typed.type, t.MapType):
        _not_a_map(checker, text(arg), typed.type, arg.span)
        found: t.Type = t.ANY
        return Const(None, span=arg.span), t.CollectionType(
            "set" if name == "keys" else "list", found
        )
    mtype = typed.type
    if name == "keys":
        return MapView("keys", typed.expr, span=arg.span), t.CollectionType(
            "set", t.STRING, mtype.max_size
        )
    return MapView("values", typed.expr, span=arg.span), t.CollectionType(
        "list", mtype.value, mtype.max_size
    )


def quantifier_facts(collection: Any, var: str) -> frozenset[Fact]:
    """`some k in keys(m): m[k] ...`: the variable is a key the map holds."""
    if isinstance(collection, MapView) and collection.kind == "keys":
        fact = read_fact(MapGet(collection.arg, Local(var)))
        if fact is not None:
            return frozenset({fact})
    return frozenset()
