"""The index for every kind of test: each rule shape is reached through an index, and every
index decides exactly as the reference interpreter does, at its edges too.

Costs are measured by the benchmarks (`benchmarks/test_bench_scaling.py`); here the structure is
held: a policy of many rules of one shape leaves no rule to be checked in turn, and the shapes an
index can only narrow, or cannot hold within its bounds, still decide right.
"""

from __future__ import annotations

import itertools
import random
from pathlib import Path
from typing import Any

import pytest

import policydsl
from benchmarks.synthetic import SHAPES
from policydsl import ir

INDEX_KINDS = Path(__file__).resolve().parent / "policies" / "index_kinds.policy"
BACKENDS = ("compiled", "naive", "interpreted")


def decide_all(text_or_path: str | Path, contexts: list[dict[str, Any]]) -> None:
    """Every backend decides every context as the interpreter does."""
    if isinstance(text_or_path, Path):
        policies = {b: policydsl.load(text_or_path, backend=b) for b in BACKENDS}
    else:
        policies = {b: policydsl.loads(text_or_path, backend=b) for b in BACKENDS}
    for context in contexts:
        expected = policies["interpreted"].decide(context)
        for backend in ("compiled", "naive"):
            found = policies[backend].decide(context)
            assert found == expected, (backend, context)
            assert found.to_dict() == expected.to_dict(), (backend, context)


# ---- every synthetic shape is indexed -------------------------------------------------------


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_rule_shape_is_reached_through_an_index(shape: str) -> None:
    """300 rules of one shape: none is checked in turn, and requests decide as the
    interpreter does (the shape's own requests, and seeded random ones)."""
    n = 300
    text = SHAPES[shape].policy(n)
    policy = policydsl.loads(text)
    assert policy.evaluator is not None
    program = policy.evaluator.program
    assert not program.checks, ir.dump(program)[:2000]
    assert program.indexes
    rng = random.Random(shape)
    contexts = [context for context, _ in SHAPES[shape].requests(n).values()]
    contexts.extend(SHAPES[shape].random_request(n, rng) for _ in range(200))
    decide_all(text, contexts)


# ---- the golden policy of every index kind ------------------------------------------------


def index_kinds_contexts() -> list[dict[str, Any]]:
    """Requests at the edges of every index of `index_kinds.policy`."""
    rng = random.Random(7)
    amounts = [-1, 0, 9, 10, 14, 15, 19, 20, 30, 31, 500, 501, 999, 1000, 5000, 5001, 50001]
    paths = ["/admin/x", "/admin", "/api/v", "/v1/a", "/v12/a", "/v1", "/", ""]
    hosts = ["a.example.com", ".example.com", "example.com", "x.internal", "internal", ""]
    labels = [[], ["pii"], ["export"], ["export", "bulk"], ["bulk", "secret"], ["x"]]
    files = [[], ["a.exe"], ["/tmp/a.sh"], ["/tmp/a.exe", "b"], ["/tmp/", ".sh"], [".exe"]]
    regions = ["eu", "us", "cn", "ap", ""]
    tenants = ["acme", "t1", "t2", "t4", "t9"]
    countries = ["US", "CA", "FR", ""]
    ages: list[int | None] = [None, 0, 17, 18, 150]
    roles = ["admin", "editor", "viewer", "guest"]
    sources = ["10.20.30.40", "10.20.30.41", "10.20.0.0", "10.255.1.1", "11.0.0.1", "9.255.255.255"]
    sources += ["::ffff:10.20.30.40", "::ffff:11.0.0.1", "fd00::1", "fe80::1", "::", "0.0.0.0"]
    agents = ["bot7/2", "xbot12/", "bot/1", "curl/8.1", "curl/8.1 x", "probe", "probes", "SCANNER"]
    agents += ["a spider-x", "spider-", "", "bo", "Bot1/"]
    contexts = []
    for _ in range(600):
        user: dict[str, Any] = {"role": rng.choice(roles), "country": rng.choice(countries)}
        age = rng.choice(ages)
        if age is not None:
            user["age"] = age
        request = {
            "path": rng.choice(paths),
            "host": rng.choice(hosts),
            "amount": rng.choice(amounts),
            "labels": rng.choice(labels),
            "files": rng.choice(files),
            "region": rng.choice(regions),
            "tenant": rng.choice(tenants),
            "source": rng.choice(sources),
            "agent": rng.choice(agents),
        }
        contexts.append({"user": user, "request": request})
    return contexts


