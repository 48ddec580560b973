"""Synthetic policies of N rules, written as `.policy` text, for the scaling and compile benchmarks.

They go through `policydsl.loads` like any user's policy, so the benchmarks time the whole
pipeline (parse, check, lower, generate) and the shapes an index has to handle. Every shape is a
`Shape`: the policy text for N rules, the `one` and `none` requests with the rule ids each fires,
and a seeded random request for agreement tests (`handwritten_shapes.py` solves each shape by
hand; `tests/test_handwritten_shapes.py` holds the two equal).

Rules are numbered 0 .. N-1 and the `one` request matches the last one, so a backend that scans
rules in order cannot stop early. Plain rules are one per line with short names, tables one row
per line: 10,000 rules stay under the parser's 1,000,000-character file limit.

Each shape: rule `i` (or table row `i`); the `one` request; the `none` request.

- `category`: table row `l_i`, `label in request.labels`; `[l_last]`; `[unlisted]`.
- `equality`: `request.action == a_i`; `a_last`; `unlisted`.
- `pair`: table row, `request.role == role and request.action == action`; the last grant; a
  known role with an `unlisted` action.
- `threshold`: `request.amount > 10 * (N - i)`; `11`, above the smallest threshold only; `10`.
- `range`: `10i <= request.x and request.x < 10i + 5`; `10 last + 2`; `10 last + 7`, in a gap.
- `prefix`: `request.path starts_with "/p_i/"`; `/p_last/a`; `/q/a`.
- `suffix`: `request.host ends_with ".d_i.com"`; `a.d_last.com`; `a.e.com`.
- `like`: `request.host like "*.d_i.com"`; as `suffix`.
- `contains_any`: `request.xs contains_any ["a_i", "b_i"]`; `[b_last, z]`; `[z, y]`.
- `contains_all`: `request.xs contains_all ["a_i", "b_i"]`; `[a_last, b_last, a0]`;
  `[a_last, b0]`, two rules half met.
- `not_equal`: `request.g != "g_i" and request.t == "t_i"` (region, tenant); `t_last` with
  `g0`; `t_last` with `g_last`.
- `not_in`: `not (q.g in ["g_i", "h_i"]) and q.t == "t_i"` (record `q`); `t_last` with `g0`;
  `t_last` with `h_last`.
- `or_equal`: `request.a == "a_i" or request.b == "b_i"`; `b = b_last`; neither.
- `some_prefix`: `some t in request.xs: t starts_with "/p_i/"`; `[/q/, /p_last/a]`; `[/q/a, /p]`.
- `some_equal`: `some t in request.xs: t == "c_i"`; `[z, c_last]`; `[z, y]`.
- `table_limits`: table row `(l_i, k_(i mod 10), 10 (N - i))`, `request.key == key and
  request.amount > limit`; `k_(last mod 10)` with `11`; the same key with `10`.
- `in_range`: `request.source in_range "10.(i div 256).(i mod 256).0/24"`; a host of the last
  range; `11.0.0.1`.
- `matches`: `request.ua matches "bot_i/[0-9]+"`; a user agent holding `bot_last/2`; one holding
  no `bot`.

Thresholds fire every rule below the request's value, so "matches one rule" is a value just above
the smallest threshold (the last rule's); the realistic one-of-many form is `table_limits`, a
tier table with a few keys and many limits per key. A plain `x != c_i` rule set fires every rule
but one for any request (none can match exactly one, and the decision is O(N) by its size), so the
negations are paired with a tenant equality, which is how such a rule is written in practice
(`region != home and tenant == t`; here `g` and `t`, short names that keep 10,000 rules
under the file limit): the negation is then a residual test of one candidate.

Each enum has one extra member, `unlisted`, that no rule names, so a request can be valid and
still match nothing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any, NamedTuple

SIZES: tuple[int, ...] = (10, 100, 1_000, 10_000)
UNLISTED = "unlisted"
TABLE_KEYS = 10  # keys of the `table_limits` shape; its rows share them

Context = dict[str, Any]
Requests = dict[str, tuple[Context, tuple[str, ...]]]

_HEADER = "effects deny > allow default allow\n"


class Shape(NamedTuple):
    """A family of policies: text for N rules, the `one`/`none` requests, random requests."""

    policy: Callable[[int], str]
    requests: Callable[[int], Requests]
    random_request: Callable[[int, random.Random], Context]


def _rules(n: int, when: Callable[[int], str]) -> str:
    """N plain rules `r0` .. `r{N-1}`, one per line, each with a citation and a reason."""
    return "\n".join(f'rule r{i}: deny {{ when {when(i)} cite "c" reason "r" }}' for i in range(n))


def _plain(context: str, n: int, when: Callable[[int], str]) -> str:
    return f"context {{ request: {{ {context} }} }}\n{_HEADER}\n{_rules(n, when)}\n"


def _one_none(n: int, one: Context, none: Context) -> Requests:
    """`one` fires the last rule `r{N-1}` only, `none` fires nothing."""
    return {"one": ({"request": one}, (f"r{n - 1}",)), "none": ({"request": none}, ())}


# ---- category, equality, pair (tables and enums) -------------------------------------------


def category_policy(n: int) -> str:
    """N rows of a `banned` table and one rule over it: a set-membership (category) index."""
    members = ", ".join(f"l{i}" for i in range(n))
    rows = "\n".join(f'  l{i}, "c{i}"' for i in range(n))
    return f"""\
