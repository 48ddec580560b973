"""Lists of records in the request (`containers: list<{name: string ...}>`): checked against
their declaration with errors that name the element's attribute, read through quantifiers with
presence tests, and decided alike by every backend."""

from __future__ import annotations

import random
from typing import Any

import pytest

import policydsl

POD = """\
enum Pull { Always, IfNotPresent, Never }
context {
  pod: {
    namespace: string
    containers: list<{
      name: string
      image: string
      privileged: bool = false
      memory_limit: int[0..]?
      pull: Pull = IfNotPresent
      ports: list<int[0..65535]> = []
      probe: { path: string?  port: int = 80 }
    }>[..16] = []
  }
}
effects deny > allow default allow
rule privileged: deny {
  when some c in pod.containers: c.privileged
  reason "a container runs privileged"
}
rule no_memory_limit: deny {
  when some c in pod.containers: not has c.memory_limit
  reason "a container has no memory limit"
}
rule big: deny {
  when some c in pod.containers: has c.memory_limit and c.memory_limit > 4096
  reason "a container asks for more than 4 GiB"
}
rule latest: deny {
  when some c in pod.containers: c.image ends_with ":latest" and c.pull != Always
  reason "a latest image is not always pulled"
}
rule debug_probe: deny {
  when some c in pod.containers: has c.probe.path and c.probe.path starts_with "/debug"
  reason "a probe reaches a debug endpoint"
}
rule ssh: deny { when some c in pod.containers: 22 in c.ports  reason "a container opens ssh" }
rule crowded: deny { when size(pod.containers) > 3  reason "more than three containers" }
rule twins: deny {
  when some c in pod.containers: some d in pod.containers: c.name == d.name and c != d
  reason "two different containers share a name"
}
"""


@pytest.fixture(scope="module")
def policies() -> dict[str, policydsl.Policy]:
    return {b: policydsl.loads(POD, backend=b) for b in policydsl.BACKENDS}


def random_container(rng: random.Random) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": rng.choice(["web", "db", "sidecar"]),
        "image": rng.choice(["nginx:latest", "postgres:16", "envoy:latest", "app"]),
    }
    if rng.random() < 0.3:
        container["privileged"] = rng.random() < 0.5
    if rng.random() < 0.6:
        container["memory_limit"] = rng.choice([0, 512, 4096, 4097, 10_000])
    if rng.random() < 0.4:
        container["pull"] = rng.choice(["Always", "IfNotPresent", "Never"])
    if rng.random() < 0.4:
        container["ports"] = rng.sample([22, 80, 443, 8080], rng.randint(0, 3))
    if rng.random() < 0.4:
        container["probe"] = rng.choice(
            [{}, {"path": "/debug/pprof"}, {"path": "/healthz", "port": 8080}, {"path": None}]
        )
    if rng.random() < 0.1:
        container["memory_limit"] = None  # null: absent
    return container


def test_every_backend_decides_random_pods_alike(policies: dict[str, policydsl.Policy]) -> None:
    rng = random.Random(8)
    fired: set[str] = set()
    for _ in range(600):
        context = {
            "pod": {
                "namespace": "prod",
                "containers": [random_container(rng) for _ in range(rng.randint(0, 5))],
            }
        }
        decisions = {b: p.decide(context) for b, p in policies.items()}
        expected = decisions["interpreted"]
        for backend, decision in decisions.items():
            assert decision == expected, (backend, context)
        fired.update(expected.rules)
    assert fired == {r.id for r in policies["interpreted"].checked.rules}


