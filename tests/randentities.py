"""Entities in the random policies of the differential tests (`randpolicy.make_case`).

For most seeds, `draw` adds to a random policy three entity types (groups in groups, users in
groups with optional references that form cycles, resources), context attributes naming them,
rules over them (hierarchy membership, equality, reads through references, quantifiers over sets
of entities, reasons showing entities) and the entity data the backends decide with. It draws
from its own generator (`random.Random(f"entities:{seed}")`), after the rest of the policy is
drawn, and `fill` adds the entity attributes to each context from another one: the text, the
contexts and so the outcomes of the rest of a seed's policy stay those it had before entities.
"""

from __future__ import annotations

import random
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

# ids as a request or the data may spell them: quotes, backslashes, new lines, Python's names
ODD_IDS = ("é", 'say "hi"', "back\\slash", "__class__", "); import os; (", "two\nlines", "")


def lit(value: str) -> str:
    """A string as policy text (as `randpolicy.lit`)."""
    text = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return '"' + text.replace("\t", "\\t") + '"'


@dataclass
class EntityPart:
    """What entities add to one random policy."""

    group: str  # the three type names
    user: str
    resource: str
    who: str  # the context's attributes: a user, an optional resource, a set of users,
    what: str  # an optional group
    crowd: str
    team: str
    groups: list[str] = field(default_factory=list)  # ids the data holds, by kind
    users: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    decls: list[str] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)
    data: list[dict[str, Any]] = field(default_factory=list)

    def fields(self) -> str:
        """The context's entity attributes, as the context block declares them."""
        return (
            f"  {self.who}: {self.user}\n  {self.what}: {self.resource}?\n"
            f"  {self.crowd}: set<{self.user}> = []\n  {self.team}: {self.group}?\n"
        )

    def extend(self, out: list[str]) -> list[str]:
        """The policy's declarations with the entity ones: the context block gains the entity
        attributes; the rest is appended."""
        found = []
        for item in out:
            if item.startswith("context {\n") and item.endswith("}"):
                item = item[:-1] + self.fields() + "}"
            found.append(item)
        return [*found, *self.decls, *self.rules]

    def fill(self, context: Any, rng: random.Random) -> None:
        """Give a context (a mapping the generator made) its entity attributes: mostly ids the
        data holds, in each form a request may use; now and then one that is refused."""
        data = getattr(context, "_data", context)  # `randcontext.ReadOnly` wraps a dict
        if not isinstance(data, MutableMapping):
            return
        data[self.who] = self.reference(rng, self.user, self.users)
        if rng.random() < 0.75:
            data[self.what] = self.reference(rng, self.resource, self.resources)
        elif rng.random() < 0.2:
            data[self.what] = None
        if rng.random() < 0.8:
            crowd = [self.reference(rng, self.user, self.users) for _ in range(rng.randint(0, 3))]
            data[self.crowd] = tuple(crowd) if rng.random() < 0.15 else crowd
        if rng.random() < 0.6:
            data[self.team] = self.reference(rng, self.group, self.groups)
        if rng.random() < 0.03:  # one attribute refused
            name = rng.choice([self.who, self.what, self.crowd, self.team])
            bad: list[Any] = [
                "nobody",
                {"type": "Nope", "id": "x"},
                {"type": self.group if name != self.team else self.user, "id": "x"},
                3,
                {"id": "x"},
                None if name == self.who else ["x"],
            ]
            if name == self.crowd:
                bad = [["nobody"], [self.users[0], 3], "x", {self.users[0]}]
            data[name] = rng.choice(bad)

    @staticmethod
    def reference(rng: random.Random, type_name: str, ids: list[str]) -> Any:
        entity_id = rng.choice(ids)
        r = rng.random()
        if r < 0.1:
            return {"type": type_name, "id": entity_id}
        if r < 0.15:
            return {"__entity": {"type": type_name, "id": entity_id}}
        return entity_id


