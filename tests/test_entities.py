"""Entities through the public API, on every backend: hierarchy membership, equality, reads
through references, the entity data's validation, requests naming entities, swapping stores,
`decide_with`, fail-closed refusals, pickling, the checker's diagnostics and the IR dump."""

from __future__ import annotations

import json
import pickle
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import policydsl
from policydsl.diagnostics import PolicyError
from policydsl.entity_data import EntityDataError

POLICY = """\
effects deny > allow default deny refuse deny
entity Org
entity Team in [Team, Org]
entity User in [Team, Org] {
  dept: string
  level: int
  manager: User?
  addr: {city: string  zip: int?}
  friends: set<User> = []
}
entity Repo in Org { owner: User  readers: set<Team> = [] }
context { principal: User  resource: Repo  viewers: set<User> = []  team: Team? }
rule in_eng: allow { when principal in Team::"eng" }
rule in_acme: allow { when principal in Org::"acme" }
rule in_list: allow { when principal in [Team::"design", Team::"guild"] }
rule in_readers: allow { when principal in resource.readers }
rule not_eng: allow { when principal not in Team::"eng" }
rule self_in: allow { when principal in User::"alice" }
rule is_alice: allow { when principal == User::"alice" }
rule not_alice: allow { when principal != User::"alice" }
rule owner: allow { when resource.owner == principal }
rule mgr_level: allow { when has principal.manager and principal.manager.level >= 5 }
rule grand_mgr: allow {
  when has principal.manager and has principal.manager.manager
   and principal.manager.manager.dept == "eng"
}
rule owner_mgr: allow { when has resource.owner.manager and resource.owner.manager == principal }
rule city: allow { when principal.addr.city == "paris" }
rule zip: allow { when has principal.addr.zip and principal.addr.zip > 100 }
rule some_viewer: allow { when some v in viewers: v.level > 6 }
rule all_viewers: allow { when all v in viewers: v in Team::"eng" }
rule friend_owns: allow { when some f in principal.friends: f == resource.owner }
rule reader_eng: allow { when some t in resource.readers: t in Team::"platform" }
rule repo_acme: allow { when resource in Org::"acme" }
rule team_platform: allow { when has team and team in Team::"platform" }
"""


def _uid(type_name: str, entity_id: str) -> dict[str, str]:
    return {"type": type_name, "id": entity_id}


def _user(name: str, parents: list[tuple[str, str]], **attrs: Any) -> dict[str, Any]:
    return {
        "uid": _uid("User", name),
        "attrs": attrs,
        "parents": [_uid(t, i) for t, i in parents],
    }


# infra -> eng -> platform -> Org acme: alice is four levels below acme, and in guild too
DATA: list[dict[str, Any]] = [
    {"uid": _uid("Org", "acme")},
    {"uid": _uid("Team", "platform"), "parents": [_uid("Org", "acme")]},
    {"uid": _uid("Team", "eng"), "parents": [_uid("Team", "platform")]},
    {"uid": _uid("Team", "infra"), "parents": [_uid("Team", "eng")]},
    {"uid": _uid("Team", "design"), "parents": []},
    _user(
        "alice",
        [("Team", "infra"), ("Team", "guild")],  # guild: made implicitly (Team has no attributes)
        dept="eng",
        level=5,
        addr={"city": "paris", "zip": 75},
    ),
    _user(
        "bob",
        [("Team", "design")],
        dept="design",
        level=7,
        manager="alice",
        addr={"city": "oslo"},
        friends=["alice"],
    ),
    _user(
        "carol",
        [],
        dept="ops",
        level=2,
        manager={"__entity": _uid("User", "bob")},  # Cedar's form of a reference
        addr={"city": "paris", "zip": 200},
    ),
    _user("dan", [("Org", "acme")], dept="eng", level=9, manager="carol", addr={"city": "rome"}),
    {"uid": _uid("Repo", "r1"), "attrs": {"owner": "alice", "readers": ["design"]}},
    {"uid": _uid("Repo", "r2"), "attrs": {"owner": "bob"}, "parents": [_uid("Org", "acme")]},
    {"uid": _uid("Repo", "r3"), "attrs": {"owner": "carol", "readers": ["guild", "eng"]}},
]

