"""Random valid policies for the differential tests of the backends.

`make_case(seed)` draws a policy text that exercises the whole language, plus the schema and the
values its contexts draw from (`randcontext`). Everything comes from one `random.Random(seed)`,
so a failing seed replays exactly: `python tests/randpolicy.py SEED`.

`make_shape_case(seed, shape)` draws a policy of many rules of one index shape (`SHAPES`), over
constants its contexts (`randcontext.shape_contexts`) hit exactly, one off and cut short:
`python tests/randpolicy.py --shape SHAPE SEED` replays one and shrinks what disagrees.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import randentities


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


RESERVED = frozenset(
    _words(
        "enum context effects default refuse annotation obligations def table rule for output when"
        " otherwise cite reason tags and or not in has some all true false list set contains"
        " contains_any contains_all starts_with ends_with like bool int string size decision fired"
        " version"
    )
)
WORDS = _words(
    "alpha beta gamma delta kind level mode tier zone role owner score count flag label region"
    " plan stage status topic group rank source target item user use content account device"
)
# Names a code generator could trip over: Python keywords and dunders, the generated code's own
# identifiers. The language allows them all; the backends must treat them as plain names.
HOSTILE = _words(
    "__class__ __init__ __builtins__ _mask _fallback ctx _s0 _s1 _K0 _t0 _f _d _o0 _e1 _v1 _k2"
    " _entry _dict _len _any _fired _key None True False self lambda import print exec get keys"
)
STRINGS = (
    "",
    "a",
    "ab",
    "abc",
    "x.y",
    "a*b",
    "é",
    "日本語",
    'say "hi"',
    "back\\slash",
    "tab\there",
    "two\nlines",
    "__class__",
    "); import os; (",
    "x" * 120,
)
PATTERNS = ("a*", "*b", "a?c", "*", "?", "*.*", "[a]*", "*\\*", "ab*c?", "")
CLAUSES = ("1", "1.1", "2.1", "2.2", "3", "3.3", "4", "5")
# Decimal literals (distinct values, so distinct table keys), and integer literals a cell or a
# default may give where a decimal is expected.
DECIMALS = (
    "0.0",
    "1.0",
    "-1.0",
    "0.5",
    "0.25",
    "-0.5",
    "0.0001",
    "-0.0001",
    "2.5",
    "0.8499",
    "0.85",
    "100.0",
    "922337203685477.5807",
    "-922337203685477.5808",
)
DECIMAL_CELLS = ("3", "-7")
# datetime literals (Cedar's forms) and duration literals: leap days, offsets, before the epoch
DATETIMES = (
    "1970-01-01",
    "1969-12-31T23:59:59.999Z",
    "2024-02-29T12:00:00Z",
    "2024-02-29T12:00:00.500+0100",
    "2000-01-01T00:00:00-0530",
    "2024-10-15T11:35:00Z",
    "0001-01-01",
    "9999-12-31T23:59:59.999Z",
)
DURATIONS = (
    "0ms",
    "1ms",
    "500ms",
    "1s",
    "90s",
    "1m",
    "1h30m",
    "1d",
    "90d",
    "1d2h3m4s5ms",
    "36500d",
)
CALENDAR = (("hour", 23), ("minute", 59), ("second", 59), ("day", 31), ("month", 12))
CALENDAR += (("day_of_week", 7), ("year", 2024))
UNITS = ("to_days", "to_hours", "to_minutes", "to_seconds", "to_milliseconds")
OFFSETS = ("", ', "+0100"', ', "-0530"', ', "+0000"')


@dataclass(frozen=True)
class Ty:
    """A type of the language, as the generator tracks it."""

    kind: str  # bool | int | decimal | string | enum | set | list | record | records | map | rule
    # `records` is a list of records (`elem` the record): read only through quantifiers and
    # `size`, so no generator that makes values of a collection's elements ever meets it
    enum: str = ""
    lo: int | None = None
    hi: int | None = None
    elem: Ty | None = None
    fields: tuple[Fld, ...] = ()
    # a declared maximum size (`string[..N]`, `list<T>[..N]`); not part of the type's identity
    max: int | None = field(default=None, compare=False)

    def text(self) -> str:
        bound = "" if self.max is None else f"[..{self.max}]"
        return self._text() + bound

    def _text(self) -> str:
        if self.kind == "int" and (self.lo is not None or self.hi is not None):
            lo = "" if self.lo is None else self.lo
            hi = "" if self.hi is None else self.hi
            return f"int[{lo}..{hi}]"
        if self.kind == "enum":
            return self.enum
        if self.kind in ("set", "list"):
            assert self.elem is not None
            return f"{self.kind}<{self.elem.text()}>"
        if self.kind == "map":
            assert self.elem is not None
            return f"map<string, {self.elem.text()}>"
        return self.kind

    @property
    def collection(self) -> bool:
        return self.kind in ("set", "list")


@dataclass(frozen=True)
class Fld:
    name: str
    ty: Ty
    optional: bool = False
    default: str | None = None  # the default as policy text


def _showable(ty: Ty) -> bool:
    """A value a reason can show: a scalar, or a set or list of scalars."""
    scalar = ("bool", "int", "string", "enum")
    return ty.kind in scalar or (
        ty.kind in ("set", "list") and ty.elem is not None and ty.elem.kind in scalar
    )


@dataclass(frozen=True)
class Leaf:
    """A readable context attribute and the optional prefixes a read must have tested."""

    path: tuple[str, ...]
    ty: Ty
    needs: tuple[tuple[str, ...], ...]

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


BOOL, INT, STRING, RULE = Ty("bool"), Ty("int"), Ty("string"), Ty("rule")
DECIMAL = Ty("decimal")


def compatible(a: Ty, b: Ty) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "enum":
        return a.enum == b.enum
    if a.collection:
        assert a.elem is not None and b.elem is not None
        return compatible(a.elem, b.elem)
    return True


@dataclass(frozen=True)
class Scope:
    """What an expression may use: locals (innermost last), presence facts, the outcome."""

    locals: tuple[tuple[str, Ty], ...] = ()
    facts: frozenset[tuple[str, ...]] = frozenset()
    outcome: bool = False

    def local(self, name: str) -> Ty | None:
        return dict(self.locals).get(name)

    def bind(self, name: str, ty: Ty) -> Scope:
        return replace(self, locals=(*self.locals, (name, ty)))

    def know(self, *facts: tuple[str, ...]) -> Scope:
        return replace(self, facts=self.facts | set(facts))


def lit(value: Any) -> str:
    """A Python value as policy text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text.replace("\t", "\\t") + '"'


@dataclass
class Case:
    """One random policy: its text and the pools its contexts draw values from."""

    seed: int
    text: str
    schema: tuple[Fld, ...]
    enums: dict[str, tuple[str, ...]]
    strings: list[str]
    ints: list[int]
    patterns: list[str]
    shape: str = ""  # one of `SHAPES` for a policy of one index shape (`make_shape_case`)
    entities: Any = None  # `randentities.EntityPart`: entity types, attributes, rules and data

    def contexts(self, n: int) -> list[Any]:
        """`n` valid and invalid contexts for this schema (`randcontext.contexts`, or
        `randcontext.shape_contexts` for a shape's policy: values at its boundaries)."""
        import randcontext  # it builds on this module's types

        if self.shape:
            return randcontext.shape_contexts(self, n)
        return randcontext.contexts(self, n)