enum Label {{ {members}, {UNLISTED} }}
context {{ request: {{ labels: set<Label> = [] }} }}
effects deny > allow default allow

table banned(label: Label, clause: string) {{
{rows}
}}

rule banned_label for banned: deny {{
  when label in request.labels
  cite clause
  reason "label `{{label}}` is banned"
}}
"""


def category_requests(n: int) -> Requests:
    """`one` matches the last row only, `none` carries a label no row names; with fired ids."""
    last = n - 1
    return {
        "one": ({"request": {"labels": [f"l{last}"]}}, (f"banned_label[l{last}]",)),
        "none": ({"request": {"labels": [UNLISTED]}}, ()),
    }


def category_random(n: int, rng: random.Random) -> Context:
    labels = [f"l{rng.randrange(n)}" for _ in range(rng.randint(0, 3))]
    if rng.random() < 0.3:
        labels.append(UNLISTED)
    return {"request": {"labels": labels}}


def equality_policy(n: int) -> str:
    """N plain rules, each an equality test on one enum attribute: an equality index.

    One rule per line keeps 10,000 rules under the parser's 1,000,000-character file limit.
    """
    members = ", ".join(f"a{i}" for i in range(n))
    rules = "\n".join(
        f'rule r{i}: deny {{ when request.action == a{i} cite "c{i}" reason "a{i} is denied" }}'
        for i in range(n)
    )
    return f"""\
enum Action {{ {members}, {UNLISTED} }}
context {{ request: {{ action: Action }} }}
effects deny > allow default allow

{rules}
"""


def equality_requests(n: int) -> Requests:
    """`one` matches the last rule only, `none` an action no rule names; with fired ids."""
    return _one_none(n, {"action": f"a{n - 1}"}, {"action": UNLISTED})


def equality_random(n: int, rng: random.Random) -> Context:
    action = UNLISTED if rng.random() < 0.2 else f"a{rng.randrange(n)}"
    return {"request": {"action": action}}


def pair_side(n: int) -> int:
    """Roles and actions per side, so that side * side >= n."""
    side = 1
    while side * side < n:
        side += 1
    return side


def pair_policy(n: int) -> str:
    """N grants of (role, action), one table rule testing both attributes by equality."""
    side = pair_side(n)
    roles = ", ".join(f"r{i}" for i in range(side))
    actions = ", ".join(f"a{i}" for i in range(side))
    rows = "\n".join(f'  "g{k}", r{k // side}, a{k % side}' for k in range(n))
    return f"""\
