"""Lints: what a policy may legally say but probably does not mean, as warnings.

Enum members no rule mentions (a deleted table row), rules a stronger rule always overrides,
unused definitions, comparisons the declared ranges make constant, a test written twice in one
rule. `settle` then applies what the policy itself says about its warnings: `require cite reason`
(W101 and W102 apply only where a policy asks for them) and a rule's `silence CODE "why"`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import attrs

from policydsl import ir, model, nodes
from policydsl import typesys as t
from policydsl.codes import REGISTRY, Code
from policydsl.diagnostics import Diagnostic
from policydsl.operators import Op
from policydsl.source import Span

MAX_SUBSET_TESTS = 6  # a rule with more tests is not looked at for the rules that shadow it


def lint(
    files: Sequence[nodes.PolicyFile], policy: model.CheckedPolicy, lowered: ir.Lowered
) -> list[Diagnostic]:
    """Every lint warning of a checked policy."""
    enums: dict[str, set[str]] = {}
    _schema_enums(policy.schema, enums)
    # the walk of every rule feeds the three lints below: not made when none of them can warn
    wanted = enums or policy.definitions or _ranged(policy.schema)
    scan = _scan(policy) if wanted else _Scan()
    return [
        *_unmentioned_members(files, enums, scan.mentioned),
        *_unused_definitions(policy, scan.definitions),
        *_repeated_tests(policy),
        *_constant_comparisons(policy, scan.comparisons),
        *_shadowed(policy, lowered),
    ]


def _warn(code: Code, message: str, span: Span | None, help: str) -> Diagnostic:
    return Diagnostic(code, message, span, help=help, severity="warning")


# The nodes with no sub-expressions: a walk asks `model.children` of none of them (a table
# rule's rows make tens of thousands).
_LEAVES = (model.Const, model.Attr, model.Local, model.DefRef, model.Outcome, model.Present)


def _walk(expr: Any) -> Iterator[Any]:
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        if not isinstance(node, _LEAVES):
            stack.extend(model.children(node))


def _decision_exprs(policy: model.CheckedPolicy) -> Iterator[Any]:
    """What decides: every rule's condition and every output's cases (not properties)."""
    for rule in policy.rules:
        yield rule.condition
    for output in policy.outputs:
        for condition, value in output.cases:
            if condition is not None:
                yield condition
            yield value


@attrs.define
class _Scan:
    """What the decision reads, from one walk: definitions, constants, comparisons."""

    definitions: set[str] = attrs.Factory(set)
    mentioned: set[str] = attrs.Factory(set)
    comparisons: list[Any] = attrs.Factory(list)

    def read(self, expr: Any) -> list[str]:
        """Walk one expression; the definitions it names. (`_walk`, inlined: it reads every
        node of every rule.)"""
        names = []
        stack = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, model.Const):
                value = node.value
                if isinstance(value, str):
                    self.mentioned.add(value)
                elif isinstance(value, frozenset | tuple):
                    self.mentioned.update(v for v in value if isinstance(v, str))
                continue
            if isinstance(node, model.DefRef):
                names.append(node.name)
            elif isinstance(node, nodes.Compare):
                self.comparisons.append(node)
            if not isinstance(node, _LEAVES):
                stack.extend(model.children(node))
        return names


def _scan(policy: model.CheckedPolicy) -> _Scan:
    """Every rule and output, then each definition they read (directly or not), walked once."""
    scan = _Scan()
    pending = [name for e in _decision_exprs(policy) for name in scan.read(e)]
    while pending:
        name = pending.pop()
        if name in scan.definitions or name not in policy.definitions:
            continue
        scan.definitions.add(name)
        pending.extend(scan.read(policy.definitions[name].expr))
    return scan


# ---- enum members no rule mentions ----------------------------------------------------------


def _schema_enums(record: t.RecordType, found: dict[str, set[str]]) -> None:
    """Each enum whose members a request's sets and lists hold (its labels), with the members
    that are an attribute's default. A scalar enum's member no rule names is usually meant: the
    other rules decide it (a `viewer`); a label no rule names is a deleted row."""
    for field in record.fields:
        type_ = field.type
        if isinstance(type_, t.RecordType):
            _schema_enums(type_, found)
            continue
        if not isinstance(type_, t.CollectionType):
            continue
        type_ = type_.element
        if isinstance(type_, t.EnumType):
            defaults = found.setdefault(type_.name, set())
            if isinstance(field.default, str):
                defaults.add(field.default)
            elif isinstance(field.default, frozenset | tuple):
                defaults.update(v for v in field.default if isinstance(v, str))


def _ranged(record: t.RecordType) -> bool:
    """Whether an `int` attribute has a declared range (which may make a comparison constant)."""
    for field in record.fields:
        type_ = field.type
        if isinstance(type_, t.RecordType) and _ranged(type_):
            return True
        if isinstance(type_, t.IntType) and (type_.lo is not None or type_.hi is not None):
            return True
    return False


def _unmentioned_members(
    files: Sequence[nodes.PolicyFile], enums: dict[str, set[str]], mentioned: set[str]
) -> list[Diagnostic]:
    """`enums`: each enum whose members requests hold in sets and lists (`_schema_enums`)."""
    found = []
    for decl in (d for f in files for d in f.decls if isinstance(d, nodes.EnumDecl)):
        if decl.name.name not in enums:
            continue
        for member in decl.members:
            if member.name in mentioned or member.name in enums[decl.name.name]:
                continue
            found.append(
                _warn(
                    Code.UNMENTIONED_MEMBER,
                    f"no rule mentions the label `{decl.name.name}.{member.name}`",
                    member.span,
                    "requests with it are decided by the other rules alone: was a rule or a "
                    "table row deleted?",
                )
            )
    return found


# ---- definitions, repeated tests, constant comparisons --------------------------------------


def _unused_definitions(policy: model.CheckedPolicy, used: set[str]) -> list[Diagnostic]:
    read_by_properties = {
        n.name
        for p in policy.properties
        for e in (p.premise, p.claim)
        if e is not None and not isinstance(e, model.Monotone)
        for n in _walk(e)
        if isinstance(n, model.DefRef)
    }
    pending = list(read_by_properties)
    while pending:
        name = pending.pop()
        if name in policy.definitions:
            for n in _walk(policy.definitions[name].expr):
                if isinstance(n, model.DefRef) and n.name not in read_by_properties:
                    read_by_properties.add(n.name)
                    pending.append(n.name)
    return [
        _warn(
            Code.UNUSED_DEFINITION,
            f"definition `{name}` is never used",
            d.span,
            "no rule, output or property reads it: remove it, or use it",
        )
        for name, d in policy.definitions.items()
        if name not in used and name not in read_by_properties
    ]


def _repeated_tests(policy: model.CheckedPolicy) -> list[Diagnostic]:
    found: dict[tuple[Any, ...], Diagnostic] = {}
    for rule in policy.rules:
        condition = rule.condition
        if not isinstance(condition, nodes.And):
            continue
        seen: list[Any] = []
        for part in condition.operands:
            if part in seen and part.span is not None:
                key = (part.span.file, part.span.start)
                found.setdefault(
                    key,
                    _warn(
                        Code.REPEATED_TEST,
                        f"rule `{rule.id}` makes the same test twice",
                        part.span,
                        "remove the second; was another test meant?",
                    ),
                )
            seen.append(part)
    return list(found.values())


def _constant_comparisons(policy: model.CheckedPolicy, comparisons: list[Any]) -> list[Diagnostic]:
    found: dict[tuple[Any, ...], Diagnostic] = {}
    for node in comparisons:
        verdict = _constant(policy.schema, node)
        if verdict is not None and node.span is not None:
            found.setdefault(
                (node.span.file, node.span.start),
                _warn(
                    Code.CONSTANT_COMPARISON,
                    f"this comparison is always {verdict} for the declared range",
                    node.span,
                    "the attribute's declared range decides it: check the bound",
                ),
            )
    return list(found.values())


_FLIP = {Op.LT: Op.GT, Op.LE: Op.GE, Op.GT: Op.LT, Op.GE: Op.LE, Op.EQ: Op.EQ, Op.NE: Op.NE}


def _constant(schema: t.RecordType, node: Any) -> str | None:
    """`"true"` or `"false"` when an int attribute's declared range decides a comparison."""
    if not isinstance(node, nodes.Compare):
        return None
    op: Op = node.op
    left, right = node.left, node.right
    if isinstance(left, model.Const) and isinstance(right, model.Attr):
        op, left, right = _FLIP[op], right, left
    if not (isinstance(left, model.Attr) and isinstance(right, model.Const)):
        return None
    value = right.value
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    type_: Any = schema
    for part in left.path:
        field = type_.field(part) if isinstance(type_, t.RecordType) else None
        if field is None:
            return None
        type_ = field.type
    if not isinstance(type_, t.IntType):
        return None
    lo, hi = type_.lo, type_.hi
    if lo is None and hi is None:  # no declared range decides anything (nor costs a table)
        return None
    holds = {  # (always true, always false) for `x op value` with lo <= x <= hi
        Op.LT: (hi is not None and hi < value, lo is not None and lo >= value),
        Op.LE: (hi is not None and hi <= value, lo is not None and lo > value),
        Op.GT: (lo is not None and lo > value, hi is not None and hi <= value),
        Op.GE: (lo is not None and lo >= value, hi is not None and hi < value),
        Op.EQ: (
            lo == hi == value,
            (lo is not None and value < lo) or (hi is not None and value > hi),
        ),
        Op.NE: (
            (lo is not None and value < lo) or (hi is not None and value > hi),
            lo == hi == value,
        ),
    }[op]
    return "true" if holds[0] else "false" if holds[1] else None


