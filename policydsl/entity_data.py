"""Entity data: read once, validated against the policy's `entity` declarations, hierarchy closed.

The data is Cedar's JSON entity format, a list of
`{"uid": {"type": "User", "id": "alice"}, "attrs": {...}, "parents": [{"type": "Team", ...}]}`,
so the data a Cedar user already has loads as it is. Attributes are checked as a request's are
(closed records, types, ranges, defaults); a reference is an id (`"bob"`, or Cedar's
`{"__entity": {"type": "User", "id": "bob"}}`) and must name an entity the data holds, or one of
a type that declares no attributes (a group known only by its id, made when first named). A
parent must be of a type its entity declares (`entity User in [Team]`). Errors name the entity
and the attribute: `User::"alice": `manager`: no User 'bob' in the entity data`.

Each entity's ancestors (itself, its parents, theirs, ...) are computed here, once, so that a
decision's `principal in Team::"eng"` is one set lookup. Costs are bounded: at most
`MAX_ENTITIES` entities, and `MAX_ANCESTRY` uids in all their distinct group sets; a cycle of
parents is an error naming it.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from policydsl import context
from policydsl import typesys as t
from policydsl.context import ContextError, show_value
from policydsl.entities import NO_GROUPS, Entity, EntityStore, uid_text

MAX_ENTITIES = 2_000_000
MAX_ANCESTRY = 50_000_000  # uids held by the distinct group sets, together
MAX_DATA_BYTES = 2**31  # a file of entity data
_ITEM_KEYS = frozenset(("uid", "attrs", "parents"))


class EntityDataError(ValueError):
    """Entity data that breaks the declarations; `entity` is the uid at fault ("" when the
    data as a whole is), `attribute` the attribute."""

    def __init__(self, entity: str, attribute: str, message: str):
        self.entity = entity
        self.attribute = attribute
        where = f"{entity}: " if entity else ""
        where += f"`{attribute}`: " if attribute else ""
        super().__init__(f"invalid entity data: {where}{message}")


def load_file(types: Mapping[str, t.EntityType], path: str | Path) -> EntityStore:
    """The store of a JSON file of entity data (`load`); duplicate keys are refused."""
    from policydsl import strict_json

    file = Path(path)
    try:
        if file.stat().st_size > MAX_DATA_BYTES:
            raise EntityDataError("", "", f"{file} is larger than {MAX_DATA_BYTES:,} bytes")
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise EntityDataError("", "", f"cannot read {file}: {err}") from None
    try:
        data = strict_json.loads(text)
    except ValueError as err:
        raise EntityDataError("", "", f"{file} is not valid JSON: {err}") from None
    return load(types, data)


def load(types: Mapping[str, t.EntityType], data: Any) -> EntityStore:
    """A store of `data` (a list of entities in Cedar's JSON format), validated."""
    if not isinstance(data, list | tuple):
        raise EntityDataError("", "", f"entity data is a list of entities, not {show_value(data)}")
    if len(data) > MAX_ENTITIES:
        raise EntityDataError("", "", f"{len(data):,} entities; the limit is {MAX_ENTITIES:,}")
    # The load makes a few objects per entity and frees none: the cyclic collector would run
    # every few hundred allocations and walk the ever larger heap, a third of the load's time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        loader = _Loader(types)
        listed = [loader.declare(i, item) for i, item in enumerate(data)]
        for entity, attributes, parents in listed:
            loader.fill(entity, attributes, parents)
        loader.close_hierarchy()
        return EntityStore(loader.by_type, declared(types))
    finally:
        if collecting:
            gc.enable()


def _entity(type_name: str, entity_id: str) -> Entity:
    """`Entity(type_name, entity_id)`, made without `json.dumps`'s set-up per call: the uid's
    quoted id is `encode_basestring`, what `json.dumps(..., ensure_ascii=False)` returns for a
    string (a third of the load's time went to building encoders)."""
    entity = Entity.__new__(Entity)
    entity.type = type_name
    entity.id = entity_id
    entity.uid = f"{type_name}::{encode_basestring(entity_id)}"
    entity.groups = NO_GROUPS
    return entity


def _is_mapping(value: Any) -> bool:
    return value.__class__ is dict or isinstance(value, Mapping)


def _is_uid(value: Any) -> bool:
    """`value` is a mapping of exactly the keys `type` and `id`."""
    if value.__class__ is dict:
        return len(value) == 2 and "type" in value and "id" in value
    return isinstance(value, Mapping) and set(value) == {"type", "id"}


def declared(types: Mapping[str, t.EntityType]) -> dict[str, Any]:
    """What entity data is validated against: each type's attributes and its parents' types."""
    return {name: (_shape(type_.record), type_.parents) for name, type_ in types.items()}


def _shape(type_: t.Type) -> Any:
    """A type's whole structure, to compare (types compare by their name or kind alone)."""
    match type_:
        case t.RecordType(fields=fields):
            return tuple((f.name, _shape(f.type), f.optional) for f in fields)
        case t.EntityType(name=name):
            return ("entity", name)  # its attributes are compared under its own name
        case t.CollectionType(kind=kind, element=element, max_size=size):
            return (kind, _shape(element), size)
        case t.MapType(value=value, max_size=size):
            return ("map", _shape(value), size)
        case t.EnumType(name=name, members=members):
            return ("enum", name, members)
        case t.StringType(max_length=size):
            return ("string", size)
    return type_  # a scalar type compares by what it holds (an int's range)


def check_store(expected: dict[str, Any], store: EntityStore) -> None:
    """Refuse a store validated against other declarations than `expected` (`declared`):
    another policy's, or this one's before an edit, whose entities may lack attributes the
    policy reads, or be in groups of types it no longer declares."""
    if store.declared is not None and store.declared != expected:
        raise EntityDataError(
            "",
            "",
            "this store was validated against other entity declarations; load the data "
            "with this policy (`load_entities`, `entity_store`)",
        )


class _Loader:
    def __init__(self, types: Mapping[str, t.EntityType]) -> None:
        self.types = types
        self.by_type: dict[str, dict[str, Entity]] = {name: {} for name in types}
        self.parents: dict[str, tuple[Entity, list[Entity]]] = {}  # by uid
        # the groups of entities by their parents' uids: one set for all who share parents
        self.shared: dict[str | tuple[str, ...], frozenset[str]] = {}

    def declare(self, index: int, item: Any) -> tuple[Entity, Any, Any]:
        """The entity an item of the data lists (its attributes are read once all are known)."""
        where = f"entity {index}"
        if not _is_mapping(item):
            raise EntityDataError(where, "", f"expected an object, got {show_value(item)}")
        if not (item.__class__ is dict and item.keys() <= _ITEM_KEYS):
            extra = [k for k in item if k not in ("uid", "attrs", "parents")]
            if extra:
                raise EntityDataError(
                    where, "", f"unknown key {show_value(extra[0])}; expected uid, attrs, parents"
                )
        type_, entity_id = self.uid(item.get("uid"), where)
        known = self.by_type[type_.name]
        if entity_id in known:
            raise EntityDataError(uid_text(type_.name, entity_id), "", "is listed twice")
        entity = known[entity_id] = _entity(type_.name, entity_id)
        return entity, item.get("attrs"), item.get("parents")

    def uid(self, value: Any, where: str) -> tuple[t.EntityType, str]:
        if value.__class__ is dict and len(value) == 2:  # the common case, as JSON gives it
            type_name, entity_id = value.get("type"), value.get("id")
            if type_name.__class__ is str and entity_id.__class__ is str:
                found = self.types.get(type_name)
                if found is not None:
                    return found, entity_id
        if _is_mapping(value) and len(value) == 1 and "__entity" in value:
            value = value["__entity"]
        if not _is_uid(value):
            raise EntityDataError(
                where, "", f'a uid is {{"type": ..., "id": ...}}, not {show_value(value)}'
            )
        type_name, entity_id = value["type"], value["id"]
        if not isinstance(entity_id, str):
            raise EntityDataError(where, "", f"an id is a string, not {show_value(entity_id)}")
        if not isinstance(type_name, str):
            raise EntityDataError(where, "", f"a type is a string, not {show_value(type_name)}")
        if type_name not in self.types:
            from policydsl.diagnostics import did_you_mean

            hint = did_you_mean(str(type_name)[:100], list(self.types)) or "declare it: `entity T`"
            raise EntityDataError(where, "", f"unknown entity type {show_value(type_name)}; {hint}")
        return self.types[type_name], str.__str__(entity_id)

    def resolve(self, type_: t.EntityType, entity_id: str, path: str) -> Entity:
        """A reference's entity: one the data lists, or a group known by its id alone."""
        known = self.by_type[type_.name]
        found = known.get(entity_id)
        if found is not None:
            return found
        if type_.record.fields:
            raise ContextError(path, f"no {type_.name} {entity_id[:60]!r} in the entity data")
        found = known[entity_id] = _entity(type_.name, entity_id)
        return found

    def fill(self, entity: Entity, attributes: Any, parents: Any) -> None:
        type_ = self.types[entity.type]
        if attributes is not None or type_.record.fields:  # else nothing to check, nor to keep
            try:
                values = context.validate_value(
                    type_.record, {} if attributes is None else attributes, "", self.resolve
                )
            except ContextError as err:
                # the record's path starts with its separator: `.level` is the attribute `level`
                attribute = err.attribute.removeprefix(".")
                raise EntityDataError(entity.uid, attribute, err.detail) from None
            entity.update(values)
        if parents is None:
            return
        if not isinstance(parents, list | tuple):
            raise EntityDataError(entity.uid, "", f"parents is a list, not {show_value(parents)}")
        found: list[Entity] = []
        self.parents[entity.uid] = (entity, found)
        for parent in parents:
            parent_type, parent_id = self.uid(parent, entity.uid)
            if parent_type.name not in type_.parents:
                allowed = ", ".join(type_.parents) or "none"
                raise EntityDataError(
                    entity.uid,
                    "",
                    f"a {entity.type} cannot be in a {parent_type.name} (its parents' types: "
                    f"{allowed})",
                )
            try:
                found.append(self.resolve(parent_type, parent_id, "parents"))
            except ContextError as err:
                raise EntityDataError(entity.uid, "parents", err.detail) from None

    def close_hierarchy(self) -> None:
        """Every entity's ancestors, each set computed once from its parents' (depth first,
        without recursion, so a hierarchy a million levels deep costs no stack). Entities are
        keyed by uid: a string's hash is cached, an entity's `__hash__` is a call."""
        parents_of = self.parents
        done: set[str] = set()
        total = 0
        for start_uid, (start, start_parents) in list(parents_of.items()):
            if start_uid in done:
                continue
            # most entities' parents are closed already (or have no parents): no walk needed
            ready = True
            for parent in start_parents:
                if parent.uid not in done and parent.uid in parents_of:
                    ready = False
                    break
            if ready:
                total += self._closed(start, start_parents, done)
                if total > MAX_ANCESTRY:
                    raise _too_many_links()
                continue
            stack: list[tuple[Entity, list[Entity], int]] = [(start, start_parents, 0)]
            on_path = {start_uid}
            while stack:
                entity, parents, next_parent = stack[-1]
                if next_parent < len(parents):
                    stack[-1] = (entity, parents, next_parent + 1)
                    parent = parents[next_parent]
                    key = parent.uid
                    if key in on_path:
                        path = [e for e, _, _ in stack]
                        cycle = [e.uid for e in path[path.index(parent) :]]
                        shown = " in ".join([*cycle, parent.uid])
                        raise EntityDataError(parent.uid, "", f"is its own ancestor: {shown}")
                    if key not in done:
                        listed = parents_of.get(key)
                        if listed is not None:
                            stack.append((parent, listed[1], 0))
                            on_path.add(key)
                    continue
                stack.pop()
                on_path.discard(entity.uid)
                total += self._closed(entity, parents, done)
                if total > MAX_ANCESTRY:
                    raise _too_many_links()

    def _closed(self, entity: Entity, parents: list[Entity], done: set[str]) -> int:
        """Set the groups of an entity whose parents' are known: the set entities with the same
        parents share, made the first time; the uids it holds when it is new (else none)."""
        done.add(entity.uid)
        if not parents:
            return 0
        key = tuple(p.uid for p in parents) if len(parents) > 1 else parents[0].uid
        found = self.shared.get(key)
        if found is not None:
            entity.groups = found
            return 0
        merged = {p.uid for p in parents}
        for parent in parents:
            merged.update(parent.groups)
        entity.groups = self.shared[key] = frozenset(merged)
        return len(merged)


def _too_many_links() -> EntityDataError:
    return EntityDataError("", "", f"the hierarchy holds more than {MAX_ANCESTRY:,} ancestor links")