def test_every_index_kind_decides_as_the_interpreter() -> None:
    decide_all(INDEX_KINDS, index_kinds_contexts())


def test_the_dump_shows_every_index_kind() -> None:
    dump = policydsl.load(INDEX_KINDS).compiled("ir")
    for head in (
        "index value of",
        "index element of",
        "index order of",
        "index all but",
        "index prefix[7] value of",
        "index suffix[12] value of",
        "index suffix[4] element of",
        "index networks of",
        "index all but networks of",
        "index all but matches of",
        "index patterns of",
    ):
        assert head in dump, head
    assert "request.amount >= 15 and request.amount < 20 -> r11 r12" in dump  # overlapping ranges
    assert "user.age < 18 -> r25" in dump  # `has user.age` went with the key
    assert 'in_range "::ffff:a00:0/104" -> r24' in dump  # IPv4-mapped: an IPv6 range
    assert '"probe" -> r40' in dump  # `^probe$` is equality
    assert 'matches "(?i)scanner" -> r1' in dump  # no literal: in RE2's set all the same


def test_a_rule_reached_twice_fires_once() -> None:
    """`tenant == "acme" or region == "cn"` enters the index through both keys."""
    policy = policydsl.load(INDEX_KINDS)
    context = index_kinds_contexts()[0]
    context["request"].update(tenant="acme", region="cn")
    decision = policy.decide(context)
    assert decision.rules.count("flagged") == 1
    assert decision == policydsl.load(INDEX_KINDS, backend="interpreted").decide(context)


# ---- what an index only narrows, or cannot hold, is still decided right ----------------------

HEAD = "context { x: int  s: string[..8]  v: string[..8] }\neffects deny > allow default allow\n"


def test_complements_whose_values_overlap_fall_back_to_checks() -> None:
    """`not in` sets that no order of the rules makes contiguous for every value."""
    sets = [["a", "b"], ["b", "c"], ["a", "c"], ["c", "d"], ["a"], ["d", "b"]]
    rules = "".join(
        f'rule n{i}: deny {{ when v not in [{", ".join(map(repr, s))}] reason "r" }}\n'.replace(
            "'", '"'
        )
        for i, s in enumerate(sets)
    )
    text = HEAD + rules
    contexts = [{"x": 0, "s": "", "v": v} for v in "abcdez"]
    decide_all(text, contexts)
    policy = policydsl.loads(text)
    assert policy.evaluator is not None
    program = policy.evaluator.program
    placed = {r for ix in program.indexes for r in ix.everyone}
    assert placed and len(placed) + len(program.checks) == len(sets)


def test_nested_ranges_past_the_copy_bound_are_checked() -> None:
    """200 nested ranges would copy each rule into ~200 places: they are checked instead."""
    rules = "".join(
        f'rule r{i}: deny {{ when {i} <= x and x < {1000 - i} reason "r" }}\n' for i in range(200)
    )
    text = HEAD + rules
    policy = policydsl.loads(text)
    assert policy.evaluator is not None
    assert len(policy.evaluator.program.checks) == 200
    decide_all(text, [{"x": x, "s": "", "v": ""} for x in (-1, 0, 1, 199, 200, 500, 800, 999)])


