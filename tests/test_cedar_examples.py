"""Five of Cedar's published example sets (examples/cedar/), translated to policydsl, against Cedar
itself (`cedarpy`): each set's own sample requests, then 2,000 seeded requests per set over 20
generated entity stores, each answer compared: the decision, and the policies that made it
(Cedar's reasons) against the fired rules of the decided effect. The generators
(tests/cedar_sets.py) build stores that conform to each set's Cedar schema (Cedar validates them)
and requests whose answers are varied; the first tests check that of Cedar's side, so that
agreement means something.
"""

from __future__ import annotations

import functools
import json
import random
import subprocess
import sys
from collections import Counter

import cedar_sets
import pytest
from cedar_sets import SETS, CedarSet, Json, Store

import policydsl

pytest.importorskip("cedarpy")

STORES = 20
REQUESTS_PER_STORE = 100

IDS = [s.name for s in SETS]


def stores(cedar_set: CedarSet, count: int = STORES) -> list[Store]:
    return [
        cedar_set.generate(random.Random(f"{cedar_set.name}/{k}"), REQUESTS_PER_STORE)
        for k in range(count)
    ]


# -- Cedar's side: the campaigns mean something ------------------------------------------------


@pytest.mark.parametrize("cedar_set", SETS, ids=IDS)
def test_cedar_decides_the_published_samples_as_published(cedar_set: CedarSet) -> None:
    entities, samples, links = cedar_set.published()
    store = Store(entities, [r for _, r in samples], links)
    # github_example's entities use a type its schema lacks (README.md): Cedar reads them unchecked
    schema = cedar_set.name != "github_example"
    assert cedar_set.cedar_decisions(store, schema=schema) == [d for d, _ in samples]


@pytest.mark.parametrize("cedar_set", SETS, ids=IDS)
def test_generated_requests_get_varied_answers_from_every_policy(cedar_set: CedarSet) -> None:
    """Both decisions at least a fifth of the time, and every policy of the set that is not a
    template the reason of some decision (a forbid among them: it decides a deny)."""
    decisions: Counter[str] = Counter()
    reasons: set[str] = set()
    for store in stores(cedar_set):
        for decision, rules in cedar_set.cedar_answers(store):
            decisions[decision] += 1
            reasons.update(rules)
    total = sum(decisions.values())
    assert total == STORES * REQUESTS_PER_STORE
    assert min(decisions["allow"], decisions["deny"]) >= total // 5, decisions
    assert set(cedar_set.static_policies()) == set(cedar_set.rule_names)
    unseen = set(cedar_set.rule_names.values()) - reasons
    assert unseen == set(), f"policies that never decided: {sorted(unseen)}"


# -- policydsl against Cedar -------------------------------------------------------------------


@pytest.mark.parametrize("cedar_set", SETS, ids=IDS)
def test_the_translation_decides_the_published_samples_as_cedar(
    cedar_set: CedarSet, backend: str
) -> None:
    entities, samples, links = cedar_set.published()
    policy = policydsl.load(cedar_set.translation, backend=backend)
    policy.load_entities(cedar_set.entities(entities))  # installed as the policy's store
    store = Store(entities, [r for _, r in samples], links)
    schema = cedar_set.name != "github_example"  # as above
    expected = cedar_set.cedar_answers(store, schema=schema)
    assert [d for d, _ in expected] == [d for d, _ in samples]
    got = []
    for _, cedar_request in samples:
        decision = policy.decide(cedar_set.request(cedar_request))
        got.append((decision.decision, cedar_set.deciding_rules(decision.decision, decision.rules)))
    assert got == expected


@pytest.mark.parametrize("cedar_set", SETS, ids=IDS)
def test_the_translation_agrees_with_cedar_on_generated_stores(
    cedar_set: CedarSet, backend: str
) -> None:
    static = (
        None if cedar_set.link_tables else policydsl.load(cedar_set.translation, backend=backend)
    )
    compared, differences = 0, []
    for k, store in enumerate(stores(cedar_set)):
        if static is None:
            policy = policydsl.loads(
                cedar_set.policy_text(store.links), name=f"{cedar_set.name}/{k}", backend=backend
            )
        else:
            policy = static
        data = cedar_set.entities(store.entities)
        if k % 2 == 0:  # the data put in use, as OPA's `data`
            policy.load_entities(data)
            decide = policy.decide
        else:  # the data given with each request, as Cedar's (the store in use is another's)
            own = policy.entity_store(data)
            decide = functools.partial(_decide_with, policy, own)
        expected = cedar_set.cedar_answers(store)
        for cedar_request, want in zip(store.requests, expected, strict=True):
            request = cedar_set.request(cedar_request)
            decision = decide(request)
            got = (decision.decision, cedar_set.deciding_rules(decision.decision, decision.rules))
            compared += 1
            if got != want:
                differences.append((k, request, want, got))
    assert compared == STORES * REQUESTS_PER_STORE
    assert differences == [], f"{len(differences)} of {compared} differ, e.g. {differences[:3]}"


def _decide_with(
    policy: policydsl.Policy, store: policydsl.EntityStore, request: Json
) -> policydsl.Decision:
    return policy.decide_with(request, store)


@pytest.mark.parametrize("cedar_set", SETS, ids=IDS)
def test_each_translation_checks_without_warnings_but_unused_template_actions(
    cedar_set: CedarSet,
) -> None:
    """A template no published link uses has an empty table, so no rule reads the definition of
    its actions (W403)."""
    policy = policydsl.load(cedar_set.translation)
    codes = {w.code for w in policy.warnings}
    assert codes <= ({"W403"} if cedar_set.link_tables else set()), policy.warnings


def test_the_command_line_reads_the_published_data() -> None:
    """`policyc eval --entities` with a set's published entities, as the README shows."""
    folder = cedar_sets.EXAMPLES / "sales_orgs"
    request = {
        "principal": "Bob",
        "action": "viewPresentation",
        "resource": {"presentation": "proposal"},
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "policydsl",
            "eval",
            "-p",
            str(folder / "templated"),
            "--entities",
            str(folder / "original" / "templated" / "entities.json"),
            "-",
        ],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    answer = json.loads(done.stdout)
    assert (answer["decision"], answer["rules"]) == ("allow", ["external_prez_view[BobView]"])


def test_the_sets_are_the_five_published_ones() -> None:
    names = {s.name.split("/")[0] for s in cedar_sets.SETS}
    assert names == {"github_example", "hotel_chains", "sales_orgs", "tags_n_roles", "tax_preparer"}
