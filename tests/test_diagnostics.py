"""Diagnostics through the public API: each broken policy gives the right code, place, underline
and help, every error is collected, and rendered output is pinned by golden files.

Errors are asserted by what a user sees (code, `line:col`, the underlined text, the help), never by
offsets, so the checker may change how it stores positions without breaking these tests.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import policydsl
from policydsl import Diagnostic

GOLDENS = Path(__file__).parent / "goldens" / "diagnostics"

# A small document-sharing policy with quotas; each case appends a few broken lines to it.
HEADER = """\
enum Role { viewer, editor, owner, admin }
enum Risk { low, high }
enum Plan { free, pro }
enum Tier { free, gold }
context {
  user: {
    id: string
    age: int[0..]?
    role: Role = viewer
    plan: Plan = free
  }
  doc: {
    owner: string
    size: int[0..] = 0
    labels: set<string> = []
  }
}
effects deny > review > allow default allow
annotation risk: Risk
obligations { notify, watermark }
"""
HEADER_LINES = HEADER.count("\n")
NAME = "share.policy"


def errors_of(text: str) -> list[Diagnostic]:
    """The errors of `HEADER + text` (warnings are not the subject here)."""
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(HEADER + text, name=NAME)
    return [d for d in info.value.diagnostics if d.severity == "error"]


def underlined(diagnostic: Diagnostic) -> str:
    """The source text the rendered caret line points at."""
    lines = diagnostic.render().splitlines()
    for above, below in itertools.pairwise(lines):
        gutter, _, carets = below.partition(" | ")
        if gutter.strip() == "" and carets.strip() and set(carets.strip()) == {"^"}:
            source = above.partition(" | ")[2]
            start = len(carets) - len(carets.lstrip(" "))
            return source[start : len(carets)]
    raise AssertionError(f"no caret line in:\n{diagnostic.render()}")


def absolute(text: str | None) -> str | None:
    """`{L2}` in an expected help text: the file line of the case's second line."""
    if text is None:
        return None
    return re.sub(r"\{L(\d+)\}", lambda m: str(HEADER_LINES + int(m.group(1))), text)


def case(
    text: str, code: str, line: int, col: int, snippet: str, help: str | None, *, id: str
) -> Any:
    """One broken policy: the error's code, `line:col` within `text`, underlined text and help."""
    return pytest.param(text, code, line, col, snippet, help, id=id)


LIMITS = "table limits(role: Role, quota: int, risk_level: Risk?) {\n  {rows}\n}\n"


def table(*rows: str, rule: str = "rule over for limits: deny { when user.role == role }") -> str:
    """A `limits` table with the given rows (line 2 is the first row) and a rule over it."""
    return LIMITS.replace("{rows}", "\n  ".join(rows)) + rule