class PolicyGen:
    """Draws one policy; `text()` renders it. Every expression is typed as the checker types it."""

    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.seed = seed
        self.used: set[str] = set(RESERVED)
        self.hostile = self.rng.random() < 0.3
        self.enums: dict[str, tuple[str, ...]] = {}
        self.strings: list[str] = []
        self.ints: list[int] = [0, 1, 17, 18]
        self.patterns: list[str] = []
        self.defs: list[tuple[str, Ty, bool]] = []  # (name, type, uses the outcome)
        self.presence: dict[tuple[str, ...], str] = {}  # path -> def `has path`
        self.record_lists: list[Leaf] = []  # attributes that are lists of records
        self.maps: list[Leaf] = []  # attributes that are maps (of scalars or of records)
        self.out: list[str] = []
        self.with_entities = True  # add `randentities.draw`'s part

    # ---- names -----------------------------------------------------------------------------

    def name(self, stem: str = "") -> str:
        rng = self.rng
        for _ in range(20):
            if self.hostile and rng.random() < 0.25:
                cand = rng.choice(HOSTILE)
            else:
                cand = stem or rng.choice(WORDS)
                if cand in self.used or rng.random() < 0.5:
                    cand = f"{cand}_{rng.randrange(100)}"
            if cand not in self.used:
                self.used.add(cand)
                return cand
        cand = f"n{len(self.used)}"
        self.used.add(cand)
        return cand

    # ---- declarations ----------------------------------------------------------------------

    def build(self) -> Case:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            members = tuple(self.name() for _ in range(rng.randint(1, 6)))
            self.enums[self.name("E")] = members
            self.out.append(f"enum {list(self.enums)[-1]} {{ {', '.join(members)} }}")
        self.strings = rng.sample(STRINGS, 6)
        self.patterns = rng.sample(PATTERNS, 3)
        self.schema = tuple(self.field(0, top=True) for _ in range(rng.randint(2, 5)))
        found = list(self._leaves(self.schema, (), ()))
        self.leaves = [leaf for leaf in found if leaf.ty.kind not in ("records", "map")]
        self.record_lists = [leaf for leaf in found if leaf.ty.kind == "records"]
        self.maps = [leaf for leaf in found if leaf.ty.kind == "map"]
        self.out.append("context {\n" + "".join(self.field_text(f, 1) for f in self.schema) + "}")
        self.effects = [self.name() for _ in range(rng.randint(2, 4))]
        default = rng.choice(self.effects)
        refuse = rng.choice(self.effects)  # fail-closed mode needs it; any effect may refuse
        self.out.append(f"effects {' > '.join(self.effects)} default {default} refuse {refuse}")
        self.annotations = {self.name(): self.annotation_type() for _ in range(rng.randint(0, 3))}
        self.out.extend(f"annotation {n}: {ty.text()}" for n, ty in self.annotations.items())
        self.obligations = [self.name() for _ in range(rng.randint(0, 3))]
        if self.obligations or rng.random() < 0.2:
            self.out.append(f"obligations {{ {', '.join(self.obligations) or self.name()} }}")
        self.tags = [self.name() for _ in range(3)]
        for _ in range(rng.randint(0, 5)):
            self.definition()
        for _ in range(rng.randint(0, 2)):
            self.table()
        for _ in range(rng.randint(2, 12)):
            self.rule()
        for _ in range(rng.randint(0, 3)):
            self.output()
        rng.shuffle(self.out)  # declaration order never matters
        # entities come last, from their own generator: the rest is what it was without them
        part = randentities.draw(self.seed, self.used, self.effects) if self.with_entities else None
        if part is not None:
            self.out = part.extend(self.out)
        return Case(
            self.seed,
            "\n\n".join(self.out) + "\n",
            self.schema,
            self.enums,
            self.strings,
            sorted(set(self.ints)),
            self.patterns,
            entities=part,
        )

    def scalar_type(self, allow_bool: bool = True, decimal: bool = True) -> Ty:
        """`decimal`: whether a decimal may be drawn (never for an output or an annotation)."""
        rng = self.rng
        kinds = ["int", "string", "enum"] + (["bool"] if allow_bool else [])
        kind = rng.choice(kinds)
        if decimal and kind == "int" and rng.random() < 0.3:
            return DECIMAL
        if kind == "enum":
            return Ty("enum", enum=rng.choice(list(self.enums)))
        if kind == "int" and rng.random() < 0.6:
            lo = rng.choice((None, 0, 0, 1, -5))
            hi = rng.choice((None, 10, 18, 120)) if lo is None or rng.random() < 0.5 else None
            self.ints.extend(v for v in (lo, hi) if v is not None)
            return Ty("int", lo=lo, hi=hi)
        return Ty(kind)

    def field(self, depth: int, top: bool = False, siblings: set[str] | None = None) -> Fld:
        rng = self.rng
        if top:
            name = self.name()
        else:
            assert siblings is not None
            name = rng.choice([w for w in WORDS if w not in siblings] or ["x"])
            if self.hostile and rng.random() < 0.2:
                name = rng.choice([h for h in HOSTILE if h not in siblings] or ["y"])
            siblings.add(name)
        r = rng.random()
        if depth < 2 and (r < 0.25 or (top and r < 0.6)):
            names: set[str] = set()
            fields = tuple(self.field(depth + 1, siblings=names) for _ in range(rng.randint(1, 4)))
            if rng.random() < 0.15:  # a list of such records
                records = Ty("records", elem=Ty("record", fields=fields), max=rng.choice((None, 4)))
                how = rng.random()
                return Fld(name, records, optional=how < 0.3, default="[]" if how > 0.6 else None)
            if rng.random() < 0.12:  # a map of such records
                bound = rng.choice((None, 3))
                values = Ty("map", elem=Ty("record", fields=fields), max=bound)
                return Fld(name, values, optional=rng.random() < 0.4)
            return Fld(name, Ty("record", fields=fields), optional=rng.random() < 0.3)
        if r < 0.33:  # a map of scalars (or of lists of them)
            value = self.scalar_type()
            if rng.random() < 0.15:
                value = Ty(rng.choice(("set", "list")), elem=self.scalar_type(allow_bool=False))
            values = Ty("map", elem=value, max=rng.choice((None, None, 2, 4)))
            return Fld(name, values, optional=rng.random() < 0.4)
        if r < 0.45:
            elem = self.scalar_type(allow_bool=False)
            ty = Ty(rng.choice(("set", "list")), elem=elem)
        else:
            ty = self.scalar_type()
        if rng.random() < 0.12:  # a datetime or a duration (of a collection, now and then)
            ty = Ty(rng.choice(("datetime", "duration")))
            ty = Ty(rng.choice(("set", "list")), elem=ty) if rng.random() < 0.2 else ty
        how = rng.random()
        if ty.collection and rng.random() < 0.3:  # defaults hold at most 3 elements
            ty = replace(ty, max=rng.choice((3, 4)))
        elif ty.kind == "string" and how < 0.45 and rng.random() < 0.3:
            ty = replace(ty, max=rng.choice((2, 4, 8)))
        if how < 0.35:
            return Fld(name, ty, optional=True)
        if how < 0.45:
            return Fld(name, ty)  # required
        return Fld(name, ty, default=self.default(ty))

    def default(self, ty: Ty) -> str | None:
        rng = self.rng
        if ty.collection:
            assert ty.elem is not None
            items = [self.default(ty.elem) for _ in range(rng.randint(0, 3))]
            return "[" + ", ".join(i for i in items if i is not None) + "]"
        if ty.kind == "int":
            lo = max(ty.lo or 0, 0)
            if ty.hi is not None and ty.hi < lo:
                return None  # no literal cell can hold a negative number
            value = rng.choice([v for v in self.ints if v >= lo and (ty.hi is None or v <= ty.hi)])
            return str(value)
        return self.constant(ty, cell=True)

    def constant(self, ty: Ty, cell: bool = False, in_range: bool = False) -> str:
        """A constant of `ty`: as a table cell, enum members are bare and lists are literals.
        A cell, or a constant `in_range` (an annotation's value), lies in `ty`'s declared range;
        one compared in an expression need not."""
        rng = self.rng
        if ty.kind == "bool":
            return lit(rng.random() < 0.5)
        if ty.kind == "decimal":  # an integer literal only where the checker expects a decimal
            return rng.choice(DECIMALS + (DECIMAL_CELLS if cell else ()))
        if ty.kind == "int":
            fits = [
                v
                for v in self.ints
                if (v >= 0 or not cell)
                and (not (cell or in_range) or ty.lo is None or v >= ty.lo)
                and (not (cell or in_range) or ty.hi is None or v <= ty.hi)
            ]
            return str(rng.choice(fits or [max(ty.lo or 0, 0)]))
        if ty.kind == "string":
            return lit(rng.choice(self.strings))
        if ty.kind == "datetime":
            text = lit(rng.choice(DATETIMES))
            return text if cell else f"datetime({text})"
        if ty.kind == "duration":
            return rng.choice(DURATIONS)
        if ty.kind == "enum":
            member = rng.choice(self.enums[ty.enum])
            return member if cell or rng.random() < 0.6 else f"{ty.enum}.{member}"
        assert ty.elem is not None
        items = [self.constant(ty.elem, cell, in_range) for _ in range(rng.randint(0, 3))]
        return "[" + ", ".join(items) + "]"

    def field_text(self, f: Fld, indent: int) -> str:
        pad = "  " * indent
        if f.ty.kind == "record":
            inner = "".join(self.field_text(c, indent + 1) for c in f.ty.fields)
            body = "{\n" + inner + pad + "}"
        elif f.ty.kind == "records":
            assert f.ty.elem is not None
            inner = "".join(self.field_text(c, indent + 1) for c in f.ty.elem.fields)
            bound = "" if f.ty.max is None else f"[..{f.ty.max}]"
            body = "list<{\n" + inner + pad + "}>" + bound
        elif f.ty.kind == "map" and f.ty.elem is not None and f.ty.elem.kind == "record":
            inner = "".join(self.field_text(c, indent + 1) for c in f.ty.elem.fields)
            bound = "" if f.ty.max is None else f"[..{f.ty.max}]"
            body = "map<string, {\n" + inner + pad + "}>" + bound
        else:
            body = f.ty.text()
        text = f"{pad}{f.name}: {body}{'?' if f.optional else ''}"
        if f.default is not None:
            text += f" = {f.default}"
        return text + "\n"

    def _leaves(
        self, fields: Sequence[Fld], prefix: tuple[str, ...], needs: tuple[tuple[str, ...], ...]
    ) -> Iterator[Leaf]:
        for f in fields:
            path = (*prefix, f.name)
            here = (*needs, path) if f.optional else needs
            if f.ty.kind == "record":
                yield from self._leaves(f.ty.fields, path, here)
            else:
                yield Leaf(path, f.ty, here)

    def annotation_type(self) -> Ty:
        rng = self.rng
        r = rng.random()
        if r < 0.2:
            return Ty("set", elem=STRING)
        return self.scalar_type(decimal=False)

    def definition(self) -> None:
        rng = self.rng
        name = self.name()
        optional = [leaf for leaf in self.leaves if leaf.needs]
        r = rng.random()
        sc = Scope()
        if r < 0.2 and optional:
            leaf = rng.choice(optional)
            self.presence[leaf.path] = name
            self.out.append(f"def {name} = has {leaf.dotted}")
            self.defs.append((name, BOOL, False))
            return
        if r < 0.35:
            ty = self.scalar_type(allow_bool=False)
            if ty.kind == "int":  # the literal's integers may lie anywhere: declare no range
                ty = INT
            coll = Ty(rng.choice(("set", "list")), elem=ty)
            typed = f": {coll.text()}" if rng.random() < 0.5 else ""
            text = self.coll_literal(coll, sc, 0)
            if not typed:  # the type is inferred: a list, and `[]` would be a list of nothing
                coll = Ty("list", elem=ty)
                text = text if text != "[]" else f"[{self.value(ty, sc, 0)}]"
            self.out.append(f"def {name}{typed} = {text}")
            self.defs.append((name, coll, False))
            return
        if r < 0.5:
            self.out.append(f"def {name}: int = {self.int_(sc, 2)}")
            self.defs.append((name, INT, False))
            return
        if r < 0.6:
            sc = Scope(outcome=True)
            self.out.append(f"def {name} = {self.outcome_bool(sc, 2)}")
            self.defs.append((name, BOOL, True))
            return
        typed = ": bool" if rng.random() < 0.3 else ""
        self.out.append(f"def {name}{typed} = {self.bool_(sc, 3)}")
        self.defs.append((name, BOOL, False))

    # ---- tables and rules -------------------------------------------------------------------

    def table(self) -> None:
        rng = self.rng
        name = self.name()
        key_ty = self.scalar_type(allow_bool=False)
        columns: list[tuple[str, Ty, bool]] = [(self.name(), key_ty, False)]
        for _ in range(rng.randint(0, 3)):
            ty = Ty("set", elem=STRING) if rng.random() < 0.25 else self.scalar_type()
            columns.append((self.name(), ty, rng.random() < 0.25))
        for ann, ty in self.annotations.items():
            if rng.random() < 0.5:
                columns.append((f"{ann}_col_{len(columns)}", ty, rng.random() < 0.5))
        self.used.update(c[0] for c in columns)
        keys: list[str] = []
        rows = []
        for _ in range(rng.randint(0, 6)):
            key = self.constant(key_ty, cell=True)
            if key in keys:
                continue
            keys.append(key)
            cells = [key]
            for _c, ty, optional in columns[1:]:
                cells.append("-" if optional and rng.random() < 0.4 else self.constant(ty, True))
            rows.append("  " + ", ".join(cells))
        cols = ", ".join(f"{c}: {ty.text()}{'?' if opt else ''}" for c, ty, opt in columns)
        self.out.append(f"table {name}({cols}) {{\n" + "\n".join(rows) + "\n}")
        scope = Scope(locals=tuple((c, ty) for c, ty, opt in columns if not opt))
        for _ in range(rng.randint(1, 2)):
            self.rule(table=(name, columns), scope=scope)

    def rule(
        self,
        table: tuple[str, list[tuple[str, Ty, bool]]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        rng = self.rng
        scope = scope or Scope()
        name = self.name()
        head = f"rule {name} for {table[0]}" if table else f"rule {name}"
        clauses = []
        if rng.random() < 0.92:
            clauses.append(f"when {self.condition(scope)}")
        columns = table[1] if table else []
        cite_cols = [
            c for c, ty, opt in columns if not opt and ty in (STRING, Ty("set", elem=STRING))
        ]
        r = rng.random()
        if cite_cols and r < 0.4:
            clauses.append(f"cite {rng.choice(cite_cols)}")
        elif r < 0.6:
            clauses.append(f"cite {lit(rng.choice(CLAUSES))}")
        elif r < 0.9:
            clauses.append(f"cite [{', '.join(lit(c) for c in rng.sample(CLAUSES, 2))}]")
        if self.obligations and rng.random() < 0.4:
            picked = rng.sample(self.obligations, rng.randint(1, len(self.obligations)))
            clauses.append(f"obligations [{', '.join(picked)}]")
        if rng.random() < 0.4:
            clauses.append(f"tags [{', '.join(rng.sample(self.tags, rng.randint(1, 3)))}]")
        for ann, ty in self.annotations.items():
            if rng.random() < 0.5:
                continue
            cols = [c for c, cty, _ in columns if cty == ty]
            value = (
                rng.choice(cols)
                if cols and rng.random() < 0.7
                else self.constant(ty, in_range=True)
            )
            clauses.append(f"{ann} {value}")
        if rng.random() < 0.9:
            text = rng.choice(("fired", "why {{not}}", 'says \\"no\\"', "ünïcode ✓"))
            if columns and rng.random() < 0.7:
                text += " for {" + rng.choice(columns)[0] + "}"
            shown = [leaf for leaf in self.leaves if _showable(leaf.ty)]
            if shown and rng.random() < 0.3:  # a value of the request, shown when it fires
                text += " at {" + rng.choice(shown).dotted + "}"
            clauses.append(f'reason "{text}"')
        rng.shuffle(clauses)
        body = "".join(f"  {c}\n" for c in clauses)
        self.out.append(f"{head}: {rng.choice(self.effects)} {{\n{body}}}")

    def condition(self, sc: Scope) -> str:
        """A rule's `when`: often a conjunction whose first tests an index can key on."""
        rng = self.rng
        if rng.random() < 0.35:
            return self.bool_(sc, rng.randint(1, 4))
        parts = [self.keyable(sc) for _ in range(rng.randint(1, 2))]
        if sc.locals and rng.random() < 0.6:  # a table rule keyed on its row: `column in attr`
            column, ty = rng.choice(sc.locals)
            attrs = [leaf for leaf in self.leaves if not leaf.needs and self.free(sc, leaf)]
            rng.shuffle(attrs)
            for leaf in attrs:
                if leaf.ty.collection and leaf.ty.elem and compatible(leaf.ty.elem, ty):
                    parts.insert(0, f"{column} in {leaf.dotted}")
                    break
                if compatible(leaf.ty, ty):
                    parts.insert(0, f"{leaf.dotted} == {column}")
                    break
        parts += [self.bool_(sc, rng.randint(0, 3)) for _ in range(rng.randint(0, 2))]
        rng.shuffle(parts)
        return " and ".join(parts)

    def keyable(self, sc: Scope) -> str:
        """`attr == c`, `attr in [..]`, `c in attr`, `attr contains c`: guarded if need be."""
        rng = self.rng
        leaves = [leaf for leaf in self.leaves if leaf.ty.kind != "bool" and self.free(sc, leaf)]
        if not leaves:
            return self.bool_(sc, 1)
        leaf = rng.choice(leaves)
        inner = sc.know(*self.prefixes(leaf.path))
        if leaf.ty.collection:
            assert leaf.ty.elem is not None
            value = self.value(leaf.ty.elem, inner, 0)
            test = (
                f"{value} in {leaf.dotted}"
                if rng.random() < 0.6
                else f"{leaf.dotted} contains {value}"
            )
        elif leaf.ty.kind in ("datetime", "duration") and rng.random() < 0.6:  # ordered index
            op = rng.choice(("<", "<=", ">", ">=", "=="))
            test = f"{leaf.dotted} {op} {self.constant(leaf.ty)}"
        elif rng.random() < 0.6:
            test = f"{leaf.dotted} == {self.value(leaf.ty, inner, 0)}"
        else:
            items = [self.value(leaf.ty, inner, 0) for _ in range(rng.randint(0, 3))]
            test = f"{leaf.dotted} in [{', '.join(items)}]"
        if leaf.needs and not set(leaf.needs) <= sc.facts:
            return f"{self.has(leaf.path)} and {test}"
        return test

    # ---- expressions ------------------------------------------------------------------------

    def free(self, sc: Scope, leaf: Leaf) -> bool:
        """Not shadowed by a local: the path still names the context attribute."""
        return sc.local(leaf.path[0]) is None

    def readable(self, sc: Scope, want: Callable[[Ty], bool]) -> list[Leaf]:
        return [
            leaf
            for leaf in self.leaves
            if want(leaf.ty) and set(leaf.needs) <= sc.facts and self.free(sc, leaf)
        ]

    @staticmethod
    def prefixes(path: tuple[str, ...]) -> list[tuple[str, ...]]:
        return [path[: i + 1] for i in range(len(path))]

    def has(self, path: tuple[str, ...]) -> str:
        if path in self.presence and self.rng.random() < 0.5:
            return self.presence[path]
        return f"has {'.'.join(path)}"

    def names(self, sc: Scope, want: Callable[[Ty], bool]) -> list[str]:
        """Every name in scope whose type `want`s: attributes, locals and definitions."""
        options = [leaf.dotted for leaf in self.readable(sc, want)]
        options += [n for n, t in sc.locals if want(t) and sc.local(n) == t]
        options += [n for n, t, outcome in self.defs if want(t) and sc.outcome >= outcome]
        return options

    def pick(self, sc: Scope, ty: Ty, depth: int) -> str | None:
        """A name of type `ty` in scope, if there is one."""
        options = self.names(sc, lambda t: compatible(t, ty))
        return self.rng.choice(options) if options else None

    def value(self, ty: Ty, sc: Scope, depth: int) -> str:
        if ty.kind == "bool":
            return self.bool_(sc, depth)
        if ty.kind == "int":
            return self.int_(sc, depth)
        if ty.kind == "decimal":
            return self.decimal_(sc, depth)
        if ty.kind == "string":
            return self.str_(sc, depth)
        if ty.kind in ("datetime", "duration"):
            return self.time_(ty, sc, depth)
        if ty.kind == "enum":
            named = self.pick(sc, ty, depth) if self.rng.random() < 0.4 else None
            return named or self.constant(ty)
        return self.coll(ty, sc, depth)

    def str_(self, sc: Scope, depth: int) -> str:
        named = self.pick(sc, STRING, depth) if self.rng.random() < 0.4 else None
        return named or lit(self.rng.choice(self.strings))

    def decimal_(self, sc: Scope, depth: int) -> str:
        named = self.pick(sc, DECIMAL, depth) if self.rng.random() < 0.5 else None
        return named or self.rng.choice(DECIMALS)

    def int_(self, sc: Scope, depth: int) -> str:
        rng = self.rng
        r = rng.random()
        if depth > 0 and r < 0.3:
            ops = [rng.choice(("+", "-", "*", "%")) for _ in range(rng.randint(1, 2))]
            if r < 0.01:  # a long chain: the compiled backend sums or multiplies a flat tuple
                kind = rng.choice(("+-", "*", "+-*", "+-*%"))
                ops = [rng.choice(kind) for _ in range(rng.randint(31, 40))]
                depth = 1
            # `%` divides by a constant of at least 1 (the checker refuses any other divisor)
            items = [self.int_(sc, depth - 1)]
            items += [
                str(rng.randint(1, 7)) if op == "%" else self.int_(sc, depth - 1) for op in ops
            ]
            text = items[0] + "".join(f" {op} {x}" for op, x in zip(ops, items[1:], strict=True))
            return f"({text})"
        if depth > 0 and r < 0.4:
            return f"-({self.int_(sc, depth - 1)})"
        if depth > 0 and r < 0.55:
            coll = self.coll(Ty(rng.choice(("set", "list")), elem=self.any_elem()), sc, depth - 1)
            return f"size({coll})"
        if sc.outcome and r < 0.62:
            return "size(fired)"
        named = self.pick(sc, INT, depth) if r < 0.85 else None
        if named:
            return named
        value = rng.choice(self.ints)
        return str(value if rng.random() < 0.8 else -value)

    def time_(self, ty: Ty, sc: Scope, depth: int) -> str:
        """A datetime or a duration: a name, a literal, checked arithmetic or a function."""
        rng = self.rng
        r = rng.random()
        named = self.pick(sc, ty, depth) if r < 0.45 else None
        if named:
            return named
        moment, span = Ty("datetime"), Ty("duration")
        if depth <= 0 or r < 0.65:
            return self.constant(ty)
        if ty.kind == "datetime":
            if r < 0.85:
                left, right = self.time_(moment, sc, depth - 1), self.time_(span, sc, depth - 1)
                return f"({left} {rng.choice('+-')} {right})"
            return f"date({self.time_(moment, sc, depth - 1)}{rng.choice(OFFSETS)})"
        if r < 0.75:
            return f"({self.time_(moment, sc, depth - 1)} - {self.time_(moment, sc, depth - 1)})"
        if r < 0.85:
            sign = rng.choice("+-")
            return f"({self.time_(span, sc, depth - 1)} {sign} {self.time_(span, sc, depth - 1)})"
        if r < 0.9:
            return f"-({self.time_(span, sc, depth - 1)})"
        return f"time_of_day({self.time_(moment, sc, depth - 1)}{rng.choice(OFFSETS)})"

    def time_use(self, text: str, ty: Ty, sc: Scope, depth: int) -> str:
        """A test of a datetime or a duration: ordered, or of a calendar field or a unit."""
        rng = self.rng
        op = rng.choice(("==", "!=", "<", "<=", ">", ">="))
        r = rng.random()
        if r < 0.6:
            other = self.time_(ty, sc, depth)
            return f"{text} {op} {other}" if rng.random() < 0.7 else f"{other} {op} {text}"
        if ty.kind == "datetime":
            function, top = rng.choice(CALENDAR)
            return f"{function}({text}{rng.choice(OFFSETS)}) {op} {rng.randint(0, top)}"
        return f"{rng.choice(UNITS)}({text}) {op} {rng.choice((0, 1, 59, 1000, -1, 90))}"

    def any_elem(self, decimal: bool = True) -> Ty:
        return self.scalar_type(allow_bool=False, decimal=decimal)

    def coll(self, ty: Ty, sc: Scope, depth: int) -> str:
        rng = self.rng
        if rng.random() < 0.6:
            named = self.pick(sc, ty, depth)
            if named:
                return named
        return self.coll_literal(ty, sc, depth)

    def coll_literal(self, ty: Ty, sc: Scope, depth: int) -> str:
        assert ty.elem is not None
        items = [self.value(ty.elem, sc, max(depth - 1, 0)) for _ in range(self.rng.randint(0, 3))]
        return "[" + ", ".join(items) + "]"

    def bool_(self, sc: Scope, depth: int) -> str:
        rng = self.rng
        if depth <= 0:
            return self.bool_leaf(sc)
        r = rng.random()
        if r < 0.15:
            ops = [self.bool_(sc, depth - 1) for _ in range(rng.randint(2, 3))]
            return "(" + f" {rng.choice(('and', 'or'))} ".join(ops) + ")"
        if r < 0.22:
            return f"not {self.bool_(sc, depth - 1)}"
        if r < 0.4:
            return self.guard(sc, depth)
        if r < 0.5:
            if self.maps and rng.random() < 0.45:
                return self.map_test(sc, depth)
            if self.record_lists and rng.random() < 0.4:
                return self.records_test(sc, depth)
            return self.quantifier(sc, depth)
        if r < 0.62:
            return self.compare(sc, depth)
        if r < 0.72:
            return self.membership(sc, depth)
        if r < 0.8:
            return self.string_test(sc, depth)
        if sc.outcome and r < 0.9:
            return self.outcome_bool(sc, depth)
        return self.bool_leaf(sc)

    def bool_leaf(self, sc: Scope) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            leaves = self.readable(sc, lambda t: True)
            if leaves:
                leaf = rng.choice(leaves)
                return self.use(leaf.dotted, leaf.ty, sc, 0)
        if r < 0.65:
            named = self.pick(sc, BOOL, 0)
            if named:
                return named
        if r < 0.8:
            leaves = [leaf for leaf in self.leaves if leaf.needs and self.free(sc, leaf)]
            if leaves:
                return self.has(rng.choice(leaves).path)
        if r < 0.9:
            for n, t in reversed(sc.locals):
                if sc.local(n) == t:
                    return self.use(n, t, sc, 0)
        return lit(rng.random() < 0.5)

    def guard(self, sc: Scope, depth: int) -> str:
        """`has p and <use p>` or `not has p or <use p>`: how an optional attribute is read."""
        rng = self.rng
        leaves = [
            leaf
            for leaf in self.leaves
            if leaf.needs and not set(leaf.needs) <= sc.facts and self.free(sc, leaf)
        ]
        if not leaves:
            return self.compare(sc, depth)
        leaf = rng.choice(leaves)
        inner = sc.know(*self.prefixes(leaf.path))
        use = self.use(leaf.dotted, leaf.ty, inner, depth - 1)
        if rng.random() < 0.3:
            use = f"({use} {rng.choice(('and', 'or'))} {self.bool_(inner, depth - 1)})"
        if rng.random() < 0.65:
            return f"({self.has(leaf.path)} and {use})"
        return f"(not {self.has(leaf.path)} or {use})"

    def use(self, text: str, ty: Ty, sc: Scope, depth: int) -> str:
        """A test of one value (an attribute, a local, a fired rule), so the read matters."""
        rng = self.rng
        if ty.kind == "rule":
            return self.rule_test(text, sc)
        if ty.kind == "record":
            return self.record_test(text, ty, sc, depth)
        if ty.kind == "map":
            return self.map_use(text, ty, sc, depth)
        if ty.kind == "records":
            if rng.random() < 0.2:
                return f"size({text}) {rng.choice(('==', '>', '<='))} {rng.choice((0, 1, 2))}"
            return self.quantifier(sc, depth + 1, over=(text, ty))
        if ty.kind == "bool":
            return rng.choice((text, f"not {text}", f"{text} == ({self.bool_leaf(sc)})"))
        if ty.kind in ("datetime", "duration"):
            return self.time_use(text, ty, sc, depth)
        if ty.kind in ("int", "decimal"):
            op = rng.choice(("==", "!=", "<", "<=", ">", ">="))
            other = self.int_(sc, depth) if ty.kind == "int" else self.decimal_(sc, depth)
            if ty.kind == "decimal" and rng.random() < 0.15:  # an integer literal is read as one
                other = rng.choice(("0", "1", "-1", "1000"))
            return f"{text} {op} {other}" if rng.random() < 0.7 else f"{other} {op} {text}"
        if ty.kind in ("string", "enum"):
            r = rng.random()
            if ty.kind == "string" and r < 0.35:
                return self.string_test(sc, depth, subject=text)
            if r < 0.7:
                return f"{text} {rng.choice(('==', '!='))} {self.value(ty, sc, depth)}"
            return (
                f"{text} {rng.choice(('in', 'not in'))} {self.coll(Ty('list', elem=ty), sc, depth)}"
            )
        assert ty.elem is not None
        r = rng.random()
        if r < 0.25:
            return f"{self.value(ty.elem, sc, depth)} {rng.choice(('in', 'not in'))} {text}"
        if r < 0.4:
            return f"{text} contains {self.value(ty.elem, sc, depth)}"
        if r < 0.6:
            other = self.coll(Ty("list", elem=ty.elem), sc, depth)
            return f"{text} {rng.choice(('contains_any', 'contains_all'))} {other}"
        if r < 0.75:
            return f"size({text}) {rng.choice(('==', '>', '<='))} {rng.choice((0, 1, 2))}"
        if r < 0.8:  # a set equals only a set, or a constant list read as one
            same = [n for n in self.names(sc, lambda t: t.kind == ty.kind and compatible(t, ty))]
            other = rng.choice(same) if same and rng.random() < 0.5 else self.constant(ty)
            return f"{text} {rng.choice(('==', '!='))} {other}"
        return self.quantifier(sc, depth + 1, over=(text, ty))

    def records_test(self, sc: Scope, depth: int) -> str:
        """A quantifier over (or the size of) a list of records, guarded if the list may be
        absent."""
        leaves = [leaf for leaf in self.record_lists if self.free(sc, leaf)]
        if not leaves:
            return self.bool_leaf(sc)
        leaf = self.rng.choice(leaves)
        inner = sc.know(*self.prefixes(leaf.path))
        test = self.use(leaf.dotted, leaf.ty, inner, depth - 1)
        if leaf.needs and not set(leaf.needs) <= sc.facts:
            return f"({self.has(leaf.path)} and {test})"
        return test

    def map_test(self, sc: Scope, depth: int) -> str:
        """A test of a map: a key's value (with `has`), its keys, its values or its size,
        guarded if the map may be absent."""
        leaves = [leaf for leaf in self.maps if self.free(sc, leaf)]
        if not leaves:
            return self.bool_leaf(sc)
        leaf = self.rng.choice(leaves)
        inner = sc.know(*self.prefixes(leaf.path))
        test = self.map_use(leaf.dotted, leaf.ty, inner, depth - 1)
        if leaf.needs and not set(leaf.needs) <= sc.facts:
            return f"({self.has(leaf.path)} and {test})"
        return test

    def map_use(self, text: str, ty: Ty, sc: Scope, depth: int) -> str:
        rng = self.rng
        assert ty.elem is not None
        value = ty.elem
        r = rng.random()
        if r < 0.4:  # a key's value, read where `has` proves it is there
            key = self.str_(sc, 0)
            read = f"{text}[{key}]"
            test = self.use(read, value, sc, depth)
            return rng.choice(
                (f"(has {read} and {test})", f"(not has {read} or {test})", f"(has {read})")
            )
        if r < 0.55:  # each key, and the value under it
            var = self.name("q")
            inner = sc.bind(var, STRING)
            body = self.use(f"{text}[{var}]", value, inner, depth - 1)
            if rng.random() < 0.5:
                body = f"{body} {rng.choice(('and', 'or'))} {self.use(var, STRING, inner, 0)}"
            return f"({rng.choice(('some', 'all'))} {var} in keys({text}): {body})"
        if r < 0.7:
            return self.quantifier(sc, depth + 1, over=(f"keys({text})", Ty("set", elem=STRING)))
        if r < 0.85:
            kind = "records" if value.kind == "record" else "list"
            return self.quantifier(sc, depth + 1, over=(f"values({text})", Ty(kind, elem=value)))
        if r < 0.93:
            return f"size({text}) {rng.choice(('==', '>', '<='))} {rng.choice((0, 1, 2))}"
        return f"{lit(rng.choice(self.strings))} {rng.choice(('in', 'not in'))} keys({text})"

    def record_test(self, text: str, ty: Ty, sc: Scope, depth: int) -> str:
        """A test of one attribute of a record read from a list: its presence when optional."""
        rng = self.rng
        f = rng.choice(ty.fields)
        read = f"{text}.{f.name}"
        test = self.use(read, f.ty, sc, depth)
        if not f.optional:
            return test
        return rng.choice(
            (f"(has {read} and {test})", f"(not has {read})", f"(not has {read} or {test})")
        )

    def compare(self, sc: Scope, depth: int) -> str:
        rng = self.rng
        times = self.readable(sc, lambda t: t.kind in ("datetime", "duration"))
        if times and rng.random() < 0.4:
            leaf = rng.choice(times)
            return self.time_use(leaf.dotted, leaf.ty, sc, depth - 1)
        r = rng.random()
        if r < 0.5:
            op = rng.choice(("==", "!=", "<", "<=", ">", ">="))
            if rng.random() < 0.2:
                return f"{self.decimal_(sc, depth - 1)} {op} {self.decimal_(sc, depth - 1)}"
            return f"{self.int_(sc, depth - 1)} {op} {self.int_(sc, depth - 1)}"
        ty = STRING if r < 0.7 else Ty("enum", enum=rng.choice(list(self.enums)))
        if r > 0.9:
            ty = BOOL
        left = self.value(ty, sc, depth - 1)
        right = self.value(ty, sc, depth - 1)
        if ty == BOOL:
            left, right = f"({left})", f"({right})"
        return f"{left} {rng.choice(('==', '!='))} {right}"

    def membership(self, sc: Scope, depth: int) -> str:
        rng = self.rng
        elem = self.any_elem()
        coll = self.coll(Ty(rng.choice(("set", "list")), elem=elem), sc, depth - 1)
        r = rng.random()
        if r < 0.4:
            return f"{self.value(elem, sc, depth - 1)} {rng.choice(('in', 'not in'))} {coll}"
        if r < 0.6:
            return f"{coll} contains {self.value(elem, sc, depth - 1)}"
        other = self.coll(Ty("list", elem=elem), sc, depth - 1)
        return f"{coll} {rng.choice(('contains_any', 'contains_all'))} {other}"

    def string_test(self, sc: Scope, depth: int, subject: str | None = None) -> str:
        rng = self.rng
        subject = subject or self.str_(sc, depth - 1)
        op = rng.choice(("starts_with", "ends_with", "like", "like"))
        if op == "like" and rng.random() < 0.8:
            return f"{subject} like {lit(rng.choice(self.patterns))}"
        return f"{subject} {op} {self.str_(sc, depth - 1)}"

    def quantifier(self, sc: Scope, depth: int, over: tuple[str, Ty] | None = None) -> str:
        rng = self.rng
        if over is None:
            if sc.outcome and rng.random() < 0.4:
                over = ("fired", Ty("list", elem=RULE))
            else:
                ty = Ty(rng.choice(("set", "list")), elem=self.any_elem())
                text = self.coll(ty, sc, depth - 1)
                if text == "[]":  # its variable would have type `nothing`, which no test takes
                    text = f"[{self.value(ty.elem, sc, 0)}]"
                over = (text, ty)
        text, ty = over
        assert ty.elem is not None
        var = self.name("q")  # a name that hides another is a check error (P206)
        inner = sc.bind(var, ty.elem)
        body = self.use(var, ty.elem, inner, depth - 1)
        if rng.random() < 0.3:
            body = f"{body} {rng.choice(('and', 'or'))} {self.bool_(inner, depth - 1)}"
        return f"({rng.choice(('some', 'all'))} {var} in {text}: {body})"

    # ---- outcomes ---------------------------------------------------------------------------

    def outcome_bool(self, sc: Scope, depth: int) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.3:
            return f"decision {rng.choice(('==', '!='))} {rng.choice(self.effects)}"
        if r < 0.7:
            return self.quantifier(sc, depth, over=("fired", Ty("list", elem=RULE)))
        if r < 0.85:
            return f"size(fired) {rng.choice(('==', '>', '>=', '<'))} {rng.randint(0, 3)}"
        outcome_defs = [n for n, t, outcome in self.defs if outcome]
        return rng.choice(outcome_defs) if outcome_defs else "decision == " + self.effects[0]

    def rule_test(self, r: str, sc: Scope) -> str:
        rng = self.rng
        k = rng.random()
        if k < 0.25:
            return f"{r}.effect {rng.choice(('==', '!='))} {rng.choice(self.effects)}"
        if k < 0.45 and self.annotations:
            ann, ty = rng.choice(list(self.annotations.items()))
            inner = sc.know(("local", r, ann))
            return f"(has {r}.{ann} and {self.use(f'{r}.{ann}', ty, inner, 0)})"
        if k < 0.6:
            return f"{lit(rng.choice(self.tags))} in {r}.tags"
        if k < 0.75:
            if rng.random() < 0.5:
                return f"{r}.cite contains {lit(rng.choice(CLAUSES))}"
            return f"{r}.cite contains_any [{lit(rng.choice(CLAUSES))}]"
        if k < 0.85:
            return f"size({r}.cite) >= {rng.randint(1, 2)}"
        op = rng.choice(("like", "starts_with", "=="))
        return f"{r}.id {op} {lit(rng.choice(('*[*]', '*', 'a')))}"

    def output(self) -> None:
        rng = self.rng
        name = self.name()
        r = rng.random()
        ty = (  # an output is never a decimal (P337)
            self.scalar_type(decimal=False)
            if r < 0.75
            else Ty(rng.choice(("set", "list")), elem=self.any_elem(decimal=False))
        )
        sc = Scope(outcome=True)
        cases = []
        for _ in range(rng.randint(0, 3)):
            cond = self.outcome_bool(sc, 2) if rng.random() < 0.6 else self.bool_(sc, 2)
            cases.append(f"  when {cond} => {self.value(ty, sc, 1)}")
        cases.append(f"  otherwise => {self.value(ty, sc, 1)}")
        self.out.append(f"output {name}: {ty.text()} {{\n" + "\n".join(cases) + "\n}")


# ---- policies of one index shape ----------------------------------------------------------------

SHAPES = (
    "threshold",
    "range",
    "string",
    "set",
    "negation",
    "disjunction",
    "quantifier",
    "table",
    "mixed",
)
# pieces of the strings a shape's policy tests: short, overlapping, so that one constant is often
# a prefix, a suffix or a `like` match of another; `*` and `?` are plain characters in a string
TOKENS = ("a", "b", "ab", ".", "d", ".com", "/", "é", "*", "?", "x", "😀")
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


class ShapeGen(PolicyGen):
    """A policy whose rules are tests of one shape an index handles (`SHAPES`), many of them
    over a few attributes of each type, their constants from small pools so that the rules'
    boundaries meet, nest and repeat. Its contexts (`randcontext.shape_contexts`) take their
    values from the same pools, one off, cut short: exactly where an index can be wrong.

    The rest (citations, obligations, tags, annotations, outputs) is `PolicyGen`'s, so the
    decisions combine rules as every policy does."""

    def __init__(self, seed: int, shape: str):
        super().__init__(seed)
        if shape not in SHAPES:
            raise ValueError(f"unknown shape {shape!r}: one of {', '.join(SHAPES)}")
        self.rng = random.Random(f"{shape}:{seed}")  # each shape its own policies
        self.shape = shape
        self.hostile = False  # names are `PolicyGen`'s concern
        self.shared: list[str] = []  # tests made so far, for later rules to repeat
        self.regexes = True  # `matches` among the string tests

    # ---- declarations ----------------------------------------------------------------------

    def build(self) -> Case:
        rng = self.rng
        for _ in range(rng.randint(1, 2)):
            members = tuple(self.name() for _ in range(rng.randint(2, 6)))
            self.enums[self.name("E")] = members
            self.out.append(f"enum {list(self.enums)[-1]} {{ {', '.join(members)} }}")
        self.ints = self.int_pool()
        self.strings = self.string_pool()
        self.patterns = [self.pattern() for _ in range(rng.randint(3, 8))]
        self.schema = self.shape_schema()
        self.leaves = list(self._leaves(self.schema, (), ()))
        self.out.append("context {\n" + "".join(self.field_text(f, 1) for f in self.schema) + "}")
        self.effects = [self.name() for _ in range(rng.randint(2, 3))]
        self.out.append(
            f"effects {' > '.join(self.effects)} default {rng.choice(self.effects)}"
            f" refuse {rng.choice(self.effects)}"
        )
        self.annotations = {self.name(): self.annotation_type() for _ in range(rng.randint(0, 1))}
        self.out.extend(f"annotation {n}: {ty.text()}" for n, ty in self.annotations.items())
        self.obligations = [self.name() for _ in range(rng.randint(0, 3))]
        if self.obligations:
            self.out.append(f"obligations {{ {', '.join(self.obligations)} }}")
        self.tags = [self.name() for _ in range(3)]
        r = rng.random()
        count = rng.randint(1, 6) if r < 0.25 else rng.randint(6, 40) if r < 0.9 else 120
        tables = 0
        if self.shape in ("table", "mixed"):
            tables = rng.randint(1, 2) if self.shape == "table" else rng.randint(0, 1)
        for _ in range(tables):
            self.limit_table()
        for _ in range(count):
            self.rule()
        for _ in range(rng.randint(0, 3)):
            self.output()
        rng.shuffle(self.out)
        return Case(
            self.seed,
            "\n\n".join(self.out) + "\n",
            self.schema,
            self.enums,
            self.strings,
            self.ints,
            self.patterns,
            shape=self.shape,
        )

    def int_pool(self) -> list[int]:
        """A few integers close together (nested and touching ranges), sometimes a huge one."""
        rng = self.rng
        base = rng.choice((0, 0, 1, 10, 1000))
        step = rng.choice((1, 1, 2, 5))
        pool = {base + step * rng.randint(0, 10) for _ in range(rng.randint(2, 8))}
        if rng.random() < 0.1:
            pool.add(2**64)
        return sorted(pool)

    def string_pool(self) -> list[str]:
        """Strings made of `TOKENS`, and extensions of them: prefixes and suffixes of each other."""
        rng = self.rng

        def word() -> str:
            return "".join(rng.choice(TOKENS) for _ in range(rng.randint(0, 3)))

        pool = {word() for _ in range(rng.randint(2, 6))}
        for s in sorted(pool):
            if rng.random() < 0.5:
                pool.add(s + word())
            if rng.random() < 0.4:
                pool.add(word() + s)
        return sorted(pool)

    def pattern(self) -> str:
        """A `like` pattern from the pool: a literal prefix, suffix, middle, or none at all."""
        rng = self.rng
        a, b = rng.choice(self.strings), rng.choice(self.strings)
        form = rng.choice(
            ("*A", "A*", "A*B", "*A*", "A", "*A*B*", "?A", "A?", "*.A", "*", "", "**", "?*", "A*?")
        )
        text = form.replace("A", "\0a").replace("B", "\0b").replace("\0a", a).replace("\0b", b)
        if text and rng.random() < 0.15:
            i = rng.randrange(len(text))
            text = text[:i] + "?" + text[i + 1 :]
        return text

    def regex(self, pattern: str) -> str:
        """An RE2 pattern after a `like` one: its literal text escaped, `*` and `?` some
        repetition or class, now and then anchored at either end (so its literal is a prefix,
        a suffix or a piece of the text) or hidden behind an alternation or flags."""
        rng = self.rng
        out = []
        for ch in pattern:
            if ch == "*":
                out.append(rng.choice((".*", "[a-z]*", ".+", "(ab)?", "d*")))
            elif ch == "?":
                out.append(rng.choice((".", "[^/]", "\\w")))
            else:
                out.append("\\" + ch if ch.isascii() and not ch.isalnum() else ch)
        text = "".join(out)
        text = ("^" if rng.random() < 0.4 else "") + text + ("$" if rng.random() < 0.4 else "")
        if rng.random() < 0.1:
            text = rng.choice(("(?i)", "x|", "a+|")) + text
        return text

    def shape_schema(self) -> tuple[Fld, ...]:
        """Attributes of every type the shapes test, some optional, some in a record."""
        rng = self.rng
        kinds = ["int"] * rng.randint(1, 3) + ["string"] * rng.randint(1, 3)
        kinds += ["enum"] * rng.randint(0, 2) + ["coll"] * rng.randint(1, 3)
        top: list[Fld] = []
        records: list[tuple[str, bool, list[Fld]]] = [
            (self.name(), rng.random() < 0.4, []) for _ in range(rng.randint(0, 2))
        ]
        siblings: dict[int, set[str]] = {id(r): set() for r in records}
        for kind in kinds:
            ty = self.shape_type(kind)
            holder = rng.choice(records) if records and rng.random() < 0.5 else None
            if holder is None:
                name = self.name()
            else:
                taken = siblings[id(holder)]
                name = rng.choice([w for w in WORDS if w not in taken] or ["x"])
                taken.add(name)
            how = rng.random()
            if how < 0.3:
                f = Fld(name, ty, optional=True)
            elif how < 0.45 and not (holder and holder[1]):  # an optional record has no required
                f = Fld(name, ty)
            else:
                f = Fld(name, ty, default=self.default(ty))
            (top if holder is None else holder[2]).append(f)
        for name, optional, fields in records:
            if fields:
                top.append(Fld(name, Ty("record", fields=tuple(fields)), optional=optional))
        rng.shuffle(top)
        return tuple(top)

    def shape_type(self, kind: str) -> Ty:
        rng = self.rng
        if kind == "int":
            if rng.random() < 0.3:  # a declared range near the pool's ends
                lo = max(0, self.ints[0] - rng.choice((0, 1, 5)))
                hi = None if rng.random() < 0.5 else self.ints[-1] + rng.choice((0, 1, 5))
                return Ty("int", lo=lo, hi=hi)
            return INT
        if kind == "string":
            return replace(STRING, max=16) if rng.random() < 0.2 else STRING
        if kind == "enum":
            return Ty("enum", enum=rng.choice(list(self.enums)))
        elem = rng.choice((STRING, STRING, INT, Ty("enum", enum=rng.choice(list(self.enums)))))
        ty = Ty(rng.choice(("set", "list")), elem=elem)
        return replace(ty, max=6) if rng.random() < 0.2 else ty

    def default(self, ty: Ty) -> str | None:
        if ty.kind == "string" and ty.max is not None:
            return lit(self.rng.choice([s for s in self.strings if len(s) <= ty.max] or [""]))
        return super().default(ty)

    # ---- rules --------------------------------------------------------------------------------

    def condition(self, sc: Scope) -> str:
        """A rule's `when`: a test of the policy's shape, often with more tests beside it."""
        rng = self.rng
        if sc.locals:
            return self.row_condition(sc)
        shape = self.shape
        if rng.random() < 0.1 or (shape == "table" and rng.random() < 0.5):
            shape = rng.choice(SHAPES)
        parts = [self.test(shape, sc)]
        if shape == "mixed" or rng.random() < 0.25:
            parts += [self.test(rng.choice(SHAPES), sc) for _ in range(rng.randint(1, 2))]
        if self.shared and rng.random() < 0.25:
            parts.append(rng.choice(self.shared))
        rng.shuffle(parts)
        return " and ".join(parts)

    def test(self, shape: str, sc: Scope) -> str:
        """One test of `shape`, bracketed unless it is a plain conjunction, remembered for
        sharing; reading an optional attribute takes its presence test along."""
        make = {
            "threshold": self.threshold,
            "range": self.range_,
            "string": self.string_shape,
            "set": self.set_shape,
            "negation": self.negation,
            "disjunction": self.disjunction,
            "quantifier": self.quantified,
            "table": self.limit,
            "mixed": self.same_attribute,
        }[shape]
        text = make(sc)
        if self.rng.random() < 0.08:  # a definition, inlined where it is used
            name = self.name("d")
            self.out.append(f"def {name} = {text}")
            text = name
        if self.rng.random() < 0.5:
            self.shared.append(text)
        return text

    def leaf(self, sc: Scope, want: Callable[[Ty], bool]) -> Leaf | None:
        found = [leaf for leaf in self.leaves if want(leaf.ty) and self.free(sc, leaf)]
        return self.rng.choice(found) if found else None

    def guarded(self, leaf: Leaf, sc: Scope, test: Callable[[str], str]) -> str:
        """`test` of the leaf, with its presence test if it may be absent: `has p and ..` (or,
        now and then, `not has p or ..`: the rule also fires when it is absent)."""
        text = test(leaf.dotted)
        if not leaf.needs or set(leaf.needs) <= sc.facts:
            return text
        if self.rng.random() < 0.2:
            return f"(not {self.has(leaf.path)} or {text})"
        return f"({self.has(leaf.path)} and {text})"

    def const(self, ty: Ty, near: bool = True) -> str:
        """A constant of a scalar type from the pools, an integer sometimes one off."""
        rng = self.rng
        if ty.kind == "int":
            value = rng.choice(self.ints)
            if near and rng.random() < 0.2:
                value += rng.choice((-1, 1))
            return str(value) if value >= 0 or rng.random() < 0.5 else f"-{-value}"
        if ty.kind == "string":
            return lit(rng.choice(self.strings))
        if ty.kind == "datetime":
            text = lit(rng.choice(DATETIMES))
            return f"datetime({text})"
        if ty.kind == "duration":
            return rng.choice(DURATIONS)
        if ty.kind == "enum":
            member = rng.choice(self.enums[ty.enum])
            return member if rng.random() < 0.6 else f"{ty.enum}.{member}"
        raise AssertionError(ty)

    def consts(self, ty: Ty, most: int = 4) -> str:
        """A list literal of constants, repeats and all (a set literal drops them)."""
        items = [self.const(ty) for _ in range(self.rng.randint(0, most))]
        if items and self.rng.random() < 0.2:
            items.append(self.rng.choice(items))
        return "[" + ", ".join(items) + "]"

    def scalar_leaf(self, sc: Scope) -> Leaf | None:
        return self.leaf(sc, lambda t: t.kind in ("int", "string", "enum"))

    def fallback(self, sc: Scope) -> str:
        return self.key(sc)

    def key(self, sc: Scope) -> str:
        """An equality or membership test against constants: `x == c`, `x in [..]`, `c in xs`."""
        rng = self.rng
        leaf = self.leaf(sc, lambda t: t.kind in ("int", "string", "enum") or t.collection)
        if leaf is None:
            return "true"
        ty = leaf.ty

        def test(x: str) -> str:
            if ty.collection:
                assert ty.elem is not None
                c = self.const(ty.elem)
                return f"{c} in {x}" if rng.random() < 0.6 else f"{x} contains {c}"
            if rng.random() < 0.7:
                c = self.const(ty)
                return f"{x} == {c}" if rng.random() < 0.8 else f"{c} == {x}"
            return f"{x} in {self.consts(ty)}"

        return self.guarded(leaf, sc, test)

    def threshold(self, sc: Scope) -> str:
        leaf = self.leaf(sc, lambda t: t.kind == "int")
        if leaf is None:
            return self.fallback(sc)
        rng = self.rng
        op = rng.choice(tuple(_FLIP))
        c = self.const(INT)
        if rng.random() < 0.08:  # not a constant bound: a test the index leaves to the rule
            c = rng.choice((f"({c} + {c})", self.int_(sc, 1)))
        return self.guarded(
            leaf, sc, lambda x: f"{x} {op} {c}" if rng.random() < 0.6 else f"{c} {_FLIP[op]} {x}"
        )

    def range_(self, sc: Scope) -> str:
        leaf = self.leaf(sc, lambda t: t.kind == "int")
        if leaf is None:
            return self.fallback(sc)
        rng = self.rng
        lo, hi = self.const(INT), self.const(INT)
        if int(lo) > int(hi) and rng.random() < 0.85:
            lo, hi = hi, lo

        def ends(x: str) -> str:
            low_op, high_op = rng.choice(("<=", "<")), rng.choice(("<", "<="))
            low = f"{lo} {low_op} {x}" if rng.random() < 0.6 else f"{x} {_FLIP[low_op]} {lo}"
            high = f"{x} {high_op} {hi}" if rng.random() < 0.6 else f"{hi} {_FLIP[high_op]} {x}"
            return f"{low} and {high}" if rng.random() < 0.7 else f"{high} and {low}"

        text = self.guarded(leaf, sc, ends)
        return text if text.startswith("(") else f"({text})"

    def string_shape(self, sc: Scope) -> str:
        leaf = self.leaf(sc, lambda t: t.kind == "string")
        if leaf is None:
            return self.fallback(sc)
        return self.guarded(leaf, sc, lambda s: self.string_on(s, sc))

    def string_on(self, s: str, sc: Scope) -> str:
        """`s starts_with p`, `ends_with`, `like`, `==`; now and then the constant on the left."""
        rng = self.rng
        r = rng.random()
        word = rng.choice(self.strings)
        if r < 0.25:
            cut = rng.randint(0, len(word))  # a prefix of a pool string, the whole or none
            return f"{s} starts_with {lit(word[:cut])}"
        if r < 0.45:
            cut = rng.randint(0, len(word))
            return f"{s} ends_with {lit(word[cut:])}"
        if r < 0.65:
            return f"{s} like {lit(rng.choice(self.patterns))}"
        if r < 0.75:
            regex = self.regex(rng.choice(self.patterns))  # drawn either way: the same stream
            if not self.regexes:
                return f"{s} like {lit(rng.choice(self.patterns))}"
            return f"{s} matches {lit(regex)}"
        if r < 0.88:
            return f"{s} == {lit(word)}" if rng.random() < 0.7 else f"{lit(word)} == {s}"
        if r < 0.94:  # the attribute is the prefix or the pattern: nothing to index
            op = rng.choice(("starts_with", "ends_with", "like"))
            return f"{lit(word)} {op} {s}"
        other = self.leaf(sc, lambda t: t.kind == "string")
        if other is not None and not other.needs:
            return f"{s} {rng.choice(('starts_with', 'ends_with', '=='))} {other.dotted}"
        return f"{s} starts_with {lit(word)}"

    def set_shape(self, sc: Scope) -> str:
        rng = self.rng
        leaf = self.leaf(sc, lambda t: t.collection)
        if leaf is None or rng.random() < 0.2:
            scalar = self.scalar_leaf(sc)
            if scalar is None:
                return self.fallback(sc)
            return self.guarded(scalar, sc, lambda x: f"{x} in {self.consts(scalar.ty)}")
        elem = leaf.ty.elem
        assert elem is not None

        def test(xs: str) -> str:
            r = rng.random()
            if r < 0.3:
                return f"{xs} contains_any {self.consts(elem)}"
            if r < 0.6:
                return f"{xs} contains_all {self.consts(elem)}"
            if r < 0.75:
                return f"{xs} contains {self.const(elem)}"
            if r < 0.9:
                return f"{self.const(elem)} in {xs}"
            return f"{self.consts(elem)} {rng.choice(('contains_any', 'contains_all'))} {xs}"

        return self.guarded(leaf, sc, test)

    def negation(self, sc: Scope) -> str:
        rng = self.rng
        leaf = self.leaf(sc, lambda t: t.kind != "bool" and t.kind != "record")
        if leaf is None:
            return self.fallback(sc)
        ty = leaf.ty

        def test(x: str) -> str:
            r = rng.random()
            if ty.collection:
                assert ty.elem is not None
                if r < 0.4:
                    return f"{self.const(ty.elem)} not in {x}"
                if r < 0.7:
                    return f"not ({x} contains {self.const(ty.elem)})"
                op = rng.choice(("contains_any", "contains_all"))
                return f"not ({x} {op} {self.consts(ty.elem)})"
            if r < 0.35:
                return f"{x} != {self.const(ty)}"
            if r < 0.6:
                return f"{x} not in {self.consts(ty)}"
            if r < 0.8:
                return f"not ({x} in {self.consts(ty)})"
            if r < 0.9:
                return f"not ({x} == {self.const(ty)})"
            if ty.kind == "int":
                return f"not ({x} {rng.choice(tuple(_FLIP))} {self.const(ty)})"
            if ty.kind == "string":
                return f"not ({self.string_on(x, sc)})"
            return f"{self.const(ty)} != {x}"

        text = self.guarded(leaf, sc, test)
        if rng.random() < 0.4:  # as a negation is written: beside an equality on another key
            return f"{text} and {self.key(sc)}"
        return text

    def disjunction(self, sc: Scope) -> str:
        """`a == c or b == d`, keys on several attributes (or one), now and then other tests."""
        rng = self.rng
        parts = []
        for _ in range(rng.randint(2, 3)):
            if rng.random() < 0.7:
                parts.append(self.key(sc))
            else:
                parts.append(self.test(rng.choice(SHAPES[:5]), sc))
        return "(" + " or ".join(parts) + ")"

    def quantified(self, sc: Scope) -> str:
        """`some t in xs: t == c`, `t starts_with p`, `t > c`: each element looked up."""
        rng = self.rng
        leaf = self.leaf(sc, lambda t: t.collection)
        scalar = self.scalar_leaf(sc)
        if scalar is not None and (leaf is None or rng.random() < 0.15):
            # over constants, the attribute in the body: `some t in [a, b]: t == x`
            var, ty = self.name("t"), scalar.ty
            op = "==" if ty.kind != "int" or rng.random() < 0.5 else rng.choice(tuple(_FLIP))
            some = rng.choice(("some", "some", "all"))
            return self.guarded(
                scalar, sc, lambda x: f"({some} {var} in {self.consts(ty)}: {var} {op} {x})"
            )
        if leaf is None:
            return self.fallback(sc)
        elem = leaf.ty.elem
        assert elem is not None
        var = self.name("t")
        inner = sc.bind(var, elem)

        def body() -> str:
            r = rng.random()
            if elem.kind == "string" and r < 0.5:
                return self.string_on(var, inner)
            if elem.kind == "int" and r < 0.5:
                op = rng.choice(tuple(_FLIP))
                return f"{var} {op} {self.const(INT)}"
            if r < 0.75:
                return f"{var} {rng.choice(('==', '==', '!='))} {self.const(elem)}"
            return f"{var} {rng.choice(('in', 'not in'))} {self.consts(elem)}"

        def test(xs: str) -> str:
            text = body()
            if rng.random() < 0.25:
                text = f"{text} {rng.choice(('and', 'or'))} {body()}"
            return f"({rng.choice(('some', 'some', 'some', 'all'))} {var} in {xs}: {text})"

        return self.guarded(leaf, sc, test)

    def limit(self, sc: Scope) -> str:
        """As a table row written out: `key == k and amount > limit`."""
        key = self.scalar_leaf(sc)
        if key is None:
            return self.fallback(sc)
        equal = self.guarded(key, sc, lambda k: f"{k} == {self.const(key.ty)}")
        return f"{equal} and {self.threshold(sc)}"

    def same_attribute(self, sc: Scope) -> str:
        """Several indexable tests of one attribute: `x > 3 and x != 7 and x in [..]`."""
        rng = self.rng
        leaf = self.leaf(sc, lambda t: t.kind in ("int", "string"))
        if leaf is None:
            return self.fallback(sc)
        ty = leaf.ty

        def tests(x: str) -> str:
            made = []
            for _ in range(rng.randint(2, 3)):
                r = rng.random()
                if ty.kind == "int" and r < 0.5:
                    made.append(f"{x} {rng.choice(tuple(_FLIP))} {self.const(ty)}")
                elif ty.kind == "string" and r < 0.6:
                    made.append(self.string_on(x, sc))
                elif r < 0.8:
                    made.append(f"{x} {rng.choice(('==', '!='))} {self.const(ty)}")
                else:
                    made.append(f"{x} {rng.choice(('in', 'not in'))} {self.consts(ty)}")
            return " and ".join(made)

        return self.guarded(leaf, sc, tests)

    # ---- outputs ------------------------------------------------------------------------------

    def output(self) -> None:
        """`PolicyGen`'s outputs, or one built from what the fired rules are: `some`/`all` of
        them with a property (`all` of none is true), `decision`, `size(fired)`, next to a test
        of the request."""
        rng = self.rng
        if rng.random() < 0.4:
            super().output()
            return
        sc = Scope(outcome=True)
        kind = rng.choice(("bool", "int", "enum"))
        ty = (
            BOOL
            if kind == "bool"
            else INT
            if kind == "int"
            else Ty("enum", enum=rng.choice(list(self.enums)))
        )

        def value() -> str:
            if kind == "bool":
                return lit(rng.random() < 0.5)
            if kind == "int":
                return rng.choice(
                    ("size(fired)", self.const(INT), f"size(fired) + {self.const(INT)}")
                )
            return self.const(ty)

        def about_fired() -> str:
            r = rng.random()
            if r < 0.55:
                var = self.name("r")
                body = self.rule_test(var, sc)
                if rng.random() < 0.3:
                    body = f"{body} {rng.choice(('and', 'or'))} {self.rule_test(var, sc)}"
                return f"({rng.choice(('some', 'all'))} {var} in fired: {body})"
            if r < 0.7:
                return f"decision {rng.choice(('==', '!='))} {rng.choice(self.effects)}"
            if r < 0.8:
                return f"size(fired) {rng.choice(('==', '>', '>=', '<'))} {rng.randint(0, 3)}"
            return self.key(Scope())  # the request itself

        cases = []
        for _ in range(rng.randint(1, 3)):
            cond = about_fired()
            if rng.random() < 0.3:
                cond = f"{cond} {rng.choice(('and', 'or'))} {about_fired()}"
            if rng.random() < 0.15:
                cond = f"not ({cond})"
            cases.append(f"  when {cond} => {value()}")
        cases.append(f"  otherwise => {value()}")
        self.out.append(f"output {self.name()}: {ty.text()} {{\n" + "\n".join(cases) + "\n}")

    # ---- tier tables --------------------------------------------------------------------------

    def limit_table(self) -> None:
        """A tier table, a few keys and many limits each, and a rule over it: `req.key == key
        and req.amount > limit`, or a range of two columns, or a prefix column."""
        rng = self.rng
        keys = [leaf for leaf in self.leaves if leaf.ty.kind in ("int", "string", "enum")]
        amounts = [leaf for leaf in self.leaves if leaf.ty.kind == "int"]
        if not keys or not amounts:
            return
        key_ty = rng.choice(keys).ty
        key_ty = Ty(key_ty.kind, enum=key_ty.enum)  # the column holds any key a rule names
        name, id_col, key_col, lo_col, hi_col = (self.name() for _ in range(5))
        columns: list[tuple[str, Ty, bool]] = [
            (id_col, STRING, False),
            (key_col, key_ty, False),
            (lo_col, INT, False),
            (hi_col, INT, False),
        ]
        self.used.update(c for c, _, _ in columns)
        key_values = sorted({self.cell(key_ty) for _ in range(rng.randint(1, 4))})
        rows = []
        for i in range(rng.randint(0, 30)):
            lo, hi = self.cell(INT), self.cell(INT)
            rows.append(f'  "r{i}", {rng.choice(key_values)}, {lo}, {hi}')
        cols = ", ".join(f"{c}: {ty.text()}" for c, ty, _ in columns)
        self.out.append(f"table {name}({cols}) {{\n" + "".join(r + "\n" for r in rows) + "}")
        self.table_roles = (key_ty, key_col, lo_col, hi_col)
        scope = Scope(locals=tuple((c, ty) for c, ty, _ in columns))
        for _ in range(rng.randint(1, 2)):
            self.rule(table=(name, columns), scope=scope)

    def cell(self, ty: Ty) -> str:
        """A table cell: a literal (no sign), an enum member bare."""
        rng = self.rng
        if ty.kind == "int":
            value = rng.choice([v for v in self.ints if v >= 0] or [0])
            return str(value + rng.choice((0, 0, 1)))
        if ty.kind == "enum":
            return rng.choice(self.enums[ty.enum])
        return lit(rng.choice(self.strings))

    def row_condition(self, sc: Scope) -> str:
        rng = self.rng
        key_ty, key_col, lo_col, hi_col = self.table_roles
        key = self.leaf(sc, lambda t: compatible(t, key_ty))
        amount = self.leaf(sc, lambda t: t.kind == "int")
        assert key is not None and amount is not None
        parts = [
            self.guarded(
                key,
                sc,
                lambda k: f"{k} == {key_col}" if rng.random() < 0.7 else f"{key_col} == {k}",
            )
        ]
        r = rng.random()
        if r < 0.6:
            op = rng.choice(tuple(_FLIP))
            parts.append(
                self.guarded(
                    amount,
                    sc,
                    lambda a: (
                        f"{a} {op} {lo_col}" if rng.random() < 0.6 else f"{lo_col} {_FLIP[op]} {a}"
                    ),
                )
            )
        elif r < 0.85:
            parts.append(self.guarded(amount, sc, lambda a: f"{lo_col} <= {a} and {a} < {hi_col}"))
        else:
            parts.append(self.test(rng.choice(SHAPES[:5]), Scope()))
        if rng.random() < 0.2:
            parts.append(self.test(rng.choice(SHAPES[:5]), Scope()))
        rng.shuffle(parts)
        return " and ".join(parts)


def make_shape_case(seed: int, shape: str, *, regexes: bool = True) -> Case:
    """A random policy of one index shape (`SHAPES`), replayable from `(seed, shape)`; with
    `regexes=False`, `like` where it would test `matches` (which the SMT encoding leaves out)."""
    gen = ShapeGen(seed, shape)
    gen.regexes = regexes
    return gen.build()


def make_case(seed: int, *, entities: bool = True) -> Case:
    """The random policy of `seed`; with `entities=False`, without its entity part (which the
    SMT encoding leaves out), the rest the same."""
    gen = PolicyGen(seed)
    gen.with_entities = entities
    return gen.build()


if __name__ == "__main__":
    # python tests/randpolicy.py SEED [N]; python tests/randpolicy.py --shape SHAPE SEED [N]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import randcontext

    args = sys.argv[1:]
    shape = ""
    if args[:1] == ["--shape"]:
        shape, args = args[1], args[2:]
    sys.exit(randcontext.replay(int(args[0]), *(int(a) for a in args[1:2]), shape=shape))