# each request and every rule it fires, worked out by hand from DATA
DECISIONS: list[tuple[dict[str, Any], set[str]]] = [
    (
        {"principal": "alice", "resource": "r1"},
        {"in_eng", "in_acme", "in_list", "self_in", "is_alice", "owner", "city", "all_viewers"},
    ),
    (
        {"principal": "bob", "resource": "r1"},
        {
            *("in_list", "in_readers", "not_eng", "not_alice", "mgr_level", "all_viewers"),
            "friend_owns",
        },
    ),
    (
        {"principal": "carol", "resource": "r2", "viewers": ["bob", "dan"]},
        {
            *("not_eng", "not_alice", "mgr_level", "grand_mgr", "city", "zip", "some_viewer"),
            "repo_acme",
        },
    ),
    (
        {"principal": "dan", "resource": "r3", "viewers": ["alice"], "team": "infra"},
        {"in_acme", "not_eng", "not_alice", "all_viewers", "reader_eng", "team_platform"},
    ),
    (  # Cedar's forms of a uid in a request
        {
            "principal": _uid("User", "alice"),
            "resource": {"__entity": _uid("Repo", "r3")},
            "team": "platform",
        },
        {
            *("in_eng", "in_acme", "in_list", "in_readers", "self_in", "is_alice", "city"),
            *("all_viewers", "reader_eng", "team_platform"),
        },
    ),
    (
        {"principal": "alice", "resource": "r2", "team": "design"},
        {
            *("in_eng", "in_acme", "in_list", "self_in", "is_alice", "city", "all_viewers"),
            *("owner_mgr", "repo_acme"),
        },
    ),
]


@pytest.fixture(scope="module")
def policy(backend: str) -> policydsl.Policy:
    loaded = policydsl.loads(POLICY, backend=backend)
    loaded.load_entities(DATA)
    return loaded


@pytest.mark.parametrize("request_, fired", DECISIONS, ids=lambda v: None)
def test_decisions(policy: policydsl.Policy, request_: dict[str, Any], fired: set[str]) -> None:
    decision = policy.decide(request_)
    assert set(decision.rules) == fired
    assert decision.decision == ("allow" if fired else "deny")


def test_ancestors_of_the_loaded_store(policy: policydsl.Policy) -> None:
    """The hierarchy is closed when loaded: reflexive, transitive, through several parents."""
    store = policy.entities
    alice = store.get("User", "alice")
    assert alice is not None
    assert alice.ancestors == {
        *('User::"alice"', 'Team::"infra"', 'Team::"eng"', 'Team::"platform"'),
        *('Org::"acme"', 'Team::"guild"'),
    }
    guild = store.get("Team", "guild")  # named as a parent only: made, in nothing but itself
    assert guild is not None and guild.ancestors == {'Team::"guild"'} and dict(guild) == {}
    carol = store.get("User", "carol")
    assert carol is not None and carol["manager"] is store.get("User", "bob")
    assert len(store) == 13


@pytest.mark.parametrize(
    "request_, attribute, words",
    [
        ({"principal": "zed", "resource": "r1"}, "principal", "no User 'zed'"),
        ({"principal": "alice", "resource": "r9"}, "resource", "no Repo 'r9'"),
        ({"principal": "alice", "resource": "r1", "viewers": ["bob", "x"]}, "viewers", "element 1"),
        ({"principal": _uid("Team", "eng"), "resource": "r1"}, "principal", "type string 'Team'"),
        ({"principal": {"__entity": _uid("Repo", "r1")}, "resource": "r1"}, "principal", "Repo"),
        ({"principal": 7, "resource": "r1"}, "principal", "the id of a User"),
        ({"principal": {"id": "alice"}, "resource": "r1"}, "principal", "the id of a User"),
        ({"resource": "r1"}, "principal", "is required"),
    ],
)
def test_request_errors(
    policy: policydsl.Policy, request_: dict[str, Any], attribute: str, words: str
) -> None:
    with pytest.raises(policydsl.ContextError) as err:
        policy.decide(request_)
    assert err.value.attribute == attribute
    assert words in str(err.value)


def test_an_unknown_id_is_refused_fail_closed(backend: str) -> None:
    policy = policydsl.loads(POLICY, backend=backend, fail_closed=True)
    policy.load_entities(DATA)
    assert policy.decide({"principal": "alice", "resource": "r1"}).decision == "allow"
    refused = policy.decide({"principal": "mallory", "resource": "r1"})
    assert refused.decision == "deny" and refused.rules == ()
    assert refused.error is not None and "no User 'mallory'" in refused.error
    with_store = policy.decide_with({"principal": "alice", "resource": "r1"}, policy.entities)
    assert with_store.decision == "allow"
    empty = policy.entity_store([])
    assert policy.decide_with({"principal": "alice", "resource": "r1"}, empty).error is not None


# ---- the entity data ------------------------------------------------------------------------

SMALL = """\
effects allow > deny default deny
entity Org
entity Team in [Team, Org]
entity Dept { name: string }
entity User in [Team, Dept] {
  level: int
  manager: User?
  dept: Dept?
  addr: {city: string  zip: int?}
  teams: set<Team> = []
}
context { principal: User }
rule r: allow { when principal in Team::"eng" }
"""


