"""No text `policyc` prints for people sends the terminal a character it would act on or hide.

A request value, a table cell (through a `\\u{...}` escape) or a case name may hold ESC (`\\x1b[2J`
clears the screen), a C1 control or a bidirectional override; where such text is echoed (an
explanation, an error message, a diagnostic, a test report) it is shown as `\\u{1b}`. JSON output
stays exact JSON, ASCII-only: a reader gets the very string back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import policydsl
from policydsl.cli import cli

CLEAR = "\x1b[2J"  # ESC [2J: clears the screen
RLO = "\u202e"  # right-to-left override: the rest of the line displays reversed
CSI = "\x9b"  # the one-character C1 control sequence introducer
NASTY = CLEAR + RLO + CSI + "\u2066\x07"

POLICY = """\
enum Kind { plain, odd }
context { s: string = ""  words: list<string> = []  kind: Kind = plain }
effects deny > allow default allow
table odd(text: string) {
  "\\u{1b}[2J\\u{202e}"
}
rule by_text for odd: deny {
  when s == text or s starts_with "x"
  cite "\\u{9b}1"
  reason "{text} is \\u{1b}[31mred"
}
rule words: deny { when some w in words: w == "never" cite "2" reason "w" }
"""


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def assert_safe(text: str) -> None:
    """Every line printable: no control (but the line break), bidirectional or hidden character."""
    for line in text.split("\n"):
        assert line.isprintable(), repr(line)


@pytest.fixture
def policy(tmp_path: Path) -> Path:
    path = tmp_path / "odd.policy"
    path.write_text(POLICY, encoding="utf-8")
    return path


def request(value: dict[str, Any]) -> str:
    return json.dumps(value)  # ASCII: `"\u001b[2J"`, as a request would spell it


def test_explain_shows_request_values_and_table_strings_escaped(policy: Path) -> None:
    context = {"s": CLEAR + RLO, "words": [NASTY]}
    result = run("explain", "-p", policy, "--rule", "words", "-", input=request(context))
    assert result.exit_code == 0, result.output
    assert_safe(result.output)
    assert '(s = "\\u{1b}[2J\\u{202e}")' in result.output
    assert '(words = ["\\u{1b}[2J\\u{202e}\\u{9b}\\u{2066}\\u{7}"])' in result.output
    assert "- deny by `by_text[\\u{1b}[2J\\u{202e}]`" in result.output
    assert "    \\u{1b}[2J\\u{202e} is \\u{1b}[31mred (cites \\u{9b}1)" in result.output
    assert 'citations: ["\\u{9b}1"]' in result.output


def test_explain_echoes_a_request_string_escaped(tmp_path: Path) -> None:
    """The regression on its own: a plain policy, a nasty request value read by a test."""
    path = tmp_path / "plain.policy"
    path.write_text(
        'context { s: string = "" }\neffects deny > allow default allow\n'
        'rule r: deny { when s == "x" cite "1" reason "r" }\n',
        encoding="utf-8",
    )
    result = run("explain", "-p", path, "--rule", "r", "-", input=request({"s": NASTY}))
    assert result.exit_code == 0, result.output
    assert_safe(result.output)
    assert '    no  s == "x"    (s = "\\u{1b}[2J\\u{202e}\\u{9b}\\u{2066}\\u{7}")' in result.output


def test_explain_json_is_exact_and_ascii(policy: Path) -> None:
    context = {"s": CLEAR + RLO, "words": [NASTY]}
    result = run(
        "explain", "-p", policy, "--rule", "words", "--format", "json", "-", input=request(context)
    )
    assert result.exit_code == 0, result.output
    assert result.output.isascii()
    explained = json.loads(result.output)
    assert explained["rules"] == [f"by_text[{CLEAR}{RLO}]"]
    assert explained["reasons"] == [f"{CLEAR}{RLO} is \x1b[31mred"]
    assert explained["explained"][1]["tests"][0]["reads"] == {"words": [NASTY]}


@pytest.mark.parametrize(
    ("context", "shown"),
    [
        pytest.param({NASTY: 1}, "`\\u{1b}[2J\\u{202e}\\u{9b}\\u{2066}\\u{7}`", id="unknown-key"),
        pytest.param({"kind": RLO + "odd"}, "unknown Kind '\\u202eodd'", id="unknown-enum"),
        pytest.param({"s": 1, "words": [CLEAR]}, "`s`", id="wrong-type"),
        pytest.param({"words": ["ok", 5, CLEAR]}, "element 1", id="element"),
        pytest.param({"s": [CLEAR, RLO]}, "got a list", id="list-for-string"),
    ],
)
@pytest.mark.parametrize("command", ["eval", "explain"])
def test_a_context_error_quoting_the_request_is_escaped(
    policy: Path, context: dict[str, Any], shown: str, command: str
) -> None:
    result = run(command, "-p", policy, "-", input=request(context))
    assert result.exit_code == 3, result.output
    assert shown in result.stderr
    assert_safe(result.stderr)
    assert_safe(result.output)


def test_a_batch_error_line_is_escaped_on_stderr_and_exact_in_json(policy: Path) -> None:
    lines = "\n".join([request({"s": "x"}), request({NASTY: True}), request({"kind": CLEAR})])
    result = run("eval", "-p", policy, "--batch", "-", input=lines + "\n")
    assert result.exit_code == 3, result.output
    assert_safe(result.stderr)
    assert "`\\u{1b}[2J\\u{202e}\\u{9b}\\u{2066}\\u{7}`: is not a declared attribute" in (
        result.stderr
    )
    assert result.stdout.isascii()
    decided, unknown_key, unknown_kind = (json.loads(line) for line in result.stdout.splitlines())
    assert decided["decision"] == "deny"
    assert unknown_key["line"] == 2 and "is not a declared attribute" in unknown_key["error"]
    assert unknown_kind["line"] == 3


def test_a_duplicate_key_is_escaped(policy: Path) -> None:
    result = run("eval", "-p", policy, "-", input=f'{{"{RLO}": 1, "{RLO}": 2}}')
    assert result.exit_code == 3, result.output
    assert_safe(result.stderr)
    assert "duplicate key" in result.stderr


def test_fail_closed_decides_in_exact_json(tmp_path: Path) -> None:
    path = tmp_path / "closed.policy"
    path.write_text(POLICY.replace("default allow", "default allow refuse deny"), encoding="utf-8")
    result = run("eval", "-p", path, "--fail-closed", "-", input=request({NASTY: 1}))
    assert result.exit_code == 0, result.output
    assert result.output.isascii()
    assert json.loads(result.output)["decision"] == "deny"


def test_an_unknown_rule_asked_about_is_escaped(policy: Path) -> None:
    result = run("explain", "-p", policy, "--rule", CLEAR, "-", input=request({}))
    assert result.exit_code == 2, result.output
    assert "no rule `\\u{1b}[2J`" in result.stderr
    assert_safe(result.stderr)


def test_a_diagnostic_quoting_a_policy_string_is_escaped(tmp_path: Path) -> None:
    path = tmp_path / "twice.policy"
    path.write_text(POLICY.replace('"\\u{1b}[2J\\u{202e}"', '"\\u{1b}"\n  "\\u{1b}"'), "utf-8")
    for args in [["check", path], ["eval", "-p", path, "-"]]:
        result = run(*args, input="{}")
        assert result.exit_code == 1, result.output
        assert "error[P203]: table `odd` has two rows for `\\u{1b}`" in result.output
        assert_safe(result.output)
    (diagnostic,) = policydsl.check([path])
    assert diagnostic.message.endswith("rows for `\x1b`"), "the message itself is exact"
    checked = run("check", "--format", "json", path)
    assert checked.output.isascii()
    (shown,) = json.loads(checked.output)["diagnostics"]
    assert shown["message"] == diagnostic.message


def test_a_test_report_shows_case_names_escaped(policy: Path, tmp_path: Path) -> None:
    cases = tmp_path / "odd.cases.json"
    case = {"name": f"clear {CLEAR}{RLO}", "context": {"s": "x"}, "expect": {"decision": "allow"}}
    cases.write_text(json.dumps({"policy": str(policy), "cases": [case]}), encoding="utf-8")
    result = run("test", cases)
    assert result.exit_code == 1, result.output
    assert "clear \\u{1b}[2J\\u{202e}" in result.output
    assert_safe(result.output)


def test_the_library_error_is_escaped_too() -> None:
    loaded = policydsl.loads(POLICY)
    with pytest.raises(policydsl.ContextError) as caught:
        loaded.decide({NASTY: 1})
    assert caught.value.attribute == NASTY, "the attribute is the request's own spelling"
    assert str(caught.value).isprintable()
    explained = loaded.explain({"s": NASTY})
    assert_safe(explained)


def test_file_names_are_escaped(tmp_path: Path) -> None:
    """A folder may hold a file whose name is any text: it is echoed escaped."""
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / f"{CLEAR}{RLO}.policy").write_text(
        'context { s: string = "" }\neffects deny > allow default allow\n'
        "rule r: deny {when s == 1}\n",
        encoding="utf-8",
    )
    commands = [
        (["check", folder], 1),
        (["fmt", "--check", folder], 1),
        (["fmt", "--diff", folder], 0),
    ]
    for args, code in commands:
        result = run(*args)
        assert result.exit_code == code, result.output
        assert "\\u{1b}[2J\\u{202e}.policy" in result.output + result.stderr, args
        assert_safe(result.output)
        assert_safe(result.stderr)