@pytest.mark.parametrize(
    ("pattern", "texts"),
    [
        ("ab*", ["ab", "abc", "a", "xab"]),
        ("*ab", ["ab", "xab", "abx", "b"]),
        ("a?c", ["abc", "ac", "abbc", "xbc"]),
        ("a*c?", ["acx", "abcd", "ac", "a"]),
        ("*b*", ["b", "abc", "a"]),
        ("??", ["ab", "a", "abc"]),
        ("abc", ["abc", "ab", "abcd"]),
        # escaped in the policy's string (`\\\\` is one backslash), then in the pattern
        ("a\\\\*b", ["a*b", "axb", "a*bc", "a\\*b"]),
        ("*\\\\?", ["x?", "?", "xy", "x\\?"]),
        ("\\\\**", ["*", "*a", "a*", "\\*"]),
    ],
)
def test_like_patterns_through_their_literal_ends(pattern: str, texts: list[str]) -> None:
    """A pattern offers its longer literal end as a key and is checked (unless it is that end
    and a star): the index never loses a match."""
    rules = "".join(
        f'rule p{i}: deny {{ when s like "{pattern}{suffix}" reason "r" }}\n'
        for i, suffix in enumerate(["", "*"])
    )
    text = HEAD + rules
    contexts = [{"x": 0, "s": s, "v": ""} for s in texts + [t + "z" for t in texts]]
    decide_all(text, contexts)


def test_thresholds_of_every_comparison_meet_at_their_bounds() -> None:
    """`>`, `>=`, `<`, `<=` on both sides, one rule each per bound, around every bound."""
    ops = [">", ">=", "<", "<="]
    bounds = [-5, 0, 3, 7]
    rules = []
    for i, (op, bound, flipped) in enumerate(itertools.product(ops, bounds, (False, True))):
        flip = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
        test = f"{bound} {flip[op]} x" if flipped else f"x {op} {bound}"
        rules.append(f'rule t{i}: deny {{ when {test} reason "r" }}\n')
    text = HEAD + "".join(rules)
    decide_all(text, [{"x": x, "s": "", "v": ""} for x in range(-7, 10)])


def test_a_tier_table_under_many_keys_shares_one_piece_of_code() -> None:
    """`key == k and amount > limit` rows under 10 keys: a row per key holds its sorted limits,
    and every key's bucket runs the same code (no branch per key)."""
    keys = [f"k{i}" for i in range(10)]
    rows = "\n".join(
        f'  "l{k}_{j}", {k}, {10 * j + i}' for i, k in enumerate(keys) for j in range(1, 6)
    )
    text = f"""\
enum Key {{ {", ".join(keys)}, none }}
context {{ key: Key  amount: int  other: int? }}
effects deny > allow default allow
table limits(id: string, tier: Key, limit: int) {{
{rows}
}}
rule over for limits: deny {{ when key == tier and amount > limit reason "over {{id}}" }}
rule under for limits: deny {{ when key == tier and has other and other < limit reason "{{id}}" }}
"""
    policy = policydsl.loads(text)
    source = policy.compiled("python")
    assert "_bisect_right(_v" in source
    contexts: list[dict[str, Any]] = []
    for k in [*keys, "none"]:
        for amount in range(-1, 62, 3):
            contexts.append({"key": k, "amount": amount})
            contexts.append({"key": k, "amount": amount, "other": amount + 1})
    decide_all(text, contexts)


SOLE_LOOKUP = """
enum Action {{ read, write, delete, audit }}
context {{ request: {{ action: {action}  user: string = "" }}{extra} }}
effects deny > allow default allow
rule r_read: allow {{ when {has}request.action == {q}read{q}  cite "1"  reason "read" }}
rule r_write: deny {{ when {has}request.action == {q}write{q}  cite "2"  reason "write" }}
rule r_audit: deny {{ when {has}request.action == {q}audit{q}  cite "3"  reason "audit" }}
"""


