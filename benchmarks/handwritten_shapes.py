"""Each synthetic shape solved by hand in plain Python: what a programmer would write instead.

`SOLVERS[shape](n)` builds, once, the data structure a person would pick for that shape's N rules
(a dict, sorted boundaries and `bisect`, a dict per prefix length, element-to-rule sets) and
returns `decide(context) -> fired rule ids`, sorted like `Decision.rules`. The rules' constants
come from the same formulas as `synthetic.py`'s policy text; the solvers read the request
without validating it (the shape's logic only), which is the fair floor for the index's cost.
`tests/test_handwritten_shapes.py` holds them equal to policydsl's decisions on every backend.
"""

from __future__ import annotations

import ipaddress
import re
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from benchmarks import synthetic
from benchmarks.synthetic import (
    TABLE_KEYS,
    network_of,
    pair_side,
    score_limit,
    threshold_limit,
    time_limit,
)

_UNIX = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)

Solver = Callable[[Mapping[str, Any]], tuple[str, ...]]


def _sorted(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(ids))


def _exact(table: dict[str, str], field: str, record: str = "request") -> Solver:
    """One dict lookup: equality on one attribute."""
    get = table.get

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        rule = get(context[record][field])
        return () if rule is None else (rule,)

    return decide


def category(n: int) -> Solver:
    banned = {f"l{i}": f"banned_label[l{i}]" for i in range(n)}

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        return _sorted({banned[x] for x in context["request"]["labels"] if x in banned})

    return decide


def equality(n: int) -> Solver:
    return _exact({f"a{i}": f"r{i}" for i in range(n)}, "action")


def pair(n: int) -> Solver:
    side = pair_side(n)
    grants = {(f"r{k // side}", f"a{k % side}"): f"granted[g{k}]" for k in range(n)}

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        request = context["request"]
        rule = grants.get((request["role"], request["action"]))
        return () if rule is None else (rule,)

    return decide


def threshold(n: int) -> Solver:
    """Sorted thresholds: the rules fired are those below the amount, one `bisect`."""
    by_limit = sorted((threshold_limit(n, i), f"r{i}") for i in range(n))
    limits = [limit for limit, _ in by_limit]
    ids = [rule for _, rule in by_limit]

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        return _sorted(ids[: bisect_left(limits, context["request"]["amount"])])

    return decide


def range_(n: int) -> Solver:
    """Disjoint intervals [lo, hi): the last start at or below x, then its end."""
    starts = [10 * i for i in range(n)]

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        x = context["request"]["x"]
        i = bisect_right(starts, x) - 1
        return (f"r{i}",) if i >= 0 and x < starts[i] + 5 else ()

    return decide


def _affix_table(affixes: dict[str, str]) -> tuple[dict[str, str], tuple[int, ...]]:
    return affixes, tuple(sorted({len(a) for a in affixes}))


def prefix(n: int) -> Solver:
    """A dict per prefix length (a few lengths): one slice and lookup per length."""
    table, lengths = _affix_table({f"/p{i}/": f"r{i}" for i in range(n)})

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        path = context["request"]["path"]
        return _sorted(table[path[:k]] for k in lengths if len(path) >= k and path[:k] in table)

    return decide


def suffix(n: int) -> Solver:
    """The same by suffix length; serves `ends_with` and `like "*.d_i.com"` alike."""
    table, lengths = _affix_table({f".d{i}.com": f"r{i}" for i in range(n)})

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        host = context["request"]["host"]
        return _sorted(table[host[-k:]] for k in lengths if len(host) >= k and host[-k:] in table)

    return decide


def _element_index(n: int) -> dict[str, list[str]]:
    """Element -> the rules whose set holds it (`a_i`, `b_i` -> rule i)."""
    index: dict[str, list[str]] = {}
    for i in range(n):
        for element in (f"a{i}", f"b{i}"):
            index.setdefault(element, []).append(f"r{i}")
    return index


def contains_any(n: int) -> Solver:
    index = _element_index(n)

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        return _sorted({rule for x in set(context["request"]["xs"]) for rule in index.get(x, ())})

    return decide


def contains_all(n: int) -> Solver:
    """Count hits per rule; a rule fires when all of its (two) elements were hit."""
    index = _element_index(n)

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        hits = Counter(rule for x in set(context["request"]["xs"]) for rule in index.get(x, ()))
        return _sorted(rule for rule, count in hits.items() if count == 2)

    return decide


def _tenant_excluding(n: int, excluded: Callable[[int], frozenset[str]], record: str) -> Solver:
    """The tenant's rule (a dict), then its negated region test."""
    by_tenant = {f"t{i}": (f"r{i}", excluded(i)) for i in range(n)}

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        request = context[record]
        found = by_tenant.get(request["t"])
        if found is None or request["g"] in found[1]:
            return ()
        return (found[0],)

    return decide


