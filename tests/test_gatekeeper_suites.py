"""OPA Gatekeeper's library, translated: examples/gatekeeper/<template>/ holds a policy, its
Constraints as table rows and the library's suite and samples (JSON beside the YAML, so no YAML
parser is needed). Every suite case is decided on every backend and held to the suite's
assertions; seeded variations of the samples are held to a hand-written reading of the template's
Rego. What the language cannot say is an xfail naming the gap (examples/gatekeeper/README.md)."""

from __future__ import annotations

import json
import random
import re
import shutil
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

import policydsl

EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "gatekeeper"
TEMPLATES = ("block-wildcard-ingress", "containerlimits", "disallowedrepos", "httpsonly")
SEEDS = range(3)
VARIATIONS = 40

Obj = dict[str, Any]
Row = dict[str, Any]
# A model's violations: rule name (without the row's key) -> the reasons of the elements that
# break it, in the request's order (policydsl's reason shows the first).
Violations = dict[str, list[str]]

QUANTITIES = (
    "containerlimits compares a limit with the Constraint's maximum by parsing quantities "
    "(`200m`, `1Gi`): policydsl has no string-to-number conversion nor order on strings"
)
XFAIL = {
    ("containerlimits", "container-limits", "example-disallowed"): QUANTITIES,
    ("containerlimits", "container-limits-ignore-cpu", "example-disallowed"): QUANTITIES,
}


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def review(obj: Obj) -> Obj:
    """The admission review gator builds for an object."""
    group, _, version = str(obj["apiVersion"]).rpartition("/")
    kind = {"group": group, "version": version, "kind": obj["kind"]}
    return {"review": {"kind": kind, "object": obj}}


@cache
def example_policy(template: str, backend: str) -> policydsl.Policy:
    return policydsl.load(EXAMPLES / template, backend=backend)


def violations(policy: policydsl.Policy, obj: Obj, key: str) -> dict[str, str]:
    """The rules fired for the Constraint (row) `key`, by rule name, with their reasons."""
    decision = policy.decide(review(obj))
    fired = {
        rule.removesuffix(f"[{key}]"): reason
        for rule, reason in zip(decision.rules, decision.reasons, strict=True)
        if rule.endswith(f"[{key}]")
    }
    assert (decision.decision == "deny") == bool(decision.rules)
    return fired


# ---- the library's suites --------------------------------------------------------------------


def suite_cases() -> Iterator[Any]:
    for template in TEMPLATES:
        suite = load_json(EXAMPLES / template / "upstream" / "suite.json")
        for test in suite["tests"]:
            for case in test["cases"]:
                marks = []
                why = XFAIL.get((template, test["name"], case["name"]))
                if why is not None:
                    marks.append(pytest.mark.xfail(reason=why, strict=True))
                yield pytest.param(
                    template,
                    test,
                    case,
                    id=f"{template}/{test['name']}/{case['name']}",
                    marks=marks,
                )


def upstream(template: str, yaml_path: str) -> Any:
    return load_json(EXAMPLES / template / "upstream" / Path(yaml_path).with_suffix(".json"))


def row_key(test: dict[str, Any]) -> str:
    """A Constraint's row is keyed by its sample folder: containerlimits' two share a name."""
    return Path(test["constraint"]).parent.name


def expected(count: int, violations: bool | int | str) -> bool:
    if violations in (True, "yes"):
        return count > 0
    if violations in (False, "no"):
        return count == 0
    return count == int(violations)


@pytest.mark.parametrize("backend", policydsl.BACKENDS)
@pytest.mark.parametrize(("template", "test", "case"), list(suite_cases()))
def test_suite_case(
    template: str, test: dict[str, Any], case: dict[str, Any], backend: str
) -> None:
    fired = violations(
        example_policy(template, backend), upstream(template, case["object"]), row_key(test)
    )
    for assertion in case["assertions"]:
        pattern = assertion.get("message")
        reasons = [r for r in fired.values() if pattern is None or re.search(pattern, r)]
        want = assertion.get("violations", True)
        assert expected(len(reasons), want), (assertion, fired)


@pytest.mark.parametrize("template", TEMPLATES)
def test_rows_are_the_suite_constraints(template: str) -> None:
    """Each Constraint of the suite is a row holding its parameters as written (plus the
    defaults the template reads for those it leaves out, since a column has none)."""
    rows = {row["name"]: row for row in load_json(EXAMPLES / template / "constraints.json")}
    suite = load_json(EXAMPLES / template / "upstream" / "suite.json")
    keys = set()
    for test in suite["tests"]:
        constraint = upstream(template, test["constraint"])
        row = rows[row_key(test)]
        keys.add(row_key(test))
        parameters = constraint["spec"].get("parameters", {})
        assert {k: row[k] for k in parameters} == parameters
        assert set(row) - set(parameters) <= {"name", "tlsOptional", "exemptImages"}
    assert keys == set(rows)


