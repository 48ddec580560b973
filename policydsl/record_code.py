"""Code that reads a request's records: each attribute read once, checked with exact type tests.

Part of the generated `_decide` (see `codegen`): anything unusual goes to `_fallback`, which
validates precisely and names what is wrong. Records are closed, so a record's key count is
compared with the number of declared keys read with a value. That number is known when the code
is made for the attributes a valid request must hold (required ones, and records holding one),
so only the optional and defaulted attributes are counted as the code runs: on the hot path of
every decision, each counted attribute costs a few instructions.
"""

from __future__ import annotations

import ast
from typing import Any, Protocol

from policydsl import ir
from policydsl import typesys as t
from policydsl.pyast import LOAD, assign, call, class_of, is_, none, or_all, ref, store


class Writer(Protocol):
    """What record code needs of the code generator."""

    slots: tuple[ir.Slot, ...]
    member_index: dict[int, ir.Index]

    def hoist(self, value: Any, prefix: str = "_K") -> ast.expr: ...
    def const(self, value: Any) -> ast.expr: ...
    def fresh(self, prefix: str) -> str: ...
    def slot(self, index: int) -> str: ...
    def fallback(self) -> ast.stmt: ...


class _KeyCount:
    """The declared keys of one record read with a value: a number known when the code is made
    (`fixed`) plus, if some attribute may be absent, a local counting the others."""

    def __init__(self, name: str):
        self.name = name
        self.fixed = 0
        self.counted = False

    def always(self) -> None:
        """An attribute that holds a value whenever the code goes on."""
        self.fixed += 1

    def one(self) -> ast.stmt:
        """The statement counting an attribute that may be absent, where it has a value."""
        self.counted = True
        return ast.AugAssign(store(self.name), ast.Add(), ast.Constant(1))


