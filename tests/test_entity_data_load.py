"""Entity data through `Policy.load_entities`: uids, ancestors and error messages. The loader
takes shortcuts for data as JSON gives it (plain dicts and strings) and keeps the general path
for anything else; both must give the same store and the same messages."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import policydsl
from policydsl.entities import Entity
from policydsl.entity_data import EntityDataError

POLICY = """
entity Org
entity Team in [Team, Org]
entity User in [Team] {
  level: int
  manager: User?
}
context { principal: User }
effects deny > allow default deny
rule eng: allow { when principal in Team::"eng" }
"""


class Frozen(Mapping[str, Any]):
    """A mapping that is not a dict: the loader's general path."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        self._data = dict(data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def deep_frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return Frozen({k: deep_frozen(v) for k, v in value.items()})
    if isinstance(value, list):
        return [deep_frozen(v) for v in value]
    return value


@pytest.fixture(scope="module")
def policy() -> policydsl.Policy:
    return policydsl.loads(POLICY)


def team(name: str) -> dict[str, str]:
    return {"type": "Team", "id": name}


HIERARCHY = [
    {"uid": {"type": "User", "id": "ann"}, "attrs": {"level": 3}, "parents": [team("web")]},
    {"uid": team("web"), "parents": [team("eng"), {"__entity": team("design")}]},
    {"uid": team("eng"), "parents": [{"type": "Org", "id": "acme"}]},
    {"uid": {"type": "User", "id": "bob"}, "attrs": {"level": 1, "manager": "ann"}},
]


@pytest.mark.parametrize("shape", [lambda d: d, deep_frozen], ids=["dicts", "mappings"])
def test_ancestors_and_references(policy: policydsl.Policy, shape: Any) -> None:
    store = policy.entity_store(shape(HIERARCHY))
    ann = store.get("User", "ann")
    assert ann is not None
    assert ann.ancestors == {
        'User::"ann"',
        'Team::"web"',
        'Team::"eng"',
        'Team::"design"',
        'Org::"acme"',
    }
    bob = store.get("User", "bob")
    assert bob is not None and bob["manager"] is ann and bob.ancestors == {'User::"bob"'}
    assert store.get("Team", "design") is not None  # made when first named
    assert len(store) == 6


@pytest.mark.parametrize(
    "entity_id", ["plain", 'quo"te', "back\\slash", "new\nline", "tab\t", "é", "😀", "\x00", ""]
)
def test_uid_is_the_id_quoted_as_json(policy: policydsl.Policy, entity_id: str) -> None:
    store = policy.entity_store([{"uid": team(entity_id)}])
    found = store.get("Team", entity_id)
    assert found is not None
    expected = f"Team::{json.dumps(entity_id, ensure_ascii=False)}"
    assert found.uid == expected == Entity("Team", entity_id).uid
    assert found.ancestors == {expected} and found.type == "Team" and found.id == entity_id
    assert found == Entity("Team", entity_id) and hash(found) == hash(expected)


ERRORS = [
    (
        [{"uid": team("a"), "extra": 1}],
        "entity 0: unknown key string 'extra'; expected uid, attrs, parents",
    ),
    ([{"uid": {"type": "Team"}}], 'entity 0: a uid is {"type": ..., "id": ...}, not'),
    ([{"uid": {"type": "Team", "id": 3}}], "entity 0: an id is a string, not number 3"),
    (
        [{"uid": {"type": "Tem", "id": "a"}}],
        "entity 0: unknown entity type string 'Tem'; did you mean `Team`?",
    ),
    ([{"uid": team("a")}, {"uid": team("a")}], 'Team::"a": is listed twice'),
    ([{"uid": {"type": "User", "id": "u"}}], 'User::"u": `.?level`: is required'),
    (
        [{"uid": {"type": "User", "id": "u"}, "attrs": {"level": 1, "manager": "zed"}}],
        "User::\"u\": `.?manager`: no User 'zed' in the entity data",
    ),
    ([{"uid": team("a"), "parents": team("b")}], 'Team::"a": parents is a list, not'),
    (
        [{"uid": team("a"), "parents": [{"type": "User", "id": "u"}]}],
        'Team::"a": a Team cannot be in a User',
    ),
    (
        [{"uid": team("a"), "parents": [team("a")]}],
        'Team::"a": is its own ancestor: Team::"a" in Team::"a"',
    ),
    (
        [
            {"uid": team("a"), "parents": [team("b")]},
            {"uid": team("b"), "parents": [team("c")]},
            {"uid": team("c"), "parents": [team("a")]},
        ],
        'Team::"a": is its own ancestor: Team::"a" in Team::"b" in Team::"c" in Team::"a"',
    ),
]


@pytest.mark.parametrize("shape", [lambda d: d, deep_frozen], ids=["dicts", "mappings"])
@pytest.mark.parametrize(("data", "message"), ERRORS)
def test_errors_name_the_entity(
    policy: policydsl.Policy, shape: Any, data: list[Any], message: str
) -> None:
    with pytest.raises(EntityDataError) as caught:
        policy.entity_store(shape(data))
    # `.?`: the attribute is named with a leading dot today (`.level`), not as documented
    pattern = re.escape("invalid entity data: " + message).replace(re.escape(".?"), r"\.?")
    assert re.match(pattern, str(caught.value)), str(caught.value)