# ---- shadowed rules ---------------------------------------------------------------------------


def _shadowed(policy: model.CheckedPolicy, lowered: ir.Lowered) -> list[Diagnostic]:
    """A rule whose tests include all of a stronger rule's: when it fires, the stronger one does
    too, so it never decides (its obligations never apply)."""
    rank = {e: i for i, e in enumerate(lowered.effects)}
    by_tests: dict[frozenset[Any], list[ir.RuleInfo]] = {}
    conditions = [(lowered.rules[b], frozenset(tests)) for b, tests in lowered.conditions]
    for info, tests in conditions:
        by_tests.setdefault(tests, []).append(info)
    by_tests.setdefault(frozenset(), []).extend(lowered.rules[b] for b in lowered.always)
    spans = {r.id: r.span for r in policy.rules}
    sizes = {len(tests) for tests, infos in by_tests.items() if infos}  # of a subset to look for
    found = []
    for info, tests in conditions:
        if len(tests) > MAX_SUBSET_TESTS:
            continue
        stronger = None
        for size in range(len(tests)):  # a proper subset: equal tests are W202's business
            if size not in sizes:
                continue
            for subset in itertools.combinations(tests, size):
                for other in by_tests.get(frozenset(subset), ()):
                    if rank[other.effect] < rank[info.effect]:
                        stronger = other
                        break
                if stronger:
                    break
            if stronger:
                break
        if stronger is not None:
            found.append(
                _warn(
                    Code.SHADOWED_RULE,
                    f"rule `{info.id}` ({info.effect}) never decides: whenever it fires, "
                    f"`{stronger.id}` ({stronger.effect}) fires too",
                    spans.get(info.id),
                    f"`{stronger.effect}` always wins; narrow `{stronger.id}` or drop this rule",
                )
            )
    return found