enum Role {{ {roles} }}
enum Action {{ {actions}, {UNLISTED} }}
context {{ request: {{ role: Role  action: Action }} }}
effects allow > deny default deny

table grants(grant: string, role: Role, action: Action) {{
{rows}
}}

rule granted for grants: allow {{
  when request.role == role and request.action == action
  cite "G"
  reason "grant {{grant}}"
}}
"""


def pair_requests(n: int) -> Requests:
    """`one` matches the last grant only, `none` a known role with an action no grant names."""
    side, last = pair_side(n), n - 1
    role, action = f"r{last // side}", f"a{last % side}"
    return {
        "one": ({"request": {"role": role, "action": action}}, (f"granted[g{last}]",)),
        "none": ({"request": {"role": role, "action": UNLISTED}}, ()),
    }


def pair_random(n: int, rng: random.Random) -> Context:
    side = pair_side(n)
    action = UNLISTED if rng.random() < 0.2 else f"a{rng.randrange(side)}"
    return {"request": {"role": f"r{rng.randrange(side)}", "action": action}}


# ---- ordered comparisons -------------------------------------------------------------------


def threshold_limit(n: int, i: int) -> int:
    """Rule i's threshold: descending, so the last rule has the smallest (10)."""
    return 10 * (n - i)


def threshold_policy(n: int) -> str:
    return _plain("amount: int", n, lambda i: f"request.amount > {threshold_limit(n, i)}")


def threshold_requests(n: int) -> Requests:
    return _one_none(n, {"amount": 11}, {"amount": 10})


def threshold_random(n: int, rng: random.Random) -> Context:
    # mostly low amounts, so a random request fires a few rules, sometimes many
    top = 10 * n + 20 if rng.random() < 0.1 else 100
    return {"request": {"amount": rng.randint(-5, top)}}


def range_policy(n: int) -> str:
    return _plain("x: int", n, lambda i: f"{10 * i} <= request.x and request.x < {10 * i + 5}")


def range_requests(n: int) -> Requests:
    last = n - 1
    return _one_none(n, {"x": 10 * last + 2}, {"x": 10 * last + 7})


def range_random(n: int, rng: random.Random) -> Context:
    return {"request": {"x": rng.randint(-5, 10 * n + 5)}}


def table_limits_key(i: int) -> str:
    return f"k{i % TABLE_KEYS}"


def table_limits_policy(n: int) -> str:
    """A tier table: a few keys, many limits each; one rule over it, a key and a threshold."""
    keys = ", ".join(f"k{i}" for i in range(TABLE_KEYS))
    rows = "\n".join(f'  "l{i}", {table_limits_key(i)}, {threshold_limit(n, i)}' for i in range(n))
    return f"""\
enum Key {{ {keys}, {UNLISTED} }}
context {{ request: {{ key: Key  amount: int }} }}
{_HEADER}
table limits(id: string, key: Key, limit: int) {{
{rows}
}}

rule over for limits: deny {{
  when request.key == key and request.amount > limit
  cite "T"
  reason "over limit {{id}}"
}}
"""


def table_limits_requests(n: int) -> Requests:
    """`one`: just above the last row's limit (the smallest, 10) under its key."""
    key = table_limits_key(n - 1)
    return {
        "one": ({"request": {"key": key, "amount": 11}}, (f"over[l{n - 1}]",)),
        "none": ({"request": {"key": key, "amount": 10}}, ()),
    }


def table_limits_random(n: int, rng: random.Random) -> Context:
    key = UNLISTED if rng.random() < 0.1 else f"k{rng.randrange(TABLE_KEYS)}"
    top = 10 * n + 20 if rng.random() < 0.1 else 200
    return {"request": {"key": key, "amount": rng.randint(-5, top)}}


# ---- string tests --------------------------------------------------------------------------