class RecordCode:
    def __init__(self, gen: Writer):
        self.gen = gen
        self._fields: dict[int | None, list[ir.Slot]] = {}  # each record's attributes
        for s in gen.slots:
            self._fields.setdefault(s.parent, []).append(s)
        self._holds: dict[int, bool] = {}

    def load(
        self, parent: int | None, source: ast.expr, validated: int | None = None
    ) -> list[ast.stmt]:
        """Read and validate the fields of one record (`source` is a dict).

        Records are closed: a key the record does not declare sends the request to `_fallback`,
        which names it. The fast test compares the record's length with the declared keys read
        with a value: when it has no more keys than that, it has no others. Only when it has
        more (a declared key holding `null`, which counts as absent, or an undeclared one) does
        the exact test `source.keys() <= NAMES` run. The slot `validated`, if any, is left to
        the code that reads it next (a lookup that takes valid values only).
        """
        gen = self.gen
        fields = self._fields.get(parent, [])
        count = _KeyCount(gen.fresh("_c"))
        out: list[ast.stmt] = []
        for s in fields:
            read = ast.Call(ast.Attribute(source, "get", LOAD), [ast.Constant(s.path[-1])], [])
            out.append(assign(gen.slot(s.index), read))
            if s.index == validated and self._must_hold(s):
                count.always()
            else:
                out.extend(self._field(s, count, validated))
        if count.counted:
            out.insert(0, assign(count.name, ast.Constant(count.fixed)))
            read_keys: ast.expr = ref(count.name)
        else:
            read_keys = ast.Constant(count.fixed)
        names = gen.hoist(frozenset(s.path[-1] for s in fields), "_N")
        keys = ast.Call(ast.Attribute(source, "keys", LOAD), [], [])
        more = ast.Compare(call("_len", source), [ast.NotEq()], [read_keys])
        undeclared = ast.UnaryOp(ast.Not(), ast.Compare(keys, [ast.LtE()], [names]))
        out.append(ast.If(ast.BoolOp(ast.And(), [more, undeclared]), [gen.fallback()], []))
        return out

    def _must_hold(self, s: ir.Slot) -> bool:
        """Whether a valid request gives `s` a value: it is required, or it is a record that is
        not optional and holds such an attribute (absent, it would be read as empty, and the
        attribute found missing)."""
        if s.optional or s.default is not t.MISSING:
            return False
        if not isinstance(s.type, t.RecordType):
            return True
        found = self._holds.get(s.index)
        if found is None:
            fields = self._fields.get(s.index, [])
            found = self._holds[s.index] = any(self._must_hold(c) for c in fields)
        return found

    def _field(self, s: ir.Slot, count: _KeyCount, validated: int | None) -> list[ast.stmt]:
        """Check one attribute's value, and count it."""
        gen = self.gen
        name = gen.slot(s.index)
        value = ref(name)
        if isinstance(s.type, t.RecordType):
            return self._record(s, count, validated)
        present, invalid = self._reading(s)
        if self._must_hold(s):
            count.always()
            # every validity test is an exact class or membership test, which `None` fails
            absent = invalid if invalid is not None else is_(value, none())
            stmts = [ast.If(absent, [gen.fallback()], []), *present]
        else:
            if invalid is not None:
                present.insert(0, ast.If(invalid, [gen.fallback()], []))
            present.insert(0, count.one())
            if s.default is not t.MISSING:
                defaulted = [assign(name, gen.const(s.default))]
                stmts = [ast.If(is_(value, none()), defaulted, present)]
            else:
                stmts = [ast.If(is_(value, none(), negate=True), present, [])]
        if isinstance(s.type, t.CollectionType):
            stmts.extend(self._collection(s))
        return stmts

    def _record(self, s: ir.Slot, count: _KeyCount, validated: int | None) -> list[ast.stmt]:
        gen = self.gen
        name = gen.slot(s.index)
        value = ref(name)
        wrong = is_(class_of(value), ref("_dict"), negate=True)
        children = self.load(s.index, value, validated)
        if s.optional:
            absent = [assign(gen.slot(d), none()) for d in self._descendants(s.index)]
            present = [count.one(), ast.If(wrong, [gen.fallback()], []), *children]
            return [ast.If(is_(value, none()), absent or [ast.Pass()], present)]
        if self._must_hold(s):  # absent, a required attribute in it would be missing
            count.always()
            return [ast.If(wrong, [gen.fallback()], []), *children]
        return [
            ast.If(
                is_(value, none()),
                [assign(name, ref("_EMPTY"))],
                [count.one(), ast.If(wrong, [gen.fallback()], [])],
            ),
            *children,
        ]

    def _reading(self, s: ir.Slot) -> tuple[list[ast.stmt], ast.expr | None]:
        """What a value of `s` (not None) goes through: the statements that read it (into
        milliseconds, a scaled integer, an entity, a normalised map) and the test refusing it."""
        gen = self.gen
        name = gen.slot(s.index)
        value = ref(name)
        if isinstance(s.type, t.DatetimeType | t.DurationType):  # read once, into milliseconds
            reader = "_datetime" if isinstance(s.type, t.DatetimeType) else "_duration"
            return [assign(name, call(reader, value))], None
        if isinstance(s.type, t.EntityType):  # the id resolved in the entity data, once
            bare = ast.Constant(not s.type.record.fields)  # a group known by its id alone
            resolved = call("_entity", ref("_store"), value, ast.Constant(s.type.name), bare)
            return [assign(name, resolved)], None
        if isinstance(s.type, t.MapType):  # checked and normalised whether read or not
            normalised = call("_map", value, gen.hoist(s.type), *self.store_for(s.type))
            return [assign(name, normalised)], None
        if isinstance(s.type, t.DecimalType):  # read once, scaled
            return [assign(name, call("_decimal", value))], None
        if not isinstance(s.type, t.CollectionType):
            return [], self.invalid(s.type, value)
        invalid = or_all(
            [
                ast.Compare(class_of(value), [ast.NotIn()], [ref("_SEQS")]),
                ast.Compare(call("_len", value), [ast.Gt()], [ast.Constant(s.type.max_size)]),
            ]
        )
        if isinstance(s.type.element, t.DecimalType):
            return [assign(name, call("_decimals", value, ast.Constant(s.type.kind)))], invalid
        return [], invalid

    def _collection(self, s: ir.Slot) -> list[ast.stmt]:
        """Check the elements (unless an index loop will) and build the value if it is read.

        A value that is built is checked first, even when an index loop checks it again: a
        frozenset merges `True`, `1.0` and `1`, so the loop would never see the wrong element.
        """
        assert isinstance(s.type, t.CollectionType)
        gen = self.gen
        value = ref(gen.slot(s.index))
        out: list[ast.stmt] = []
        element = s.type.element
        if isinstance(element, t.RecordType):  # checked and normalised whether read or not
            normalised = call("_records", value, gen.hoist(element), *self.store_for(element))
            return self.if_present(s, [assign(gen.slot(s.index), normalised)])
        if isinstance(element, t.EntityType):  # each id resolved in the entity data
            normalised = call("_entities", ref("_store"), value, gen.hoist(s.type))
            return self.if_present(s, [assign(gen.slot(s.index), normalised)])
        if isinstance(element, t.DatetimeType | t.DurationType):  # each read into milliseconds
            normalised = call("_times", value, gen.hoist(s.type))
            return self.if_present(s, [assign(gen.slot(s.index), normalised)])
        if s.index not in gen.member_index or s.materialize:
            if isinstance(element, t.EnumType):
                members = gen.hoist(frozenset(element.members), "_M")
                superset = ast.Call(ast.Attribute(members, "issuperset", LOAD), [value], [])
                check: ast.stmt = ast.If(ast.UnaryOp(ast.Not(), superset), [gen.fallback()], [])
            else:
                var = gen.fresh("_e")
                check = ast.For(
                    store(var),
                    value,
                    [ast.If(self.invalid(element, ref(var)), [gen.fallback()], [])],
                    [],
                )
            out.extend(self.if_present(s, [check]))
        if s.materialize:
            make = "_frozenset" if s.type.kind == "set" else "_tuple"
            out.extend(self.if_present(s, [assign(gen.slot(s.index), call(make, value))]))
        return out

    @staticmethod
    def store_for(type_: t.Type) -> list[ast.expr]:
        """The store argument of a helper that reads values of `type_`, where they may hold
        entities (their ids are resolved in it)."""
        return [ref("_store")] if t.holds_entities(type_) else []

    def if_present(self, s: ir.Slot, body: list[ast.stmt]) -> list[ast.stmt]:
        """Guard `body` when the slot can be empty (it, or a record around it, is optional)."""
        if ir.may_be_absent(self.gen.slots, s.index):
            return [ast.If(is_(ref(self.gen.slot(s.index)), none(), negate=True), body, [])]
        return body

    def _descendants(self, index: int) -> list[int]:
        slots = self.gen.slots
        found = []
        for s in slots:
            p = s.parent
            while p is not None:
                if p == index:
                    found.append(s.index)
                    break
                p = slots[p].parent
        return found

    def invalid(self, type_: t.Type, value: ast.expr) -> ast.expr:
        """An expression true when `value` is not a valid `type_`: an exact class or membership
        test, so true for `None` too wherever it applies to a value not yet read."""
        match type_:
            case t.BoolType():
                return is_(class_of(value), ref("_bool"), negate=True)
            case t.StringType(max_length):
                return or_all(
                    [
                        is_(class_of(value), ref("_str"), negate=True),
                        ast.Compare(call("_len", value), [ast.Gt()], [ast.Constant(max_length)]),
                    ]
                )
            case t.IpType():  # an address not in its canonical text goes to the validator
                return or_all(
                    [
                        is_(class_of(value), ref("_str"), negate=True),
                        ast.Compare(call("_ip_text", value), [ast.NotEq()], [value]),
                    ]
                )
            case t.IntType(lo, hi):
                tests = [is_(class_of(value), ref("_int"), negate=True)]
                if lo is not None:
                    tests.append(ast.Compare(value, [ast.Lt()], [ast.Constant(lo)]))
                if hi is not None:
                    tests.append(ast.Compare(value, [ast.Gt()], [ast.Constant(hi)]))
                return or_all(tests)
            case t.EnumType(_, members):
                members_name = self.gen.hoist(frozenset(members), "_M")
                return ast.Compare(value, [ast.NotIn()], [members_name])
            case t.DecimalType():  # an element of a list already converted (`_decimals`)
                return is_(class_of(value), ref("_int"), negate=True)
            case t.DatetimeType() | t.DurationType():  # an element of a collection read already
                return ast.Constant(False)
            case t.EntityType():  # resolved in the entity data as it was read
                return ast.Constant(False)
        raise AssertionError(type_)  # pragma: no cover
