"""Maps in context (`map<string, T>`): Kubernetes labels and annotations, read by key with
`has`, through `keys` and `values`; requests checked with errors naming the key; every backend
alike, and an index on a key's value."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli

POLICY = """\
context {
  pod: {
    name: string
    labels: map<string, string>[..16]
    annotations: map<string, string>?
    limits: map<string, {cpu: int[0..]  memory: int?}>[..8]
    ports: map<string, list<int>>?
    containers: list<{image: string  env: map<string, string>?}> = []
  }
  team: string = "web"
}
effects deny > allow default deny
rule web: allow { when has pod.labels["app"] and pod.labels["app"] == "web" }
rule tier: allow { when has pod.labels["tier"] and pod.labels["tier"] starts_with "front" }
rule teams: allow { when has pod.labels[team] and pod.labels[team] != "off" }
rule noted: deny { when has pod.annotations["block"] }
rule no_annotation: deny { when not has pod.annotations["owner"] }
rule greedy: deny {
  when some k in keys(pod.limits): pod.limits[k].cpu > 8 and k != "batch"
}
rule memory: deny { when has pod.limits["main"].memory and pod.limits["main"].memory > 64 }
rule prefixed: deny { when some k in keys(pod.labels): k starts_with "x-" }
rule open_port: deny { when has pod.ports["http"] and 22 in pod.ports["http"] }
rule debug_env: deny {
  when some c in pod.containers: has c.env["DEBUG"] and c.env["DEBUG"] == "1"
}
rule many: deny {
  when size(pod.labels) > 6 or "web" in values(pod.labels) and size(pod.labels) > 4
}
"""

KEYS = ["app", "tier", "web", "x-a", "owner", "block", "main", "batch", "http", "DEBUG", "zz"]
VALUES = ["web", "frontend", "front", "off", "1", "", "x"]


def expected(ctx: dict[str, Any]) -> set[str]:
    """What the rules mean, in plain Python."""
    pod = ctx["pod"]
    labels = pod["labels"]
    annotations = pod.get("annotations")
    limits = pod["limits"]
    ports = pod.get("ports")
    team = ctx.get("team", "web")
    fired = set()
    if labels.get("app") == "web":
        fired.add("web")
    if labels.get("tier", "").startswith("front") and "tier" in labels:
        fired.add("tier")
    if team in labels and labels[team] != "off":
        fired.add("teams")
    if annotations is not None and "block" in annotations:
        fired.add("noted")
    if annotations is None or "owner" not in annotations:
        fired.add("no_annotation")
    if any(v["cpu"] > 8 and k != "batch" for k, v in limits.items()):
        fired.add("greedy")
    if "main" in limits and (limits["main"].get("memory") or 0) > 64:
        fired.add("memory")
    if any(k.startswith("x-") for k in labels):
        fired.add("prefixed")
    if ports is not None and "http" in ports and 22 in ports["http"]:
        fired.add("open_port")
    if any((c.get("env") or {}).get("DEBUG") == "1" for c in pod.get("containers", [])):
        fired.add("debug_env")
    if len(labels) > 6 or ("web" in labels.values() and len(labels) > 4):
        fired.add("many")
    return fired


def random_context(rng: random.Random) -> dict[str, Any]:
    def strings(n: int) -> dict[str, str]:
        return {k: rng.choice(VALUES) for k in rng.sample(KEYS, rng.randint(0, n))}

    pod: dict[str, Any] = {"name": "p", "labels": strings(8)}
    if rng.random() < 0.7:
        pod["annotations"] = strings(3)
    limits = {}
    for key in rng.sample(KEYS, rng.randint(0, 3)):
        limit: dict[str, Any] = {"cpu": rng.randint(0, 12)}
        if rng.random() < 0.5:
            limit["memory"] = rng.choice((1, 64, 65, 128))
        limits[key] = limit
    pod["limits"] = limits
    if rng.random() < 0.6:
        pod["ports"] = {k: rng.sample([22, 80, 443], rng.randint(0, 2)) for k in ("http", "ssh")}
    if rng.random() < 0.6:
        pod["containers"] = [
            {"image": "i", **({"env": {**strings(2), "DEBUG": "1"}} if rng.random() < 0.3 else {})}
            for _ in range(rng.randint(0, 2))
        ]
    ctx: dict[str, Any] = {"pod": pod}
    if rng.random() < 0.5:
        ctx["team"] = rng.choice(KEYS)
    return ctx


@pytest.fixture(scope="module")
def policies() -> dict[str, policydsl.Policy]:
    return {b: policydsl.loads(POLICY, backend=b) for b in policydsl.BACKENDS}


def test_every_backend_decides_as_the_rules_mean(policies: dict[str, policydsl.Policy]) -> None:
    rng = random.Random(7)
    seen: set[str] = set()
    for _ in range(400):
        ctx = random_context(rng)
        want = expected(ctx)
        seen |= want
        for backend, policy in policies.items():
            assert set(policy.decide(ctx).rules) == want, (backend, ctx)
    assert seen == {line.split()[1].rstrip(":") for line in POLICY.splitlines() if "rule " in line}


@pytest.mark.parametrize(
    ("pod", "attribute", "detail"),
    [
        ({"labels": {"app": 3}}, 'pod.labels["app"]', "expected a string, got number 3"),
        ({"labels": {1: "x"}}, "pod.labels", "a key that is not a string"),
        ({"labels": {str(i): "x" for i in range(17)}}, "pod.labels", "17 keys; the limit is 16"),
        ({"labels": ["app"]}, "pod.labels", "expected an object mapping strings to a string"),
        ({"limits": {"a": {"cpu": -1}}}, 'pod.limits["a"].cpu', "expected an integer ≥ 0"),
        ({"limits": {"a": {}}}, 'pod.limits["a"].cpu', "is required"),
        ({"limits": {"a": {"cpu": 1, "gpu": 1}}}, 'pod.limits["a"].gpu', "not a declared"),
        ({"ports": {"http": [80, "x"]}}, 'pod.ports["http"]', "element 1"),
        ({"containers": [{"image": "i", "env": {"A": 1}}]}, 'pod.containers[0].env["A"]', ""),
    ],
)
def test_a_request_that_breaks_a_map_names_the_key(
    policies: dict[str, policydsl.Policy], pod: dict[str, Any], attribute: str, detail: str
) -> None:
    ctx = {"pod": {"name": "p", "labels": {}, "limits": {}, **pod}}
    for backend, policy in policies.items():
        with pytest.raises(policydsl.ContextError) as err:
            policy.decide(ctx)
        assert err.value.attribute == attribute, backend
        assert detail in err.value.detail, backend


def test_null_values_are_absent_keys(policies: dict[str, policydsl.Policy]) -> None:
    ctx = {"pod": {"name": "p", "labels": {"app": None, "tier": "front"}, "limits": {}}}
    for policy in policies.values():
        assert set(policy.decide(ctx).rules) == {"tier", "no_annotation"}


def test_any_mapping_is_a_map(policies: dict[str, policydsl.Policy]) -> None:
    """A mapping that is not a dict is taken by the validator (the fast path hands it over)."""
    from types import MappingProxyType

    ctx = {"pod": {"name": "p", "labels": MappingProxyType({"app": "web"}), "limits": {}}}
    for policy in policies.values():
        assert "web" in policy.decide(ctx).rules


def test_a_constant_key_is_indexed(policies: dict[str, policydsl.Policy]) -> None:
    ir = policies["compiled"].compiled("ir")
    assert 'index key "app" value of' in ir
    assert 'index key "tier" prefix[5] value of' in ir
    # the rule's `has` went with its key: nothing left to check in the bucket
    section = ir.split('index key "app" value of', 1)[1].split("\n\n", 1)[0]
    assert '"web" -> r' in section


def test_many_keyed_rules_decide_alike() -> None:
    rules = "\n".join(
        f'rule r{i}: deny {{ when has m["k{i % 7}"] and m["k{i % 7}"] == "v{i}" }}'
        for i in range(60)
    )
    text = f"context {{ m: map<string, string>? }}\neffects deny > allow default allow\n{rules}\n"
    policies = [policydsl.loads(text, backend=b) for b in policydsl.BACKENDS]
    rng = random.Random(3)
    for _ in range(300):
        m = {f"k{rng.randrange(8)}": f"v{rng.randrange(64)}" for _ in range(rng.randint(0, 5))}
        ctx = {"m": m} if rng.random() < 0.9 else {}
        want = sorted(f"r{i}" for i in range(60) if ctx.get("m", {}).get(f"k{i % 7}") == f"v{i}")
        for policy in policies:
            assert sorted(policy.decide(ctx).rules) == want


EFFECTS = "effects deny > allow default allow\n"
HEAD = "context { m: map<string, string>  n: map<string, {a: int?}>  s: string }\n"
HEAD += "effects deny > allow default allow\n"


@pytest.mark.parametrize(
    ("text", "code", "message"),
    [
        (EFFECTS + "context { m: map<int, string> }", "P344", "a map's keys are strings"),
        (EFFECTS + "context { m: map<string, map<string, int>> }", "P346", "cannot be maps"),
        (EFFECTS + "context { m: list<map<string, int>> }", "P311", "not a map"),
        (HEAD + 'rule r: deny { when s["a"] == "b" }', "P345", "`s` is string, not a map"),
        (HEAD + "rule r: deny { when size(keys(s)) > 1 }", "P345", "not a map"),
        (HEAD + 'rule r: deny { when m["app"] == "web" }', "P303", "may be absent here"),
        (HEAD + 'rule r: deny { when has m["a"] and n["a"].a == 1 }', "P303", "may be absent"),
        (HEAD + 'rule r: deny { when has n["a"] and n["a"].a == 1 }', "P303", '`n["a"].a`'),
        (HEAD + "rule r: deny { when m[1] == 1 }", "P301", "a map's key is a string"),
        (HEAD + 'rule r: deny { when has n["a"] and n["a"] == 1 }', "P326", "is a record"),
        (HEAD + 'rule r: deny { when some x in m: x == "a" }', "P317", "not map<string, string>"),
        (HEAD + "def map = 1", "P100", "unexpected `map`"),
    ],
)
def test_check_errors(tmp_path: Path, text: str, code: str, message: str) -> None:
    path = tmp_path / "p.policy"
    path.write_text(text + "\n", encoding="utf-8")
    found = [d for d in policydsl.check([path]) if d.code == code]
    assert found, (text, policydsl.check([path]))
    assert message in found[0].message, found[0].message


def test_reading_a_key_without_has_hints_the_test(tmp_path: Path) -> None:
    path = tmp_path / "p.policy"
    path.write_text(HEAD + 'rule r: deny { when m["app"] == "web" }\n', encoding="utf-8")
    (found,) = policydsl.check([path])
    assert found.help == 'test it first: `has m["app"] and ...`'


@pytest.mark.parametrize(
    "condition",
    [
        'has m["a"] and has n["a"].a and n["a"].a > 1',  # `has n["a"].a` tests the key too
        'not has m["a"] or m["a"] == "b"',
        'some k in keys(m): m[k] == "b"',
        "all k in keys(n): not has n[k].a or n[k].a > 0",
        "some v in values(n): has v.a and v.a > 2",
        "m == m and keys(m) contains_any [s]",
        'has m[s] and m[s] like "a*"',
    ],
)
def test_what_checks(condition: str) -> None:
    policies = [
        policydsl.loads(HEAD + f"rule r: deny {{ when {condition} }}\n", backend=b)
        for b in policydsl.BACKENDS
    ]
    for ctx in ({"m": {}, "n": {}, "s": "a"}, {"m": {"a": "b"}, "n": {"a": {"a": 3}}, "s": "a"}):
        assert len({p.decide(ctx).decision for p in policies}) == 1


def test_the_formatter_keeps_maps() -> None:
    text = policydsl.format_source(POLICY)
    assert "labels: map<string, string>[..16]" in text
    assert 'when has pod.labels["app"] and pod.labels["app"] == "web"' in text
    assert policydsl.format_source(text) == text
    assert (
        policydsl.loads(text)
        .decide({"pod": {"name": "p", "labels": {"app": "web"}, "limits": {}}})
        .rules
        == policydsl.loads(POLICY)
        .decide({"pod": {"name": "p", "labels": {"app": "web"}, "limits": {}}})
        .rules
    )


def test_cost_follows_the_declared_maximum() -> None:
    def bound(size: str) -> int:
        text = (
            f"context {{ m: map<string, list<int>[..10]>{size} }}\n"
            "effects deny > allow default allow\n"
            "rule r: deny { when some v in values(m): some x in v: x > 1 }\n"
        )
        return policydsl.loads(text).cost().rules["r"]

    assert bound("[..4]") == 4 + 4 * (10 * 1 + 1) + 1  # the values' copy, then each list
    assert bound("") > 10_000 * 10


def test_verify_reports_maps_not_decided(tmp_path: Path) -> None:
    pytest.importorskip("z3")
    path = tmp_path / "p.policy"
    path.write_text(
        HEAD + 'rule r: deny { when has m["a"] }\nproperty p { ensure decision == deny }\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert "not decided" in result.output
    assert result.exit_code != 0


def test_verify_proves_what_reads_no_map(tmp_path: Path) -> None:
    """A map the rules do not read leaves the rest decidable; an example gives it empty."""
    pytest.importorskip("z3")
    path = tmp_path / "p.policy"
    path.write_text(
        "context { labels: map<string, string>  n: int[0..10] }\n"
        "effects deny > allow default allow\n"
        "rule big: deny { when n > 5 }\n"
        "property p { when n > 7 ensure decision == deny }\n"
        "property q { when n > 3 ensure decision == deny }\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["verify", str(path)])
    assert "1 proved, 1 with a counterexample" in result.output
    assert '"labels": {}' in result.output


def test_editor_support_names_a_map_record_s_fields() -> None:
    from policydsl.hover import hover
    from policydsl.parser import parse
    from policydsl.source import Source
    from policydsl.symbols import Index

    text = POLICY + "rule spent: deny { when some v in values(pod.limits): v.cpu > 4 }\n"
    source = Source("p.policy", text)
    tree, _ = parse(source)
    assert tree is not None
    index = Index([(source, tree)])
    for read in ("pod.limits[k].cpu", 'pod.limits["main"].memory', "v.cpu"):
        at = text.index(read) + len(read) - 1
        found = index.at("p.policy", at)
        assert found is not None and found.key.startswith("attribute:pod.limits[]."), read
    shown = hover(index, "p.policy", text.index("keys("))
    assert shown is not None and "set<string>" in shown[0]


TABLE = """\
context { pod: { labels: map<string, string>?  ann: map<string, string>  namespace: string } }
effects deny > allow default allow
table required(label: string, ns: string, value: string) {
  "app", "prod", "web"
  "team", "prod", "core"
  "owner", "dev", "me"
}
rule missing for required: deny {
  when pod.namespace == ns and (not has pod.labels[label] or pod.labels[label] != value)
  reason "{label} must be {value} in {ns}"
}
def ann = pod.ann
rule via_def: deny { when has ann["x"] and ann["x"] == "1" }
"""


@pytest.mark.parametrize(
    ("pod", "rules"),
    [
        ({"namespace": "prod", "labels": {"app": "web", "team": "core"}}, ()),
        ({"namespace": "prod", "labels": {"app": "web"}}, ("missing[team]",)),
        ({"namespace": "dev"}, ("missing[owner]",)),
        ({"namespace": "x", "ann": {"x": "1"}}, ("via_def",)),
    ],
)
def test_a_table_s_columns_and_a_definition_name_keys(
    pod: dict[str, Any], rules: tuple[str, ...]
) -> None:
    """Required labels per namespace, Gatekeeper's classic, as a table."""
    for backend in policydsl.BACKENDS:
        policy = policydsl.loads(TABLE, backend=backend)
        assert policy.decide({"pod": {"ann": {}, **pod}}).rules == rules, backend