def draw(seed: int, used: set[str], effects: list[str]) -> EntityPart | None:
    """The entity part of seed `seed`'s policy (None for a fifth of the seeds); names are taken
    from `used`, and added to it."""
    rng = random.Random(f"entities:{seed}")
    if rng.random() < 0.2:
        return None

    def fresh(stem: str) -> str:
        name = stem
        while name in used:
            name = f"{stem}_{rng.randrange(1000)}"
        used.add(name)
        return name

    part = EntityPart(
        *(fresh(s) for s in ("Grp", "Usr", "Res")),
        *(fresh(s) for s in ("who", "what", "crowd", "team")),
    )
    grp, usr, res = part.group, part.user, part.resource
    part.decls = [
        f"entity {grp} in [{grp}]",
        f"entity {usr} in [{grp}] {{\n  lvl: int\n  tag: string\n  boss: {usr}?\n"
        f"  groups: set<{grp}> = []\n  note: {{k: string  peer: {usr}?}}\n}}",
        f"entity {res} in [{grp}] {{ owner: {usr}  readers: set<{usr}> = []  home: {grp}? }}",
    ]
    part.groups = [f"g{i}" for i in range(rng.randint(2, 6))] + rng.sample(ODD_IDS, 2)
    part.users = [f"u{i}" for i in range(rng.randint(1, 5))] + rng.sample(ODD_IDS, 1)
    part.resources = [f"r{i}" for i in range(rng.randint(1, 3))]
    part.data = _data(rng, part)
    gen = _Rules(rng, part)
    part.rules = [
        f"rule {fresh('ent')}: {rng.choice(effects)} {{\n  when {gen.condition()}\n"
        + (f'  reason "{gen.reason()}"\n' if rng.random() < 0.3 else "")
        + "}"
        for _ in range(rng.randint(1, 5))
    ]
    return part


def _uid(type_name: str, entity_id: str) -> dict[str, str]:
    return {"type": type_name, "id": entity_id}


def _data(rng: random.Random, part: EntityPart) -> list[dict[str, Any]]:
    """The entity data: groups up to six levels deep (a parent is of a lower level), some named
    only as a parent (made implicitly); users in groups, whose references form cycles."""
    level = {g: rng.randint(0, 5) for g in part.groups}
    listed = [g for g in part.groups if rng.random() < 0.8]
    data: list[dict[str, Any]] = []
    for g in listed:
        above = [h for h in part.groups if level[h] < level[g]]
        parents = rng.sample(above, min(len(above), rng.randint(0, 3)))
        data.append({"uid": _uid(part.group, g), "parents": [_uid(part.group, p) for p in parents]})

    def some(ids: list[str], most: int) -> list[str]:
        return rng.sample(ids, min(len(ids), rng.randint(0, most)))

    for u in part.users:
        attrs: dict[str, Any] = {
            "lvl": rng.randint(-2, 9),
            "tag": rng.choice(["a", "b", "é"]),
            "groups": some(part.groups, 3),
            "note": {"k": rng.choice(["a", "b"])},
        }
        if rng.random() < 0.7:
            attrs["boss"] = rng.choice(part.users)
        if rng.random() < 0.4:
            attrs["note"]["peer"] = {"__entity": _uid(part.user, rng.choice(part.users))}
        parents = [_uid(part.group, g) for g in some(part.groups, 3)]
        data.append({"uid": _uid(part.user, u), "attrs": attrs, "parents": parents})
    for r in part.resources:
        attrs = {"owner": rng.choice(part.users), "readers": some(part.users, 3)}
        if rng.random() < 0.6:
            attrs["home"] = rng.choice(part.groups)
        parents = [_uid(part.group, g) for g in some(part.groups, 2)]
        data.append({"uid": _uid(part.resource, r), "attrs": attrs, "parents": parents})
    rng.shuffle(data)
    return data


