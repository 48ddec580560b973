"""Random valid policies for the differential tests of the backends.

`make_case(seed)` draws a policy text that exercises the whole language, plus the schema and the
values its contexts draw from (`randcontext`). Everything comes from one `random.Random(seed)`,
so a failing seed replays exactly: `python tests/randpolicy.py SEED`.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


RESERVED = frozenset(
    _words(
        "enum context effects default refuse annotation obligations def table rule for output when"
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


@dataclass(frozen=True)
class Ty:
    """A type of the language, as the generator tracks it."""

    kind: str  # bool | int | string | enum | set | list | record | rule
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
        """`n` valid and invalid contexts for this schema (`randcontext.contexts`)."""
        import randcontext  # it builds on this module's types

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
            if r < 0.01:  # a long chain: the compiled backend sums or multiplies a flat tuple
                kind = rng.choice(("+-", "*", "+-*"))
                ops = [rng.choice(kind) for _ in range(rng.randint(31, 40))]
                depth = 1
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


if __name__ == "__main__":  # python tests/randpolicy.py SEED [N]: replay one seed
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import randcontext

    sys.exit(randcontext.replay(int(sys.argv[1]), *(int(a) for a in sys.argv[2:3])))
