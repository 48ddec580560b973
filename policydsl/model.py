"""The checked policy: names resolved, types known, table rules expanded, metadata constant.

Its expressions (`checked_exprs`, re-exported here) are syntax nodes whose leaves the checker
replaced by resolved references (`Attr`, `DefRef`, `Const`, ...). Both the reference
interpreter and the lowering read this model.
"""

from __future__ import annotations

from typing import Any

import attrs

from policydsl import nodes
from policydsl.checked_exprs import (
    NOT_CONST as NOT_CONST,
)
from policydsl.checked_exprs import (
    Ancestors as Ancestors,
)
from policydsl.checked_exprs import (
    Attr as Attr,
)
from policydsl.checked_exprs import (
    Const as Const,
)
from policydsl.checked_exprs import (
    DefRef as DefRef,
)
from policydsl.checked_exprs import (
    Expr as Expr,
)
from policydsl.checked_exprs import (
    FieldOf as FieldOf,
)
from policydsl.checked_exprs import (
    FieldPresent as FieldPresent,
)
from policydsl.checked_exprs import (
    Local as Local,
)
from policydsl.checked_exprs import (
    MapGet as MapGet,
)
from policydsl.checked_exprs import (
    MapHas as MapHas,
)
from policydsl.checked_exprs import (
    MapView as MapView,
)
from policydsl.checked_exprs import (
    Outcome as Outcome,
)
from policydsl.checked_exprs import (
    Present as Present,
)
from policydsl.checked_exprs import (
    RowsWhere as RowsWhere,
)
from policydsl.checked_exprs import (
    SetOf as SetOf,
)
from policydsl.checked_exprs import (
    Size as Size,
)
from policydsl.checked_exprs import (
    TimeCall as TimeCall,
)
from policydsl.checked_exprs import (
    Uids as Uids,
)
from policydsl.checked_exprs import (
    _span,
)
from policydsl.checked_exprs import (
    children as children,
)
from policydsl.checked_exprs import (
    const_value as const_value,
)
from policydsl.checked_exprs import (
    map_children as map_children,
)
from policydsl.reprs import Repr
from policydsl.source import Span
from policydsl.typesys import EntityType, EnumType, RecordType, Type


@attrs.frozen(repr=False)
class Message(Repr):
    """A reason that shows values of the request: its text between them (`str` parts) and the
    expressions whose values it shows, definitions written out. `witnesses` are the top-level
    `some` tests of the rule's condition whose variable a part reads: each binds its variable to
    the first element for which its body holds."""

    parts: tuple[str | Expr, ...]
    witnesses: tuple[nodes.Quantifier[Expr], ...] = ()


@attrs.frozen(repr=False)
class Rule(Repr):
    """One rule as decided: a table rule yields one of these per row. `reason` is the rule's
    reason as written (table cells in place); `message`, when the reason shows request values,
    says how to render it for each decision."""

    id: str
    effect: str
    condition: Expr
    cite: tuple[str, ...]
    reason: str
    obligations: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    annotations: tuple[tuple[str, Any], ...] = ()
    span: Span | None = _span()
    message: Message | None = None

    def annotation(self, name: str, default: Any = None) -> Any:
        return dict(self.annotations).get(name, default)


@attrs.frozen(repr=False)
class Definition(Repr):
    name: str
    expr: Expr
    type: Type
    uses_outcome: bool
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Output(Repr):
    name: str
    type: Type
    cases: tuple[tuple[Expr | None, Expr], ...]  # (condition or None for `otherwise`, value)
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Monotone(Repr):
    """`ensure monotone(OUT, ATTR)`: with every other attribute equal, a larger `ATTR` never
    gives `OUT` (an enum output, or `decision` by effect strength) an earlier member."""

    output: str
    attribute: tuple[str, ...]
    span: Span | None = _span()


@attrs.frozen(repr=False)
class Property(Repr):
    """`property NAME { when PREMISE ensure CLAIM }`: a claim over the decision of every request
    that meets the premise (a request-only expression); what `policyc verify` proves."""

    name: str
    premise: Expr | None
    claim: Expr | Monotone
    span: Span | None = _span()


@attrs.frozen(repr=False)
class CheckedPolicy(Repr):
    schema: RecordType
    enums: dict[str, EnumType]
    effects: tuple[str, ...]  # strongest first
    default_effect: str
    effect_type: EnumType
    rule_type: RecordType  # the type of each element of `fired`
    annotations: dict[str, Type]
    obligations: tuple[str, ...]
    definitions: dict[str, Definition]
    rules: tuple[Rule, ...]
    outputs: tuple[Output, ...]
    refuse_effect: str | None = None  # `refuse EFFECT`: what fail-closed mode answers
    properties: tuple[Property, ...] = ()  # checked by `policyc verify`, never by deciding
    effects_span: Span | None = _span()  # the `effects` declaration, where `refuse` belongs
    version: str | None = None  # `version "..."`: the author's name for this version
    entities: dict[str, EntityType] = attrs.field(factory=dict)  # the declared entity types

    def rank(self, effect: str) -> int:
        """Lower is stronger."""
        return self.effects.index(effect)
