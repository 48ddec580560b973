"""The language's semantics on small custom policies, on every backend: what LANGUAGE.md promises
about operators, effects, tables, definitions, outputs, decisions and contexts.

Each test builds its own tiny policy (document sharing with quotas), so a failure names one rule
of the language, not a clause of the usage policy.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

import policydsl


def load(text: str, backend: str, **options: Any) -> policydsl.Policy:
    return policydsl.loads(text, name="sharing.policy", backend=backend, **options)


# ---- every operator, through one probe rule --------------------------------------------------

PROBE_SCHEMA = """\
enum Role { viewer, editor, owner }
context {
  n: int = 0
  m: int = 0
  s: string = ""
  flag: bool = false
  age: int[0..]?
  role: Role = viewer
  labels: set<string> = []
  names: list<string> = []
  nums: list<int> = []
  roles: set<Role> = []
}
effects hit > miss default miss
"""

_probes: dict[tuple[str, str], policydsl.Policy] = {}


def holds(expr: str, context: dict[str, Any], backend: str) -> bool:
    """Whether `expr` is true in `context`: a rule with that condition fires."""
    key = (expr, backend)
    if key not in _probes:
        _probes[key] = load(PROBE_SCHEMA + f"rule probe: hit {{ when {expr} }}", backend)
    return _probes[key].decide(context).decision == "hit"


# fmt: off
OPERATORS = [
    # boolean: `not` binds tighter than `and`, `and` tighter than `or`
    ("true and true", {}, True),
    ("true and false", {}, False),
    ("false or true", {}, True),
    ("false or false", {}, False),
    ("not false", {}, True),
    ("not flag and flag", {"flag": True}, False),
    ("true or false and false", {}, True),
    ("(true or false) and false", {}, False),
    ("not (flag or true)", {}, False),
    # comparisons
    ("n < m", {"n": 1, "m": 2}, True),
    ("n < m", {"n": 2, "m": 2}, False),
    ("n <= m", {"n": 2, "m": 2}, True),
    ("n > m", {"n": 3, "m": 2}, True),
    ("n >= m", {"n": 1, "m": 2}, False),
    ("n == m", {"n": 2, "m": 2}, True),
    ("n != m", {"n": 2, "m": 2}, False),
    ('s == "doc"', {"s": "doc"}, True),
    ('s != "Doc"', {"s": "doc"}, True),
    ("flag == false", {}, True),
    ("role == owner", {"role": "owner"}, True),
    ("role != Role.owner", {"role": "owner"}, False),
    ("n < -1", {"n": -5}, True),
    # arithmetic: `*` before `+`/`-`, left to right, unary minus, big integers
    ("n + m * 2 == 7", {"n": 1, "m": 3}, True),
    ("(n + m) * 2 == 8", {"n": 1, "m": 3}, True),
    ("n - m - 1 == 0", {"n": 5, "m": 4}, True),
    ("2 - 1 - 1 == 0", {}, True),
    ("n * 2 - 1 == 9", {"n": 5}, True),
    ("-n == 0 - n", {"n": 5}, True),
    ("- -n == n", {"n": 5}, True),
    ("-(n + m) == -7", {"n": 3, "m": 4}, True),
    ("n * -2 == -10", {"n": 5}, True),
    ("n * n * n > 999999999999999999999999999", {"n": 10**10}, True),
    # membership
    ('s in labels', {"s": "a", "labels": ["a", "b"]}, True),
    ('s not in labels', {"s": "a", "labels": ["a", "b"]}, False),
    ('"z" not in labels', {"labels": ["a"]}, True),
    ("role in [editor, owner]", {"role": "owner"}, True),
    ("role not in [editor, owner]", {"role": "viewer"}, True),
    ("n in nums", {"n": 2, "nums": [1, 2]}, True),
    ("n in [1, 2, 3]", {"n": 4}, False),
    ("s in []", {}, False),
    ("s not in []", {}, True),
    ('s in names', {"s": "b", "names": ["a", "b"]}, True),
    # set tests
    ('labels contains "a"', {"labels": ["a"]}, True),
    ("roles contains Role.owner", {"roles": ["owner"]}, True),
    ("[n, m] contains 3", {"m": 3}, True),
    ('labels contains_any ["x", "a"]', {"labels": ["a", "b"]}, True),
    ('labels contains_any ["x", "y"]', {"labels": ["a", "b"]}, False),
    ("labels contains_any []", {"labels": ["a"]}, False),
    ("labels contains_any names", {"labels": ["a"], "names": ["b", "a"]}, True),
    ('labels contains_all ["a", "b"]', {"labels": ["a", "b", "c"]}, True),
    ('labels contains_all ["a", "z"]', {"labels": ["a", "b"]}, False),
    ("labels contains_all []", {}, True),
    ("names contains_all labels", {"labels": ["a"], "names": ["b", "a"]}, True),
    # equality of collections: a `[...]` compared with a set is a set
    ('labels == ["b", "a", "a"]', {"labels": ["a", "b"]}, True),
    ('["a"] == labels', {"labels": ["a"]}, True),
    ("labels == []", {}, True),
    ("labels != []", {"labels": ["a"]}, True),
    ('names == ["a", "b"]', {"names": ["a", "b"]}, True),
    ('names == ["b", "a"]', {"names": ["a", "b"]}, False),
    # strings
    ('s starts_with "ab"', {"s": "abc"}, True),
    ('s starts_with "bc"', {"s": "abc"}, False),
    ('s ends_with "bc"', {"s": "abc"}, True),
    ('s starts_with ""', {}, True),
    # like: `*` any run, `?` exactly one character, everything else literal
    ('s like "a*c"', {"s": "abbbc"}, True),
    ('s like "a*c"', {"s": "ac"}, True),
    ('s like "a*c"', {"s": "abcd"}, False),
    ('s like "a?c"', {"s": "abc"}, True),
    ('s like "a?c"', {"s": "abbc"}, False),
    ('s like "?"', {"s": ""}, False),
    ('s like "*"', {"s": ""}, True),
    ('s like "a*"', {"s": "a\nb"}, True),
    ('s like "a.c"', {"s": "abc"}, False),
    ('s like "a.c"', {"s": "a.c"}, True),
    ('s like "[ab]"', {"s": "a"}, False),
    ('s like "[ab]"', {"s": "[ab]"}, True),
    ('s like "^a+$"', {"s": "^a+$"}, True),
    ('s like "(x)|{2}"', {"s": "(x)|{2}"}, True),
    ('s like "a\\\\d"', {"s": "ad"}, True),  # the pattern `a\d`: an escaped `d` is a `d`
    ('s like "a\\\\d"', {"s": "a\\d"}, False),
    ('s like "a\\\\\\\\d"', {"s": "a\\d"}, True),  # `a\\d`: an escaped backslash
    ('s like "a\\\\*"', {"s": "a*"}, True),  # `a\*`: a literal star
    ('s like "a\\\\*"', {"s": "ab"}, False),
    ('s like "a\\\\d"', {"s": "a1"}, False),
    ('s like "é?"', {"s": "éa"}, True),
    # presence
    ("has age", {"age": 0}, True),
    ("has age", {}, False),
    ("has age", {"age": None}, False),
    ("has age and age >= 18", {"age": 18}, True),
    ("has age and age >= 18", {}, False),
    ("not has age or age >= 18", {}, True),
    ("not has age or age >= 18", {"age": 17}, False),
    # size
    ("size(labels) == 1", {"labels": ["a", "a"]}, True),
    ("size(names) == 2", {"names": ["a", "a"]}, True),
    ("size([]) == 0", {}, True),
    ("size(nums) * 2 == 4", {"nums": [7, 8]}, True),
    # quantifiers, including over empty collections
    ("some x in nums: x > 2", {"nums": [1, 3]}, True),
    ("some x in nums: x > 5", {"nums": [1, 3]}, False),
    ("all x in nums: x > 0", {"nums": [1, 3]}, True),
    ("all x in nums: x > 1", {"nums": [1, 3]}, False),
    ("some x in nums: true", {}, False),
    ("all x in nums: false", {}, True),
    ("some x in []: true", {}, False),
    ("all x in []: false", {}, True),
    ('some l in labels: l starts_with "b"', {"labels": ["a", "bc"]}, True),
    ("some x in nums: some y in [5]: y == 5", {"nums": [1]}, True),
    ("some x in nums: (some y in [5]: y == x)", {"nums": [1, 5]}, True),
    ("all r in roles: r != owner", {"roles": ["viewer", "editor"]}, True),
    ("some x in [n, m]: x == 3", {"m": 3}, True),
]
# fmt: on


@pytest.mark.parametrize(
    ("expr", "context", "expected"),
    [pytest.param(*case, id=f"{case[0]} {case[1]}") for case in OPERATORS],
)
def test_operator(backend: str, expr: str, context: dict[str, Any], expected: bool) -> None:
    """Each operator of LANGUAGE.md's table, as a rule condition."""
    assert holds(expr, context, backend) is expected