def _small_user(name: str, **attrs: Any) -> dict[str, Any]:
    return {"uid": _uid("User", name), "attrs": {"level": 1, "addr": {"city": "c"}, **attrs}}


# (data, the uid at fault, the attribute at fault, words of the message)
DATA_ERRORS: list[tuple[Any, str, str, str]] = [
    ([{"uid": _uid("Usr", "a")}], "entity 0", "", "did you mean `User`?"),
    ([{"uid": _uid("Tem", "a")}], "entity 0", "", "did you mean `Team`?"),
    ([{"uid": {"type": ["Team"], "id": "a"}}], "entity 0", "", "a type is a string, not a list"),
    ([{"uid": {"type": {"a": 1}, "id": "a"}}], "entity 0", "", "a type is a string, not an object"),
    ([_small_user("a"), _small_user("b"), _small_user("a")], 'User::"a"', "", "listed twice"),
    ([_small_user("a", level="high")], 'User::"a"', "level", "expected an integer"),
    ([_small_user("a", addr={"city": 3})], 'User::"a"', "addr.city", "expected a string"),
    ([_small_user("a", salary=3)], 'User::"a"', "salary", "not a declared attribute"),
    (
        [{"uid": _uid("User", "a"), "attrs": {"addr": {"city": "c"}}}],
        'User::"a"',
        "level",
        "is required",
    ),
    ([_small_user("a", manager="ghost")], 'User::"a"', "manager", "no User 'ghost'"),
    ([_small_user("a", dept="sales")], 'User::"a"', "dept", "no Dept 'sales'"),
    (
        [_small_user("a", manager={"__entity": _uid("Team", "b")})],
        'User::"a"',
        "manager",
        "expected a User",
    ),
    (
        [_small_user("a", teams=["x", 3])],
        'User::"a"',
        "teams",
        "element 1",
    ),
    (
        [{"uid": _uid("Team", "t"), "parents": [_uid("User", "a")]}, _small_user("a")],
        'Team::"t"',
        "",
        "a Team cannot be in a User",
    ),
    (
        [{"uid": _uid("Dept", "d"), "attrs": {"name": "n"}, "parents": [_uid("Org", "o")]}],
        'Dept::"d"',
        "",
        "its parents' types: none",
    ),
    (
        [{**_small_user("a"), "parents": [_uid("Dept", "nowhere")]}],
        'User::"a"',
        "parents",
        "no Dept 'nowhere'",
    ),
    (
        [
            {"uid": _uid("Team", "a"), "parents": [_uid("Team", "b")]},
            {"uid": _uid("Team", "b"), "parents": [_uid("Team", "c")]},
            {"uid": _uid("Team", "c"), "parents": [_uid("Team", "a")]},
        ],
        'Team::"a"',
        "",
        'Team::"a" in Team::"b" in Team::"c" in Team::"a"',
    ),
    (
        [{"uid": _uid("Team", "me"), "parents": [_uid("Team", "me")]}],
        'Team::"me"',
        "",
        "its own ancestor",
    ),
    ({"uid": _uid("Team", "a")}, "", "", "a list of entities, not an object"),
    ("[]", "", "", "a list of entities, not string"),
    ([{"uid": "User::a"}], "entity 0", "", 'a uid is {"type": ..., "id": ...}'),
    ([{"uid": {"type": "User"}}], "entity 0", "", 'a uid is {"type": ..., "id": ...}'),
    ([{"uid": _uid("Team", "x"), "parent": []}], "entity 0", "", "unknown key string 'parent'"),
    ([{"uid": {"type": "Team", "id": 4}}], "entity 0", "", "an id is a string"),
    ([3], "entity 0", "", "expected an object"),
    (
        [{"uid": _uid("Team", "t"), "parents": _uid("Team", "u")}],
        'Team::"t"',
        "",
        "parents is a list",
    ),
    ([{"uid": _uid("Team", "t"), "attrs": {"x": 1}}], 'Team::"t"', "x", "declares no attributes"),
]


@pytest.mark.parametrize("data, entity, attribute, words", DATA_ERRORS)
def test_entity_data_errors(data: Any, entity: str, attribute: str, words: str) -> None:
    policy = policydsl.loads(SMALL, backend="interpreted")
    good = policy.load_entities([{"uid": _uid("Team", "eng")}])
    with pytest.raises(EntityDataError) as err:
        policy.load_entities(data)
    assert (err.value.entity, err.value.attribute) == (entity, attribute)
    assert words in str(err.value)
    assert policy.entities is good  # the store in use stays in use