def prefix_policy(n: int) -> str:
    return _plain("path: string[..32]", n, lambda i: f'request.path starts_with "/p{i}/"')


def prefix_requests(n: int) -> Requests:
    return _one_none(n, {"path": f"/p{n - 1}/a"}, {"path": "/q/a"})


def prefix_random(n: int, rng: random.Random) -> Context:
    k = rng.randrange(n + 5)
    path = rng.choice((f"/p{k}/x", f"/p{k}", f"/p{k}/", "/q/", "/p", ""))
    return {"request": {"path": path}}


def suffix_policy(n: int) -> str:
    return _plain("host: string[..32]", n, lambda i: f'request.host ends_with ".d{i}.com"')


def like_policy(n: int) -> str:
    return _plain("host: string[..32]", n, lambda i: f'request.host like "*.d{i}.com"')


def host_requests(n: int) -> Requests:
    return _one_none(n, {"host": f"a.d{n - 1}.com"}, {"host": "a.e.com"})


def host_random(n: int, rng: random.Random) -> Context:
    k = rng.randrange(n + 5)
    host = rng.choice((f"x.d{k}.com", f".d{k}.com", f"d{k}.com", f"x.d{k}.org", f"a.b.d{k}.com"))
    return {"request": {"host": host}}


# ---- set tests -----------------------------------------------------------------------------

_XS = "xs: set<string[..8]>[..8] = []"


def contains_any_policy(n: int) -> str:
    return _plain(_XS, n, lambda i: f'request.xs contains_any ["a{i}", "b{i}"]')


def contains_any_requests(n: int) -> Requests:
    return _one_none(n, {"xs": [f"b{n - 1}", "z"]}, {"xs": ["z", "y"]})


def contains_all_policy(n: int) -> str:
    return _plain(_XS, n, lambda i: f'request.xs contains_all ["a{i}", "b{i}"]')


def contains_all_requests(n: int) -> Requests:
    last = n - 1
    return _one_none(n, {"xs": [f"a{last}", f"b{last}", "a0"]}, {"xs": [f"a{last}", "b0"]})


def ab_random(n: int, rng: random.Random) -> Context:
    xs = {f"{rng.choice('ab')}{rng.randrange(n + 2)}" for _ in range(rng.randint(0, 5))}
    if rng.random() < 0.3:  # both halves of one rule's set
        k = rng.randrange(n)
        xs |= {f"a{k}", f"b{k}"}
    if rng.random() < 0.3:
        xs.add("z")
    return {"request": {"xs": sorted(xs)[:8]}}


# ---- negations and disjunctions ------------------------------------------------------------

_REGION_TENANT = "g: string[..8]  t: string[..8]"


def not_equal_policy(n: int) -> str:
    return _plain(_REGION_TENANT, n, lambda i: f'request.g != "g{i}" and request.t == "t{i}"')


def not_equal_requests(n: int) -> Requests:
    last = n - 1
    return _one_none(n, {"g": "g0", "t": f"t{last}"}, {"g": f"g{last}", "t": f"t{last}"})


def not_in_policy(n: int) -> str:
    """The request record is `q` here, not `request`: the long rules must fit the file limit."""
    rules = _rules(n, lambda i: f'not (q.g in ["g{i}", "h{i}"]) and q.t == "t{i}"')
    return f"context {{ q: {{ {_REGION_TENANT} }} }}\n{_HEADER}\n{rules}\n"


def not_in_requests(n: int) -> Requests:
    last = n - 1
    return {
        "one": ({"q": {"g": "g0", "t": f"t{last}"}}, (f"r{last}",)),
        "none": ({"q": {"g": f"h{last}", "t": f"t{last}"}}, ()),
    }


def not_in_random(n: int, rng: random.Random) -> Context:
    return {"q": region_tenant_random(n, rng)["request"]}


def region_tenant_random(n: int, rng: random.Random) -> Context:
    k = rng.randrange(n + 2)
    region = rng.choice((f"g{k}", f"h{k}", f"g{rng.randrange(n)}", "z"))
    return {"request": {"g": region, "t": f"t{k}"}}