# ---- effects, precedence and defaults --------------------------------------------------------

EFFECTS = """\
context { a: bool = false  b: bool = false  c: bool = false }
effects deny > review > allow default {default}
rule a: allow { when a  cite "A"  reason "a" }
rule b: review { when b  cite "B"  reason "b" }
rule c: deny { when c  cite "C"  reason "c" }
"""


@pytest.mark.parametrize(
    ("default", "fired", "decision"),
    [
        ("allow", "", "allow"),
        ("deny", "", "deny"),
        ("review", "", "review"),
        ("allow", "a", "allow"),
        ("allow", "ab", "review"),
        ("allow", "abc", "deny"),
        ("allow", "ac", "deny"),
        ("deny", "a", "allow"),  # the default is only for when nothing fires
        ("deny", "ab", "review"),
    ],
)
def test_strongest_fired_effect_wins(backend: str, default: str, fired: str, decision: str) -> None:
    """The decision is the strongest effect among fired rules, the default when none fires."""
    policy = load(EFFECTS.replace("{default}", default), backend)
    result = policy.decide({name: True for name in fired})
    assert result.decision == decision
    assert result.rules == tuple(sorted(fired))


SHARING_BLOCKS = [
    "enum Role { viewer, editor, owner, admin }",
    "enum Level { public, internal, secret }",
    "enum Risk { low, high }",
    """context {
  actor: { id: string  role: Role = viewer  groups: set<string> = [] }
  doc: { owner: string  level: Level = internal  size: int[0..] = 0 }
  share: { audience: set<string> = []  expires: int[1..]? }
}""",
    "effects forbid > review > allow default forbid refuse forbid",
    "annotation risk: Risk",
    "obligations { watermark, notify_owner, log }",
    "def is_owner = doc.owner == actor.id",
    "def may_share = is_owner or actor.role in [editor, admin]",
    "def outside = share.audience contains_any outsiders",
    'def outsiders = ["public", "partners"]',
    """rule may: allow {
  when may_share
  cite "S1"
  obligations [log]
  reason "owners, editors and admins may share"
}""",
    """rule secret_outside: forbid {
  when doc.level == secret and outside
  risk high
  cite ["S2", "S1"]
  obligations [notify_owner]
  reason "secret documents stay inside"
}""",
    """rule no_expiry: review {
  when outside and not has share.expires
  cite "S3"
  obligations [watermark]
  tags [external]
  reason "outside shares should expire"
}""",
    """table quotas(role: Role, max: int, level: Risk?) {
  viewer, 0,    -
  editor, 100,  low
  owner,  1000, high
}""",
    """rule over_quota for quotas: review {
  when actor.role == role and doc.size > max
  risk level
  cite "Q1"
  obligations [log]
  reason "{role}s may share up to {max} pages (risk {level})"
}""",
    """output audit: Risk {
  when some r in fired: has r.risk and r.risk == high => high
  otherwise => low
}""",
]
SHARING = "\n\n".join(SHARING_BLOCKS) + "\n"