# ---- what a policy says about its own warnings -----------------------------------------------


def settle(files: Sequence[nodes.PolicyFile], found: list[Diagnostic]) -> list[Diagnostic]:
    """Drop W101/W102 unless the policy says `require cite`/`require reason`, and each warning a
    rule silences (`silence CODE "why"`, inside that rule, and in the rows of its table); a
    `silence` of a code that is no warning, or without a reason, is error P331."""
    required = {
        w for f in files for d in f.decls if isinstance(d, nodes.RequireDecl) for w in d.words
    }
    silences: list[tuple[Span, str]] = []
    errors = []
    tables = {d.name.name: d for f in files for d in f.decls if isinstance(d, nodes.TableDecl)}
    for decl in (d for f in files for d in f.decls if isinstance(d, nodes.RuleDecl)):
        for clause in decl.clauses:
            if not isinstance(clause, nodes.SilenceClause) or decl.span is None:
                continue
            code = clause.code.name
            known = next((c for c in REGISTRY if c.value == code), None)
            if known is None or REGISTRY[known].severity != "warning" or not clause.reason.strip():
                errors.append(
                    Diagnostic(
                        Code.BAD_SILENCE,
                        f"`silence {code}` needs a warning's code and a reason"
                        if known is None or REGISTRY[known].severity != "warning"
                        else f"`silence {code}` gives no reason",
                        clause.span,
                        help='write `silence W202 "why this is intended"`',
                    )
                )
                continue
            silences.append((decl.span, code))
            table = tables.get(decl.table.name) if decl.table is not None else None
            if table is not None:  # a warning of one of its rows points at the row, maybe in
                silences.extend((where, code) for where in _rows_at(table))  # a data file
    kept = []
    for d in found:
        if d.code == Code.NO_CITATION and "cite" not in required:
            continue
        if d.code == Code.NO_REASON and "reason" not in required:
            continue
        if d.severity == "warning" and d.span is not None and _silenced(d, silences):
            continue
        kept.append(d)
    return kept + errors


def _rows_at(table: nodes.TableDecl) -> list[Span]:
    """Where a table's rows are: the stretch of text from its first row to its last (rows are in
    order, in one source: the table's, or its data file), so one span covers 10,000 rows."""
    rows = [row.span for row in table.rows if row.span is not None]
    return [Span(rows[0].source, rows[0].start, rows[-1].end)] if rows else []


def _silenced(d: Diagnostic, silences: list[tuple[Span, str]]) -> bool:
    span = d.span
    assert span is not None
    return any(
        code == d.code and where.source is span.source and where.start <= span.start < where.end
        for where, code in silences
    )