def test_references_may_form_a_cycle(backend: str) -> None:
    """A cycle of references through attributes is data, not an error (unlike one of parents)."""
    policy = policydsl.loads(
        SMALL + "rule loop: allow { when has principal.manager and has principal.manager.manager"
        " and principal.manager.manager == principal }\n",
        backend=backend,
    )
    store = policy.load_entities([_small_user("a", manager="b"), _small_user("b", manager="a")])
    a = store.get("User", "a")
    assert a is not None and a["manager"]["manager"] is a
    assert policy.decide({"principal": "a"}).rules == ("loop",)
    copy = pickle.loads(pickle.dumps(store))  # the cycle survives pickling, as one cycle
    a2 = copy.get("User", "a")
    assert a2 is not None and a2["manager"]["manager"] is a2 and a2.ancestors == a.ancestors


def test_implicit_groups_and_a_parent_of_a_type_with_attributes(backend: str) -> None:
    policy = policydsl.loads(
        SMALL + 'rule dept: allow { when principal in Dept::"sales" }\n'
        "rule in_teams: allow { when principal in principal.teams }\n",
        backend=backend,
    )
    policy.load_entities(
        [
            {**_small_user("a", teams=["t1"]), "parents": [_uid("Team", "t1")]},
            {**_small_user("b", teams=["t2"]), "parents": [_uid("Dept", "sales")]},
            {"uid": _uid("Dept", "sales"), "attrs": {"name": "Sales"}},
        ]
    )
    assert policy.decide({"principal": "a"}).rules == ("in_teams",)
    assert policy.decide({"principal": "b"}).rules == ("dept",)
    assert {e.uid for e in policy.entities} >= {'Team::"t1"', 'Team::"t2"'}


def test_load_entities_file(tmp_path: Path, backend: str) -> None:
    policy = policydsl.loads(POLICY, backend=backend)
    path = tmp_path / "entities.json"
    path.write_text(json.dumps(DATA), encoding="utf-8")
    store = policy.load_entities_file(path)
    assert policy.entities is store and len(store) == 13
    assert policy.decide({"principal": "alice", "resource": "r1"}).decision == "allow"
    twice = tmp_path / "twice.json"
    twice.write_text('[{"uid": {"type": "Org", "id": "a", "id": "b"}}]', encoding="utf-8")
    with pytest.raises(EntityDataError, match=r"twice\.json is not valid JSON"):
        policy.load_entities_file(twice)
    with pytest.raises(EntityDataError, match="cannot read"):
        policy.load_entities_file(tmp_path / "missing.json")
    assert policy.entities is store


# ---- stores: swapping, per request, pickling ------------------------------------------------

ALICE_R1 = {"principal": "alice", "resource": "r1"}


