"""Lints (W401-W405), `require cite reason` (W101, W102 only where asked), `silence CODE "why"`
(P331 when malformed) and `policyc check --strict`; the deleted `spam` row is caught."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli

ROOT = Path(__file__).resolve().parent.parent
STDLIB = ROOT / "stdlib_rules"

HEADER = """
enum Tag { red, green, blue }
enum Kind { a, b }
context { req: { labels: set<Tag> = []  kind: Kind = a  n: int[0..10] = 0 } }
effects deny > review > allow default allow
"""


def rule(name: str, effect: str, when: str, extra: str = "") -> str:
    return f"rule {name}: {effect} {{ when {when} {extra} }}\n"


def codes(text: str) -> list[tuple[str, int]]:
    policy = policydsl.loads(HEADER + text, name="t.policy")
    return sorted((w.code, w.line) for w in policy.warnings if w.code.startswith("W"))


HEADER_LINES = HEADER.count("\n")


def test_a_label_no_rule_mentions() -> None:
    text = rule("r", "deny", "red in req.labels") + rule("g", "deny", "req.labels contains green")
    assert codes(text) == [("W401", 2)]
    (found,) = policydsl.loads(HEADER + text).warnings
    assert found.message == "no rule mentions the label `Tag.blue`"
    # a definition read only by a property is no mention; a scalar enum's members are not labels
    text += "def every = [red, green, blue]\n"
    text += "property p { when req.labels contains_any every ensure true }"
    assert [c for c, _ in codes(text)] == ["W401"]


def test_the_deleted_stdlib_row_is_caught(tmp_path: Path) -> None:
    folder = tmp_path / "stdlib"
    shutil.copytree(STDLIB, folder)
    path = folder / "03_prohibited.policy"
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            '  spam,                   low,      ["3.3"]\n', ""
        ),
        encoding="utf-8",
    )
    (found,) = policydsl.check([folder])
    assert found.code == "W401" and "`Category.spam`" in found.message
    assert Path(found.file or "").name == "00_schema.policy"
    result = CliRunner().invoke(cli, ["check", str(folder), "--strict"])
    assert result.exit_code == 1 and result.output.endswith("0 errors, 1 warning\n")
    assert CliRunner().invoke(cli, ["check", str(folder)]).exit_code == 0


def test_a_shadowed_rule() -> None:
    text = rule("wide", "deny", "req.kind == b") + rule(
        "narrow", "review", "req.kind == b and req.n > 3"
    )
    text += rule("labelled", "allow", "red in req.labels")
    assert [c for c in codes(text + "rule always: deny { }\n") if c[0] == "W402"] == [
        ("W402", HEADER_LINES + 2),
        ("W402", HEADER_LINES + 3),
    ]
    assert codes(text) == [("W401", 2), ("W401", 2), ("W402", HEADER_LINES + 2)]


def test_an_unused_definition_and_a_used_one() -> None:
    text = "def big = req.n > 5\ndef small = req.n < 2\ndef smaller = small\n"
    text += rule("r", "deny", "big") + "property p { when smaller ensure true }\n"
    assert [c for c, _ in codes(text) if c != "W401"] == []
    assert [c for c, _ in codes("def unused = 3\n") if c != "W401"] == ["W403"]


@pytest.mark.parametrize(
    ("when", "verdict"),
    [
        ("req.n >= 0", "true"),
        ("req.n < 11", "true"),
        ("req.n > 10", "false"),
        ("0 > req.n", "false"),
        ("req.n != 12", "true"),
        ("req.n == -1", "false"),
    ],
)
def test_comparisons_the_range_decides(when: str, verdict: str) -> None:
    policy = policydsl.loads(HEADER + rule("r", "deny", f"{when} and red in req.labels"))
    found = [w for w in policy.warnings if w.code == "W404"]
    assert [w.message for w in found] == [
        f"this comparison is always {verdict} for the declared range"
    ]


def test_comparisons_inside_the_range_are_fine() -> None:
    assert not [c for c, _ in codes(rule("r", "deny", "req.n >= 3 and req.n < 10")) if c == "W404"]


def test_a_test_written_twice() -> None:
    text = rule("r", "deny", "red in req.labels and req.n > 2 and red in req.labels")
    assert ("W405", HEADER_LINES + 1) in codes(text)


def test_citations_and_reasons_are_required_only_where_asked() -> None:
    text = rule("r", "deny", "red in req.labels")
    assert not {"W101", "W102"} & {c for c, _ in codes(text)}
    assert {"W101", "W102"} <= {c for c, _ in codes("require cite reason\n" + text)}
    assert {c for c, _ in codes("require reason\n" + text)} & {"W101", "W102"} == {"W102"}


def test_a_warning_silenced_at_its_rule_with_a_reason() -> None:
    text = rule("wide", "deny", "req.kind == b") + rule(
        "narrow", "review", "req.kind == b and req.n > 3", 'silence W402 "kept for its citation"'
    )
    assert "W402" not in {c for c, _ in codes(text)}
    formatted = policydsl.format_source(HEADER + text)
    assert 'silence W402 "kept for its citation"' in formatted


@pytest.mark.parametrize(
    "clause", ['silence W999 "why"', 'silence P201 "why"', 'silence W402 "  "']
)
def test_a_malformed_silence_is_an_error(clause: str) -> None:
    with pytest.raises(policydsl.PolicyError) as excinfo:
        policydsl.loads(HEADER + rule("r", "deny", "red in req.labels", clause))
    assert [d.code for d in excinfo.value.diagnostics if d.severity == "error"] == ["P331"]
