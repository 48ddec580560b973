"""The operator table (`policydsl.operators`) and the layers that dispatch on it.

Every member of `Op` is spelt by the grammar, kept by the formatter, and evaluated alike by every
backend; a layer that forgets one is a `mypy --strict` error, proved here on a patched copy of
the package that declares an operator of each kind no layer knows.
"""

from __future__ import annotations

import datetime
import fnmatch
import ipaddress
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import attrs
import pytest

import policydsl
from policydsl import format_source, nodes
from policydsl.operators import TABLE, Kind, Op, compare_op, set_op
from policydsl.parser import parse
from policydsl.source import Source

PACKAGE = Path(__file__).resolve().parent.parent / "policydsl"

SCHEMA = """\
context {
  n: int = 0
  m: int = 0
  s: string = ""
  p: string = ""
  xs: set<string> = []
  ys: set<string> = []
  flag: bool = false
  addr: ip = "10.0.0.1"
  d: decimal = 0
  e: decimal = 0.5
}
effects hit > miss default miss
"""

Context = dict[str, Any]

# One test per operator, and what Python says it means. A new operator needs its line here.
SAMPLES: dict[Op, tuple[str, Callable[[Context], bool]]] = {
    Op.EQ: ("n == m", lambda c: c["n"] == c["m"]),
    Op.NE: ("s != p", lambda c: c["s"] != c["p"]),
    Op.LT: ("n < m", lambda c: c["n"] < c["m"]),
    Op.LE: ("d <= e", lambda c: Decimal(c["d"]) <= Decimal(c["e"])),  # decimals: exact
    Op.GT: ("n > m", lambda c: c["n"] > c["m"]),
    Op.GE: ("n >= m", lambda c: c["n"] >= c["m"]),
    Op.CONTAINS: ("xs contains s", lambda c: c["s"] in c["xs"]),
    Op.CONTAINS_ANY: ("xs contains_any ys", lambda c: bool(set(c["xs"]) & set(c["ys"]))),
    Op.CONTAINS_ALL: ("xs contains_all ys", lambda c: set(c["ys"]) <= set(c["xs"])),
    Op.STARTS_WITH: ("s starts_with p", lambda c: c["s"].startswith(c["p"])),
    Op.ENDS_WITH: ("s ends_with p", lambda c: c["s"].endswith(c["p"])),
    Op.LIKE: ("s like p", lambda c: fnmatch.fnmatchcase(c["s"], c["p"])),
    Op.IN_RANGE: (
        'addr in_range "10.0.0.0/8"',
        lambda c: ipaddress.ip_address(c["addr"]) in ipaddress.ip_network("10.0.0.0/8"),
    ),
    Op.MATCHES: ('s matches "^h|b$"', lambda c: re.search("^h|b$", c["s"]) is not None),
    Op.IN: ("s in xs", lambda c: c["s"] in c["xs"]),
    Op.NOT_IN: ("s not in xs", lambda c: c["s"] not in c["xs"]),
    Op.ADD: ("n + m == 5", lambda c: c["n"] + c["m"] == 5),
    Op.SUB: ("n - m == 1", lambda c: c["n"] - c["m"] == 1),
    Op.MUL: ("n * m == 6", lambda c: c["n"] * c["m"] == 6),
    Op.MOD: ("n % 3 == 1", lambda c: c["n"] % 3 == 1),
    Op.NEG: ("-n == m", lambda c: -c["n"] == c["m"]),
    Op.AND: ("flag and n == 2", lambda c: c["flag"] and c["n"] == 2),
    Op.OR: ("flag or n == 2", lambda c: c["flag"] or c["n"] == 2),
    Op.NOT: ("not flag", lambda c: not c["flag"]),
}