@pytest.mark.parametrize("template", TEMPLATES)
def test_json_is_the_yaml(template: str) -> None:
    yaml = pytest.importorskip("yaml")
    for path in (EXAMPLES / template / "upstream").rglob("*.json"):
        text = path.with_suffix(".yaml").read_text(encoding="utf-8")
        assert load_json(path) == yaml.safe_load(text), path


@pytest.mark.parametrize("template", TEMPLATES)
def test_examples_check_without_warnings(template: str) -> None:
    """Their rules' `silence` clauses cover the warnings about rows of their data files."""
    assert policydsl.check([EXAMPLES / template]) == []


# ---- hand-written readings of the templates' Rego --------------------------------------------


def add(found: Violations, rule: str, message: str) -> None:
    found.setdefault(rule, []).append(message)


def above(value: float | None, maximum: float | None) -> bool:
    return value is not None and maximum is not None and value > maximum


def disallowedrepos(obj: Obj, row: Row) -> Violations:
    found: Violations = {}
    repos = ", ".join(row["repos"])
    for field, label, rule in (
        ("containers", "container", "container_repo"),
        ("initContainers", "initContainer", "init_container_repo"),
        ("ephemeralContainers", "ephemeralContainer", "ephemeral_container_repo"),
    ):
        for c in obj["spec"].get(field, []):
            if any(c["image"].startswith(r) for r in row["repos"]):
                msg = f"{label} <{c['name']}> has an invalid image repo <{c['image']}>, "
                add(found, rule, msg + f"disallowed repos are {repos}")
    return found


def block_wildcard_ingress(obj: Obj, row: Row) -> Violations:
    found: Violations = {}
    if obj["kind"] != "Ingress":
        return found
    for rule in obj["spec"].get("rules", []):
        host = rule.get("host", "")
        if host == "" or "*" in host:
            shown = rule.get("host", "-")  # policydsl shows an absent attribute as `-`
            add(
                found,
                "wildcard_host",
                f"Hostname '{shown}' is not allowed since it counts as a "
                "wildcard, which can be used to intercept traffic from other applications.",
            )
    return found


def httpsonly(obj: Obj, row: Row) -> Violations:
    found: Violations = {}
    if obj["kind"] != "Ingress" or not re.match(
        r"^(extensions|networking.k8s.io)/", obj["apiVersion"]
    ):
        return found
    annotations = obj["metadata"].get("annotations") or {}
    annotated = annotations.get("kubernetes.io/ingress.allow-http") == "false"
    tls = obj["spec"].get("tls")
    name = obj["metadata"]["name"]
    if not row["tlsOptional"] and not (tls is not None and len(tls) > 0 and annotated):
        add(
            found,
            "https_required",
            "Ingress should be https. tls configuration and "
            f"allow-http=false annotation are required for {name}",
        )
    if row["tlsOptional"] and not annotated:
        add(
            found,
            "allow_http_annotation_required",
            f"Ingress should be https. The allow-http=false annotation is required for {name}",
        )
    return found


MEM_MULTIPLE = {
    "E": 10**21, "P": 10**18, "T": 10**15, "G": 10**12, "M": 10**9, "k": 10**6, "": 10**3,
    "m": 1, "Ki": 1024 * 10**3, "Mi": 2**20 * 10**3, "Gi": 2**30 * 10**3, "Ti": 2**40 * 10**3,
    "Pi": 2**50 * 10**3, "Ei": 2**60 * 10**3,
}  # fmt: skip
DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def canonify_cpu(text: str) -> float | None:
    if text.endswith("m"):
        try:
            return float(text.replace("m", ""))
        except ValueError:
            return None
    return float(text) * 1000 if DECIMAL.fullmatch(text) else None


def canonify_mem(text: str) -> float | None:
    suffix = next((s for s in (text[-2:], text[-1:]) if s and s in MEM_MULTIPLE), "")
    raw = text.replace(suffix, "") if suffix else text
    return float(raw) * MEM_MULTIPLE[suffix] if DECIMAL.fullmatch(raw) else None