@pytest.mark.parametrize(
    "decl",
    [
        "output o: map<string, string> { otherwise => m }",
        "def d: map<string, string> = m",
        "annotation a: map<string, string>",
        'table t(k: string, v: map<string, int>) { "a", [] }',
    ],
)
def test_a_map_type_is_for_context_only(tmp_path: Path, decl: str) -> None:
    path = tmp_path / "p.policy"
    path.write_text(HEAD + decl + "\n", encoding="utf-8")
    found = [d for d in policydsl.check([path]) if d.code == "P346"]
    assert found and "only in `context`" in found[0].message


@pytest.mark.parametrize("backend", ["compiled", "naive", "interpreted"])
def test_maps_of_one_value_type_keep_their_own_bounds(backend: str) -> None:
    """Two maps whose types differ only in their bound: each is held to its own (types compare
    without their sizes, so the compiled code must not share one between them)."""
    policy = policydsl.loads(
        "context { small: map<string, bool>[..2]?  large: map<string, bool>[..4]? }\n"
        "effects deny > allow default allow\n"
        'rule r: deny { when has large["a"] and large["a"] }\n',
        backend=backend,
    )
    request = {"small": {"x": True}, "large": {"a": True, "b": False, "c": False, "d": False}}
    assert policy.decide(request).rules == ("r",)
    with pytest.raises(policydsl.ContextError):
        policy.decide({"small": {"a": True, "b": True, "c": True}})