class _Rules:
    """Conditions over the entity attributes: each read through an optional step is guarded."""

    def __init__(self, rng: random.Random, part: EntityPart):
        self.rng = rng
        self.p = part

    def user(self, readable: bool = False) -> tuple[str, list[str]]:
        p, rng = self.p, self.rng
        w, r = p.who, p.what
        found = rng.choice(
            [
                (w, []),
                (w, []),
                (f"{w}.boss", [f"has {w}.boss"]),
                (f"{w}.boss.boss", [f"has {w}.boss", f"has {w}.boss.boss"]),
                (f"{r}.owner", [f"has {r}"]),
                (f"{w}.note.peer", [f"has {w}.note.peer"]),
                (f"{p.user}::{lit(rng.choice(p.users))}", []),
            ]
        )
        return found if not readable or "::" not in found[0] else (w, [])

    def group(self, read: bool = False) -> tuple[str, list[str]]:
        """A group; with `read`, one the data gives (a literal is in nothing but itself: P349)."""
        p, rng = self.p, self.rng
        found = rng.choice(
            [
                (f"{p.group}::{lit(rng.choice(p.groups))}", []),
                (f"{p.group}::{lit(rng.choice(p.groups))}", []),
                (p.team, [f"has {p.team}"]),
                (f"{p.what}.home", [f"has {p.what}", f"has {p.what}.home"]),
            ]
        )
        return (p.team, [f"has {p.team}"]) if read and "::" in found[0] else found

    def groups(self, read: bool = False) -> tuple[str, list[str]]:
        p, rng = self.p, self.rng
        listed = ", ".join(f"{p.group}::{lit(g)}" for g in rng.sample(p.groups, 2))
        found = rng.choice(
            [
                (f"{p.who}.groups", []),
                (f"[{listed}]", []),
                (f"{p.what}.owner.groups", [f"has {p.what}"]),
            ]
        )
        return (f"{p.who}.groups", []) if read and "::" in found[0] else found

    def users(self) -> tuple[str, list[str]]:
        p = self.p
        return self.rng.choice([(p.crowd, []), (f"{p.what}.readers", [f"has {p.what}"])])

    def atom(self) -> str:
        rng = self.rng
        guards: list[str] = []

        def take(pair: tuple[str, list[str]]) -> str:
            guards.extend(g for g in pair[1] if g not in guards)
            return pair[0]

        def compare() -> str:
            op = rng.choice([">", "<=", "=="])
            return f"{take(self.user(True))}.lvl {op} {rng.randint(-1, 8)}"

        def quantified() -> str:
            body = rng.choice(
                [f"x in {take(self.group())}", "x.lvl > 2", "has x.boss and x.boss == x"]
            )
            return f"({rng.choice(['some', 'all'])} x in {take(self.users())}: {body})"

        tests: list[Callable[[], str]] = [
            lambda: f"{take(self.user(True))} {rng.choice(['in', 'not in'])} {take(self.group())}",
            lambda: f"{take(self.user(True))} in {take(self.groups())}",
            lambda: f"{take(self.user())} {rng.choice(['==', '!='])} {take(self.user())}",
            compare,
            lambda: f"{take(self.user(True))}.tag == {lit(rng.choice(['a', 'é']))}",
            lambda: f"{take(self.group(True))} in {take(self.group())}",
            lambda: f"{take(self.group())} {rng.choice(['==', '!='])} {take(self.group())}",
            lambda: f"{take(self.user(True))} in {take(self.users())}",
            lambda: f"has {self.p.what} and {self.p.what} in {take(self.group())}",
            quantified,
            lambda: f"(some y in {take(self.groups(True))}: y in {take(self.group())})",
            lambda: f"size({take(self.users())}) > {rng.randint(0, 2)}",
        ]
        test = rng.choice(tests)()
        return "(" + " and ".join([*guards, test]) + ")"

    def condition(self) -> str:
        rng = self.rng
        parts = [self.atom() for _ in range(rng.randint(1, 3))]
        joined = parts[0]
        for part in parts[1:]:
            joined = f"{joined} {rng.choice(['and', 'or'])} {part}"
        return f"not ({joined})" if rng.random() < 0.15 else joined

    def reason(self) -> str:
        p = self.p
        return self.rng.choice(
            [f"by {{{p.who}}}", f"{{{p.who}}} at {{{p.who}.lvl}}", f"{{{p.crowd}}}"]
        )
