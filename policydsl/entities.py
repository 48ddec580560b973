"""Entities at run time: an entity with its attributes and ancestors, and a store of them.

A request names an entity by its id; validation replaces the id by the `Entity` the store holds,
so every read after that is a dict lookup (`principal.manager.level`), and hierarchy membership
(`principal in Team::"eng"`) one set lookup in its `groups`, computed when the store was loaded.
Entities compare and hash by their uid (type and id), never by their attributes: two requests
naming the same user name the same entity, and a cycle of references (a manager's manager) is
never walked.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from typing import Any


def uid_text(type_name: str, entity_id: str) -> str:
    """An entity's uid as the policy writes it: `Team::"eng"` (the id quoted as JSON)."""
    return f"{type_name}::{json.dumps(entity_id, ensure_ascii=False)}"


NO_GROUPS: frozenset[str] = frozenset()


class Entity(dict[str, Any]):
    """One entity: its attributes are the dict's items; `groups` holds the uids of every group
    it is in, directly or not. Entities with the same parents share one `groups` set (the
    members of a team share their team's), so a store holds a set per distinct place in the
    hierarchy, not per entity; `ancestors` adds the entity itself."""

    __slots__ = ("groups", "id", "type", "uid")

    def __init__(self, type_name: str, entity_id: str) -> None:
        super().__init__()
        self.type = type_name
        self.id = entity_id
        self.uid = uid_text(type_name, entity_id)
        self.groups: frozenset[str] = NO_GROUPS

    @property
    def ancestors(self) -> frozenset[str]:
        """The uids of the entity and of every group it is in: what `e in g` looks `g` up in
        (made for each call; the compiled code reads `uid` and `groups` instead)."""
        return self.groups | {self.uid}

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Entity and other.uid == self.uid

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self.uid)

    def __repr__(self) -> str:
        return self.uid

    def __reduce__(self) -> Any:
        """Pickle the entity, its groups and its attributes (references as entities: the
        pickle's memo keeps a cycle of references one cycle)."""
        return (_rebuilt, (self.type, self.id, self.groups), None, None, iter(self.items()))


def _rebuilt(type_name: str, entity_id: str, groups: frozenset[str]) -> Entity:
    entity = Entity(type_name, entity_id)
    entity.groups = groups
    return entity


class EntityStore:
    """The entities a policy reads, by type and id. Made by `entity_data.load`, which validated
    them against the policy's declarations (`declared`, which a policy compares with its own
    before deciding with the store); never changed after (a new store replaces it)."""

    __slots__ = ("by_type", "count", "declared", "token")

    def __init__(
        self,
        by_type: Mapping[str, Mapping[str, Entity]],
        declared: object = None,
        token: str | None = None,
    ) -> None:
        self.by_type: dict[str, dict[str, Entity]] = {k: dict(v) for k, v in by_type.items()}
        self.count = sum(len(v) for v in self.by_type.values())
        self.declared = declared  # None: any declarations (the empty store)
        # the store's identity, kept by its pickles: a worker unpickling the same store again
        # (a task per partition) finds the policy it built with it (`engine._rebuild`)
        self.token = token or os.urandom(16).hex()  # not `secrets`: its import costs a start-up ms

    def get(self, type_name: str, entity_id: str) -> Entity | None:
        found = self.by_type.get(type_name)
        return None if found is None else found.get(entity_id)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[Entity]:
        for entities in self.by_type.values():
            yield from entities.values()

    def __repr__(self) -> str:
        return f"<EntityStore of {self.count:,} entities>"

    def __reduce__(self) -> Any:
        """Pickle flat (a worker process of `policyc eval --batch --jobs` receives the store):
        each entity's type, id, groups and attributes, a reference within them as its type
        and id (`_Ref`). Pickling entity by entity would follow references one inside the
        other, and a chain of a thousand managers passes Python's recursion limit."""
        flat = [(e.type, e.id, e.groups, _flat(dict(e))) for e in self]
        return (_store_of, (flat, self.declared, self.token))


class _Ref(tuple[str, str]):
    """A reference in a pickled store: the (type, id) of the entity it names."""


def _rebuilt_within(value: Any, leaf: Callable[[Any], Any]) -> Any:
    """`value` with `leaf` applied to everything in it that is not a record, map, set or list
    (they nest as the declarations say, so this recursion is bounded by them)."""
    if value.__class__ is dict:
        return {k: _rebuilt_within(v, leaf) for k, v in value.items()}
    if value.__class__ is frozenset:
        return frozenset(_rebuilt_within(v, leaf) for v in value)
    if value.__class__ is tuple:
        return tuple(_rebuilt_within(v, leaf) for v in value)
    return leaf(value)


def _flat(value: Any) -> Any:
    """An attribute's value with each entity in it replaced by its `_Ref`."""
    return _rebuilt_within(value, lambda v: _Ref((v.type, v.id)) if v.__class__ is Entity else v)


def _store_of(
    flat: list[tuple[str, str, frozenset[str], Any]], declared: object, token: str
) -> EntityStore:
    """Unpickle a store: every entity made, then its attributes, references resolved."""
    by_type: dict[str, dict[str, Entity]] = {}
    for type_name, entity_id, groups, _ in flat:
        by_type.setdefault(type_name, {})[entity_id] = _rebuilt(type_name, entity_id, groups)

    def resolved(value: Any) -> Any:
        return _rebuilt_within(value, lambda v: by_type[v[0]][v[1]] if v.__class__ is _Ref else v)

    for type_name, entity_id, _, attributes in flat:
        by_type[type_name][entity_id].update(resolved(attributes))
    return EntityStore(by_type, declared, token)


EMPTY_STORE = EntityStore({})