# fmt: off
BROKEN = [
    # ---- names
    case(
        "rule r: deny { when user.agee > 3 }",
        "P201", 1, 21, "user.agee", "did you mean `user.age`?",
        id="unknown-attribute",
    ),
    case(
        "rule r: deny { when doc.sise > 3 }",
        "P201", 1, 21, "doc.sise", "did you mean `doc.size`?",
        id="unknown-nested-attribute",
    ),
    case(
        "rule r: deny { when usr.age > 3 }",
        "P201", 1, 21, "usr.age", "did you mean `user`?",
        id="unknown-name",
    ),
    case(
        "def big = doc.size > 100\nrule r: deny { when bigg }",
        "P201", 2, 21, "bigg", "did you mean `big`?",
        id="unknown-definition",
    ),
    case(
        "rule r: deny { when size(doc.labels) > 1 and sise(doc.labels) > 2 }",
        "P201", 1, 46, "sise", "did you mean `size`?",
        id="unknown-function",
    ),
    case(
        "rule r: deny { when user.role == Role.admn }",
        "P204", 1, 34, "Role.admn", "did you mean `admin`?",
        id="unknown-member-qualified",
    ),
    case(
        "rule r: deny { when user.role == admn }",
        "P204", 1, 34, "admn", "did you mean `admin`?",
        id="unknown-member-bare",
    ),
    case(
        "rule r: deny { when user.role in [viewer, admn] }",
        "P204", 1, 43, "admn", "did you mean `admin`?",
        id="unknown-member-in-list",
    ),
    case(
        table("viewr, 5, -"),
        "P204", 2, 3, "viewr", "did you mean `viewer`?",
        id="unknown-member-in-table-cell",
    ),
    case(
        "def starter = free",
        "P201", 1, 15, "free", "qualify it: `Plan.free` or `Tier.free`",
        id="ambiguous-bare-member",
    ),
    case(
        "table quotas(role: Rol, quota: int) {\n  viewer, 1\n}",
        "P201", 1, 20, "Rol", "did you mean `Role`?",
        id="unknown-column-type",
    ),
    case(
        "rule r for limit: deny { when true }",
        "P201", 1, 12, "limit", None,
        id="unknown-table",
    ),
    # ---- types
    case(
        'rule r: deny { when has user.age and user.age == "x" }',
        "P322", 1, 38, 'user.age == "x"', None,
        id="compare-int-with-string",
    ),
    case(
        "rule r: deny { when has user.age and not user.age }",
        "P301", 1, 42, "user.age", None,
        id="not-of-int",
    ),
    case(
        "rule r: deny { when doc.owner + 1 > 2 }",
        "P318", 1, 21, "doc.owner", None,
        id="arithmetic-on-string",
    ),
    case(
        "rule r: deny { when has user.age and 10 % user.age == 1 }",
        "P332", 1, 43, "user.age", "divide by a constant, or declare the attribute `int[1..]`",
        id="modulo-by-possible-zero",
    ),
    case(
        "rule r: deny { when has user.age and user.age % 0 == 1 }",
        "P332", 1, 49, "0", "divide by a constant, or declare the attribute `int[1..]`",
        id="modulo-by-zero",
    ),
    case(
        "rule r: deny { when user.role < admin }",
        "P316", 1, 21, "user.role < admin", None,
        id="order-on-enum",
    ),
    case(
        "rule r: deny { when doc.labels contains 3 }",
        "P320", 1, 21, "doc.labels contains 3", None,
        id="contains-wrong-element",
    ),
    case(
        "rule r: deny { when doc.owner like 3 }",
        "P321", 1, 36, "3", None,
        id="like-on-int",
    ),
    case(
        "rule r: deny { when some t in doc.owner: true }",
        "P317", 1, 31, "doc.owner", None,
        id="quantifier-over-string",
    ),
    case(
        "rule r: deny { risk 3 }",
        "P301", 1, 21, "3", None,
        id="annotation-of-wrong-type",
    ),
    case(
        "rule r: deny { cite 3 }",
        "P329", 1, 21, "3", None,
        id="cite-of-int",
    ),
    case(
        "rule r: deny { cite doc.owner }",
        "P304", 1, 21, "doc.owner", None,
        id="cite-not-constant",
    ),
    case(
        table("viewer, -, -"),
        "P328", 2, 11, "-", "declare it `quota: int?` to allow `-`",
        id="absent-cell-in-required-column",
    ),
    case(
        table("viewer, 1, -", rule="rule over for limits: deny { when risk_level == high }"),
        "P303", 4, 35, "risk_level", "give every row a value, or use it only in annotations",
        id="optional-column-in-condition",
    ),
    # ---- arity
    case(
        "rule r: deny { when size() > 1 }",
        "P302", 1, 21, "size()", None,
        id="size-without-argument",
    ),
    case(
        "rule r: deny { when size(doc.labels, doc.labels) > 1 }",
        "P302", 1, 21, "size(doc.labels, doc.labels)", None,
        id="size-with-two-arguments",
    ),
    case(
        table("viewer, 5"),
        "P302", 2, 3, "viewer, 5", "columns: role, quota, risk_level",
        id="row-with-too-few-cells",
    ),
    # ---- duplicates and cycles
    case(
        "rule r: deny { when true }\nrule r: allow { when true }",
        "P203", 2, 6, "r", "the other is at share.policy:{L1}:6",
        id="duplicate-rule-id",
    ),
    case(
        table("viewer, 1, -", "viewer, 2, -"),
        "P203", 3, 3, "viewer, 2, -", "the other is at share.policy:{L2}:3",
        id="duplicate-table-key",
    ),
    case(
        "def big = 1\ndef big = 2",
        "P202", 2, 5, "big", "the other is at share.policy:{L1}:5",
        id="duplicate-definition",
    ),
    case(
        "def Role = 1",
        "P202", 1, 5, "Role", "the other is at share.policy:1:6",
        id="definition-named-like-an-enum",
    ),
    case(
        "def int = 1",
        "P202", 1, 5, "int", None,
        id="definition-named-like-a-type",
    ),
    case(
        "def doc = 1",
        "P206", 1, 5, "doc", "rename the definition: every name means one thing",
        id="definition-named-like-an-attribute",
    ),
    case(
        "def a = b or doc.size > 1\ndef b = a\nrule r: deny { when a }",
        "P205", 1, 5, "a", "definitions cannot be recursive: evaluation must always terminate",
        id="cyclic-definitions",
    ),
    case(
        "def a = not a",
        "P205", 1, 5, "a", "definitions cannot be recursive: evaluation must always terminate",
        id="self-referential-definition",
    ),
    # ---- presence of optional attributes
    case(
        "rule r: deny { when user.age < 18 }",
        "P303", 1, 21, "user.age", "test it first: `has user.age and ...`",
        id="unguarded-optional-read",
    ),
    case(
        "rule r: deny { when has user.age or user.age < 18 }",
        "P303", 1, 37, "user.age", "test it first: `has user.age and ...`",
        id="optional-read-guarded-by-or",
    ),
    case(
        "rule r: deny { when user.age < 18 and has user.age }",
        "P303", 1, 21, "user.age", "test it first: `has user.age and ...`",
        id="optional-read-before-its-test",
    ),
    case(
        "output o: Risk {\n  when some r in fired: r.risk == high => high\n  otherwise => low\n}",
        "P303", 2, 25, "r.risk", "test it first: `has r.risk and ...`",
        id="unguarded-annotation-read",
    ),
    case(
        "output o: Risk {\n  when some r in fired: has r.rsk => high\n  otherwise => low\n}",
        "P201", 2, 29, "r.rsk", "did you mean `r.risk`?",
        id="unknown-annotation-of-fired-rule",
    ),
    # ---- decisions and outputs
    case(
        "rule r: deny { when decision == deny }",
        "P306", 1, 21, "decision", "rules decide; outputs read the decision",
        id="decision-in-a-rule",
    ),
    case(
        "rule r: deny { when some f in fired: true }",
        "P306", 1, 31, "fired", "rules decide; outputs read the decision",
        id="fired-in-a-rule",
    ),
    case(
        "def denied = decision == deny\nrule r: deny { when denied and true }",
        "P306", 2, 21, "denied",
        "`decision`, `fired` and definitions using them belong in `output`",
        id="decision-through-a-definition",
    ),
    case(
        "output level: Risk {\n  when decision == deny => high\n}",
        "P305", 1, 8, "level", "end it with `otherwise => VALUE`",
        id="output-without-otherwise",
    ),
    case(
        "output level: Risk {\n  otherwise => low\n  when decision == deny => high\n"
        "  otherwise => high\n}",
        "P305", 2, 3, "otherwise => low", "later cases never apply",
        id="otherwise-not-last",
    ),
    # ---- effects, obligations, annotations, reasons
    case(
        "rule r: alow { when true }",
        "P201", 1, 9, "alow", "did you mean `allow`?",
        id="unknown-effect",
    ),
    case(
        "rule r: deny { obligations [notfy] }",
        "P201", 1, 29, "notfy", "did you mean `notify`?",
        id="unknown-obligation",
    ),
    case(
        "rule r: deny { rsk high }",
        "P201", 1, 16, "rsk", "did you mean `risk`?",
        id="unknown-annotation",
    ),
    case(
        table("viewer, 1, -", rule='rule over for limits: deny {\n  reason "{rol} {quota}"\n}'),
        "P201", 5, 3, 'reason "{rol} {quota}"', "did you mean `role`?",
        id="unknown-column-in-reason",
    ),
    case(
        'rule r: deny { reason "hello {name}" }',
        "P201", 1, 16, 'reason "hello {name}"',
        "a reason's `{name}` reads a column, an attribute, a definition or the variable of a "
        "`some` at the top of `when`; write `{{` for a brace",
        id="unknown-name-in-a-reason",
    ),
    case(
        'rule r: deny {\n  when all c in doc.labels: c == "a"\n  reason "{c}"\n}',
        "P201", 3, 3, 'reason "{c}"',
        "`c` is bound inside `when`, by an `all` or a nested test: no one element made the rule "
        "fire; a `some` at the top of `when` names one",
        id="reason-reads-the-variable-of-all",
    ),
    case(
        "rule r: deny {\n  when true\n  when false\n}",
        "P307", 3, 3, "when false", None,
        id="two-when-clauses",
    ),
    # ---- syntax
    case(
        "rule r: deny { when doc.size = 3 }",
        "P100", 1, 30, "=", "use `==` to compare; `=` only gives a definition its value",
        id="assignment-for-comparison",
    ),
    case(
        "rule r: deny { when true && false }",
        "P101", 1, 26, "&", "write `and`",
        id="double-ampersand",
    ),
    case(
        "def rule = 1",
        "P100", 1, 5, "rule", "`rule` is a reserved word and cannot be used as a name",
        id="reserved-word-as-name",
    ),
    case(
        'rule r: deny { reason "unfinished }',
        "P102", 1, 23, '"unfinished }',
        'close the string with `"` on the same line; write `\\"` for a quote inside',
        id="unterminated-string",
    ),
]
# fmt: on


