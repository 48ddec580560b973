"""Data-heavy policies (`data_workloads.py`): an entity store of 100,000 entities, Pods with 50
containers, a template with 1,000 instances. Marked `data`: `report.py` leaves them out
(`data_report.py` runs the same workloads in one process and prints their ratios); run them with
`python -m pytest benchmarks/test_bench_data.py --benchmark-only`.

Every decision benchmark is one pass over a list of varied requests per round (per-decision time
is the round's time divided by `extra_info["decisions"]`), checked before it is timed: the
entity policy against its precomputed twin on every request, the template against a plain
Python reading of its rows.
"""

from __future__ import annotations

import gc
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import policydsl
from benchmarks import data_workloads as w

pytestmark = pytest.mark.data

N_REQUESTS = int(os.environ.get("POLICYDSL_BENCH_DATA_REQUESTS", "20000"))
ROUNDS = 5
LOAD_ROUNDS = 3


def _decide_all(decide: Callable[[Any], object], requests: list[Any]) -> None:
    for request in requests:
        decide(request)


# ---- the entity store ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def org() -> w.Org:
    return w.make_org()


@pytest.fixture(scope="module")
def store(org: w.Org) -> Any:
    return policydsl.loads(w.entity_policy_text([])).entity_store(org.data)


@pytest.fixture(scope="module")
def pairs(org: w.Org) -> list[tuple[str, str]]:
    return w.entity_requests(org, N_REQUESTS)


def test_load_entities(benchmark: Any, org: w.Org) -> None:
    """`policy.load_entities(list)` of the 100,000 entities; the previous store is dropped
    before each round, untimed."""
    policy = policydsl.loads(w.entity_policy_text([]))
    empty = policy.entity_store([])

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        policy.use_entities(empty)
        gc.collect()
        return (org.data,), {}

    benchmark.group = "entities: load"
    benchmark.extra_info.update(entities=len(org.data))
    benchmark.pedantic(policy.load_entities, setup=setup, rounds=LOAD_ROUNDS)
    assert len(policy.entities) == w.ENTITIES


@pytest.mark.memory
def test_entity_store_memory(benchmark: Any, org: w.Org) -> None:
    """tracemalloc: what the store keeps once its parsed JSON input is gone, and the peak."""
    policy = policydsl.loads(w.entity_policy_text([]))
    found: dict[str, int] = {}

    def measure() -> None:
        retained, peak, text_bytes = w.store_memory(org, policy)
        found.update(store_bytes=retained, peak_bytes=peak, json_bytes=text_bytes)

    benchmark.group = "entities: memory"
    benchmark.pedantic(measure, rounds=1)
    benchmark.extra_info.update(found)


@pytest.mark.parametrize("passes", ["first", "warm"])
@pytest.mark.parametrize("request_kind", ["entities", "precomputed"])
@pytest.mark.parametrize("rules", w.GROUP_RULES)
def test_entity_decide(
    benchmark: Any,
    org: w.Org,
    store: Any,
    pairs: list[tuple[str, str]],
    rules: int,
    request_kind: str,
    passes: str,
) -> None:
    """`principal in Team::"..."` over `rules` group rules and reads through references, or the
    same rules over a request with the groups and attributes precomputed by the caller. First:
    each round decides on a freshly compiled policy (compiled in setup, untimed)."""
    teams = w.group_teams(org, rules)
    entity_text, pre_text = w.entity_policy_text(teams), w.precomputed_policy_text(teams)
    entity_reqs = [w.as_entity_request(p) for p in pairs]
    pre_reqs = [w.as_precomputed_request(org, p) for p in pairs]

    def fresh(text: str) -> policydsl.Policy:
        policy = policydsl.loads(text)
        policy.use_entities(store)
        return policy

    w.check_entity_pair(fresh(entity_text), fresh(pre_text), entity_reqs, pre_reqs)
    text, reqs = (entity_text, entity_reqs) if request_kind == "entities" else (pre_text, pre_reqs)

    benchmark.group = f"entities: decide, {rules:,} group rules"
    benchmark.extra_info.update(
        rules=rules, request=request_kind, passes=passes, decisions=len(reqs)
    )
    if passes == "first":

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            return (fresh(text).decide, reqs), {}

        benchmark.pedantic(_decide_all, setup=setup, rounds=ROUNDS)
    else:
        policy = fresh(text)
        _decide_all(policy.decide, reqs)
        benchmark.pedantic(_decide_all, args=(policy.decide, reqs), rounds=ROUNDS)


# ---- Kubernetes pods ---------------------------------------------------------------------------


@pytest.mark.parametrize("containers", [1, w.CONTAINERS])
@pytest.mark.parametrize("template", w.GATEKEEPER)
def test_gatekeeper_pods(benchmark: Any, template: str, containers: int) -> None:
    """200 varied Pods (one in five breaking a rule) against an examples/gatekeeper policy."""
    policy = w.gatekeeper_policy(template)
    reqs = [w.for_template(template, r) for r in w.pods(200, containers)]
    denied = sum(policy.decide(r).decision == "deny" for r in reqs)
    assert 0 < denied < len(reqs)
    benchmark.group = "gatekeeper: pods"
    benchmark.extra_info.update(template=template, containers=containers, decisions=len(reqs))
    benchmark.pedantic(_decide_all, args=(policy.decide, reqs), rounds=ROUNDS)


# ---- template instances ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rows_directory() -> Iterator[Path]:
    yield from w.temporary_directory()


@pytest.mark.parametrize("passes", ["first", "warm"])
@pytest.mark.parametrize("instances", w.INSTANCES)
def test_template_instances(
    benchmark: Any, rows_directory: Path, instances: int, passes: str
) -> None:
    """A two-template policy whose rows (instances) come from JSON files, on varied Pods."""
    directory = rows_directory / f"{instances}-{passes}"
    directory.mkdir()
    made = w.make_instances(instances)
    policy = w.template_policy(made, directory)
    reqs = w.template_requests(made, N_REQUESTS)
    w.check_templates(policy, made, reqs)
    benchmark.group = "templates: instances"
    benchmark.extra_info.update(instances=instances, passes=passes, decisions=len(reqs))
    if passes == "first":

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            return (policydsl.load(directory / "templates.policy").decide, reqs), {}

        benchmark.pedantic(_decide_all, setup=setup, rounds=ROUNDS)
    else:
        benchmark.pedantic(_decide_all, args=(policy.decide, reqs), rounds=ROUNDS)