def not_equal(n: int) -> Solver:
    return _tenant_excluding(n, lambda i: frozenset({f"g{i}"}), "request")


def not_in(n: int) -> Solver:
    return _tenant_excluding(n, lambda i: frozenset({f"g{i}", f"h{i}"}), "q")


def or_equal(n: int) -> Solver:
    """Two dicts, one per side of the `or`; a rule found by both fires once."""
    by_a = {f"a{i}": f"r{i}" for i in range(n)}
    by_b = {f"b{i}": f"r{i}" for i in range(n)}

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        request = context["request"]
        found = {by_a.get(request["a"]), by_b.get(request["b"])}
        found.discard(None)
        return _sorted(rule for rule in found if rule is not None)

    return decide


def some_prefix(n: int) -> Solver:
    table, lengths = _affix_table({f"/p{i}/": f"r{i}" for i in range(n)})

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        return _sorted(
            {table[t[:k]] for t in context["request"]["xs"] for k in lengths if t[:k] in table}
        )

    return decide


def some_equal(n: int) -> Solver:
    table = {f"c{i}": f"r{i}" for i in range(n)}

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        return _sorted({table[t] for t in context["request"]["xs"] if t in table})

    return decide


def table_limits(n: int) -> Solver:
    """A dict of keys, each holding its limits sorted for `bisect`."""
    rows: dict[str, list[tuple[int, str]]] = {}
    for i in range(n):
        rows.setdefault(f"k{i % TABLE_KEYS}", []).append((threshold_limit(n, i), f"over[l{i}]"))
    by_key = {
        key: ([limit for limit, _ in sorted(r)], [rule for _, rule in sorted(r)])
        for key, r in rows.items()
    }

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        request = context["request"]
        found = by_key.get(request["key"])
        if found is None:
            return ()
        limits, ids = found
        return _sorted(ids[: bisect_left(limits, request["amount"])])

    return decide


def in_range(n: int) -> Solver:
    """A dict from a /24's leading 24 bits to its rule; IPv6 addresses (IPv4-mapped ones
    too) are in no IPv4 range."""
    networks = (ipaddress.ip_network(network_of(i)) for i in range(n))
    table = {int(net.network_address) >> 8: f"r{i}" for i, net in enumerate(networks)}

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        address = ipaddress.ip_address(context["request"]["source"])
        if address.version != 4:
            return ()
        rule = table.get(int(address) >> 8)
        return () if rule is None else (rule,)

    return decide


def matches(n: int) -> Solver:
    """One regular expression finds every `bot<number>/<digit>` in the text; a dict says which
    numbers have rules."""
    table = {str(i): f"r{i}" for i in range(n)}
    find = re.compile(r"bot([0-9]+)/[0-9]").findall

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        return _sorted({table[k] for k in find(context["request"]["ua"]) if k in table})

    return decide


def time_threshold(n: int) -> Solver:
    """The request's time read (RFC 3339, as the policy reads it) into milliseconds, then the
    sorted deadlines bisected."""
    by_limit = sorted((time_limit(n, i), f"r{i}") for i in range(n))
    limits = [limit for limit, _ in by_limit]
    ids = [rule for _, rule in by_limit]

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        at = datetime.fromisoformat(context["request"]["at"].replace("Z", "+00:00"))
        ms = (at - _UNIX) // _MILLISECOND
        return _sorted(ids[: bisect_left(limits, ms)])

    return decide


def score_threshold(n: int) -> Solver:
    """The request's decimal text read exactly (`Decimal`) into ten-thousandths, then the sorted
    thresholds bisected."""
    by_limit = sorted((score_limit(n, i), f"r{i}") for i in range(n))
    limits = [limit for limit, _ in by_limit]
    ids = [rule for _, rule in by_limit]

    def decide(context: Mapping[str, Any]) -> tuple[str, ...]:
        units = int(Decimal(context["request"]["score"]).scaleb(4))
        return _sorted(ids[: bisect_left(limits, units)])

    return decide


SOLVERS: dict[str, Callable[[int], Solver]] = {
    "category": category,
    "equality": equality,
    "pair": pair,
    "threshold": threshold,
    "range": range_,
    "prefix": prefix,
    "suffix": suffix,
    "like": suffix,
    "contains_any": contains_any,
    "contains_all": contains_all,
    "not_equal": not_equal,
    "not_in": not_in,
    "or_equal": or_equal,
    "some_prefix": some_prefix,
    "some_equal": some_equal,
    "table_limits": table_limits,
    "in_range": in_range,
    "matches": matches,
    "time_threshold": time_threshold,
    "score_threshold": score_threshold,
}
assert SOLVERS.keys() == synthetic.SHAPES.keys()