def containerlimits(obj: Obj, row: Row) -> Violations:
    """Every general_violation of the template; `cpu_above_max`/`memory_above_max` are the ones
    the policy cannot say."""
    found: Violations = {}
    cpu_on = row["cpu"] != "-1"
    for field, prefix in (("containers", ""), ("initContainers", "init_")):
        for c in obj["spec"].get(field, []):
            if any(
                c["image"].startswith(e[:-1]) if e.endswith("*") else c["image"] == e
                for e in row["exemptImages"]
            ):
                continue
            name = c["name"]
            limits = (c.get("resources") or {}).get("limits")
            if limits is None:
                add(found, prefix + "no_limits", f"container <{name}> has no resource limits")
                continue
            cpu, mem = limits.get("cpu"), limits.get("memory")
            if cpu_on and cpu is not None and canonify_cpu(cpu) is None:
                add(
                    found,
                    prefix + "cpu_unparsable",
                    f"container <{name}> cpu limit <{cpu}> could not be parsed",
                )
            if mem is not None and canonify_mem(mem) is None:
                add(
                    found,
                    prefix + "memory_unparsable",
                    f"container <{name}> memory limit <{mem}> could not be parsed",
                )
            if cpu_on and not cpu:
                add(found, prefix + "no_cpu_limit", f"container <{name}> has no cpu limit")
            if not mem:
                add(found, prefix + "no_memory_limit", f"container <{name}> has no memory limit")
            if cpu_on and above(canonify_cpu(cpu or ""), canonify_cpu(row["cpu"])):
                add(
                    found,
                    prefix + "cpu_above_max",
                    f"container <{name}> cpu limit <{cpu}> is "
                    f"higher than the maximum allowed of <{row['cpu']}>",
                )
            if above(canonify_mem(mem or ""), canonify_mem(row["memory"])):
                add(
                    found,
                    prefix + "memory_above_max",
                    f"container <{name}> memory limit <{mem}> "
                    f"is higher than the maximum allowed of <{row['memory']}>",
                )
    return found


# ---- seeded variations -----------------------------------------------------------------------

NAMES = ("opa", "web", "kustomize", "init-1", "sidecar")
UNSAID = {"cpu_above_max", "memory_above_max", "init_cpu_above_max", "init_memory_above_max"}


def sample_objects(template: str) -> list[Obj]:
    found = (EXAMPLES / template / "upstream" / "samples").rglob("*.json")
    return [load_json(p) for p in sorted(found) if p.name != "constraint.json"]


def containers(rng: random.Random, image: Callable[[], Obj]) -> list[Obj]:
    return [{"name": rng.choice(NAMES), **image()} for _ in range(rng.randrange(4))]


IMAGES = (
    "k8s.gcr.io/kustomize/kustomize:v3.8.9",
    "registry.k8s.io/kustomize/kustomize:v3.8.9",
    "k8s.gcr.io.evil.example/x",
    "docker.io/library/nginx",
    "quay.io/prometheus/prometheus",
    "nginx",
)
REPOS = ("k8s.gcr.io/", "docker.io/", "quay.io/prom", "nginx", "registry.k8s.io/")


def disallowedrepos_rows(rng: random.Random) -> list[Row]:
    return [
        {"name": f"repos-{i}", "repos": rng.sample(REPOS, rng.randrange(1, 4))}
        for i in range(rng.randrange(1, 4))
    ]


def disallowedrepos_object(rng: random.Random, obj: Obj) -> Obj:
    for field in ("containers", "initContainers", "ephemeralContainers"):
        obj["spec"][field] = containers(rng, lambda: {"image": rng.choice(IMAGES)})
    return obj


HOSTS = ("", None, "*.example.com", "a.*.example.com", "*", "valid.example.com", "x.example.com")


def ingress_rule(host: str | None) -> Obj:
    rule = load_json(
        EXAMPLES
        / "block-wildcard-ingress"
        / "upstream"
        / "samples"
        / "block-wildcard-ingress"
        / "example_allowed.json"
    )["spec"]["rules"][0]
    if host is None:
        del rule["host"]
    else:
        rule["host"] = host
    return dict(rule)


def block_wildcard_ingress_rows(rng: random.Random) -> list[Row]:
    return [{"name": f"wildcard-{i}"} for i in range(rng.randrange(1, 3))]


def block_wildcard_ingress_object(rng: random.Random, obj: Obj) -> Obj:
    obj["kind"] = rng.choice(("Ingress", "Ingress", "Ingress", "Service"))
    obj["spec"]["rules"] = [ingress_rule(rng.choice(HOSTS)) for _ in range(rng.randrange(5))]
    return obj