@pytest.mark.parametrize(
    ("containers", "attribute", "detail"),
    [
        ([{"name": "a", "image": "i"}, {"name": "b"}], "pod.containers[1].image", "is required"),
        (
            [{"name": "a", "image": "i", "imagee": "j"}],
            "pod.containers[0].imagee",
            "did you mean `pod.containers[0].image`?",
        ),
        (["web"], "pod.containers[0]", "expected an object"),
        (
            [{"name": "a", "image": "i", "memory_limit": -1}],
            "pod.containers[0].memory_limit",
            "≥ 0",
        ),
        (
            [{"name": "a", "image": "i", "ports": [22, 70000]}],
            "pod.containers[0].ports",
            "element 1",
        ),
        ([{"name": "a", "image": "i", "probe": {"pth": "/"}}], "pod.containers[0].probe.pth", ""),
        ([{"name": "a", "image": "i", "pull": "always"}], "pod.containers[0].pull", "Always"),
        ([{"name": "a", "image": "i"}] * 17, "pod.containers", "the limit is 16"),
    ],
)
def test_an_invalid_element_is_named_by_its_position_and_attribute(
    policies: dict[str, policydsl.Policy], containers: list[Any], attribute: str, detail: str
) -> None:
    for backend, policy in policies.items():
        with pytest.raises(policydsl.ContextError) as caught:
            policy.decide({"pod": {"namespace": "x", "containers": containers}})
        assert caught.value.attribute == attribute, backend
        assert detail in str(caught.value), backend


def test_the_compiled_fast_path_checks_and_normalises_elements_itself(
    policies: dict[str, policydsl.Policy],
) -> None:
    """A valid request never goes to the validator; an invalid one always does."""
    evaluator = policies["compiled"].evaluator
    assert evaluator is not None
    sent: list[Any] = []

    def fallback(context: Any) -> Any:
        sent.append(context)
        return evaluator._slow(context)

    valid = {"pod": {"namespace": "x", "containers": [{"name": "a", "image": "nginx:latest"}]}}
    decision = evaluator._decide(valid, fallback)
    assert not sent and decision.rules == ("latest", "no_memory_limit")
    invalid = {"pod": {"namespace": "x", "containers": [{"name": "a", "image": 3}]}}
    with pytest.raises(policydsl.ContextError):
        evaluator._decide(invalid, fallback)
    assert sent == [invalid]


def test_values_of_subclasses_and_tuples_are_normalised_first(
    policies: dict[str, policydsl.Policy],
) -> None:
    class Name(str):
        def __eq__(self, other: object) -> bool:
            raise AssertionError("a caller's __eq__ must never run while deciding")

        __hash__ = str.__hash__

    containers = ({"name": Name("a"), "image": "i"}, {"name": Name("a"), "image": "j"})
    for backend, policy in policies.items():
        decision = policy.decide({"pod": {"namespace": "x", "containers": containers}})
        assert "twins" in decision.rules, backend


@pytest.mark.parametrize(
    ("declaration", "condition", "code"),
    [
        ("xs: set<{a: int}> = []", "size(xs) > 0", "P312"),
        ("xs: list<{a: int?}> = []", "some x in xs: x.a > 1", "P303"),
        ("xs: list<{a: {b: int?}}> = []", "some x in xs: x.a.b > 1", "P303"),
        ("xs: list<{a: int}> = []", "some x in xs: has x.b", "P201"),
    ],
)
def test_mistakes_with_records_in_lists_are_diagnosed(
    declaration: str, condition: str, code: str
) -> None:
    text = (
        f"context {{ {declaration} }}\neffects deny > allow default allow\n"
        f'rule r: deny {{ when {condition}  cite "1"  reason "r" }}\n'
    )
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    assert [d.code for d in caught.value.diagnostics if d.severity == "error"] == [code]


def test_a_nested_presence_test_guards_a_nested_read() -> None:
    text = (
        "context { xs: list<{a: {b: int?}?}> = [] }\neffects deny > allow default allow\n"
        "rule r: deny { when some x in xs: has x.a and has x.a.b and x.a.b > 1\n"
        '  cite "1"  reason "r" }\n'
    )
    for backend in policydsl.BACKENDS:
        policy = policydsl.loads(text, backend=backend)
        assert policy.decide({"xs": [{}, {"a": {}}, {"a": {"b": 2}}]}).rules == ("r",)
        assert policy.decide({"xs": [{"a": {"b": 1}}]}).rules == ()


