"""The schema environment: what a policy set's declarations say, fixed before any expression is
checked against it.

The checker builds it from the declarations (enums and effects first, then the context schema,
annotations, obligations, definitions' and tables' names) and hands it to the expression checker,
which only reads it.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

from policydsl import nodes
from policydsl import typesys as t
from policydsl.source import Span

_NO_EFFECTS = t.EnumType("effect", ())
_EMPTY_CONTEXT = t.RecordType("context", ())
_NO_RULE_FIELDS = t.RecordType("rule", ())


def _read_only(mapping: Mapping[str, Any]) -> Mapping[str, Any]:
    """A copy nobody can change: the environment is shared by every check that reads it."""
    return MappingProxyType(dict(mapping))


@attrs.frozen(kw_only=True)
class Environment:
    enums: Mapping[str, t.EnumType] = attrs.field(factory=dict, converter=_read_only)
    entities: Mapping[str, t.EntityType] = attrs.field(factory=dict, converter=_read_only)
    effect_type: t.EnumType = _NO_EFFECTS
    schema: t.RecordType = _EMPTY_CONTEXT
    rule_type: t.RecordType = _NO_RULE_FIELDS  # the type of each element of `fired`
    annotations: Mapping[str, t.Type] = attrs.field(factory=dict, converter=_read_only)
    obligations: frozenset[str] = frozenset()
    def_decls: Mapping[str, nodes.DefDecl] = attrs.field(factory=dict, converter=_read_only)
    tables: Mapping[str, nodes.TableDecl] = attrs.field(factory=dict, converter=_read_only)
    # every name an expression can mean besides its locals: what it is, where it is declared
    global_names: Mapping[str, tuple[str, Span | None]] = attrs.field(
        factory=dict, converter=_read_only
    )


def rule_type(effect_type: t.EnumType, annotations: Mapping[str, t.Type]) -> t.RecordType:
    """The type of each element of `fired`: a rule's id, effect, citations, tags, annotations."""
    return t.RecordType(
        "rule",
        (
            t.FieldType("id", t.STRING),
            t.FieldType("effect", effect_type),
            t.FieldType("cite", t.CollectionType("set", t.STRING)),
            t.FieldType("tags", t.CollectionType("set", t.STRING)),
            *(t.FieldType(n, ty, optional=True) for n, ty in annotations.items()),
        ),
    )
