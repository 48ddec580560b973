"""Tables read as data: a table's name is the list of its rows, so rules look up reference data by
a value of the request; a key may repeat when no rule is written `for` the table; a `some` whose
test starts with `row.column == value` looks the rows up by that column."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

import policydsl

POLICY = """\
context { user: { id: string  team: string? }  action: string  level: int[0..9] = 0 }
effects deny > allow default deny
table grants(user: string, action: string, level: int, note: string?) {
  "alice", "publish", 3, "editor"
  "alice", "read",    1, -
  "bob",   "read",    1, -
  "bob",   "read",    2, "again"
}
table teams(team: string, action: string) {
  "eng", "deploy"
  "eng", "read"
  "ops", "deploy"
}
def team_may = has user.team and (some t in teams: t.team == user.team and t.action == action)
rule granted: allow {
  when some g in grants: g.user == user.id and g.action == action and g.level >= level
  reason "{user.id} may {action}"
}
rule by_team: allow {
  when team_may
}
rule noted: allow {
  when some g in grants: user.id == g.user and has g.note and g.note == "editor"
  reason "{g.user} is an {g.note}"
}
rule few_grants: deny {
  when size(grants) < 2
}
"""
BACKENDS = ["compiled", "interpreted", "naive"]


def random_requests(n: int) -> list[dict[str, object]]:
    rng = random.Random(11)
    requests: list[dict[str, object]] = []
    for _ in range(n):
        user: dict[str, str] = {"id": rng.choice(["alice", "bob", "carol"])}
        if rng.random() < 0.6:
            user["team"] = rng.choice(["eng", "ops", "law"])
        action = rng.choice(["read", "publish", "deploy"])
        requests.append({"user": user, "action": action, "level": rng.randint(0, 4)})
    return requests


@pytest.mark.parametrize("backend", BACKENDS)
def test_rules_look_up_reference_data(backend: str) -> None:
    policy = policydsl.loads(POLICY, backend=backend)
    alice = policy.decide({"user": {"id": "alice"}, "action": "publish"})
    assert alice.rules == ("granted", "noted")
    assert alice.reasons == ("alice may publish", "alice is an editor")
    assert policy.decide({"user": {"id": "bob"}, "action": "read", "level": 2}).rules == (
        "granted",
    )
    assert policy.decide({"user": {"id": "bob"}, "action": "read", "level": 3}).rules == ()
    team = policy.decide({"user": {"id": "carol", "team": "ops"}, "action": "deploy"})
    assert team.rules == ("by_team",) and team.decision == "allow"


def test_every_backend_agrees_on_random_requests() -> None:
    policies = [policydsl.loads(POLICY, backend=b) for b in BACKENDS]
    for request in random_requests(500):
        decided = [p.decide(request) for p in policies]
        assert decided[0] == decided[1] == decided[2], request


def test_a_lookup_reads_the_rows_with_the_key() -> None:
    """The IR names the lookup; the generated code reads the rows of one key, not the table."""
    policy = policydsl.loads(POLICY)
    dump = policy.compiled("ir")
    assert "some g in rows of grants where user == user.id:" in dump
    assert "some t in rows of teams where team == user.team:" in dump
    assert ".get(_s" in policy.compiled("python")


def test_a_lookup_in_a_large_table() -> None:
    """2,000 rows, one key each: every backend decides alike through the lookup."""
    rows = "\n".join(f'  "u{i}", "read", {i % 5}, -' for i in range(2_000))
    text = POLICY.replace(
        POLICY[POLICY.index("table grants") : POLICY.index("table teams")],
        f"table grants(user: string, action: string, level: int, note: string?) {{\n{rows}\n}}\n",
    )
    policy = policydsl.loads(text)
    assert policy.decide({"user": {"id": "u42"}, "action": "read", "level": 2}).rules == (
        "granted",
    )
    assert policy.decide({"user": {"id": "u42"}, "action": "read", "level": 3}).rules == ()
    reference = policydsl.loads(text, backend="interpreted")
    for request in random_requests(50):
        assert policy.decide(request) == reference.decide(request)


def test_keys_repeat_only_in_tables_no_rule_is_written_for() -> None:
    keyed = POLICY + 'rule per_grant for grants: allow { when user.id == "x" }\n'
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(keyed)
    codes = {d.code.value for d in info.value.diagnostics if d.severity == "error"}
    assert "P203" in codes  # two rows for `alice`, and the columns now name things


@pytest.mark.parametrize(
    ("expr", "code", "hint"),
    [
        ('grants.user == "a"', "P325", "some r in grants: r.user == ..."),
        ("some g in grant: true", "P201", "did you mean `grants`?"),
        ('some g in grants: g.nte == "x"', "P201", "did you mean `g.note`?"),
        ('some g in grants: g.note == "x"', "P303", "has g.note"),
    ],
)
def test_mistakes_are_named(expr: str, code: str, hint: str) -> None:
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(POLICY + f"rule broken: deny {{ when {expr} }}\n")
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    assert [d.code.value for d in errors] == [code], [d.render() for d in errors]
    assert hint in (errors[0].help or ""), errors[0].render()


def test_a_relation_from_a_data_file(tmp_path: Path) -> None:
    rows = [["alice", "publish", 3, "editor"], {"user": "bob", "action": "read", "level": 1}]
    (tmp_path / "grants.json").write_text(json.dumps(rows), encoding="utf-8")
    start, end = POLICY.index("table grants"), POLICY.index("table teams")
    text = (
        POLICY[:start]
        + (
            "table grants(user: string, action: string, level: int, note: string?)"
            ' from "grants.json"\n'
        )
        + POLICY[end:]
    )
    (tmp_path / "p.policy").write_text(text, encoding="utf-8")
    policy = policydsl.load(tmp_path)
    assert policy.decide({"user": {"id": "alice"}, "action": "publish"}).rules == (
        "granted",
        "noted",
    )


def test_verify_reads_relations() -> None:
    pytest.importorskip("z3")
    from policydsl.verify import prove

    text = POLICY + (
        'property carol_never { when user.id == "carol" and not has user.team '
        "ensure decision == deny }\n"
        'property bob_never { when user.id == "bob" ensure decision == deny }\n'
    )
    policy = policydsl.loads(text)
    results = {p.name: prove(policy, p).status for p in policy.checked.properties}
    assert results == {"carol_never": "proved", "bob_never": "counterexample"}