def test_the_cost_of_a_quantifier_over_records_follows_the_declared_size() -> None:
    text = POD.replace("}>[..16] = []", "}>[..1000] = []")
    small, large = policydsl.loads(POD).cost(), policydsl.loads(text).cost()
    assert large.rules["twins"] > 1000 * small.rules["twins"] > 0
    # a collection inside each element: 16 containers of up to 10,000 ports each
    assert small.rules["ssh"] >= 16 * 10_000


def test_rules_on_an_attribute_of_the_elements_are_reached_through_an_index() -> None:
    """`some c in xs: c.image == i` (or `starts_with`): each element's attribute is looked up,
    so many such rules cost a lookup per element, and every backend decides alike."""
    rules = "".join(
        f'rule image{i}: deny {{ when some c in pod.containers: c.image == "app{i}" }}\n'
        f'rule repo{i}: deny {{ when some c in pod.containers: c.image starts_with "r{i}/" }}\n'
        f"rule limit{i}: deny {{\n"
        f"  when some c in pod.containers: has c.memory_limit and c.memory_limit == {i}\n}}\n"
        for i in range(40)
    )
    text = (
        "context { pod: { containers: list<{ image: string  memory_limit: int? }> = [] } }\n"
        "effects deny > allow default allow\n" + rules
    )
    policies = {b: policydsl.loads(text, backend=b) for b in policydsl.BACKENDS}
    indexes = [
        line.strip()
        for line in policies["compiled"].compiled("ir").splitlines()
        if line.strip().startswith("index")
    ]
    assert "index field image element of s1 pod.containers:" in indexes
    assert "index field memory_limit element of s1 pod.containers:" in indexes
    assert any(line.startswith("index field image prefix[") for line in indexes)
    rng = random.Random(5)
    for _ in range(1_500):
        containers = []
        for _ in range(rng.randint(0, 3)):
            k = rng.randrange(45)
            image = rng.choice([f"app{k}", f"r{k}/x", f"r{k}", "", "app"])
            container: dict[str, Any] = {"image": image}
            if rng.random() < 0.5:
                container["memory_limit"] = rng.randrange(45)
            containers.append(container)
        context = {"pod": {"containers": containers}}
        decisions = {b: p.decide(context) for b, p in policies.items()}
        assert decisions["compiled"] == decisions["naive"] == decisions["interpreted"], context


NESTED = """\
context {
  pod: { containers: list<{ name: string  resources: { limits: { cpu: string? }? }? }> = [] }
}
effects deny > allow default allow
rule one_cpu: deny {
  when some c in pod.containers: has c.resources.limits.cpu and c.resources.limits.cpu == "1"
}
rule no_cpu: deny { when some c in pod.containers: not has c.resources.limits.cpu }
"""


@pytest.mark.parametrize("backend", ["compiled", "interpreted", "naive"])
def test_has_on_an_element_tests_every_optional_record_on_the_way(backend: str) -> None:
    """`has c.resources.limits.cpu` holds when `resources`, `limits` and `cpu` are all present,
    as `has` on a context attribute does: no `has` needed for each step."""
    policy = policydsl.loads(NESTED, backend=backend)
    cpu = {"name": "b", "resources": {"limits": {"cpu": "1"}}}
    cases = [
        ([{"name": "a"}, cpu], ("no_cpu", "one_cpu")),
        ([{"name": "a", "resources": {}}], ("no_cpu",)),
        ([{"name": "a", "resources": {"limits": {}}}], ("no_cpu",)),
        ([cpu], ("one_cpu",)),
    ]
    for containers, fired in cases:
        assert policy.decide({"pod": {"containers": containers}}).rules == fired
