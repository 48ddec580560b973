"""Seeded random entity stores, requests and rules: the three backends decide alike.

Each case draws a hierarchy (organisations over teams up to six levels deep, several parents,
groups named only as a parent or in a set, made implicitly), users whose optional references
(`manager`, `buddy`, `info.boss`) form cycles, documents, and rules from a small grammar over
them (membership in a group, a list or a set attribute, `not in`, equality, reads through
reference chains guarded by `has`, quantifiers over sets of entities). Every request is decided
on every backend, with the store installed, after swapping in a second store, and per request
(`decide_with`); an id the store does not hold is a `ContextError` everywhere.
"""

from __future__ import annotations

import random
from typing import Any

import pytest

import policydsl

SCHEMA = """\
effects deny > allow default deny
entity Org in [Org]
entity Team in [Team, Org]
entity User in [Team, Org] {
  level: int
  dept: string
  manager: User?
  buddy: User?
  teams: set<Team> = []
  info: {tag: string  boss: User?}
}
entity Doc in [Team] { owner: User  editors: set<User> = []  team: Team? }
context {
  principal: User
  resource: Doc
  viewers: set<User> = []
  group: Team?
  level: int = 0
}
"""

DEPTS = ["eng", "ops", "law"]
CASES = 30  # policies, each with two stores
REQUESTS = 80  # per store: decided installed and per request, on every backend


