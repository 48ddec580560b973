"""Entity declarations: `entity User in [Team, Org] { department: string  manager: User? }`.

Declared in two steps, because an entity's attributes may name any entity type, its own
included: first every entity type's name (so that types can refer to each other), then, with the
names known, each one's attributes and the types its parents may have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from policydsl import nodes
from policydsl import typesys as t
from policydsl.codes import Code
from policydsl.diagnostics import did_you_mean
from policydsl.entities import Entity
from policydsl.source import Span
from policydsl.typecheck import BUILTIN_TYPES, ExprChecker


def declare(
    exprs: ExprChecker, decls: list[nodes.EntityDecl], enums: Mapping[str, t.EnumType]
) -> dict[str, t.EntityType]:
    """Every entity type, by name, before any of them is read."""
    entities: dict[str, t.EntityType] = {}
    for d in decls:
        name = d.name.name
        if name in BUILTIN_TYPES or name in enums or name in entities:
            what = "a built-in type" if name in BUILTIN_TYPES else "declared twice"
            exprs.error(Code.DECLARED_TWICE, f"`{name}` is {what}", d.name.span)
            continue
        entities[name] = t.EntityType(name)
    return entities


def complete(
    exprs: ExprChecker,
    decls: list[nodes.EntityDecl],
    entities: Mapping[str, t.EntityType],
    record: Callable[[str, Iterable[nodes.Field]], t.RecordType],
) -> None:
    """Each entity type's attributes (checked as a context record's are) and parents."""
    for d in decls:
        entity = entities.get(d.name.name)
        if entity is None or entity.record.name != "entity":  # a clash, reported already
            continue
        parents: list[str] = []
        for parent in d.parents:
            if parent.name not in entities:
                exprs.error(
                    Code.BAD_ENTITY_TYPE,
                    f"`{parent.name}` is not an entity type",
                    parent.span,
                    help=did_you_mean(parent.name, entities)
                    or f"declare it: `entity {parent.name}`",
                )
            elif parent.name not in parents:
                parents.append(parent.name)
        entity.declare(record(d.name.name, d.fields), tuple(parents))


def check_default(exprs: ExprChecker, path: str, default: Any, span: Span | None) -> None:
    """A default that names an entity is refused: a literal is known by its id alone, without
    the attributes and groups the entity data gives it, so a request left to the default would
    read attributes it does not have."""
    values = default if isinstance(default, tuple | frozenset) else (default,)
    if any(v.__class__ is Entity for v in values):
        exprs.error(
            Code.NOT_CONSTANT,
            f"the default of `{path}` names an entity: its attributes and groups come from the "
            "entity data",
            span,
            help="drop the default: the request names the entity (an empty set is a fine default)",
        )