# Patterns without `[`: `like` globs only know `*` and `?`, where fnmatch also has classes.
CONTEXTS: list[Context] = [
    {},
    {"n": 2, "m": 3, "s": "spam", "p": "sp", "xs": ["spam", "eggs"], "ys": ["eggs"], "addr": "::1"},
    {"n": 3, "m": 2, "s": "spam", "p": "s*m", "xs": ["ham"], "ys": ["spam", "ham"], "d": "0.5001"},
    {"n": 2, "m": 2, "s": "ham", "p": "am", "xs": ["ham", "a"], "ys": ["a", "ham"], "flag": True},
    {"n": -2, "m": 2, "s": "h?m", "p": "h?m", "xs": [], "ys": [], "d": "-0.5", "e": "-0.5"},
    {"n": 6, "m": 1, "s": "", "p": "*", "ys": ["x"], "flag": True},
    {"n": 5, "m": 0, "s": "a*b", "p": "a?", "xs": ["a*b"]},
]


def test_every_operator_has_a_sample() -> None:
    assert set(SAMPLES) == set(Op)


def test_the_table_is_total_and_unambiguous() -> None:
    assert set(TABLE) == set(Op)
    # within a kind, a spelling names one operator (`-` is both `SUB` and `NEG`)
    spellings = [(op.kind, op.spelling) for op in Op]
    assert len(spellings) == len(set(spellings))
    assert compare_op("<=") is Op.LE and set_op("like") is Op.LIKE
    with pytest.raises(ValueError, match="no comparison operator is spelt 'like'"):
        compare_op("like")


def _walk(e: Any) -> Iterator[Any]:
    yield e
    if attrs.has(type(e)):
        for field in attrs.fields(type(e)):
            value = getattr(e, field.name)
            for item in value if isinstance(value, tuple) else (value,):
                for part in item if isinstance(item, tuple) else (item,):
                    yield from _walk(part)


def _operators_in(e: nodes.Expr) -> set[Op]:
    """The operators of a syntax tree, boolean ones and `-` included."""
    found: set[Op] = set()
    for node in _walk(e):
        match node:
            case nodes.Compare() | nodes.SetTest() | nodes.In():
                found.add(node.op)
            case nodes.Arith():
                found.update(op for op, _ in node.rest)
            case nodes.Neg():
                found.add(Op.NEG)
            case nodes.And():
                found.add(Op.AND)
            case nodes.Or():
                found.add(Op.OR)
            case nodes.Not():
                found.add(Op.NOT)
    return found


def _policy_text(op: Op) -> str:
    return SCHEMA + f"rule probe: hit {{ when {SAMPLES[op][0]} }}\n"


@pytest.mark.parametrize("op", list(Op), ids=lambda op: op.name)
def test_the_grammar_spells_it_and_the_formatter_keeps_it(op: Op) -> None:
    text = _policy_text(op)
    tree, diagnostics = parse(Source("probe.policy", text))
    assert tree is not None, diagnostics
    rule = tree.decls[-1]
    assert isinstance(rule, nodes.RuleDecl) and isinstance(rule.clauses[0], nodes.WhenClause)
    assert op in _operators_in(rule.clauses[0].condition)
    # format_source re-parses its output and refuses a different tree
    formatted = format_source(text)
    assert f" {op.spelling}" in formatted.splitlines()[-2]


@pytest.mark.parametrize("op", list(Op), ids=lambda op: op.name)
def test_every_backend_evaluates_it_as_python_does(op: Op) -> None:
    oracle = SAMPLES[op][1]
    policies = {b: policydsl.loads(_policy_text(op), backend=b) for b in policydsl.BACKENDS}
    outcomes = set()
    for context in CONTEXTS:
        full = {
            "n": 0,
            "m": 0,
            "s": "",
            "p": "",
            "xs": [],
            "ys": [],
            "flag": False,
            "addr": "10.0.0.1",
            "d": "0",
            "e": "0.5",
            **context,
        }
        expected = "hit" if oracle(full) else "miss"
        outcomes.add(expected)
        for backend, policy in policies.items():
            assert policy.decide(context).decision == expected, (backend, context)
    assert outcomes == {"hit", "miss"}, "the samples should make the test both true and false"