class Case:
    """The names one case's store holds, for rules and requests to pick from."""

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.orgs = [f"o{i}" for i in range(rnd.randint(1, 3))]
        self.teams = [f"t{i}" for i in range(rnd.randint(3, 10))]
        self.implicit = [f"g{i}" for i in range(rnd.randint(0, 2))]  # groups never listed
        self.users = [f"u{i}" for i in range(rnd.randint(2, 8))]
        self.docs = [f"d{i}" for i in range(rnd.randint(1, 4))]
        self.level = {t: rnd.randint(0, 5) for t in self.teams}  # parents have lower levels

    def store(self) -> list[dict[str, Any]]:
        rnd = self.rnd
        data: list[dict[str, Any]] = []
        for i, org in enumerate(self.orgs):
            parents = [_uid("Org", o) for o in self.orgs[:i] if rnd.random() < 0.5]
            data.append({"uid": _uid("Org", org), "parents": parents})
        for team in self.teams:
            above = [t for t in self.teams if self.level[t] < self.level[team]]
            parents = [_uid("Team", t) for t in _some(rnd, above, 3)]
            if rnd.random() < 0.3:
                parents.append(_uid("Org", rnd.choice(self.orgs)))
            if self.implicit and rnd.random() < 0.2:
                parents.append(_uid("Team", rnd.choice(self.implicit)))
            data.append({"uid": _uid("Team", team), "parents": parents})
        groups = self.teams + self.implicit
        for user in self.users:
            attrs: dict[str, Any] = {
                "level": rnd.randint(0, 9),
                "dept": rnd.choice(DEPTS),
                "teams": _some(rnd, groups, 3),
                "info": {"tag": rnd.choice("xyz")},
            }
            for name in ("manager", "buddy"):
                if rnd.random() < 0.7:
                    attrs[name] = self.reference("User", rnd.choice(self.users))
            if rnd.random() < 0.5:
                attrs["info"]["boss"] = self.reference("User", rnd.choice(self.users))
            parents = [_uid("Team", t) for t in _some(rnd, groups, 3)]
            if rnd.random() < 0.3:
                parents.append(_uid("Org", rnd.choice(self.orgs)))
            data.append({"uid": _uid("User", user), "attrs": attrs, "parents": parents})
        for doc in self.docs:
            attrs = {
                "owner": self.reference("User", rnd.choice(self.users)),
                "editors": _some(rnd, self.users, 3),
            }
            if rnd.random() < 0.6:
                attrs["team"] = rnd.choice(groups)
            parents = [_uid("Team", t) for t in _some(rnd, self.teams, 2)]
            data.append({"uid": _uid("Doc", doc), "attrs": attrs, "parents": parents})
        rnd.shuffle(data)  # references and parents may come before what they name
        return data

    def reference(self, type_name: str, entity_id: str) -> Any:
        return entity_id if self.rnd.random() < 0.7 else {"__entity": _uid(type_name, entity_id)}

    # ---- rules ------------------------------------------------------------------------------

    def user(self, literal: bool = True) -> tuple[str, list[str]]:
        """A user expression and the `has` tests it needs (a literal has no attributes)."""
        rnd = self.rnd
        found = rnd.choice(
            [
                ("principal", []),
                ("principal", []),
                ("resource.owner", []),
                ("principal.manager", ["has principal.manager"]),
                (
                    "principal.manager.manager",
                    ["has principal.manager", "has principal.manager.manager"],
                ),
                ("resource.owner.buddy", ["has resource.owner.buddy"]),
                ("principal.info.boss", ["has principal.info.boss"]),
                (
                    "principal.buddy.info.boss",
                    ["has principal.buddy", "has principal.buddy.info.boss"],
                ),
                (f'User::"{rnd.choice(self.users)}"', []),
            ]
        )
        return found if literal or not found[0].startswith("User::") else ("principal", [])

    def group(self, read: bool = False) -> tuple[str, list[str]]:
        """A group; with `read`, one the data gives (a literal is in nothing but itself)."""
        rnd = self.rnd
        groups = self.teams + self.implicit + ["nobody"]
        if read:
            return rnd.choice([("group", ["has group"]), ("resource.team", ["has resource.team"])])
        return rnd.choice(
            [
                (f'Team::"{rnd.choice(groups)}"', []),
                (f'Team::"{rnd.choice(groups)}"', []),
                ("group", ["has group"]),
                ("resource.team", ["has resource.team"]),
            ]
        )

    def groups(self, read: bool = False) -> tuple[str, list[str]]:
        rnd = self.rnd
        names = self.teams + self.implicit
        listed = ", ".join(f'Team::"{t}"' for t in rnd.sample(names, min(len(names), 2)))
        return rnd.choice(
            [
                ("principal.teams", []),
                ("resource.owner.teams", []),
                ("principal.manager.teams", ["has principal.manager"]),
                *([] if read else [(f"[{listed}]", [])]),
            ]
        )

    def users_(self) -> str:
        return self.rnd.choice(["viewers", "resource.editors"])

    def atom(self) -> str:
        rnd = self.rnd
        kind = rnd.randrange(14)
        guards: list[str] = []

        def take(pair: tuple[str, list[str]]) -> str:
            guards.extend(g for g in pair[1] if g not in guards)
            return pair[0]

        if kind == 0:
            test = f"{take(self.user(False))} {rnd.choice(['in', 'not in'])} {take(self.group())}"
        elif kind == 1:
            test = f"{take(self.user(False))} in {take(self.groups())}"
        elif kind == 2:
            test = f'{take(self.user(False))} in Org::"{rnd.choice(self.orgs)}"'
        elif kind == 3:
            test = f"{take(self.user())} {rnd.choice(['==', '!='])} {take(self.user())}"
        elif kind == 4:
            compare = rnd.choice([">", "<=", "=="])
            test = f"{take(self.user(False))}.level {compare} {rnd.randint(0, 9)}"
        elif kind == 5:
            test = f'{take(self.user(False))}.dept == "{rnd.choice(DEPTS)}"'
        elif kind == 6:
            op = rnd.choice(["in", "==", "!="])  # a literal is in nothing but itself (P349)
            test = f"{take(self.group(op == 'in'))} {op} {take(self.group())}"
        elif kind == 7:
            test = f"resource in {take(self.group())}"
        elif kind == 8:
            inner = rnd.choice(
                [
                    f"v in {take(self.group())}",
                    f"v.level > {rnd.randint(0, 9)}",
                    f"v == {take(self.user())}",
                    "has v.manager and v.manager in viewers",
                ]
            )
            test = f"({rnd.choice(['some', 'all'])} v in {self.users_()}: {inner})"
        elif kind == 9:
            test = f"{take(self.user(False))} in {self.users_()}"
        elif kind == 10:
            test = f"(some w in {take(self.groups(True))}: w in {take(self.group())})"
        elif kind == 11:  # sets of entities compared whole, by uid
            op = rnd.choice(["contains_any", "contains_all", "=="])
            test = f"{self.users_()} {op} {rnd.choice(['viewers', 'resource.editors'])}"
        elif kind == 12:
            test = f"{take(self.groups())} contains {take(self.group())}"
        else:
            test = f'{take(self.user(False))}.info.tag == "{rnd.choice("xyz")}" and level > 3'
        return "(" + " and ".join([*guards, test]) + ")"

    def condition(self) -> str:
        rnd = self.rnd
        parts = [self.atom() for _ in range(rnd.randint(1, 3))]
        joined = parts[0]
        for part in parts[1:]:
            joined = f"{joined} {rnd.choice(['and', 'or'])} {part}"
        return f"not ({joined})" if rnd.random() < 0.15 else joined

    def policy(self) -> str:
        effects = ["allow", "allow", "deny"]
        rules = [
            f"rule r{i}: {self.rnd.choice(effects)} {{ when {self.condition()} }}"
            for i in range(self.rnd.randint(4, 10))
        ]
        if self.rnd.random() < 0.5:  # a table whose rows name groups: one rule per row
            groups = self.teams + self.implicit
            rows = "\n".join(
                f'  Team::"{g}", {self.rnd.randint(0, 9)}'
                for g in self.rnd.sample(groups, min(len(groups), 3))
            )
            rules.append(f"table grants(grp: Team, lvl: int) {{\n{rows}\n}}")
            rules.append(
                f"rule g for grants: {self.rnd.choice(effects)} {{ when principal in grp"
                " and principal.level > lvl }"
            )
        return SCHEMA + "\n".join(rules) + "\n"

    def request(self) -> dict[str, Any]:
        rnd = self.rnd
        request: dict[str, Any] = {
            "principal": rnd.choice(self.users),
            "resource": rnd.choice(self.docs),
            "viewers": _some(rnd, self.users, 3),
            "level": rnd.randint(0, 6),
        }
        if rnd.random() < 0.5:
            request["group"] = rnd.choice(self.teams + self.implicit)
        if rnd.random() < 0.2:
            request["principal"] = {"type": "User", "id": request["principal"]}
        if rnd.random() < 0.03:
            request[rnd.choice(["principal", "resource"])] = "stranger"
        return request


