"""The rule index costs what the policy's size allows, whatever its `in [...]` tests.

Each `x in [a, b, c]` a rule is indexed by copies it into one bucket per value, and the trie
used to index each bucket again on the next such test: the copies multiplied, so that a
900-character policy took 10 s and 140 MB to load, and a 100-rule role/action policy 24 s and
440 MB. The bounds below are generous guards against that blow-up, not speed claims (those come
from `benchmarks/`); the decisions are held to the interpreter's.
"""

from __future__ import annotations

import random
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import pytest

import policydsl


def multiplying_policy(attributes: int = 5, values: int = 10, rules: int = 4) -> str:
    """Rules that each test every attribute against the same list: before the index was
    bounded, every rule reached `values ** attributes` buckets."""
    listed = ",".join(str(v) for v in range(values))
    tests = " and ".join(f"a{i} in [{listed}]" for i in range(attributes))
    context = "  ".join(f"a{i}: int = 0" for i in range(attributes))
    lines = [f"context {{ {context} }}", "effects deny > allow default allow"]
    lines.extend(
        f'rule r{r}: deny {{ when {tests} and a0 != {r} reason "r{r}" }}' for r in range(rules)
    )
    return "\n".join(lines) + "\n"


ROLES = [f"r{i}" for i in range(10)]
ACTIONS = [f"a{i}" for i in range(20)]
KINDS = [f"k{i}" for i in range(6)]
ENVS = ["prod", "staging", "dev"]
CHANNELS = ["web", "api", "cli", "batch"]
DEPTS = [f"d{i}" for i in range(8)]


def role_action_policy(rules: int = 100, seed: int = 1) -> str:
    """A realistic grant list: each rule names several roles, actions, kinds, environments,
    channels and departments."""
    rnd = random.Random(seed)

    def some(names: list[str], lo: int, hi: int, quote: bool = False) -> str:
        picked = sorted(rnd.sample(names, rnd.randint(lo, hi)))
        return ", ".join(f'"{n}"' if quote else n for n in picked)

    lines = [
        f"enum Role {{ {', '.join(ROLES)} }}",
        f"enum Action {{ {', '.join(ACTIONS)} }}",
        f"enum Kind {{ {', '.join(KINDS)} }}",
        f"enum Env {{ {', '.join(ENVS)} }}",
        f"enum Channel {{ {', '.join(CHANNELS)} }}",
        "context {",
        "  user: { role: Role  dept: string }",
        "  action: Action",
        "  resource: { kind: Kind  env: Env }",
        "  channel: Channel",
        "}",
        "effects deny > allow default deny",
    ]
    for r in range(rules):
        lines.append(
            f"rule g{r}: allow {{\n"
            f"  when user.role in [{some(ROLES, 4, 8)}] and action in [{some(ACTIONS, 8, 16)}]\n"
            f"   and resource.kind in [{some(KINDS, 2, 4)}]"
            f" and resource.env in [{some(ENVS, 1, 2)}]\n"
            f"   and channel in [{some(CHANNELS, 2, 3)}]"
            f" and user.dept in [{some(DEPTS, 3, 6, quote=True)}]\n"
            f'  reason "grant {r}"\n'
            f"}}"
        )
    return "\n".join(lines) + "\n"


def grants_policy(rules: int = 40, seed: int = 4) -> str:
    """The common shape: each rule grants two or three roles two to four actions."""
    rnd = random.Random(seed)
    lines = [
        f"enum Role {{ {', '.join(ROLES)} }}",
        f"enum Action {{ {', '.join(ACTIONS)} }}",
        "context { user: { role: Role }  action: Action }",
        "effects allow > deny default deny",
    ]
    for r in range(rules):
        roles = ", ".join(rnd.sample(ROLES, rnd.randint(2, 3)))
        actions = ", ".join(rnd.sample(ACTIONS, rnd.randint(2, 4)))
        when = f"user.role in [{roles}] and action in [{actions}]"
        lines.append(f'rule g{r}: allow {{ when {when} reason "g" }}')
    return "\n".join(lines) + "\n"


def role_action_requests(count: int, seed: int = 2) -> Iterator[dict[str, Any]]:
    rnd = random.Random(seed)
    for _ in range(count):
        yield {
            "user": {"role": rnd.choice(ROLES), "dept": rnd.choice([*DEPTS, "other"])},
            "action": rnd.choice(ACTIONS),
            "resource": {"kind": rnd.choice(KINDS), "env": rnd.choice(ENVS)},
            "channel": rnd.choice(CHANNELS),
        }


def load_measured(text: str) -> tuple[policydsl.Policy, float, int]:
    """The compiled policy, the seconds it took to load and the peak bytes it allocated."""
    tracemalloc.start()
    try:
        started = time.perf_counter()
        policy = policydsl.loads(text)
        seconds = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return policy, seconds, peak