REQUESTS = [
    {"actor": {"id": "u1"}, "doc": {"owner": "u1"}},
    {"actor": {"id": "u1"}, "doc": {"owner": "u2"}},
    {"actor": {"id": "u1", "role": "editor"}, "doc": {"owner": "u2", "size": 500}},
    {"actor": {"id": "u1", "role": "owner"}, "doc": {"owner": "u1", "size": 5000}},
    {
        "actor": {"id": "u1", "role": "admin"},
        "doc": {"owner": "u2", "level": "secret"},
        "share": {"audience": ["public", "team"]},
    },
    {"actor": {"id": "u1"}, "doc": {"owner": "u1"}, "share": {"audience": ["partners"]}},
    {
        "actor": {"id": "u1"},
        "doc": {"owner": "u1"},
        "share": {"audience": ["partners"], "expires": 7},
    },
]


def decide_all(policy: policydsl.Policy) -> list[dict[str, Any]]:
    return [policy.decide(request).to_dict() for request in REQUESTS]


def test_sharing_decisions(backend: str) -> None:
    """A hand-checked table of decisions for the sharing policy."""
    got = [
        (d["decision"], d["audit"], d["obligations"], d["citations"], d["rules"])
        for d in decide_all(load(SHARING, backend))
    ]
    assert got == [
        ("allow", "low", ["log"], ["S1"], ["may"]),
        ("forbid", "low", [], [], []),
        ("review", "low", ["log"], ["Q1", "S1"], ["may", "over_quota[editor]"]),
        ("review", "high", ["log"], ["Q1", "S1"], ["may", "over_quota[owner]"]),
        (
            "forbid",
            "high",
            ["notify_owner"],
            ["S1", "S2", "S3"],
            ["may", "no_expiry", "secret_outside"],
        ),
        ("review", "low", ["watermark"], ["S1", "S3"], ["may", "no_expiry"]),
        ("allow", "low", ["log"], ["S1"], ["may"]),
    ]