def _closure(data: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Each entity's ancestors worked out from the data by a plain search: itself, its parents,
    theirs, ...; a group named only as a parent or a reference is in nothing but itself."""
    parents: dict[str, list[str]] = {}
    for item in data:
        uid = _text(item["uid"])
        parents[uid] = [_text(p) for p in item.get("parents", [])]
        for name, value in item.get("attrs", {}).items():
            if name in ("teams", "team"):
                for group in [value] if isinstance(value, str) else value:
                    parents.setdefault(_text(_uid("Team", group)), [])
    for found in list(parents.values()):
        for uid in found:
            parents.setdefault(uid, [])
    closure: dict[str, set[str]] = {}
    for uid in parents:
        seen, todo = {uid}, [uid]
        while todo:
            for parent in parents[todo.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    todo.append(parent)
        closure[uid] = seen
    return closure


def _text(uid: dict[str, str]) -> str:
    return f'{uid["type"]}::"{uid["id"]}"'


def _some(rnd: random.Random, items: list[str], most: int) -> list[str]:
    """Up to `most` distinct items."""
    return rnd.sample(items, min(len(items), rnd.randint(0, most)))


def _uid(type_name: str, entity_id: str) -> dict[str, str]:
    return {"type": type_name, "id": entity_id}


def _outcome(decide: Any, *args: Any) -> tuple[str, tuple[str, ...]] | str:
    try:
        decision = decide(*args)
    except policydsl.ContextError as err:
        return f"error: {err.attribute}"
    return decision.decision, decision.rules


@pytest.mark.parametrize("seed", range(CASES))
def test_backends_agree_on_random_entities(seed: int) -> None:
    case = Case(random.Random(seed))
    text = case.policy()
    policies = [policydsl.loads(text, backend=b) for b in ("interpreted", "compiled", "naive")]
    stores = [case.store(), case.store()]
    requests = [case.request() for _ in range(REQUESTS)]
    for data in stores:
        installed = [p.load_entities(data) for p in policies]
        assert {e.uid: e.ancestors for e in installed[0]} == _closure(data)
        for i, request in enumerate(requests):
            outcomes = [_outcome(p.decide, request) for p in policies]
            assert outcomes.count(outcomes[0]) == 3, (text, data, request, outcomes)
            # the interpreted policy's store, given to a compiled one with the request
            other = policies[1 + i % 2]
            per_request = _outcome(other.decide_with, request, installed[0])
            assert per_request == outcomes[0], (text, data, request)
    # the interpreted policy with the first store again: the second left it unchanged
    policies[0].use_entities(policies[0].entity_store(stores[0]))
    policies[2].load_entities(stores[0])
    for request in requests[:10]:
        assert _outcome(policies[0].decide, request) == _outcome(policies[2].decide, request)


def test_the_random_cases_are_not_vacuous() -> None:
    """Across the cases, rules fire and stay silent, both effects win, and ids are refused: the
    agreement above is over decisions that differ."""
    outcomes: dict[str, int] = {"allow": 0, "deny": 0, "error": 0}
    rules = fired = 0
    for seed in range(CASES):
        case = Case(random.Random(seed))
        text = case.policy()
        policy = policydsl.loads(text, backend="interpreted")
        policy.load_entities(case.store())
        seen: set[str] = set()
        for _ in range(REQUESTS):
            outcome = _outcome(policy.decide, case.request())
            if isinstance(outcome, str):
                outcomes["error"] += 1
            else:
                outcomes[outcome[0]] += 1
                seen.update(outcome[1])
        rules += text.count("\nrule ")
        fired += len(seen)
    assert min(outcomes.values()) >= CASES // 2, outcomes
    assert fired >= rules / 2, (fired, rules)