@pytest.mark.parametrize(("text", "code", "line", "col", "snippet", "help"), BROKEN)
def test_broken_policy(
    text: str, code: str, line: int, col: int, snippet: str, help: str | None
) -> None:
    """Exactly one error, reported where a reader would look, with the advice a reader needs."""
    errors = errors_of(text)
    assert [d.code for d in errors] == [code], "\n\n".join(d.render() for d in errors)
    (error,) = errors
    assert (error.file, error.line, error.col) == (NAME, HEADER_LINES + line, col)
    assert underlined(error) == snippet
    assert error.help == absolute(help)
    assert error.message == error.message.strip() and not error.message.endswith(".")


ACCEPTED = [
    pytest.param("rule r: deny { when has user.age and user.age < 18 }", id="has-and"),
    pytest.param("rule r: deny { when not has user.age or user.age < 18 }", id="not-has-or"),
    pytest.param(
        "rule r: deny { when has user.age and (user.age < 3 or user.age > 90) }",
        id="has-and-nested-or",
    ),
    pytest.param("rule r: deny { when not (not has user.age) and user.age < 3 }", id="double-not"),
    pytest.param(
        "def week = 7\nrule r: deny { when has user.age and user.age % week == 1 }",
        id="modulo-by-definition",
    ),
    pytest.param(
        "def minor = has user.age and user.age < 18\nrule r: deny { when minor and user.age > 3 }",
        id="through-a-definition",
    ),
    pytest.param(
        "def known = has user.age\ndef adult = known and user.age >= 18\n"
        "rule r: deny { when adult }",
        id="through-two-definitions",
    ),
    pytest.param(
        "def unknown = not has user.age\nrule r: deny { when unknown or user.age < 18 }",
        id="negated-definition-or",
    ),
    pytest.param(
        "rule r: deny { risk high }\n"
        "output o: Risk {\n  when some r in fired: has r.risk and r.risk == high => high\n"
        "  otherwise => low\n}",
        id="annotation-of-fired-rule",
    ),
    pytest.param(
        "def d = decision == deny\noutput o: Risk {\n  when d => high\n  otherwise => low\n}",
        id="decision-through-a-definition-in-output",
    ),
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_accepted_policy(text: str) -> None:
    """The guarded forms LANGUAGE.md promises are accepted, without a single error."""
    policy = policydsl.loads(HEADER + text, name=NAME)
    assert all(w.severity == "warning" for w in policy.warnings)


MISSING = [
    pytest.param(
        "context { x: int = 0 }\n",
        [("P401", 1, 1, "add e.g. `effects deny > allow default allow`")],
        id="no-effects",
    ),
    pytest.param(
        "effects deny > allow default allow\n",
        [("P401", 1, 1, "declare the request's attributes: `context { user: { age: int? } }`")],
        id="no-context",
    ),
    pytest.param(
        "",
        [
            ("P401", 1, 1, "add e.g. `effects deny > allow default allow`"),
            ("P401", 1, 1, "declare the request's attributes: `context { user: { age: int? } }`"),
        ],
        id="empty",
    ),
    pytest.param(
        "context { x: int = 0 }\neffects deny > allow default allow\n"
        "effects deny > allow default deny\ncontext { y: int = 0 }\n",
        [("P402", 3, 1, None), ("P402", 4, 1, None)],
        id="declared-twice",
    ),
    pytest.param(
        "context { x: int = 0 }\neffects deny > allow default alow\n",
        [("P201", 2, 30, "did you mean `allow`?")],
        id="unknown-default-effect",
    ),
    pytest.param(
        "context { x: int = 0 }\nrule r: deny { when x > 1 }\n",
        [("P401", 1, 1, "add e.g. `effects deny > allow default allow`")],
        id="no-effects-no-noise-from-rules",
    ),
]


@pytest.mark.parametrize(("text", "expected"), MISSING)
def test_missing_or_repeated_declarations(
    text: str, expected: list[tuple[str, int, int, str | None]]
) -> None:
    """A policy set needs exactly one `effects` and one `context`; reported at the file's start."""
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(text, name="m.policy")
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    assert [(d.code, d.line, d.col, d.help) for d in errors] == expected
    assert all(d.file == "m.policy" for d in errors)


def test_every_error_is_collected() -> None:
    """Three independent errors in one file give three diagnostics, in source order."""
    errors = errors_of(
        "rule a: deny { when user.agee > 3 }\n"
        "rule b: alow { when true }\n"
        "rule c: deny { when user.age < 18 }\n"
    )
    assert [(d.code, d.line - HEADER_LINES, underlined(d)) for d in errors] == [
        ("P201", 1, "user.agee"),
        ("P201", 2, "alow"),
        ("P303", 3, "user.age"),
    ]


def test_errors_are_collected_across_files(tmp_path: Path) -> None:
    """`check` reports every file's errors together, sorted by file and position."""
    (tmp_path / "a.policy").write_text(HEADER + "rule a: deny { when usr.age > 1 }\n")
    (tmp_path / "b.policy").write_text("rule b: deny { when user.age < 18 }\n")
    (tmp_path / "c.policy").write_text("rule c: deny { obligations [notfy] }\n")
    errors = [d for d in policydsl.check([tmp_path]) if d.severity == "error"]
    assert [(Path(d.file or "").name, d.code, d.line) for d in errors] == [
        ("a.policy", "P201", HEADER_LINES + 1),
        ("b.policy", "P303", 1),
        ("c.policy", "P201", 1),
    ]


def test_duplicate_definitions_across_files(tmp_path: Path) -> None:
    """Files share one namespace: the second `def` is the error, and it points at the first."""
    first, second = tmp_path / "a.policy", tmp_path / "b.policy"
    first.write_text(HEADER + "def big = doc.size > 100\n")
    second.write_text("# more\ndef big = doc.size > 1000\nrule r: deny { when big }\n")
    errors = [d for d in policydsl.check([tmp_path]) if d.severity == "error"]
    assert [(d.file, d.code, d.line, d.col) for d in errors] == [(str(second), "P202", 2, 5)]
    assert underlined(errors[0]) == "big"
    assert errors[0].help == f"the other is at {first}:{HEADER_LINES + 1}:5"
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.load(tmp_path)
    assert [d.code for d in info.value.diagnostics if d.severity == "error"] == ["P202"]


def test_warnings_do_not_stop_loading() -> None:
    """A rule without `cite` or `reason` loads; the warnings say what is missing."""
    text = HEADER + "require cite reason\nrule r: deny { when doc.size > 3 }"
    policy = policydsl.loads(text, name=NAME)
    assert {(w.code, w.severity) for w in policy.warnings} >= {
        ("W101", "warning"),
        ("W102", "warning"),
    }


def test_diagnostic_json_shape() -> None:
    """`to_dict()` carries the same facts as the text, for editors and `--format json`."""
    (error,) = errors_of("rule r: deny { when user.agee > 3 }")
    assert error.to_dict() == {
        "code": "P201",
        "severity": "error",
        "message": "unknown attribute `user.agee`",
        "file": NAME,
        "line": HEADER_LINES + 1,
        "col": 21,
        "end_line": HEADER_LINES + 1,
        "end_col": 30,
        "help": "did you mean `user.age`?",
        "related": [],
    }


# ---- golden files: the rendered text, as `policyc check` prints it ------------------------------


def render_check(path: Path) -> str:
    return "".join(d.render() + "\n\n" for d in policydsl.check([path]))


@pytest.mark.parametrize("name", sorted(p.stem for p in GOLDENS.glob("*.policy")))
def test_golden_rendering(
    name: str, golden: Callable[[Path, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rendered diagnostics match `NAME.expected.txt`; `--update-goldens` rewrites them."""
    monkeypatch.chdir(GOLDENS)  # file names in the output stay relative and portable
    golden(GOLDENS / f"{name}.expected.txt", render_check(Path(f"{name}.policy")))


def test_goldens_are_paired() -> None:
    """Every golden policy has its expected output and the other way round."""
    policies = {p.stem for p in GOLDENS.glob("*.policy")}
    outputs = {p.name.removesuffix(".expected.txt") for p in GOLDENS.glob("*.expected.txt")}
    assert policies and policies == outputs


def test_a_huge_integer_literal_is_a_diagnostic() -> None:
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads("def x = " + "9" * 5000, name="big.policy")
    [diag] = caught.value.diagnostics
    assert (diag.code, diag.line, diag.col) == ("P104", 1, 9)


@pytest.mark.parametrize("name", ["id", "effect"])
def test_an_annotation_cannot_shadow_a_fired_rule_field(name: str) -> None:
    text = f"context {{ n: int = 0 }}\neffects a > b default b\nannotation {name}: int\n"
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    [diag] = caught.value.diagnostics
    assert diag.code == "P202"
    assert f"`{name}` is a field of every fired rule" in diag.message


@pytest.mark.parametrize(
    ("text", "message", "code"),
    [
        pytest.param(
            "context { xs: set<set<int>> = [] }",
            "a set holds enum members, strings, integers or booleans, not set<int>",
            "P311",
            id="nested-collection",
        ),
        pytest.param(
            "context { xs: list<int> = [] }\noutput o: set<int> { otherwise => xs }",
            "expected set<int>, found list<int>",
            "P301",
            id="list-attribute-as-set",
        ),
    ],
)
def test_collection_shapes(text: str, message: str, code: str) -> None:
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text + "\neffects a > b default b\n")
    [diag] = caught.value.diagnostics
    assert (diag.code, diag.message) == (code, message)


def test_a_record_outside_context_is_one_error_that_says_where_records_go() -> None:
    """No second error about the quantifier variable printing the placeholder type of an
    expression already in error."""
    text = (
        "context { n: int = 0 }\neffects deny > allow default allow\n"
        "def xs: list<{a: string}> = []\n"
        'rule r: deny { when some x in xs: x.a == "b"  cite "1"  reason "r" }\n'
    )
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    [diag] = caught.value.diagnostics
    assert diag.code == "P312"
    assert diag.help == "as an attribute, a record's attribute, or the element of a list there"
    assert "?" not in str(caught.value)


def test_a_misspelt_member_is_suggested_even_when_its_enum_is_unknown() -> None:
    """The left side is itself wrong, so no enum is expected; the members still count."""
    text = (
        "enum Role { viewer, editor }\ncontext { actor: { role: Role } }\n"
        "effects deny > allow default allow\n"
        'rule r: deny { when actor.rol == editr  cite "1"  reason "r" }\n'
    )
    with pytest.raises(policydsl.PolicyError) as caught:
        policydsl.loads(text)
    helps = [d.help for d in caught.value.diagnostics]
    assert helps == ["did you mean `actor.role`?", "did you mean `editor`?"]