def httpsonly_rows(rng: random.Random) -> list[Row]:
    return [{"name": "strict", "tlsOptional": False}, {"name": "optional", "tlsOptional": True}]


def httpsonly_object(rng: random.Random, obj: Obj) -> Obj:
    obj["apiVersion"] = rng.choice(
        ("networking.k8s.io/v1", "extensions/v1beta1", "v1", "networkingXk8s.io/v1", "apps/v1")
    )
    obj["kind"] = rng.choice(("Ingress", "Ingress", "Ingress", "Service"))
    annotations: dict[str, str] | None = rng.choice((None, {}, {"team": "a"}))
    allow_http = rng.choice((None, "false", "true", "False", ""))
    if annotations is not None and allow_http is not None:
        annotations["kubernetes.io/ingress.allow-http"] = allow_http
    obj["metadata"]["annotations"] = annotations
    tls: list[Obj] = [{}, {"hosts": ["a.example.com"], "secretName": "s"}]
    obj["spec"]["tls"] = rng.choice((None, [], tls[:1], tls[1:]))
    return obj


CPUS = ("100m", "200m", "300m", "1", "0.5", "abc", "", "1.5m", "2x", "0.1", "2", None)
MEMORIES = ("1Gi", "2Gi", "512Mi", "1024Mi", "1G", "100", "1.5Gi", "abc", "", "1e3", "1Ki", None)
LIMIT_IMAGES = (
    "openpolicyagent/opa:0.9.2",
    "exempt.io/tool:1",
    "gcr.io/pinned:1.0",
    "gcr.io/pinned:1.1",
)


def containerlimits_rows(rng: random.Random) -> list[Row]:
    return [
        {
            "name": f"limits-{i}",
            "cpu": rng.choice(("200m", "-1", "1", "500m")),
            "memory": rng.choice(("1Gi", "2Gi", "512Mi")),
            "exemptImages": rng.choice(([], ["exempt.io/*"], ["gcr.io/pinned:1.0", "exempt.io/*"])),
        }
        for i in range(rng.randrange(1, 3))
    ]


def resources(rng: random.Random) -> Obj:
    shape = rng.randrange(4)
    if shape == 0:
        return {}
    if shape == 1:
        return {"resources": {}}
    limits = {"cpu": rng.choice(CPUS), "memory": rng.choice(MEMORIES)}
    return {"resources": {"limits": {k: v for k, v in limits.items() if v is not None}}}


def containerlimits_object(rng: random.Random, obj: Obj) -> Obj:
    for field in ("containers", "initContainers"):
        obj["spec"][field] = containers(
            rng, lambda: {"image": rng.choice(LIMIT_IMAGES), **resources(rng)}
        )
    return obj


Model = Callable[[Obj, Row], Violations]
VARIED: dict[
    str, tuple[Callable[[random.Random], list[Row]], Callable[[random.Random, Obj], Obj], Model]
] = {
    "block-wildcard-ingress": (
        block_wildcard_ingress_rows,
        block_wildcard_ingress_object,
        block_wildcard_ingress,
    ),
    "containerlimits": (containerlimits_rows, containerlimits_object, containerlimits),
    "disallowedrepos": (disallowedrepos_rows, disallowedrepos_object, disallowedrepos),
    "httpsonly": (httpsonly_rows, httpsonly_object, httpsonly),
}


def varied(
    template: str, seed: int, tmp_path: Path
) -> Iterator[tuple[Obj, Row, dict[str, policydsl.Policy]]]:
    """The suite's Constraints and seeded ones (rows written to a copy of the example), and
    objects mutated from the samples, with the policy loaded on every backend."""
    rng = random.Random(f"{template}/{seed}")
    make_rows, mutate, _model = VARIED[template]
    folder = tmp_path / template
    shutil.copytree(EXAMPLES / template, folder, ignore=shutil.ignore_patterns("upstream"))
    rows = load_json(EXAMPLES / template / "constraints.json") + make_rows(rng)
    (folder / "constraints.json").write_text(json.dumps(rows), encoding="utf-8")
    policies = {b: policydsl.load(folder, backend=b) for b in policydsl.BACKENDS}
    samples = sample_objects(template)
    for _ in range(VARIATIONS):
        obj = mutate(rng, json.loads(json.dumps(rng.choice(samples))))
        for row in rows:
            yield obj, row, policies


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("template", TEMPLATES)
def test_variations_agree_with_the_rego(template: str, seed: int, tmp_path: Path) -> None:
    model = VARIED[template][2]
    seen: set[str] = set()
    for obj, row, policies in varied(template, seed, tmp_path):
        want = {rule: msgs[0] for rule, msgs in model(obj, row).items() if rule not in UNSAID}
        seen.update(want or {"none"})
        for backend, policy in policies.items():
            assert violations(policy, obj, row["name"]) == want, (backend, row, obj)
    assert "none" in seen and len(seen) > 1, seen  # the variations both pass and break the rules