def or_equal_policy(n: int) -> str:
    return _plain(
        "a: string[..8]  b: string[..8]", n, lambda i: f'request.a == "a{i}" or request.b == "b{i}"'
    )


def or_equal_requests(n: int) -> Requests:
    return _one_none(n, {"a": "z", "b": f"b{n - 1}"}, {"a": "z", "b": "z"})


def or_equal_random(n: int, rng: random.Random) -> Context:
    a = rng.choice((f"a{rng.randrange(n + 2)}", "z"))
    b = rng.choice((f"b{rng.randrange(n + 2)}", "z"))
    return {"request": {"a": a, "b": b}}


# ---- quantifiers ---------------------------------------------------------------------------

_PATHS = "xs: list<string[..16]>[..8] = []"


def some_prefix_policy(n: int) -> str:
    return _plain(_PATHS, n, lambda i: f'some t in request.xs: t starts_with "/p{i}/"')


def some_prefix_requests(n: int) -> Requests:
    return _one_none(n, {"xs": ["/q/", f"/p{n - 1}/a"]}, {"xs": ["/q/a", "/p"]})


def some_prefix_random(n: int, rng: random.Random) -> Context:
    xs = [prefix_random(n, rng)["request"]["path"] for _ in range(rng.randint(0, 4))]
    return {"request": {"xs": xs}}


def some_equal_policy(n: int) -> str:
    return _plain(_PATHS, n, lambda i: f'some t in request.xs: t == "c{i}"')


def some_equal_requests(n: int) -> Requests:
    return _one_none(n, {"xs": ["z", f"c{n - 1}"]}, {"xs": ["z", "y"]})


def some_equal_random(n: int, rng: random.Random) -> Context:
    xs = [rng.choice((f"c{rng.randrange(n + 2)}", "z", "c")) for _ in range(rng.randint(0, 4))]
    return {"request": {"xs": xs}}


# ---- addresses and patterns ----------------------------------------------------------------


def network_of(i: int) -> str:
    """Rule i's range: a /24 of 10.0.0.0/8."""
    return f"10.{i // 256}.{i % 256}.0/24"


def in_range_policy(n: int) -> str:
    return _plain("source: ip", n, lambda i: f'request.source in_range "{network_of(i)}"')


def in_range_requests(n: int) -> Requests:
    host = network_of(n - 1).replace(".0/24", ".7")
    return _one_none(n, {"source": host}, {"source": "11.0.0.1"})


def in_range_random(n: int, rng: random.Random) -> Context:
    k = rng.randrange(n + 5)
    host = network_of(k).replace(".0/24", f".{rng.randrange(256)}")
    source = rng.choice((host, host, f"::ffff:{host}", "11.0.0.1", "fd00::1", "10.255.0.1"))
    return {"request": {"source": source}}


_UA = "Mozilla/5.0 (compatible; {}; +https://example.com)"


def matches_policy(n: int) -> str:
    return _plain("ua: string[..96]", n, lambda i: f'request.ua matches "bot{i}/[0-9]+"')


def matches_requests(n: int) -> Requests:
    return _one_none(n, {"ua": _UA.format(f"bot{n - 1}/2.1")}, {"ua": _UA.format("crawler/2.1")})


def matches_random(n: int, rng: random.Random) -> Context:
    k = rng.randrange(n + 5)
    agent = rng.choice(
        (f"bot{k}/{rng.randrange(9)}", f"bot{k}/", f"bot{k}", f"xbot{k}/1", f"bot0{k}/1", "bot/1")
    )
    if rng.random() < 0.2:
        agent += f" bot{rng.randrange(n)}/3"
    return {"request": {"ua": _UA.format(agent)}}


# ---- datetimes: thresholds on an ordered type other than int --------------------------------

_EPOCH = 1_767_225_600_000  # 2026-01-01T00:00:00Z, in milliseconds