@pytest.mark.parametrize(
    ("action", "extra"),
    [("Action", ""), ("Action = read", ""), ("Action?", ""), ("string", ""), ("Action", " n: int")],
    ids=["required-enum", "defaulted", "optional", "string", "beside-another"],
)
def test_one_equality_index_is_one_lookup_that_validates_as_the_checks_did(
    action: str, extra: str
) -> None:
    """A policy that is one equality index, each value naming one rule, decides with one table
    lookup (on a required enum attribute, the lookup validates the value too); every request,
    valid or not, is decided or refused as the interpreter does, with the same message."""
    has = "has request.action and " if action.endswith("?") else ""
    q = '"' if action == "string" else ""
    text = SOLE_LOOKUP.format(action=action, extra=extra, has=has, q=q)
    compiled = policydsl.loads(text)
    interpreted = policydsl.loads(text, backend="interpreted")
    if not has:  # (a presence test stays a check beside the index)
        source = compiled.compiled("python")
        assert "_fired" not in source.split("def _flags")[0]  # no list of fired rules is built
    values: list[Any] = ["read", "write", "delete", "audit", "READ", "", 1, True, None, ["read"]]
    contexts: list[Any] = [{"request": {"action": v}} for v in values]
    contexts += [
        {"request": {"action": "write", "user": "u"}},
        {"request": {"action": "write", "other": 1}},
        {"request": {}},
        {},
        {"request": None},
        {"request": "write"},
        {"request": {"action": "read"}, "n": 3},
        {"request": {"action": "read"}, "x": 1},
        [],
    ]
    for context in contexts:
        outcomes = []
        for policy in (compiled, interpreted):
            try:
                outcomes.append(policy.decide(context))
            except policydsl.ContextError as refused:
                outcomes.append(f"refused: {refused}")
        assert outcomes[0] == outcomes[1], context


GRANTS = """
enum Role {{ admin, dev, guest }}
enum Action {{ read, write, deploy, unlisted }}
context {{ request: {{ role: Role  action: Action  n: int = 0 }} }}
effects deny > allow default deny
table grants(grant: string, role: Role, action: Action) {{
{rows}
}}
rule granted for grants: allow {{
  when request.role == role and request.action == action  cite "G"  reason "grant {{grant}}"
}}
{extra}
"""


@pytest.mark.parametrize(
    ("rows", "extra", "fires_one"),
    [
        # many rows per role: an index of actions under each role's bucket
        ([(r, a) for r in ("admin", "dev") for a in ("read", "write", "deploy")], "", True),
        ([("guest", "read"), ("dev", "write")], "", True),  # a check or two per bucket
        ([("dev", "read"), ("dev", "read"), ("admin", "read")], "", False),  # two rows alike
        (
            [(r, a) for r in ("admin", "dev") for a in ("read", "write")],
            'rule big: deny { when request.n > 3  cite "N"  reason "n" }',
            False,
        ),
        (
            [(r, a) for r in ("admin", "dev") for a in ("read", "write")],
            "output echo: int { otherwise => request.n }",
            False,
        ),
    ],
    ids=["rows", "checks", "repeated-rows", "another-rule", "request-output"],
)
def test_equalities_under_a_key_are_tables_of_tables(
    rows: list[tuple[str, str]], extra: str, fires_one: bool
) -> None:
    """`role == r and action == a` rows: each role's bucket is a table of actions, read as
    data; where one rule at most can fire, the code returns its decision where it finds it.
    Every request decides as the interpreter does."""
    listed = "\n".join(f'  "g{i}", {r}, {a}' for i, (r, a) in enumerate(rows))
    text = GRANTS.format(rows=listed, extra=extra)
    compiled = policydsl.loads(text)
    interpreted = policydsl.loads(text, backend="interpreted")
    code = compiled.compiled("python").split("def _flags")[0]
    assert ("_fired" not in code) == fires_one, code
    contexts = [
        {"request": {"role": r, "action": a, "n": n}}
        for r in ("admin", "dev", "guest")
        for a in ("read", "write", "deploy", "unlisted")
        for n in (0, 5)
    ]
    for context in contexts:
        assert compiled.decide(context) == interpreted.decide(context), context


def test_checks_of_one_attribute_against_distinct_constants_fire_one_rule_at_most() -> None:
    """A bucket too small to index again: its checks `n == 1`, `n == 2` are exclusive, and the
    code returns the decision of the one that holds."""
    text = (
        "context { k: string  n: int = 0 }\neffects deny > allow default allow\n"
        'rule a: deny { when k == "x" and n == 1  cite "1"  reason "a" }\n'
        'rule b: deny { when k == "x" and n == 2  cite "2"  reason "b" }\n'
    )
    compiled = policydsl.loads(text)
    interpreted = policydsl.loads(text, backend="interpreted")
    assert "_fired" not in compiled.compiled("python").split("def _flags")[0]
    for n in (0, 1, 2, 3):
        context = {"k": "x", "n": n}
        assert compiled.decide(context) == interpreted.decide(context)


