"""Random valid policies and matching request contexts, for differential tests of the backends.

`make_case(seed)` draws a policy text that exercises the whole language, and a context generator
driven by the same schema (valid and invalid requests). Everything comes from one
`random.Random(seed)`, so a failing seed replays exactly: `python tests/randpolicy.py SEED`.
"""

from __future__ import annotations

import collections
import pickle
import random
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


RESERVED = frozenset(
    _words(
        "enum context effects default annotation obligations def table rule for output when"
        " otherwise cite reason tags and or not in has some all true false list set contains"
        " contains_any contains_all starts_with ends_with like bool int string size decision fired"
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


class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


ABSENT: Any = _Absent()  # a default that is not given


@dataclass(frozen=True)
class Ty:
    """A type of the language, as the generator tracks it."""

    kind: str  # bool | int | string | enum | set | list | record | rule
    enum: str = ""
    lo: int | None = None
    hi: int | None = None
    elem: Ty | None = None
    fields: tuple[Fld, ...] = ()

    def text(self) -> str:
        if self.kind == "int" and (self.lo is not None or self.hi is not None):
            lo = "" if self.lo is None else self.lo
            hi = "" if self.hi is None else self.hi
            return f"int[{lo}..{hi}]"
        if self.kind == "enum":
            return self.enum
        if self.kind in ("set", "list"):
            assert self.elem is not None
            return f"{self.kind}<{self.elem.text()}>"
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

    def contexts(self, n: int) -> list[Any]:
        rng = random.Random(self.seed * 7919 + 1)
        return [ContextGen(self, rng).context() for _ in range(n)]


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
        self.out: list[str] = []

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
        self.leaves = list(self._leaves(self.schema, (), ()))
        self.out.append("context {\n" + "".join(self.field_text(f, 1) for f in self.schema) + "}")
        self.effects = [self.name() for _ in range(rng.randint(2, 4))]
        default = rng.choice(self.effects)
        self.out.append(f"effects {' > '.join(self.effects)} default {default}")
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
        return Case(
            self.seed,
            "\n\n".join(self.out) + "\n",
            self.schema,
            self.enums,
            self.strings,
            sorted(set(self.ints)),
            self.patterns,
        )

    def scalar_type(self, allow_bool: bool = True) -> Ty:
        rng = self.rng
        kinds = ["int", "string", "enum"] + (["bool"] if allow_bool else [])
        kind = rng.choice(kinds)
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
            return Fld(name, Ty("record", fields=fields), optional=rng.random() < 0.3)
        if r < 0.45:
            elem = self.scalar_type(allow_bool=False)
            ty = Ty(rng.choice(("set", "list")), elem=elem)
        else:
            ty = self.scalar_type()
        how = rng.random()
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

    def constant(self, ty: Ty, cell: bool = False) -> str:
        """A constant of `ty`: as a table cell, enum members are bare and lists are literals."""
        rng = self.rng
        if ty.kind == "bool":
            return lit(rng.random() < 0.5)
        if ty.kind == "int":
            return str(rng.choice([v for v in self.ints if v >= 0 or not cell] or [0]))
        if ty.kind == "string":
            return lit(rng.choice(self.strings))
        if ty.kind == "enum":
            member = rng.choice(self.enums[ty.enum])
            return member if cell or rng.random() < 0.6 else f"{ty.enum}.{member}"
        assert ty.elem is not None
        items = [self.constant(ty.elem, cell) for _ in range(rng.randint(0, 3))]
        return "[" + ", ".join(items) + "]"

    def field_text(self, f: Fld, indent: int) -> str:
        pad = "  " * indent
        if f.ty.kind == "record":
            inner = "".join(self.field_text(c, indent + 1) for c in f.ty.fields)
            body = "{\n" + inner + pad + "}"
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
        return self.scalar_type()

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
            value = rng.choice(cols) if cols and rng.random() < 0.7 else self.constant(ty)
            clauses.append(f"{ann} {value}")
        if rng.random() < 0.9:
            text = rng.choice(("fired", "why {{not}}", 'says \\"no\\"', "ünïcode ✓"))
            if columns and rng.random() < 0.7:
                text += " for {" + rng.choice(columns)[0] + "}"
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
        if ty.kind == "string":
            return self.str_(sc, depth)
        if ty.kind == "enum":
            named = self.pick(sc, ty, depth) if self.rng.random() < 0.4 else None
            return named or self.constant(ty)
        return self.coll(ty, sc, depth)

    def str_(self, sc: Scope, depth: int) -> str:
        named = self.pick(sc, STRING, depth) if self.rng.random() < 0.4 else None
        return named or lit(self.rng.choice(self.strings))

    def int_(self, sc: Scope, depth: int) -> str:
        rng = self.rng
        r = rng.random()
        if depth > 0 and r < 0.3:
            ops = [rng.choice(("+", "-", "*")) for _ in range(rng.randint(1, 2))]
            items = [self.int_(sc, depth - 1) for _ in range(len(ops) + 1)]
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

    def any_elem(self) -> Ty:
        return self.scalar_type(allow_bool=False)

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
        if ty.kind == "bool":
            return rng.choice((text, f"not {text}", f"{text} == ({self.bool_leaf(sc)})"))
        if ty.kind == "int":
            op = rng.choice(("==", "!=", "<", "<=", ">", ">="))
            other = self.int_(sc, depth)
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

    def compare(self, sc: Scope, depth: int) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.5:
            op = rng.choice(("==", "!=", "<", "<=", ">", ">="))
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
        shadows = [leaf.path[0] for leaf in self.leaves] + [n for n, _ in sc.locals]
        var = rng.choice(shadows) if rng.random() < 0.15 else self.name("q")
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
        ty = (
            self.scalar_type()
            if r < 0.75
            else Ty(rng.choice(("set", "list")), elem=self.any_elem())
        )
        sc = Scope(outcome=True)
        cases = []
        for _ in range(rng.randint(0, 3)):
            cond = self.outcome_bool(sc, 2) if rng.random() < 0.6 else self.bool_(sc, 2)
            cases.append(f"  when {cond} => {self.value(ty, sc, 1)}")
        cases.append(f"  otherwise => {self.value(ty, sc, 1)}")
        self.out.append(f"output {name}: {ty.text()} {{\n" + "\n".join(cases) + "\n}")


def make_case(seed: int) -> Case:
    return PolicyGen(seed).build()


# ---- contexts -------------------------------------------------------------------------------


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

    def record(self, fields: Sequence[Fld]) -> dict[str, Any]:
        rng = self.rng
        out: dict[str, Any] = {}
        for f in fields:
            r = rng.random()
            required = not f.optional and f.default is None and f.ty.kind != "record"
            if r < (0.02 if required else 0.18):
                continue
            if r < (0.03 if required else 0.25):
                out[f.name] = None
                continue
            out[f.name] = self.valid(f.ty)
        if rng.random() < 0.1:
            out[rng.choice(("extra", "__class__", "zz"))] = rng.choice((1, "x", [1.5], {"a": None}))
        return out

    def valid(self, ty: Ty) -> Any:
        rng = self.rng
        if ty.kind == "record":
            return self.wrap(self.record(ty.fields))
        if ty.kind == "bool":
            return rng.random() < 0.5
        if ty.kind == "int":
            value = rng.choice(self.ints(ty))
            return IntSub(value) if rng.random() < 0.04 else value
        if ty.kind == "string":
            value = self.string()
            return StrSub(value) if rng.random() < 0.04 else value
        if ty.kind == "enum":
            value = rng.choice(self.case.enums[ty.enum])
            return StrSub(value) if rng.random() < 0.03 else value
        assert ty.elem is not None
        pool = [self.valid(ty.elem) for _ in range(rng.randint(1, 3))]
        items = [rng.choice(pool) for _ in range(rng.choice((0, 1, 1, 2, 3, 5)))]  # duplicates
        return tuple(items) if rng.random() < 0.15 else items

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
        if ty.kind == "bool":
            return rng.choice((1, 0, "true", "false", 1.0, [True], {}, IntSub(1)))
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
        assert ty.elem is not None
        good = [self.valid(ty.elem) for _ in range(2)]
        hashable = [v for v in good if not isinstance(v, list | dict)]
        return rng.choice(
            (
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
    absent or null sections, extra attributes, odd valid types), a quarter of them broken."""
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
            if rng.random() < 0.1:
                values["extra"] = rng.choice((1, "x", [0.5], {"deep": None}))
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
        if rng.random() < 0.05:
            ctx["request"] = {"id": "r1", "scores": [0.5]}
        out.append(gen.wrap(ctx) if rng.random() < 0.9 else rng.choice((None, [], "ctx", 3)))
    return out[:n]


# ---- comparing backends ---------------------------------------------------------------------


def outcome(decide: Callable[[Any], Any], context: Any) -> tuple[Any, ...]:
    """What a backend makes of one context, in a form to compare: the decision or the error."""
    from policydsl import ContextError

    try:
        return ("decision", decide(context).to_dict())
    except ContextError as err:
        return ("ContextError", err.attribute, str(err))
    except Exception as err:  # any other exception is a finding, reported by the caller
        return (type(err).__name__, str(err))


def snapshot(value: Any) -> Any:
    """A deep, comparable copy of a context, classes included: deciding must not mutate it."""
    if isinstance(value, Mapping):
        return (type(value), tuple((k, snapshot(v)) for k, v in value.items()))
    if isinstance(value, list | tuple | collections.deque):
        return (type(value), tuple(snapshot(v) for v in value))
    if isinstance(value, set | frozenset):
        return (type(value), frozenset(value))
    return (type(value), value)


def decide_pickled(payload: bytes, contexts: list[Any]) -> list[tuple[Any, ...]]:
    """In a worker process: rebuild a pickled policy and decide each context."""
    policy = pickle.loads(payload)
    return [outcome(policy.decide, c) for c in contexts]


def replay(seed: int, n: int = 50) -> int:
    """Print the policy of `seed` and every context the backends disagree on; the exit status."""
    import policydsl

    case = make_case(seed)
    print(case.text)
    policies = {b: policydsl.loads(case.text, backend=b) for b in policydsl.BACKENDS}
    failures = 0
    for i, context in enumerate(case.contexts(n)):
        seen = {b: outcome(p.decide, context) for b, p in policies.items()}
        if len({repr(v) for v in seen.values()}) > 1:
            failures += 1
            print(f"context {i}: {context!r}")
            for b, v in seen.items():
                print(f"  {b}: {v}")
    print(f"{failures} disagreement(s) in {n} contexts of seed {seed}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(replay(int(sys.argv[1]), *(int(a) for a in sys.argv[2:3])))