@pytest.mark.parametrize("seed", range(5))
def test_order_of_declarations_never_matters(backend: str, seed: int) -> None:
    """Shuffling every declaration, rule and table gives the same decisions."""
    blocks = SHARING_BLOCKS[:]
    random.Random(seed).shuffle(blocks)
    shuffled = load("\n\n".join(blocks), backend)
    assert decide_all(shuffled) == decide_all(load(SHARING, backend))


def test_splitting_into_files_never_matters(backend: str, tmp_path: Path) -> None:
    """One namespace across files: the same blocks spread over a folder decide the same."""
    blocks = SHARING_BLOCKS[:]
    random.Random(7).shuffle(blocks)
    for i, block in enumerate(blocks):
        (tmp_path / f"part{i % 4}.policy").open("a").write(block + "\n\n")
    folder = policydsl.load(tmp_path, backend=backend)
    assert decide_all(folder) == decide_all(load(SHARING, backend))


# ---- tables --------------------------------------------------------------------------------


def test_table_rule_ids_and_reasons(backend: str) -> None:
    """`name[key]` ids, `{column}` interpolation (an absent cell reads `-`), `{{` for a brace."""
    policy = load(SHARING, backend)
    by_id = {r.id: r for r in policy.checked.rules}
    assert {i for i in by_id if i.startswith("over_quota")} == {
        "over_quota[viewer]",
        "over_quota[editor]",
        "over_quota[owner]",
    }
    assert by_id["over_quota[viewer]"].reason == "viewers may share up to 0 pages (risk -)"
    assert by_id["over_quota[owner]"].reason == "owners may share up to 1000 pages (risk high)"


def test_table_keys_and_cells_of_every_type(backend: str) -> None:
    """Integer, string and enum keys name rows; set and bool cells interpolate readably."""
    policy = load(
        """\
enum Role { viewer, owner }
context { n: int = 0  s: string = ""  role: Role = viewer }
effects yes > no default no
table by_int(k: int, tags_: set<string>, ok: bool) {
  7, ["b", "a"], true
  3, [], false
}
table by_string(k: string) {
  "a b"
}
rule i for by_int: yes { when n == k  cite "I"  reason "{k}: {tags_} {ok} {{k}}" }
rule t for by_string: yes { when s == k  cite "S"  reason "[{k}]" }
""",
        backend,
    )
    assert policy.decide({"n": 7}).to_dict()["reasons"] == ["7: a, b true {k}"]
    assert policy.decide({"n": 3}).to_dict()["rules"] == ["i[3]"]
    assert policy.decide({"s": "a b"}).to_dict()["rules"] == ["t[a b]"]
    assert policy.decide({"s": "a b"}).to_dict()["reasons"] == ["[a b]"]