PREFIXES = """
context {{ path: string{optional}  labels: map<string, string> }}
effects deny > allow default allow
{rules}
"""


@pytest.mark.parametrize(
    ("test", "keys", "fires_one"),
    [
        ("path starts_with", ["/p1/", "/p10/", "/p2/", "/q/abc/", "/r"], True),
        ("path ends_with", [".d1.com", ".d11.com", ".e.org", "x"], True),
        ("path starts_with", ["/a", "/ab", "/abc/", "/b/"], False),  # "/a" begins "/ab"
        ("path ends_with", ["b.com", ".b.com", ".c.com"], False),  # "b.com" ends ".b.com"
        ('labels["app"] starts_with', ["web-", "db-", "cache-1", "cache-2"], True),
    ],
    ids=["prefixes", "suffixes", "nested-prefixes", "nested-suffixes", "map-value"],
)
@pytest.mark.parametrize("optional", [False, True], ids=["required", "optional"])
def test_keys_no_other_begins_fire_one_rule_through_lookups_per_length(
    test: str, keys: list[str], fires_one: bool, optional: bool
) -> None:
    """`starts_with` (or `ends_with`) rules of several lengths: where no key begins (ends) with
    another, one rule at most fires, and the lookups, longest table first, return its decision
    where one finds it; nested keys build the list of fired rules. Every request decides as the
    interpreter does, at each key, around it and without it."""
    has = "has path and " if optional and test.startswith("path") else ""
    if test.startswith("labels"):
        has = 'has labels["app"] and '
    rules = "\n".join(
        f'rule r{i}: deny {{ when {has}{test} "{key}"  cite "{i}"  reason "r{i}" }}'
        for i, key in enumerate(keys)
    )
    text = PREFIXES.format(optional="?" if optional else "", rules=rules)
    code = policydsl.loads(text).compiled("python").split("def _flags")[0]
    if not has:  # (a presence test stays a check beside the index)
        assert ("_fired" not in code) == fires_one, code
    texts = ["", "/", "x", "/p", "/q/", "zzzz", "/p1/x/", "web", "cache-"]
    for key in keys:
        texts += [key, key[:-1], key[1:], f"{key}tail", f"head{key}", f"{key}{key}"]
    contexts: list[dict[str, Any]] = []
    for s in texts:
        contexts += [{"path": s, "labels": {}}, {"path": s, "labels": {"app": s}}]
    if optional:
        contexts.append({"labels": {"app": "web-1"}})
    decide_all(text, contexts)


@pytest.mark.parametrize(
    ("rule", "fires_one_path", "beside"),
    [
        ("key == tier and amount > limit", True, ""),
        ("key == tier and limit >= amount", True, ""),
        ("key == tier and amount > limit and amount < 10 * limit", False, ""),  # both sides
        # a rule beside the rows under a key, in the same index: the rows do not decide alone
        ("key == tier and amount > limit", False, "key == k1"),
        ("key == tier and amount > limit", False, "amount > 45"),  # ... or beside the index
    ],
    ids=["above", "below", "both-sides", "rule-under-a-key", "rule-beside"],
)
@pytest.mark.parametrize("amount", ["int", "int = 7", "int?"])
def test_a_tier_table_alone_returns_the_one_rule_at_its_place(
    rule: str, fires_one_path: bool, beside: str, amount: str
) -> None:
    """A tier table that is the whole policy, one side of its limits: each key's row knows,
    per place among its limits, the one rule that fires there, and the code returns that
    rule's decision; where several fire, they are combined. Every request decides as the
    interpreter does, at, above and below every limit."""
    has = "has amount and " if amount.endswith("?") else ""
    rows = "\n".join(f'  "l{k}_{j}", k{k}, {10 * j + k}' for k in range(10) for j in range(1, 5))
    keys = [f"k{k}" for k in range(10)]
    text = f"""\
enum Key {{ {", ".join(keys)}, none }}
context {{ key: Key  amount: {amount} }}
effects deny > allow default allow
table limits(id: string, tier: Key, limit: int) {{
{rows}
}}
rule over for limits: deny {{ when {has}{rule}  cite "T"  reason "over {{id}}" }}
"""
    if beside:
        text += f'rule beside: deny {{ when {has}{beside}  cite "B"  reason "beside" }}\n'

    code = policydsl.loads(text).compiled("python").split("def _flags")[0]
    if not has:
        assert ("return _ONE[_r" in code) == fires_one_path, code
    contexts: list[dict[str, Any]] = [] if amount == "int" else [{"key": "k1"}]
    for key in ("k0", "k1", "k9", "none"):
        contexts += [{"key": key, "amount": a} for a in range(-1, 60)]
    decide_all(text, contexts)