@pytest.mark.xfail(strict=True, reason=QUANTITIES)
def test_containerlimits_maxima(tmp_path: Path) -> None:
    """The variations above a Constraint's maximum, which the policy lets through."""
    missed = []
    for seed in SEEDS:
        for obj, row, policies in varied("containerlimits", seed, tmp_path / str(seed)):
            want = {rule: msgs[0] for rule, msgs in containerlimits(obj, row).items()}
            if violations(policies["compiled"], obj, row["name"]) != want:
                missed.append((row, obj))
    assert not missed, f"{len(missed)} decisions miss a limit above the maximum"


# ---- what the translation cannot say, held as expected failures ---------------------------------


@pytest.mark.parametrize("template", ["block-wildcard-ingress", "disallowedrepos"])
@pytest.mark.xfail(
    strict=True,
    reason="a rule fires once a decision, its reason naming the first element that breaks it; "
    "Gatekeeper reports one violation per distinct message (per offending container or host)",
)
def test_violation_counts(template: str, tmp_path: Path) -> None:
    model = VARIED[template][2]
    for seed in SEEDS:
        for obj, row, policies in varied(template, seed, tmp_path / str(seed)):
            messages = {m for msgs in model(obj, row).values() for m in msgs}
            assert len(violations(policies["compiled"], obj, row["name"])) == len(messages)


def sample(template: str, path: str) -> Obj:
    obj: Obj = upstream(template, f"samples/{path}")
    return obj


@pytest.mark.xfail(
    strict=True,
    raises=policydsl.ContextError,
    reason="records are closed: an object from the API server carries fields the policy does "
    "not read (metadata.uid, status, ...), and each must be declared or the request is refused",
)
def test_undeclared_object_fields() -> None:
    obj = sample("disallowedrepos", "repo-must-not-be-k8s-gcr-io/example_allowed.yaml")
    obj["metadata"]["uid"] = "2f7c1a0e-0000-4000-8000-000000000000"
    obj["status"] = {"phase": "Pending"}
    assert violations(example_policy("disallowedrepos", "compiled"), obj, "x") == {}


@pytest.mark.xfail(
    strict=True,
    raises=policydsl.ContextError,
    reason="no union types: a quantity may be a JSON number (`cpu: 1`) as well as a string, "
    "and an attribute has one type",
)
def test_numeric_quantities() -> None:
    obj = sample("containerlimits", "container-must-have-limits/example_allowed.yaml")
    obj["spec"]["containers"][0]["resources"]["limits"]["cpu"] = 1
    assert violations(example_policy("containerlimits", "compiled"), obj, "x") == {}


def test_review_kind_version() -> None:
    """The review's kind declares its version (a field named by a reserved word)."""
    obj = sample("httpsonly", "ingress-https-only/example_allowed.yaml")
    request = review(obj)
    request["review"]["kind"]["version"] = "v1"
    assert not example_policy("httpsonly", "compiled").decide(request).rules


@pytest.mark.xfail(
    strict=True,
    reason="an exemption ending in `*` is a literal prefix to Gatekeeper; policydsl cannot cut "
    "the `*` off, and `like` reads a `?` (or `\\`, or an earlier `*`) in it as a wildcard",
)
def test_exemption_prefixes_are_literal(tmp_path: Path) -> None:
    folder = tmp_path / "containerlimits"
    shutil.copytree(EXAMPLES / "containerlimits", folder, ignore=shutil.ignore_patterns("upstream"))
    row = {"name": "odd", "cpu": "-1", "memory": "1Gi", "exemptImages": ["gcr.io/pin?ed*"]}
    (folder / "constraints.json").write_text(json.dumps([row]), encoding="utf-8")
    obj = sample("containerlimits", "container-must-have-limits/example_allowed.yaml")
    obj["spec"]["containers"] = [{"name": "x", "image": "gcr.io/pinned:1.0"}]
    want = {rule: msgs[0] for rule, msgs in containerlimits(obj, row).items()}
    assert want == {"no_limits": "container <x> has no resource limits"}
    assert violations(policydsl.load(folder), obj, "odd") == want