def test_negative_integer_cell() -> None:
    """`-5` is one cell; a lone `-` is an absent cell (maximal munch decides)."""
    policy = policydsl.loads(
        "context { n: int = 0 }\neffects yes > no default no\n"
        "table t(k: int?) {\n  -5\n}\n"
        'rule r for t: yes { when n > 0  cite "N"  reason "{k}" }\n'
    )
    assert [r.id for r in policy.checked.rules] == ["r[-5]"]


def test_absent_cells_leave_annotations_unset(backend: str) -> None:
    """A `-` cell in an optional column feeds no annotation: `has r.risk` is false."""
    policy = load(SHARING, backend)
    viewer = {"actor": {"id": "u1", "role": "viewer"}, "doc": {"owner": "u2", "size": 1}}
    owner = {"actor": {"id": "u1", "role": "owner"}, "doc": {"owner": "u2", "size": 5000}}
    editor = {"actor": {"id": "u1", "role": "editor"}, "doc": {"owner": "u2", "size": 500}}
    assert policy.decide(viewer).to_dict()["rules"] == ["over_quota[viewer]"]
    assert policy.decide(viewer).audit == "low"  # row has `-`: no risk at all
    assert policy.decide(owner).audit == "high"
    assert policy.decide(editor).audit == "low"  # risk is set, but `low`
    rules = {r.id: dict(r.annotations) for r in policy.checked.rules}
    assert rules["over_quota[viewer]"] == {}
    assert rules["over_quota[editor]"] == {"risk": "low"}


# ---- names -------------------------------------------------------------------------------------


def test_enum_members_qualified_and_bare(backend: str) -> None:
    """`Enum.member` always works; a bare member works when only one enum has it."""
    policy = load(
        """\
enum Plan { free, pro }
enum Tier { free, gold }
context { plan: Plan = free  tier: Tier = free }
effects yes > no default no
rule pro_plan: yes { when plan == pro and tier == Tier.free  cite "P"  reason "p" }
rule gold_tier: yes { when tier == gold and plan == Plan.free  cite "G"  reason "g" }
""",
        backend,
    )
    assert policy.decide({"plan": "pro"}).rules == ("pro_plan",)
    assert policy.decide({"tier": "gold"}).rules == ("gold_tier",)
    assert policy.decide({}).rules == ()


def test_ambiguous_bare_member_is_an_error() -> None:
    """A member of two enums must be qualified, and the help says how."""
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(
            "enum Plan { free, pro }\nenum Tier { free, gold }\n"
            "context { plan: Plan = free }\neffects yes > no default no\n"
            "def starter = free\n"
        )
    (error,) = [d for d in info.value.diagnostics if d.severity == "error"]
    assert (error.code, error.line, error.col) == ("P201", 5, 15)
    assert error.help == "qualify it: `Plan.free` or `Tier.free`"


def test_definitions_use_definitions(backend: str) -> None:
    """Definitions may use other definitions, in any order; constants, sets and predicates."""
    policy = load(
        """\
context { n: int = 0  s: string = "" }
effects yes > no default no
def big = n > limit
def limit = base * 10
def base = 5
def allowed = ["a", "b"]
def ok = s in allowed
def both = big and ok
rule r: yes { when both  cite "D"  reason "d" }
""",
        backend,
    )
    assert policy.decide({"n": 51, "s": "a"}).decision == "yes"
    assert policy.decide({"n": 50, "s": "a"}).decision == "no"
    assert policy.decide({"n": 51, "s": "c"}).decision == "no"


# ---- outputs, obligations, citations ------------------------------------------------------------