@pytest.mark.parametrize("seed", range(12))
def test_random_tier_tables_decide_as_the_interpreter(seed: int) -> None:
    """Tier tables of 8-12 keys, 4-8 limits each (one piece of code for every key's row), a
    random comparison, alone or beside a rule under a key or beside the index: the rows'
    places, their lone rules and the combined sets decide as the interpreter does."""
    rng = random.Random(seed)
    keys = [f"k{k}" for k in range(rng.randint(8, 12))]
    limits = [(k, rng.randint(-20, 40)) for k in keys for _ in range(rng.randint(4, 8))]
    rows = [f'  "l{i}", {k}, {limit}' for i, (k, limit) in enumerate(limits)]
    op = rng.choice([">", ">=", "<", "<="])
    test = rng.choice([f"amount {op} limit", f"limit {op} amount"])
    text = f"""\
enum Key {{ {", ".join(keys)}, none }}
context {{ key: Key  amount: int }}
effects deny > review > allow default allow
table limits(id: string, tier: Key, limit: int) {{
{chr(10).join(rows)}
}}
rule over for limits: {rng.choice(["deny", "review"])} {{
  when key == tier and {test}  cite "T"  reason "over {{id}}"
}}
"""
    beside = rng.choice(["", f"key == {rng.choice(keys)}", f"amount > {rng.randint(0, 30)}"])
    if beside:
        text += f'rule beside: review {{ when {beside}  cite "B"  reason "beside" }}\n'
    contexts = [{"key": k, "amount": a} for k in [*keys, "none"] for a in range(-22, 43)]
    decide_all(text, contexts)


@pytest.mark.parametrize("seed", range(16))
def test_random_prefixes_and_suffixes_decide_as_the_interpreter(seed: int) -> None:
    """Keys of 1-4 letters over a two-letter alphabet, most of them closed by a `/` so that no
    key begins (ends) another and one rule fires through per-length lookups, the others nested,
    alone or beside an equality: every text of up to 5 characters decides as the interpreter
    does."""
    rng = random.Random(seed)
    test = rng.choice(["starts_with", "ends_with"])
    mark = rng.random() < 0.6  # keys that end (begin) with "/" begin (end) no other key
    words = {"".join(rng.choice("ab") for _ in range(rng.randint(1, 4))) for _ in range(6)}
    keys = {(w + "/" if test == "starts_with" else "/" + w) if mark else w for w in words}
    rules = [
        f'rule r{i}: deny {{ when path {test} "{key}"  cite "{i}"  reason "r{i}" }}'
        for i, key in enumerate(sorted(keys))
    ]
    if rng.random() < 0.3:
        rules.append('rule exact: allow { when path == "ab"  cite "E"  reason "exact" }')
    text = PREFIXES.format(optional="", rules="\n".join(rules))
    texts = ["".join(p) for n in range(6) for p in itertools.product("ab/", repeat=n)]
    decide_all(text, [{"path": s, "labels": {}} for s in texts])
