"""Scoping is explicit: a name never silently hides another, and an output never replaces a
field of the decision. Every collision is an error that points at both declarations."""

from __future__ import annotations

import pytest

import policydsl
from policydsl import Diagnostic

HEADER = """\
enum Role { viewer, admin }
context {
  user: string
  action: string
  roles: set<Role> = []
}
effects deny > allow default deny
"""
NAME = "scope.policy"


def errors_of(text: str) -> list[Diagnostic]:
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(HEADER + text, name=NAME)
    return [d for d in info.value.diagnostics if d.severity == "error"]


def spelled(diagnostic: Diagnostic, text: str) -> tuple[str, list[str]]:
    """The text under the main span and under each related span."""
    lines = (HEADER + text).splitlines()

    def under(line: int, col: int, end_col: int) -> str:
        return lines[line - 1][col - 1 : end_col - 1]

    assert diagnostic.span is not None
    main = under(diagnostic.span.line, diagnostic.span.col, diagnostic.span.end_col)
    return main, [under(s.line, s.col, s.end_col) for s, _ in diagnostic.related]


def test_a_column_cannot_hide_a_context_attribute() -> None:
    """The reported case: `action == action` compared the column with itself, and `user ==
    role` alone decided, so `{"user": "admin", "action": "write"}` was allowed."""
    text = (
        'table perms(role: string, action: string) { "admin", "read" }\n'
        'rule p for perms: allow { when action == action and user == role cite "x" reason "r" }\n'
    )
    (error,) = errors_of(text)
    assert error.code == "P206"
    assert error.message == "column `action` hides the context attribute `action`"
    assert error.line == HEADER.count("\n") + 1
    assert spelled(error, text) == ("action", ["action"])
    assert error.related[0][0].line == 4  # the attribute's declaration
    assert error.related[0][1] == "the context attribute `action` is declared here"


SHADOWING = [
    pytest.param(
        "rule r: deny { when some user in roles: user == admin }",
        "quantifier variable `user` hides the context attribute `user`",
        id="quantifier-variable-hides-attribute",
    ),
    pytest.param(
        'table t(who: string) { "a" }\nrule r for t: deny { when some who in roles: who == admin }',
        "quantifier variable `who` hides the column `who`",
        id="quantifier-variable-hides-column",
    ),
    pytest.param(
        "def staff = [viewer]\nrule r: deny { when some staff in roles: staff == admin }",
        "quantifier variable `staff` hides the definition `staff`",
        id="quantifier-variable-hides-definition",
    ),
    pytest.param(
        "rule r: deny { when some x in roles: some x in roles: x == admin }",
        "quantifier variable `x` hides the quantifier variable `x`",
        id="quantifier-variable-hides-quantifier-variable",
    ),
    pytest.param(
        "rule r: deny { when some admin in roles: admin == viewer }",
        "quantifier variable `admin` hides the enum member `Role.admin`",
        id="quantifier-variable-hides-enum-member",
    ),
    pytest.param(
        'table t(staff: string) { "a" }\ndef staff = 1\nrule r for t: deny { when user == staff }',
        "column `staff` hides the definition `staff`",
        id="column-hides-definition",
    ),
    pytest.param(
        'table t(viewer: string) { "a" }\nrule r for t: deny { when user == viewer }',
        "column `viewer` hides the enum member `Role.viewer`",
        id="column-hides-enum-member",
    ),
    pytest.param(
        "def action = 1",
        "definition `action` hides the context attribute `action`",
        id="definition-hides-attribute",
    ),
    pytest.param(
        "def admin = true\nrule r: deny { when admin }",
        "definition `admin` hides the enum member `Role.admin`",
        id="definition-hides-enum-member",
    ),
    pytest.param(
        "def deny = true\nrule r: deny { when deny }",
        "definition `deny` hides the effect `deny`",
        id="definition-hides-effect",
    ),
]


@pytest.mark.parametrize(("text", "message"), SHADOWING)
def test_a_name_that_hides_another_is_an_error_pointing_at_both(text: str, message: str) -> None:
    (error,) = [e for e in errors_of(text) if e.code == "P206"]
    assert error.message == message
    hiding, hidden = spelled(error, text)
    name = message.split("`")[1]
    assert hiding == name
    assert hidden == [name]  # the related span underlines the declaration it would hide
    rendered = error.render()
    assert rendered.count("^") >= 2 * len(name)  # one caret snippet per place
    assert "note: " in rendered and "is declared here" in rendered


def test_a_quantifier_in_an_output_cannot_hide_the_outcome() -> None:
    text = (
        "output o: bool {\n"
        "  when some decision in roles: decision == admin => true\n"
        "  otherwise => false\n"
        "}"
    )
    (error,) = errors_of(text)
    assert (error.code, error.message) == (
        "P206",
        "quantifier variable `decision` hides the outcome `decision`",
    )


def test_related_spans_are_in_the_json_shape() -> None:
    (error,) = errors_of("def action = 1")
    related = error.to_dict()["related"]
    assert related == [
        {
            "message": "the context attribute `action` is declared here",
            "file": NAME,
            "line": 4,
            "col": 3,
            "end_line": 4,
            "end_col": 9,
        }
    ]


def test_names_in_separate_scopes_may_repeat() -> None:
    """Two quantifiers side by side, or a column and a quantifier in another rule, hide nothing."""
    policy = policydsl.loads(
        HEADER
        + 'table t(who: string) { "a" }\n'
        + 'rule r for t: deny { when user == who cite "c" reason "r" }\n'
        + "rule s: deny { when (some who in roles: who == admin) and (some who in roles: who == "
        + 'viewer) cite "c" reason "r" }\n',
        name=NAME,
    )
    assert policy.decide({"user": "b", "action": "x", "roles": ["admin", "viewer"]}).rules == ("s",)


# every key of a decision's JSON and its attributes (`obligations`, `output`: keywords, no names)
RESERVED = sorted(
    ({*policydsl.loads(HEADER).decide({"user": "u", "action": "a"}).to_dict()} - {"obligations"})
    | {"error", "outputs", "to_dict"}
)


@pytest.mark.parametrize("name", RESERVED)
def test_an_output_cannot_take_a_field_of_the_decision(name: str) -> None:
    """An output named `decision` replaced the decision in `to_dict()`."""
    (error,) = errors_of(f'output {name}: string {{ otherwise => "x" }}')
    assert error.code == "P207"
    assert error.message == f"an output cannot be named `{name}`: every decision has that field"
    assert error.help is not None and "reserved: " in error.help


@pytest.mark.parametrize(
    ("text", "code", "first"),
    [
        pytest.param("def big = 1\ndef big = 2", "P202", "big", id="definition"),
        pytest.param(
            'rule r: deny { when true cite "c" reason "r" }\n'
            'rule r: allow { when true cite "c" reason "r" }',
            "P203",
            "r",
            id="rule-id",
        ),
        pytest.param(
            "output o: bool { otherwise => true }\noutput o: bool { otherwise => false }",
            "P202",
            "o",
            id="output",
        ),
    ],
)
def test_a_second_declaration_points_at_the_first(text: str, code: str, first: str) -> None:
    (error,) = errors_of(text)
    assert error.code == code
    ((where, note),) = error.related
    assert note == "the first is here"
    assert where.line == HEADER.count("\n") + 1
    assert spelled(error, text) == (first, [first])