OUTPUTS = """\
enum Level { none, some_, lots }
enum Risk { low, high }
context { a: bool = false  b: bool = false  c: bool = false }
effects deny > review > allow default allow
annotation risk: Risk
obligations { o1, o2, o3 }
rule a: review { when a  risk high  cite ["3", "1"]  obligations [o2, o1]  tags [x]  reason "a" }
rule b: review { when b  cite "2"  obligations [o1, o3]  reason "b" }
rule c: deny { when c  risk low  cite ["1", "10"]  obligations [o3]  reason "c" }
output first: Level {
  when decision == review => some_
  when decision != allow => lots
  when true => none
  otherwise => lots
}
output risky: Level {
  when some r in fired: has r.risk and r.risk == high => lots
  when some r in fired: has r.risk => some_
  otherwise => none
}
output counted: Level {
  when size(fired) >= 2 => lots
  when some r in fired: r.id == "b" and r.effect == review and r.cite contains "2" => some_
  when some r in fired: r.tags contains "x" => some_
  otherwise => none
}
"""


@pytest.mark.parametrize(
    ("fired", "first", "risky", "counted"),
    [
        ("", "none", "none", "none"),
        ("a", "some_", "lots", "some_"),
        ("b", "some_", "none", "some_"),
        ("c", "lots", "some_", "none"),
        ("ac", "lots", "lots", "lots"),
    ],
)
def test_outputs_first_matching_case_wins(
    backend: str, fired: str, first: str, risky: str, counted: str
) -> None:
    """Cases are tried in order; `decision`, `fired` and fired rules' fields are in scope."""
    decision = load(OUTPUTS, backend).decide({name: True for name in fired})
    assert (decision.first, decision.risky, decision.counted) == (first, risky, counted)
    assert decision.output("first") == first


@pytest.mark.parametrize(
    ("fired", "decision", "obligations", "citations"),
    [
        ("a", "review", ["o1", "o2"], ["1", "3"]),
        ("ab", "review", ["o1", "o2", "o3"], ["1", "2", "3"]),
        ("abc", "deny", ["o3"], ["1", "10", "2", "3"]),  # a and b lose: their obligations go
        ("ac", "deny", ["o3"], ["1", "10", "3"]),
    ],
)
def test_obligations_from_the_deciding_effect_citations_from_all(
    backend: str, fired: str, decision: str, obligations: list[str], citations: list[str]
) -> None:
    """Obligations of rules whose effect is the decision; citations of every fired rule, sorted
    and unique; rules sorted by id and reasons in the same order."""
    result = load(OUTPUTS, backend).decide({name: True for name in fired}).to_dict()
    assert result["decision"] == decision
    assert result["obligations"] == obligations
    assert result["citations"] == citations
    assert result["rules"] == sorted(fired)
    assert result["reasons"] == sorted(fired)  # each rule's reason is its own name


def test_decision_dict_shape(backend: str) -> None:
    """`to_dict()`: the decision, each output, then obligations, citations, rules, reasons."""
    result = load(OUTPUTS, backend).decide({"a": True}).to_dict()
    assert list(result) == [
        "decision",
        "first",
        "risky",
        "counted",
        "obligations",
        "citations",
        "rules",
        "reasons",
    ]


def test_set_valued_outputs_and_definitions(backend: str) -> None:
    """A `[...]` where a set is meant is a set: no duplicates, no order, equal to the set."""
    policy = load(
        """\
context { labels: set<string> = [] }
effects yes > no default no
def wanted: set<string> = ["b", "a", "a"]
rule exact: yes { when labels == wanted and size(wanted) == 2  cite "W"  reason "w" }
output picked: set<string> { when decision == yes => ["z", "y", "z"]  otherwise => [] }
""",
        backend,
    )
    assert policy.decide({"labels": ["a", "b"]}).to_dict()["picked"] == ["y", "z"]
    assert policy.decide({"labels": ["a"]}).to_dict()["picked"] == []


def test_set_never_equals_a_list() -> None:
    """Comparing a set with a non-constant list would always be false: it is an error."""
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(
            "context { labels: set<string> = []  names: list<string> = [] }\n"
            "effects yes > no default no\ndef same = labels == names\n"
        )
    assert [d.code for d in info.value.diagnostics if d.severity == "error"] == ["P322"]


# ---- fail-closed mode --------------------------------------------------------------------------


def test_fail_closed_returns_the_declared_refusal(backend: str) -> None:
    """An invalid request is refused with the `refuse` effect and the error as its reason."""
    policy = load(SHARING, backend, fail_closed=True)
    refused = policy.decide({"actor": {"id": 7}, "doc": {"owner": "u1"}})
    assert refused.decision == "forbid"
    assert refused.error is not None and "actor.id" in refused.error
    assert refused.reasons == (refused.error,)
    assert refused.to_dict()["error"] == refused.error
    assert (refused.rules, refused.obligations, refused.citations) == ((), (), ())