def test_remainder_by_an_attribute_declared_at_least_one() -> None:
    """`%` is floor division's remainder, from 0 to the divisor less one, on every backend."""
    text = "context { n: int = 0  k: int[1..] = 1 }\neffects hit > miss default miss\n"
    text += "rule r: hit { when n % k == 2 }\n"
    for backend in policydsl.BACKENDS:
        policy = policydsl.loads(text, backend=backend)
        for n in range(-9, 10):
            for k in (1, 2, 3, 5, 7):
                expected = "hit" if n % k == 2 else "miss"
                assert policy.decide({"n": n, "k": k}).decision == expected, (backend, n, k)
        with pytest.raises(policydsl.ContextError, match="k"):
            policy.decide({"n": 1, "k": 0})


FOLDED = {Kind.COMPARE, Kind.MEMBERSHIP, Kind.ARITH, Kind.UNARY, Kind.LOGIC}


@pytest.mark.parametrize("op", list(Op), ids=lambda op: op.name)
def test_on_constants_it_decides_as_python_does(op: Op) -> None:
    """The same tests with constants for attributes: lowering folds most of them (the rule is
    then always or never reached), which must not change what they mean."""
    for context in CONTEXTS[:4]:
        full = {
            "n": 0,
            "m": 0,
            "s": "",
            "p": "",
            "xs": [],
            "ys": [],
            "flag": False,
            "addr": "10.0.0.1",
            "d": "0",
            "e": "0.5",
            **context,
        }
        names = r"\b(" + "|".join(full) + r")\b"
        condition = re.sub(names, lambda found, c=full: _literal(c[found[0]]), SAMPLES[op][0])
        text = SCHEMA + f"rule probe: hit {{ when {condition} }}\n"
        policies = [policydsl.loads(text, backend=b) for b in policydsl.BACKENDS]
        decisions = {policy.decide({}).decision for policy in policies}
        assert decisions == {"hit" if SAMPLES[op][1](full) else "miss"}, condition
        if op.kind in FOLDED:
            ir = policies[0].compiled("ir")
            assert re.search(r"^(always|dead): r0$", ir, re.M), ir


def _literal(value: Any) -> str:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+\.[0-9]+|[0-9]", value):  # a decimal
        return f"({value})"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return f"({value})"


# ---- datetimes and durations: the same operators, Python's `datetime` as the oracle -----------

TIME_SCHEMA = """\
context {
  at: datetime = "2024-01-01"
  until: datetime = "2024-01-01"
  ttl: duration = 0ms
}
effects hit > miss default miss
"""
UTC = datetime.UTC
EPOCH = datetime.datetime(1970, 1, 1, tzinfo=UTC)
MS = datetime.timedelta(milliseconds=1)