def test_in_lists_on_every_attribute_do_not_multiply_buckets() -> None:
    text = multiplying_policy()
    assert len(text) < 1_000
    policy, seconds, peak = load_measured(text)
    assert seconds < 5, f"{seconds:.1f} s to load {len(text)} characters"
    assert peak < 50_000_000, f"{peak / 1e6:.0f} MB to load {len(text)} characters"
    assert len(policy.compiled("ir")) < 20_000
    others = [policydsl.loads(text, backend=b) for b in ("naive", "interpreted")]
    rnd = random.Random(3)
    for _ in range(300):
        ctx = {f"a{i}": rnd.choice([0, 1, 2, 5, 9, 10]) for i in range(5)}
        expected = policy.decide(ctx)
        assert all(o.decide(ctx) == expected for o in others), ctx


def test_a_realistic_role_action_policy_loads_in_bounded_time_and_memory() -> None:
    text = role_action_policy()
    policy, seconds, peak = load_measured(text)
    assert seconds < 20, f"{seconds:.1f} s to load 100 rules"
    assert peak < 150_000_000, f"{peak / 1e6:.0f} MB to load 100 rules"
    naive = policydsl.loads(text, backend="naive")
    interpreted = policydsl.loads(text, backend="interpreted")
    fired = 0
    for n, ctx in enumerate(role_action_requests(400)):
        expected = policy.decide(ctx)
        fired += bool(expected.rules)
        assert naive.decide(ctx) == expected, ctx
        if n % 4 == 0:  # the interpreter is the slow witness
            assert interpreted.decide(ctx) == expected, ctx
    assert fired > 20  # the requests reach the rules, not only the default


@pytest.mark.parametrize("shape", ["same lists", "different lists"])
def test_the_index_stays_linear_in_the_number_of_rules(shape: str) -> None:
    """Doubling the rules at most doubles what the index holds (measured by its dump)."""

    def policy(rules: int) -> str:
        if shape == "same lists":
            return multiplying_policy(rules=rules)
        return role_action_policy(rules=rules)

    small, large = (len(policydsl.loads(policy(n)).compiled("ir")) for n in (20, 40))
    assert large < 2.5 * small, (small, large)


def test_rules_with_one_in_list_each_are_still_reached_through_the_index() -> None:
    """The common shapes keep their index: `role in [..]` rules sit in the role's buckets, and
    single-valued keys still go a level deeper."""
    text = grants_policy()
    policy = policydsl.loads(text)
    dump = policy.compiled("ir")
    assert "\nindex value of s1 user.role:" in dump
    assert "\n    index value of s2 action:" in dump
    assert "checks:\n\n" in dump  # no rule is left to be checked on every request
    assert " if " not in dump  # every rule fires from an index bucket, none needs a check
    interpreted = policydsl.loads(text, backend="interpreted")
    for role in ROLES:
        for action in ACTIONS:
            ctx = {"user": {"role": role}, "action": action}
            assert policy.decide(ctx) == interpreted.decide(ctx), ctx


def long_lists_policy(rules: int = 12, values: int = 400, seed: int = 6) -> str:
    """Rules that each list hundreds of values of one attribute, beside other tests."""
    rnd = random.Random(seed)
    lines = ["context { a: int = 0  b: int = 0  n: int = 0 }", "effects deny > allow default allow"]
    for r in range(rules):
        listed = ",".join(str(v) for v in sorted(rnd.sample(range(1000), values)))
        lines.append(f"rule r{r}: deny {{ when a in [{listed}] and b == {r % 3} and n > {r} }}")
        lines.append(f'rule only{r}: deny {{ when a in [{listed}] reason "only the list" }}')
    return "\n".join(lines) + "\n"


def test_a_long_in_list_beside_other_tests_is_not_copied_into_each_value() -> None:
    """A key listing more values than a rule may be copied into is indexed only when it is the
    rule's last test (one table entry per value); beside other tests it stays a test, so the
    generated code does not repeat those tests once per value."""
    text = long_lists_policy()
    policy = policydsl.loads(text)
    assert len(policy.compiled("python")) < 2 * len(text)
    dump = policy.compiled("ir")
    assert "\nindex value of s1 b:" in dump  # the `a in [...] and b == k` rules, on b
    assert "\nindex value of s0 a:" in dump  # the `a in [...]` rules, a table on a
    others = [policydsl.loads(text, backend=b) for b in ("naive", "interpreted")]
    rnd = random.Random(7)
    for _ in range(200):
        ctx = {"a": rnd.randrange(1000), "b": rnd.randrange(4), "n": rnd.randrange(14)}
        expected = policy.decide(ctx)
        assert all(o.decide(ctx) == expected for o in others), ctx
