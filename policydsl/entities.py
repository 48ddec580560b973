"""Entities at run time: an entity with its attributes and ancestors, and a store of them.

A request names an entity by its id; validation replaces the id by the `Entity` the store holds,
so every read after that is a dict lookup (`principal.manager.level`), and hierarchy membership
(`principal in Team::"eng"`) one set lookup in `ancestors`, computed when the store was loaded.
Entities compare and hash by their uid (type and id), never by their attributes: two requests
naming the same user name the same entity, and a cycle of references (a manager's manager) is
never walked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any


def uid_text(type_name: str, entity_id: str) -> str:
    """An entity's uid as the policy writes it: `Team::"eng"` (the id quoted as JSON)."""
    return f"{type_name}::{json.dumps(entity_id, ensure_ascii=False)}"


class Entity(dict[str, Any]):
    """One entity: its attributes are the dict's items; `ancestors` holds the uids of the
    entity itself and of every group it is in, directly or not."""

    __slots__ = ("ancestors", "id", "type", "uid")

    def __init__(self, type_name: str, entity_id: str) -> None:
        super().__init__()
        self.type = type_name
        self.id = entity_id
        self.uid = uid_text(type_name, entity_id)
        self.ancestors: frozenset[str] = frozenset((self.uid,))

    def __eq__(self, other: object) -> bool:
        return other.__class__ is Entity and other.uid == self.uid

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self.uid)

    def __repr__(self) -> str:
        return self.uid

    def __reduce__(self) -> Any:
        """Pickle the entity, its ancestors and its attributes (references as entities: the
        pickle's memo keeps a cycle of references one cycle)."""
        return (_rebuilt, (self.type, self.id, self.ancestors), None, None, iter(self.items()))


def _rebuilt(type_name: str, entity_id: str, ancestors: frozenset[str]) -> Entity:
    entity = Entity(type_name, entity_id)
    entity.ancestors = ancestors
    return entity


class EntityStore:
    """The entities a policy reads, by type and id. Made by `entity_data.load`, which validated
    them against the policy's declarations (`declared`, which a policy compares with its own
    before deciding with the store); never changed after (a new store replaces it)."""

    __slots__ = ("by_type", "count", "declared")

    def __init__(
        self, by_type: Mapping[str, Mapping[str, Entity]], declared: object = None
    ) -> None:
        self.by_type: dict[str, dict[str, Entity]] = {k: dict(v) for k, v in by_type.items()}
        self.count = sum(len(v) for v in self.by_type.values())
        self.declared = declared  # None: any declarations (the empty store)

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


EMPTY_STORE = EntityStore({})
