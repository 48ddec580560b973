"""Checking what is said of entities: literals (`Team::"eng"`) and hierarchy membership.

`e in g` for an entity `e` is membership in the hierarchy, as in Cedar: it holds when `e` is `g`
or `g` is one of its ancestors; with a set or list of entities on the right, when that holds for
any of them. It is checked into a lookup of the group's uid in the entity's ancestors (computed
when the data was loaded), which the index keys on the group a rule names.
"""

from __future__ import annotations

from typing import Any

from policydsl import nodes
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.diagnostics import did_you_mean
from policydsl.entities import Entity
from policydsl.model import Ancestors, Const, Uids
from policydsl.operators import Op
from policydsl.typed import Typed


def literal(checker: Any, e: nodes.EntityLit) -> Typed:
    """`Team::"eng"`: an entity of a declared type, known by its id (the store need not hold
    it: membership in a group nobody is in is false)."""
    entity_type = checker.env.entities.get(e.type.name)
    if entity_type is None:
        checker.error(
            Code.BAD_ENTITY_TYPE,
            f"unknown entity type `{e.type.name}`",
            e.span,
            help=did_you_mean(e.type.name, checker.env.entities)
            or f"declare it: `entity {e.type.name}`",
        )
        return Typed(Const(None, span=e.span), t.ANY)
    literal_type = entity_type.as_literal()
    return Typed(Const(Entity(e.type.name, e.id), type=literal_type, span=e.span), literal_type)


def literal_type(type_: t.Type) -> t.Type:
    """A table column's type as its cells give it: entities written in the policy."""
    if isinstance(type_, t.EntityType):
        return type_.as_literal()
    if isinstance(type_, t.CollectionType) and isinstance(type_.element, t.EntityType):
        return t.CollectionType(type_.kind, type_.element.as_literal(), type_.max_size)
    return type_


def no_attributes(checker: Any, type_: t.EntityType, dotted: str, span: Any) -> None:
    """P349: an attribute read from an entity the policy names, which the data may not hold."""
    checker.error(
        Code.LITERAL_ENTITY,
        f"`{dotted}` is an entity written in the policy, known by its id alone",
        span,
        help=f"compare it (`principal == {dotted}`), or read the {type_.name} a request names",
    )


def is_membership(element: t.Type, collection: t.Type) -> bool:
    """Whether `element in collection` is hierarchy membership (either side an entity)."""
    return isinstance(element, t.EntityType) or isinstance(collection, t.EntityType)


def membership(checker: Any, e: nodes.In[Any], element: Typed, collection: Typed) -> Typed:
    """`e in g`, `e in [g, h]`, `e in resource.readers`: the model's lookup in `Ancestors`."""
    ctype = collection.type
    many = isinstance(ctype, t.CollectionType)
    group = t.element_of(ctype) if many else ctype
    if not isinstance(element.type, t.EntityType) or not isinstance(
        group, t.EntityType | t.AnyType | t.NothingType
    ):
        bad = element.type if not isinstance(element.type, t.EntityType) else ctype
        checker.error(
            Code.NOT_AN_ENTITY,
            f"`in` a hierarchy relates an entity to an entity or a set of entities, not {bad}",
            e.span,
            help='`principal in Team::"eng"`, `resource in principal.folders`',
        )
        return Typed(Const(False, span=e.span), t.BOOL)
    if element.type.literal:
        checker.error(
            Code.LITERAL_ENTITY,
            "an entity written in the policy is in nothing but itself",
            e.span,
            help='test an entity the request names: `principal in Team::"eng"`',
        )
        return Typed(Const(False, span=e.span), t.BOOL)
    ancestors = Ancestors(element.expr, span=e.span)
    test: Any
    if many:
        uids = Uids(collection.expr, True, span=e.span)
        test = nodes.SetTest(Op.CONTAINS_ANY, ancestors, uids, span=e.span)
    else:
        test = nodes.In(Uids(collection.expr, False, span=e.span), ancestors, False, span=e.span)
    return Typed(nodes.Not(test, span=e.span) if e.negated else test, t.BOOL)


def listed_groups(checker: Any, e: nodes.In[Any], scope: Any, facts: Any) -> Typed | None:
    """`e in [Team::"a", Org::"b"]`: groups of several types listed (a list of one type
    elsewhere); None when the list is not all entities written in the policy."""
    items = e.collection.items if isinstance(e.collection, nodes.ListLit) else ()
    if not items or not all(isinstance(i, nodes.EntityLit) for i in items):
        return None
    element = checker.expr(e.element, scope, facts, None)
    typed = [literal(checker, i) for i in items]
    entities = tuple(x.expr.value for x in typed if isinstance(x.expr.value, Entity))
    if len(entities) < len(typed):  # an unknown type, reported
        return Typed(Const(False, span=e.span), t.BOOL)
    listed = Const(entities, span=e.collection.span)
    return membership(checker, e, element, Typed(listed, t.CollectionType("list", typed[0].type)))