def test_fail_closed_changes_nothing_for_valid_requests(backend: str) -> None:
    open_ = load(SHARING, backend)
    closed = load(SHARING, backend, fail_closed=True)
    assert decide_all(closed) == decide_all(open_)
    assert all("error" not in d for d in decide_all(closed))


def test_fail_open_raises_context_error(backend: str) -> None:
    with pytest.raises(policydsl.ContextError) as info:
        load(SHARING, backend).decide({"actor": {"id": 7}, "doc": {"owner": "u1"}})
    assert info.value.attribute == "actor.id"


# ---- contexts ----------------------------------------------------------------------------------

CONTEXT = """\
enum Role { viewer, owner }
context {
  user: {
    id: string
    age: int[0..150]?
    role: Role = viewer
    admin: bool = false
    quota: int[-10..10] = 0
    groups: set<string> = ["staff"]
    profile: { lang: string = "en"  score: int? }
    badge: { level: int }?
  }
}
effects yes > no default no
def probe_lang = user.profile.lang == "en"
rule minor: yes { when has user.age and user.age < 18  cite "M"  reason "minor" }
rule badged: yes { when has user.badge and user.badge.level > 2  cite "B"  reason "badge" }
rule scored: yes { when has user.profile.score  cite "S"  reason "score" }
rule staff: yes { when user.groups contains "staff" and probe_lang  cite "T"  reason "staff" }
"""


def rules_for(policy: policydsl.Policy, user: dict[str, Any]) -> tuple[str, ...]:
    return policy.decide({"user": {"id": "u", **user}}).rules


@pytest.mark.parametrize(
    ("user", "rules"),
    [
        ({}, ("staff",)),  # defaults: groups = ["staff"], profile.lang = "en"
        ({"age": None, "role": None, "profile": None, "badge": None}, ("staff",)),  # null: absent
        ({"age": 17}, ("minor", "staff")),
        ({"age": 18}, ("staff",)),
        ({"groups": []}, ()),
        ({"groups": ["staff", "staff"]}, ("staff",)),
        ({"profile": {"lang": "fr"}}, ()),
        ({"profile": {"score": 0}}, ("scored", "staff")),
        ({"badge": {"level": 3}}, ("badged", "staff")),
        ({"badge": {"level": 1}}, ("staff",)),
        ({"quota": -10}, ("staff",)),
        ({"quota": 10}, ("staff",)),
        ({"age": 0}, ("minor", "staff")),
        ({"age": 150}, ("staff",)),
    ],
)
def test_valid_contexts(backend: str, user: dict[str, Any], rules: tuple[str, ...]) -> None:
    """`null` is absent, absent takes the default, bounds are inclusive."""
    assert rules_for(load(CONTEXT, backend), user) == rules