def _rfc3339(ms: int) -> str:
    seconds, millis = divmod(ms, 1000)
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
    return f"{stamp}.{millis:03d}Z" if millis else f"{stamp}Z"


def time_limit(n: int, i: int) -> int:
    """Rule i's deadline in milliseconds: an hour apart, descending, the last rule's earliest."""
    return _EPOCH + 3_600_000 * (n - i)


def time_threshold_policy(n: int) -> str:
    return _plain("at: datetime", n, lambda i: f'request.at > "{_rfc3339(time_limit(n, i))}"')


def time_threshold_requests(n: int) -> Requests:
    earliest = time_limit(n, n - 1)
    return _one_none(n, {"at": _rfc3339(earliest + 1000)}, {"at": _rfc3339(earliest)})


def time_threshold_random(n: int, rng: random.Random) -> Context:
    hours = n + 2 if rng.random() < 0.1 else 10
    offset = rng.randint(-3_600_000, 3_600_000 * hours)
    return {"request": {"at": _rfc3339(_EPOCH + offset)}}


# ---- decimals: thresholds on exact fractions ------------------------------------------------


def score_limit(n: int, i: int) -> int:
    """Rule i's threshold, in ten-thousandths: descending, the last rule's the smallest."""
    return 2 * (n - i) + 1


def _score(units: int) -> str:
    whole, fraction = divmod(units, 10_000)
    return f"{whole}.{fraction:04d}"


def score_threshold_policy(n: int) -> str:
    return _plain("score: decimal", n, lambda i: f"request.score > {_score(score_limit(n, i))}")


def score_threshold_requests(n: int) -> Requests:
    lowest = score_limit(n, n - 1)
    return _one_none(n, {"score": _score(lowest + 1)}, {"score": _score(lowest)})


def score_threshold_random(n: int, rng: random.Random) -> Context:
    top = 2 * n + 10 if rng.random() < 0.1 else 40
    return {"request": {"score": _score(rng.randint(0, top))}}


SHAPES: dict[str, Shape] = {
    "category": Shape(category_policy, category_requests, category_random),
    "equality": Shape(equality_policy, equality_requests, equality_random),
    "pair": Shape(pair_policy, pair_requests, pair_random),
    "threshold": Shape(threshold_policy, threshold_requests, threshold_random),
    "range": Shape(range_policy, range_requests, range_random),
    "prefix": Shape(prefix_policy, prefix_requests, prefix_random),
    "suffix": Shape(suffix_policy, host_requests, host_random),
    "like": Shape(like_policy, host_requests, host_random),
    "contains_any": Shape(contains_any_policy, contains_any_requests, ab_random),
    "contains_all": Shape(contains_all_policy, contains_all_requests, ab_random),
    "not_equal": Shape(not_equal_policy, not_equal_requests, region_tenant_random),
    "not_in": Shape(not_in_policy, not_in_requests, not_in_random),
    "or_equal": Shape(or_equal_policy, or_equal_requests, or_equal_random),
    "some_prefix": Shape(some_prefix_policy, some_prefix_requests, some_prefix_random),
    "some_equal": Shape(some_equal_policy, some_equal_requests, some_equal_random),
    "table_limits": Shape(table_limits_policy, table_limits_requests, table_limits_random),
    "in_range": Shape(in_range_policy, in_range_requests, in_range_random),
    "matches": Shape(matches_policy, matches_requests, matches_random),
    "time_threshold": Shape(time_threshold_policy, time_threshold_requests, time_threshold_random),
    "score_threshold": Shape(
        score_threshold_policy, score_threshold_requests, score_threshold_random
    ),
}
"""Every shape by name, in the order the report lists them."""

# The growth targets: 10,000 rules within this many times 10 rules' time.
SCALING_LIMIT = {
    name: 3.0 if name in ("like", "some_prefix", "some_equal", "matches") else 2.0
    for name in SHAPES
}