def _at(c: Context, key: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(c[key])


def _ttl(c: Context) -> datetime.timedelta:
    return datetime.timedelta(milliseconds=c["ttl"])


def _local(c: Context, hours: float) -> datetime.datetime:
    return _at(c, "at").astimezone(datetime.timezone(datetime.timedelta(hours=hours)))


def _trunc(delta: datetime.timedelta, unit: datetime.timedelta) -> int:
    whole = abs(delta) // unit
    return -whole if delta < datetime.timedelta(0) else whole


TIME_SAMPLES: dict[str, Callable[[Context], bool]] = {
    "at < until": lambda c: _at(c, "at") < _at(c, "until"),
    "at <= until": lambda c: _at(c, "at") <= _at(c, "until"),
    "at > until": lambda c: _at(c, "at") > _at(c, "until"),
    "at >= until": lambda c: _at(c, "at") >= _at(c, "until"),
    "at == until": lambda c: _at(c, "at") == _at(c, "until"),
    "at != until": lambda c: _at(c, "at") != _at(c, "until"),
    'at < "2024-02-29T12:00:00Z"': lambda c: (
        _at(c, "at") < datetime.datetime(2024, 2, 29, 12, tzinfo=UTC)
    ),
    "at + ttl > until": lambda c: _at(c, "at") + _ttl(c) > _at(c, "until"),
    "at - ttl < until": lambda c: _at(c, "at") - _ttl(c) < _at(c, "until"),
    "until - at >= 1d": lambda c: _at(c, "until") - _at(c, "at") >= datetime.timedelta(days=1),
    "ttl + 90m < 2h": lambda c: (
        _ttl(c) + datetime.timedelta(minutes=90) < datetime.timedelta(hours=2)
    ),
    "-ttl < 0ms": lambda c: -_ttl(c) < datetime.timedelta(0),
    "hour(at) >= 9": lambda c: _at(c, "at").astimezone(UTC).hour >= 9,
    'hour(at, "+0530") < 12': lambda c: _local(c, 5.5).hour < 12,
    'day_of_week(at, "-0800") == 4': lambda c: _local(c, -8).isoweekday() == 4,
    "day(at) == 29 and month(at) == 2": lambda c: (
        _at(c, "at").astimezone(UTC).day == 29 and _at(c, "at").astimezone(UTC).month == 2
    ),
    "year(at) < 2000": lambda c: _at(c, "at").astimezone(UTC).year < 2000,
    "minute(at) + second(at) > 40": lambda c: (
        _at(c, "at").astimezone(UTC).minute + _at(c, "at").second > 40
    ),
    "date(at) == date(until)": lambda c: (
        _at(c, "at").astimezone(UTC).date() == _at(c, "until").astimezone(UTC).date()
    ),
    "time_of_day(at) < 12h": lambda c: _at(c, "at").astimezone(UTC).hour < 12,
    "to_hours(ttl) == 1": lambda c: _trunc(_ttl(c), datetime.timedelta(hours=1)) == 1,
    "to_days(ttl) < 0": lambda c: _trunc(_ttl(c), datetime.timedelta(days=1)) < 0,
    "to_seconds(ttl) > 60": lambda c: _trunc(_ttl(c), datetime.timedelta(seconds=1)) > 60,
}
TIME_CONTEXTS: list[Context] = [
    {"at": "2024-02-29T09:30:00Z", "until": "2024-03-01T09:30:00Z", "ttl": 3_600_000},
    {"at": "2024-02-29T23:30:00-08:00", "until": "2024-03-01T07:30:00Z", "ttl": -86_400_001},
    {"at": "1969-12-31T23:59:59.999Z", "until": "1969-12-31T23:59:59.999Z", "ttl": 5_400_000},
    {"at": "2024-02-26T06:00:00+05:30", "until": "2024-02-25T00:00:00Z", "ttl": 61_000},
    {"at": "1900-03-01T12:45:10Z", "until": "2100-02-28T00:00:00+01:00", "ttl": 0},
]


def _duration_text(ms: int) -> str:
    return f"-{-ms}ms" if ms < 0 else f"{ms}ms"


@pytest.mark.parametrize("sample", list(TIME_SAMPLES))
def test_every_backend_decides_datetimes_as_python_does(sample: str) -> None:
    text = TIME_SCHEMA + f"rule probe: hit {{ when {sample} }}\n"
    assert format_source(format_source(text)) == format_source(text)
    policies = {b: policydsl.loads(text, backend=b) for b in policydsl.BACKENDS}
    outcomes = set()
    for context in TIME_CONTEXTS:
        expected = "hit" if TIME_SAMPLES[sample](context) else "miss"
        outcomes.add(expected)
        request = {**context, "ttl": _duration_text(context["ttl"])}
        for backend, policy in policies.items():
            assert policy.decide(request).decision == expected, (backend, sample, context)
        # the same test on constants: folded when the policy is compiled, to the same answer
        constants = {
            "at": f'datetime("{_cedar_form(context["at"])}")',
            "until": f'datetime("{_cedar_form(context["until"])}")',
            "ttl": f"({_duration_text(context['ttl'])})",
        }
        folded = re.sub(r"\b(at|until|ttl)\b", lambda m, k=constants: k[m[0]], sample)
        text_c = TIME_SCHEMA + f"rule probe: hit {{ when {folded} }}\n"
        for backend in policydsl.BACKENDS:
            decided = policydsl.loads(text_c, backend=backend).decide({}).decision
            assert decided == expected, (backend, folded)
    assert outcomes == {"hit", "miss"}, "the contexts should make the sample both true and false"


def _cedar_form(text: str) -> str:
    """An RFC 3339 request text as a policy literal writes it (`+hhmm`, three digits)."""
    moment = datetime.datetime.fromisoformat(text)
    millis = moment.microsecond // 1000
    offset = moment.strftime("%z") or "Z"
    offset = "Z" if offset == "+0000" else offset
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + f".{millis:03d}" + offset


# ---- exhaustiveness, proved by mypy ----------------------------------------------------------

# A fake operator of each kind a node carries, and the modules that must then refuse to type-check
# (the ones that give operators a meaning). Moving one of those arms to another module: update
# this table.
FAKES = {
    "FAKE_COMPARE": (
        Kind.COMPARE,
        "CompareOp",
        {"typecheck", "interp", "codegen", "lower", "analysis"},
    ),
    "FAKE_SET": (Kind.SET_TEST, "SetOp", {"typecheck", "interp", "codegen"}),
    "FAKE_MEMBER": (Kind.MEMBERSHIP, "MembershipOp", {"typecheck", "interp", "codegen", "lower"}),
    "FAKE_ARITH": (Kind.ARITH, "ArithOp", {"typecheck", "interp", "codegen", "lower"}),
}


def _with_fake_operators(source: str) -> str:
    """`operators.py` declaring the fake operators: enum member, table entry, node type."""
    patched = source.replace(
        '    EQ = "eq"\n',
        '    EQ = "eq"\n' + "".join(f'    {name} = "{name.lower()}"\n' for name in FAKES),
        1,
    )
    entries = "".join(
        f'    Op.{name}: OpInfo("{name.lower()}", Kind.{kind.name}, Level.TEST),\n'
        for name, (kind, _, _) in FAKES.items()
    )
    patched = patched.replace(
        "TABLE: dict[Op, OpInfo] = {\n", "TABLE: dict[Op, OpInfo] = {\n" + entries, 1
    )
    for name, (_, alias, _) in FAKES.items():
        patched = patched.replace(
            f"{alias}: TypeAlias = Literal[", f"{alias}: TypeAlias = Literal[Op.{name}, ", 1
        )
    assert patched.count("FAKE_") == 3 * len(FAKES), "operators.py changed shape: update the patch"
    return patched


def test_mypy_names_every_layer_a_new_operator_lacks(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    copy = tmp_path / "policydsl"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    operators = copy / "operators.py"
    operators.write_text(_with_fake_operators(operators.read_text(encoding="utf-8")), "utf-8")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--strict",
            "--python-version",
            "3.11",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "policydsl",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert errors, result.stdout + result.stderr
    reported: dict[str, set[str]] = {name: set() for name in FAKES}
    for line in errors:
        module = Path(line.split(":", 1)[0]).stem
        names = set(re.findall(r"Op\.(FAKE_\w+)", line))
        assert names and '"assert_never"' in line, f"an error other than a missing arm: {line}"
        for name in names:
            reported[name].add(module)
    for name, (_, _, layers) in FAKES.items():
        assert layers <= reported[name], (name, reported[name])


def test_a_missing_table_entry_fails_at_import(monkeypatch: pytest.MonkeyPatch) -> None:
    from policydsl import operators

    monkeypatch.delitem(operators.TABLE, Op.LIKE)
    with pytest.raises(AssertionError, match="without a table entry: \\['LIKE'\\]"):
        operators._check_table()