@pytest.mark.parametrize(
    ("request_", "attribute"),
    [
        ({}, "user.id"),
        ({"user": None}, "user.id"),
        ({"user": {}}, "user.id"),
        ({"user": {"id": None}}, "user.id"),
        ({"user": {"id": 3}}, "user.id"),
        ({"user": {"id": "u", "age": True}}, "user.age"),  # bool is not int
        ({"user": {"id": "u", "age": 17.0}}, "user.age"),  # floats are not integers
        ({"user": {"id": "u", "age": 17.5}}, "user.age"),
        ({"user": {"id": "u", "age": "17"}}, "user.age"),
        ({"user": {"id": "u", "age": -1}}, "user.age"),
        ({"user": {"id": "u", "age": 151}}, "user.age"),
        ({"user": {"id": "u", "quota": -11}}, "user.quota"),
        ({"user": {"id": "u", "quota": 11}}, "user.quota"),
        ({"user": {"id": "u", "admin": 1}}, "user.admin"),  # int is not bool
        ({"user": {"id": "u", "admin": "true"}}, "user.admin"),
        ({"user": {"id": "u", "role": "admin"}}, "user.role"),
        ({"user": {"id": "u", "role": "Owner"}}, "user.role"),
        ({"user": {"id": "u", "groups": "staff"}}, "user.groups"),
        ({"user": {"id": "u", "groups": ["staff", 1]}}, "user.groups"),
        ({"user": {"id": "u", "groups": [None]}}, "user.groups"),
        ({"user": {"id": "u", "profile": {"score": "high"}}}, "user.profile.score"),
        ({"user": {"id": "u", "profile": []}}, "user.profile"),
        ({"user": {"id": "u", "badge": {}}}, "user.badge.level"),  # present, so complete
        ({"user": {"id": "u", "badge": {"level": None}}}, "user.badge.level"),
        ({"user": {"id": "u", "extra": {"deep": [1, 2]}}}, "user.extra"),  # records are closed
        ({"user": {"id": "u", "profile": {"more": True}}}, "user.profile.more"),
        ({"user": {"id": "u", "badge": {"level": 3, "lvl": None}}}, "user.badge.lvl"),
        ({"user": {"id": "u"}, "usr": None}, "usr"),
        ({"user": "u"}, "user"),
        ([], ""),
        ("user", ""),
    ],
)
def test_invalid_contexts(backend: str, request_: Any, attribute: str) -> None:
    """Every wrong type, unknown member, out-of-range integer or missing required field is a
    `ContextError` naming the attribute (`` for the request itself)."""
    with pytest.raises(policydsl.ContextError) as info:
        load(CONTEXT, backend).decide(request_)
    assert info.value.attribute == attribute
    assert str(info.value).startswith("invalid context")


def test_fail_closed_refuses_an_evaluation_error_too() -> None:
    """An error while evaluating (which checked policies are built never to meet) is refused with
    the strongest effect in fail-closed mode, and raised otherwise: never a silent allow."""
    text = (
        "context { n: int = 0 }\neffects block > pass default pass refuse block\n"
        'rule r: block { when n > 1 cite "1" reason "r" }\n'
    )

    def broken(context: object) -> policydsl.Decision:
        raise policydsl.EvaluationError("boom")

    closed = policydsl.loads(text, fail_closed=True)
    closed._decide = broken  # simulate a defect inside the backend
    refused = closed.decide({"n": 0})
    assert refused.decision == "block"
    assert refused.to_dict()["error"] == "boom"

    open_ = policydsl.loads(text)
    open_._decide = broken
    open_.decide = broken  # the fast path binds the backend directly
    with pytest.raises(policydsl.EvaluationError):
        open_.decide({"n": 0})


def test_a_list_literal_where_a_set_is_meant_is_a_set(backend: str) -> None:
    """`[n, n, 2]` for a `set<int>`: no repeats, whether its items are constants or not."""
    policy = load(
        "context { n: int = 0 }\neffects a > b default b\n"
        "def d: set<int> = [n, n, 2]\n"
        "output p: set<int> { otherwise => [n, 1, 1] }\n"
        'rule r: a { when size(d) == 2 and d contains_all [n, 2]  cite "1"  reason "x" }\n',
        backend,
    )
    assert policy.decide({"n": 5}).to_dict()["p"] == [1, 5]
    assert policy.decide({"n": 5}).decision == "a"
    assert policy.decide({"n": 2}).decision == "b"  # {2} has one element


def test_a_quantifier_over_the_empty_list_is_vacuous(backend: str) -> None:
    policy = load(
        "context { n: int = 0 }\neffects a > b default b\n"
        'rule every: a { when all q in []: q > n  cite "1"  reason "x" }\n'
        'rule any: b { when some q in []: q > n  cite "1"  reason "x" }\n',
        backend,
    )
    assert policy.decide({}).rules == ("every",)


def test_an_unknown_member_in_a_request_gets_a_suggestion(backend: str) -> None:
    policy = policydsl.load_stdlib(backend=backend)
    with pytest.raises(policydsl.ContextError) as caught:
        policy.decide({"content": {"categories": ["hate", "spamm"]}})
    assert caught.value.attribute == "content.categories"
    assert str(caught.value).endswith("element 1: unknown Category 'spamm'; did you mean 'spam'?")