def _moved(data: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """DATA with alice moved out of infra (so out of eng, platform and acme) into design."""
    out = json.loads(json.dumps(data))
    for item in out:
        if item["uid"] == _uid("User", "alice"):
            item["parents"] = [_uid("Team", "design")]
            item["attrs"]["level"] = 1
    return out


def test_swapping_stores_changes_decisions(backend: str) -> None:
    policy = policydsl.loads(POLICY, backend=backend)
    first = policy.load_entities(DATA)
    before = set(policy.decide(ALICE_R1).rules)
    assert {"in_eng", "in_acme"} <= before and "in_readers" not in before
    second = policy.entity_store(_moved(DATA))  # validated, not in use
    assert policy.entities is first and set(policy.decide(ALICE_R1).rules) == before
    policy.use_entities(second)
    after = set(policy.decide(ALICE_R1).rules)
    assert "in_eng" not in after and "in_acme" not in after
    assert {"in_readers", "in_list", "not_eng"} <= after
    bob = policy.decide({"principal": "bob", "resource": "r1"})
    assert "mgr_level" not in bob.rules  # bob's manager is the second store's alice
    # the old store is unaffected: deciding with it gives the first decisions again
    first_alice = first.get("User", "alice")
    assert first_alice is not None and 'Team::"eng"' in first_alice.ancestors
    assert set(policy.decide_with(ALICE_R1, first).rules) == before
    assert set(policy.decide(ALICE_R1).rules) == after  # decide_with installed nothing
    policy.use_entities(first)
    assert set(policy.decide(ALICE_R1).rules) == before


def test_decide_with_a_request_of_its_own_store(backend: str) -> None:
    policy = policydsl.loads(POLICY, backend=backend)
    assert len(policy.entities) == 0
    store = policy.entity_store(DATA)
    assert len(policy.entities) == 0
    for request, fired in DECISIONS:
        assert set(policy.decide_with(request, store).rules) == fired
        with pytest.raises(policydsl.ContextError):
            policy.decide(request)  # the installed store is still empty


def test_reasons_show_entities_whichever_way_decided(backend: str) -> None:
    policy = policydsl.loads(
        SMALL.replace('rule r: allow { when principal in Team::"eng" }', "")
        + "rule m: allow { when has principal.manager and principal.manager.level > 1\n"
        '  reason "{principal} reports to {principal.manager} ({principal.manager.level})" }\n',
        backend=backend,
    )
    store = policy.load_entities(
        [_small_user("a", manager="b"), _small_user("b", level=3, manager="a")]
    )
    expected = ('User::"a" reports to User::"b" (3)',)
    assert policy.decide({"principal": "a"}).reasons == expected
    assert policy.decide_with({"principal": "a"}, store).reasons == expected


def test_explain_reads_the_installed_store(backend: str) -> None:
    policy = policydsl.loads(
        SMALL + "rule m: allow { when has principal.manager and principal.manager == principal }\n",
        backend=backend,
    )
    policy.load_entities(
        [
            {**_small_user("a", manager="b"), "parents": [_uid("Team", "eng")]},
            _small_user("b", manager="a"),  # a cycle of references: shown by uid, never walked
        ]
    )
    text = policy.explain({"principal": "a"}, rules=["m"])
    assert "allow by `r`" in text and "did not fire: `m`" in text
    assert 'principal = User::"a"' in text
    data = policy.explanation({"principal": "a"})
    reads = data["explained"][0]["tests"][0]["reads"]
    assert reads == {"principal": 'User::"a"'}
    json.dumps(data)


def test_pickling_a_policy_carries_its_store(backend: str) -> None:
    """A policy pickles as its sources and its store (a worker process decides with the data
    the parent loaded); the store also pickles on its own, flat."""
    policy = policydsl.loads(POLICY, backend=backend)
    store = policy.load_entities(DATA)
    copy = pickle.loads(pickle.dumps(policy))
    assert len(copy.entities) == len(store)
    for request, fired in DECISIONS:
        assert set(copy.decide(request).rules) == fired
    bare = policydsl.loads(POLICY, backend=backend)
    with pytest.raises(policydsl.ContextError, match="no User 'alice'"):
        bare.decide(ALICE_R1)
    bare.use_entities(pickle.loads(pickle.dumps(store)))
    for request, fired in DECISIONS:
        assert set(bare.decide(request).rules) == fired
    assert policy.entities is store


# ---- the checker ----------------------------------------------------------------------------

CHECKED = """\
effects allow > deny default deny
entity Team in [Team]
entity User in [Team] { level: int  manager: User?  addr: {city: string} }
context { principal: User  n: int = 0  teams: set<Team> = [] }
"""


@pytest.mark.parametrize(
    "text, code, words, hint",
    [
        ("entity Group in [Tem]", "P347", "`Tem` is not an entity type", "did you mean `Team`?"),
        ('rule r: allow { when principal in Tam::"x" }', "P347", "`Tam`", "did you mean `Team`?"),
        ("rule r: allow { when principal in n }", "P348", "not int", "principal in Team"),
        ('rule r: allow { when n in Team::"x" }', "P348", "not int", "principal in Team"),
        ("rule r: allow { when principal.manager.level > 1 }", "P303", "optional", "has"),
        (
            "rule r: allow { when has principal.manager and principal.manager.levl > 1 }",
            "P201",
            "`principal.manager.levl`",
            "did you mean `principal.manager.level`?",
        ),
        (
            'rule r: allow { when principal.addr.cty == "x" }',
            "P201",
            "`principal.addr.cty`",
            "did you mean `principal.addr.city`?",
        ),
        ('rule r: allow { when principal == "alice" }', "P322", "User with string", ""),
        ('rule r: allow { when principal == Team::"x" }', "P322", "User with Team", ""),
        ("entity Team", "P202", "declared twice", ""),
    ],
)
def test_checker_diagnostics(text: str, code: str, words: str, hint: str) -> None:
    with pytest.raises(PolicyError) as err:
        policydsl.loads(CHECKED + text + "\n")
    found = [d for d in err.value.diagnostics if d.code == code]
    assert found, [d.code for d in err.value.diagnostics]
    assert words in found[0].message
    assert hint in (found[0].help or "")
    assert found[0].span is not None and found[0].span.line == 5


def test_membership_is_indexed_by_group() -> None:
    """The compiled IR looks a group up in the entity's ancestors (one index for every rule
    naming groups); the naive IR tests each rule."""
    text = CHECKED + (
        'rule a: allow { when principal in Team::"eng" }\n'
        'rule b: allow { when principal in [Team::"x", Team::"y"] }\n'
        'rule c: deny { when principal not in Team::"ok" }\n'
        "rule d: allow { when principal in teams }\n"
    )
    dump = policydsl.loads(text).compiled("ir")
    index = dump.split("index ancestor of s0 principal:\n", 1)[1]
    assert index.splitlines()[:3] == [
        '  Team::"eng" -> r0',
        '  Team::"x" -> r1',
        '  Team::"y" -> r1',
    ]
    assert 'if not principal in Team::"ok"' in dump and "if principal in teams" in dump
    naive = policydsl.loads(text, backend="naive").compiled("ir")
    assert "index ancestor of" not in naive
    assert 'r1 if principal in [Team::"x", Team::"y"]' in naive


@pytest.mark.parametrize(
    "declaration, path",
    [
        ('context { principal: User = User::"a" }', "principal"),
        ('context { principal: User  crowd: set<User> = [User::"a"] }', "crowd"),
        ('context { principal: User  req: {teams: set<Team> = [Team::"x"]} }', "req.teams"),
        ('context { principal: User }\nentity Doc { owner: User = User::"a" }', "Doc.owner"),
    ],
)
def test_a_default_naming_an_entity_is_refused(declaration: str, path: str) -> None:
    """A literal is known by its id alone: as a default it would be an entity without the
    attributes and groups the data gives it, and reading `principal.level` would fail."""
    text = (
        "effects allow > deny default deny\nentity Team\n"
        "entity User in [Team] { level: int }\n"
        f"{declaration}\n"
        "rule r: allow { when principal.level > 1 }\n"
    )
    with pytest.raises(PolicyError) as err:
        policydsl.loads(text)
    found = [d for d in err.value.diagnostics if d.code == "P304"]
    assert found and f"the default of `{path}` names an entity" in found[0].message
    empty = "effects allow > deny default deny\nentity User { level: int }\n"
    fine = policydsl.loads(empty + "context { crowd: set<User> = [] }\n")
    assert fine.decide({}).decision == "deny"  # an empty set of entities is a fine default


def test_an_output_of_entity_type_is_its_uid_in_json(backend: str) -> None:
    policy = policydsl.loads(
        SMALL + "output boss: User { when has principal.manager => principal  otherwise => "
        'User::"nobody" }\n',
        backend=backend,
    )
    policy.load_entities([_small_user("a", manager="b"), _small_user("b", manager="a")])
    decision = policy.decide({"principal": "a"})
    assert decision.output("boss") is policy.entities.get("User", "a")
    assert decision.to_dict()["boss"] == 'User::"a"'  # the cycle a -> b -> a is not walked
    assert json.loads(json.dumps(decision.to_dict()))["boss"] == 'User::"a"'


def test_a_literal_is_known_by_its_id_alone(backend: str) -> None:
    """`User::"a"` in a policy is not looked up in the entity data: testing its groups is P349
    (the data may say otherwise), comparing it is fine; a request naming `a` gets the data's."""
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(SMALL + 'rule lit: allow { when User::"a" in Team::"eng" }\n')
    assert [d.code for d in caught.value.diagnostics] == ["P349"]
    policy = policydsl.loads(
        SMALL + 'rule same: allow { when principal == User::"a" }\n', backend=backend
    )
    policy.load_entities([{**_small_user("a"), "parents": [_uid("Team", "eng")]}])
    assert policy.decide({"principal": "a"}).rules == ("r", "same")


def test_a_store_of_other_declarations_is_refused(backend: str) -> None:
    """A store is validated against one policy's declarations; another policy with the same
    declarations (the same text loaded again) may use it, one whose entities differ may not:
    its rules could read attributes the store's entities lack."""
    store = policydsl.loads(SMALL, backend="interpreted").entity_store([_small_user("a")])
    again = policydsl.loads(SMALL, backend=backend)
    again.use_entities(store)
    assert again.decide({"principal": "a"}).decision == "deny"
    edited = SMALL.replace("level: int", "level: int\n  title: string")
    other = policydsl.loads(
        edited + 'rule t: allow { when principal.title == "x" }\n', backend=backend
    )
    with pytest.raises(EntityDataError, match="validated against other entity declarations"):
        other.use_entities(store)
    assert len(other.entities) == 0
    with pytest.raises(EntityDataError, match="other entity declarations"):
        other.decide_with({"principal": "a"}, store)
    changes = [
        ("level: int", "level: int[0..]"),
        ("level: int", "level: int?"),
        ("entity Team in [Team, Org]", "entity Team in [Team]"),
        ("zip: int?", "zip: string?"),
    ]
    for before, after in changes:
        changed = policydsl.loads(SMALL.replace(before, after), backend=backend)
        with pytest.raises(EntityDataError):
            changed.use_entities(store)
    closed = policydsl.loads(
        edited.replace("default deny", "default deny refuse deny"),
        backend=backend,
        fail_closed=True,
    )
    refused = closed.decide_with({"principal": "a"}, store)
    assert refused.decision == "deny" and "other entity declarations" in (refused.error or "")


def test_odd_ids_are_written_as_the_policy_writes_them(backend: str) -> None:
    """The IR dump and explanations write an entity as policy text that parses back to it: an
    id's control or bidirectional characters escaped as the language escapes them."""
    odd = "\x1b[2J\u202e"
    written = 'Team::"\\u{1b}[2J\\u{202e}"'
    policy = policydsl.loads(
        SMALL + f"rule odd: allow {{ when principal in {written} }}\n", backend=backend
    )
    policy.load_entities([{**_small_user(odd), "parents": [_uid("Team", odd)]}])
    request = {"principal": odd}
    assert policy.decide(request).rules == ("odd",)
    text = policy.explain(request)
    assert f"yes principal in {written}" in text
    assert 'principal = User::"\\u{1b}[2J\\u{202e}"' in text
    assert "\x1b" not in text and "\u202e" not in text
    dump = policydsl.loads(SMALL + f"rule odd: allow {{ when principal in {written} }}\n")
    assert f"  {written} -> r" in dump.compiled("ir")
    shown = text.split("principal = ", 1)[1].split(")", 1)[0]  # parses back to the same user
    again = policydsl.loads(SMALL + f"rule same: allow {{ when principal == {shown} }}\n")
    again.load_entities([_small_user(odd)])
    assert again.decide(request).rules == ("same",)


def test_a_decision_reads_one_store_while_another_is_put_in_use(backend: str) -> None:
    """A thread swaps two stores as fast as it can; each decision reads its principal and its
    resource from one of them, never one from each (found so: the compiled code read the store
    once per attribute)."""
    text = (
        "effects deny > allow default allow\nentity User { level: int }\n"
        "entity Repo { level: int }\ncontext { principal: User  resource: Repo }\n"
        "rule mix: deny { when principal.level != resource.level }\n"
    )
    policy = policydsl.loads(text, backend=backend)

    def store(level: int) -> Any:
        return policy.entity_store(
            [
                {"uid": _uid("User", "u"), "attrs": {"level": level}},
                {"uid": _uid("Repo", "r"), "attrs": {"level": level}},
            ]
        )

    first, second = store(1), store(2)
    policy.use_entities(first)
    done = threading.Event()

    def swap() -> None:
        while not done.is_set():
            policy.use_entities(second)
            policy.use_entities(first)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    swapper = threading.Thread(target=swap)
    swapper.start()
    mixed = decided = 0
    try:
        until = time.monotonic() + 0.7
        while time.monotonic() < until:
            decided += 1
            mixed += policy.decide({"principal": "u", "resource": "r"}).rules == ("mix",)
    finally:
        done.set()
        swapper.join()
        sys.setswitchinterval(interval)
    assert decided > 1000 and mixed == 0, (decided, mixed)


def test_a_store_with_a_long_chain_of_references_pickles() -> None:
    """A store pickles flat: a chain of 3,000 managers (and a cycle closing it) passed Python's
    recursion limit when each entity pickled the next inside it."""
    policy = policydsl.loads(
        SMALL + "rule deep: allow { when has principal.manager and has principal.manager.manager"
        " and principal.manager.manager.level > 2 }\n"
    )
    n = 3000
    chain = [
        _small_user(f"u{i}", level=i % 5, manager=f"u{(i + 1) % n}", teams=["t"]) for i in range(n)
    ]
    chain[7]["attrs"]["addr"] = {"city": "c", "zip": 9}
    store = policy.entity_store(chain)
    copy = pickle.loads(pickle.dumps(store))
    assert len(copy) == len(store) == n + 1  # the team `t`, made implicitly
    first = copy.get("User", "u0")
    assert first is not None
    walked = first
    for _ in range(n):
        walked = walked["manager"]
    assert walked is first  # one cycle, as loaded
    team = copy.get("Team", "t")
    assert team is not None and all(
        next(iter(e["teams"])) is team for e in copy if e.type == "User"
    )
    assert copy.get("User", "u7") == store.get("User", "u7")
    assert dict(copy.get("User", "u7") or {})["addr"] == {"city": "c", "zip": 9}
    policy.use_entities(copy)  # its declarations travel with it
    decided = [policy.decide({"principal": f"u{i}"}).rules for i in range(10)]
    policy.use_entities(store)
    assert decided == [policy.decide({"principal": f"u{i}"}).rules for i in range(10)]
    assert ("deep",) in decided and () in decided


def test_an_entity_object_in_a_request_is_read_by_its_id(backend: str) -> None:
    """An `Entity` a caller builds (or takes from another store) is never trusted for its
    attributes: every backend reads the entity of that id in the data in use, or refuses."""
    from policydsl.entities import Entity

    policy = policydsl.loads(
        SMALL + "rule hi: allow { when principal.level > 3 }\n", backend=backend
    )
    policy.load_entities([_small_user("a", level=5)])
    forged = Entity("User", "a")
    forged["level"] = 0
    assert policy.decide({"principal": forged}).rules == ("hi",)
    other = policy.entity_store([_small_user("a", level=1)])
    assert (
        "hi" not in policy.decide_with({"principal": policy.entities.get("User", "a")}, other).rules
    )
    with pytest.raises(policydsl.ContextError, match="no User 'zz'"):
        policy.decide({"principal": Entity("User", "zz")})


def test_an_attribute_less_entity_may_be_absent_from_the_data(backend: str) -> None:
    """A request may name a group (a type with no attributes) the data does not list, as the
    data itself may: it is in no group but itself; one of a type with attributes is refused."""
    policy = policydsl.loads(
        SMALL.replace("context { principal: User }", "context { principal: User  team: Team }")
        + 'rule t: allow { when team in Team::"eng" }\n',
        backend=backend,
    )
    policy.load_entities([_small_user("a")])
    assert policy.decide({"principal": "a", "team": "eng"}).rules == ("t",)
    assert policy.decide({"principal": "a", "team": "ops"}).rules == ()
    with pytest.raises(policydsl.ContextError, match="no User 'b'"):
        policy.decide({"principal": "b", "team": "eng"})


MIXED = """\
effects allow > deny default deny
entity Org
entity Team in [Org]
entity User in [Team, Org] { level: int  boss: User? }
context { principal: User  by_role: map<string, User>? }
rule listed: allow { when principal in [Team::"eng", Org::"acme"] }
rule not_listed: allow { when principal not in [Team::"ops", Org::"other"] }
rule mapped: allow { when has by_role["owner"].boss and by_role["owner"].boss == principal }
"""


def test_groups_of_several_types_and_entities_in_maps(backend: str) -> None:
    """`e in [Team::"a", Org::"b"]` lists groups of several types; a map's entity values are
    read through (`m["k"].boss`) as any reference is."""
    policy = policydsl.loads(MIXED, backend=backend)
    policy.load_entities(
        [
            {"uid": _uid("User", "a"), "attrs": {"level": 5}, "parents": [_uid("Org", "acme")]},
            {
                "uid": _uid("User", "b"),
                "attrs": {"level": 1, "boss": "a"},
                "parents": [_uid("Team", "ops")],
            },
        ]
    )
    assert policy.decide({"principal": "a"}).rules == ("listed", "not_listed")
    assert policy.decide({"principal": "b"}).rules == ()
    assert policy.decide({"principal": "a", "by_role": {"owner": "b"}}).rules == (
        "listed",
        "mapped",
        "not_listed",
    )
    assert 'Org::"acme" -> r0' in policy.compiled("ir") or backend == "naive"


NESTED = """\
effects allow > deny default deny
entity User { level: int }
context { items: list<{owner: User}>[..8] = []  roles: map<string, User>? }
rule high: allow { when some i in items: i.owner.level > 3 }
rule admin: allow { when has roles["admin"] and roles["admin"].level > 3 }
"""


def test_entities_inside_records_and_maps_are_read_by_their_ids(backend: str) -> None:
    """An entity in a list of records or a map is resolved by its id in the data in use, as one
    at the top of the context is: an entity object made elsewhere is read by its id, never
    trusted for its attributes, on every backend."""
    from policydsl.entities import Entity

    policy = policydsl.loads(NESTED, backend=backend)
    policy.load_entities(
        [
            {"uid": _uid("User", "a"), "attrs": {"level": 5}},
            {"uid": _uid("User", "b"), "attrs": {"level": 1}},
        ]
    )
    forged = Entity("User", "b")
    forged["level"] = 9
    assert policy.decide({"items": [{"owner": "a"}]}).rules == ("high",)
    assert policy.decide({"items": [{"owner": forged}]}).rules == ()
    assert policy.decide({"roles": {"admin": forged}}).rules == ()
    assert policy.decide({"roles": {"admin": policy.entities.get("User", "a")}}).rules == ("admin",)
    other = policy.entity_store([{"uid": _uid("User", "a"), "attrs": {"level": 1}}])
    assert (
        policy.decide_with({"items": [{"owner": "a"}], "roles": {"admin": "a"}}, other).rules == ()
    )
    with pytest.raises(policydsl.ContextError, match="no User 'zz'"):
        policy.decide({"items": [{"owner": "zz"}]})
