"""Reasons that show values of the request: what they render, on every backend, from a compiled
artifact, in fail-closed mode, through `explain` and the CLI; and what the checker refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from test_docs import language_policy

import policydsl
from policydsl import artifact
from policydsl.cli import cli
from policydsl.engine import Policy

BACKENDS = ["compiled", "interpreted", "naive"]

POLICY = """\
context {
  user: { name: string  age: int[0..150]?  roles: set<string> = []  id: string? }
  pod: { containers: list<{ name: string  memory: int?  ports: set<int> = [] }>[..64] = [] }
}
effects deny > review > allow default allow refuse deny
def pod_size = size(pod.containers)
def minimum_age = 18
rule young: deny {
  when has user.age and user.age < minimum_age
  reason "{user.name} is {user.age}, under {minimum_age}; roles: {user.roles}; id {user.id}"
}
rule no_memory_limit: deny {
  when some c in pod.containers: not has c.memory
  reason "container `{c.name}` has no memory limit ({{braces}} stay)"
}
rule open_port: review {
  when some c in pod.containers: some p in c.ports: p < 1024
  reason "{c.name} opens ports {c.ports}"
}
table limits(role: string, cap: int, note: string?) {
  "admin", 10, "big"
  "guest", 1, -
}
rule too_many for limits: deny {
  when role in user.roles and pod_size > cap
  reason "a {role} may run {cap} ({note}); {user.name} asks for {pod_size}"
}
rule constant: review {
  when user.name == "audit"
  reason "audited: {{user.name}} is not read"
}
"""

REQUEST = {
    "user": {"name": "ann", "age": 12, "roles": ["guest", "admin"]},
    "pod": {
        "containers": [
            {"name": "web", "memory": 5, "ports": [8080, 443, 80]},
            {"name": "db"},
            {"name": "cache"},
        ]
    },
}


def reasons(policy: Policy, request: dict[str, Any]) -> dict[str, str]:
    decision = policy.decide(request)
    return dict(zip(decision.rules, decision.reasons, strict=True))


@pytest.mark.parametrize("backend", BACKENDS)
def test_reasons_show_the_values_that_made_the_rule_fire(backend: str) -> None:
    policy = policydsl.loads(POLICY, backend=backend)
    assert reasons(policy, REQUEST) == {
        "young": "ann is 12, under 18; roles: admin, guest; id -",
        "no_memory_limit": "container `db` has no memory limit ({braces} stay)",
        "open_port": "web opens ports 80, 443, 8080",
        "too_many[guest]": "a guest may run 1 (-); ann asks for 3",
    }
    shown = reasons(policy, {"user": {"name": "audit", "id": "u1"}})
    assert shown == {"constant": "audited: {user.name} is not read"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_witness_is_the_first_element_that_passes(backend: str) -> None:
    policy = policydsl.loads(POLICY, backend=backend)
    pods = [{"name": n} if n != "ok" else {"name": n, "memory": 1} for n in ("ok", "b", "a")]
    request = {"user": {"name": "x"}, "pod": {"containers": pods}}
    assert reasons(policy, request)["no_memory_limit"].startswith("container `b` ")


@pytest.mark.parametrize("backend", BACKENDS)
def test_values_are_text_never_a_format(backend: str) -> None:
    """A value holding braces, a format spec or a very long text is shown as it is, clipped."""
    policy = policydsl.loads(POLICY, backend=backend)
    hostile = "{user.name}{0}%s{__class__}"
    shown = reasons(policy, {"user": {"name": hostile, "age": 1}})["young"]
    assert shown.startswith(hostile + " is 1")
    long = "x" * 1000
    shown = reasons(policy, {"user": {"name": long, "age": 1}})["young"]
    assert shown.startswith("x" * 199 + "… is 1")


def test_a_compiled_artifact_keeps_the_messages() -> None:
    """A policy rebuilt from its artifact (no checked model) renders the same reasons."""
    policy = policydsl.loads(POLICY)
    data = json.loads(json.dumps(artifact.encode(policy.lowered(), [], "deny", policy.sources)))
    stored = artifact.decode(data, policy.sources)
    rebuilt = Policy._prebuilt(
        stored.lowered, "deny", backend="compiled", fail_closed=False, warnings=[], sources=()
    )
    assert rebuilt._checked is None
    assert reasons(rebuilt, REQUEST) == reasons(policy, REQUEST)
    assert rebuilt._checked is None  # rendering never needed the checked model


def test_fail_closed_renders_and_refuses() -> None:
    policy = policydsl.loads(POLICY, fail_closed=True)
    assert reasons(policy, REQUEST)["young"].startswith("ann is 12")
    refused = policy.decide({"user": {"name": 3}})
    assert refused.decision == "deny" and refused.error and "user.name" in refused.error


def test_explain_shows_the_rendered_reason() -> None:
    policy = policydsl.loads(POLICY)
    text = policy.explain(REQUEST, rules=["constant"])
    assert "container `db` has no memory limit" in text
    assert "audited: {user.name} is not read" in text  # not fired: the reason as written


def test_the_cli_prints_rendered_reasons(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text(POLICY, encoding="utf-8")
    result = CliRunner().invoke(cli, ["eval", "-p", str(path), "-"], input=json.dumps(REQUEST))
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["reasons"]
    assert any(r.startswith("container `db` has no memory limit") for r in shown), shown


def test_the_reference_example_renders_as_documented() -> None:
    """docs/LANGUAGE.md quotes this reason."""
    policy = policydsl.loads(language_policy(), name="LANGUAGE.md")
    attachments = [
        {"name": "report.pdf", "bytes": 2_000_000},
        {"name": "video.mp4", "bytes": 30_000_000},
    ]
    shown = reasons(policy, {"content": {"attachments": attachments}})
    expected = "attachment `video.mp4` has 30000000 bytes; the user has 0 prior violations"
    assert shown["oversized_attachment"] == expected


BROKEN = [
    ('reason "{c} is bad"', "when some c in pod.containers: true", "P342"),
    ('reason "{pod.containers}"', "when true", "P342"),
    ('reason "{pod}"', "when true", "P326"),
    ('reason "{c.nme}"', "when some c in pod.containers: true", "P201"),
    ('reason "{p}"', "when some c in pod.containers: some p in c.ports: p > 1", "P201"),
    ('reason "{usr.name}"', "when true", "P201"),
]


@pytest.mark.parametrize(("reason", "when", "code"), BROKEN)
def test_placeholders_are_checked_where_the_reason_is(reason: str, when: str, code: str) -> None:
    text = POLICY + f"rule broken: deny {{\n  {when}\n  {reason}\n}}\n"
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(text, name="m.policy")
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    assert [d.code.value for d in errors] == [code], [d.render() for d in errors]
    assert errors[0].line == POLICY.count("\n") + 3
