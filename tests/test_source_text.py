"""Policy text as the author sees it: line breaks counted as editors count them, characters that
hide code refused (Trojan Source), a BOM dropped on every way in, and file size checked before
anything is read.
"""

from __future__ import annotations

import time
import tracemalloc
from pathlib import Path

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli

HEAD = "context { }\neffects deny > allow default allow\n"
HIDDEN_RULE = 'rule hidden: deny { when true  reason "denies everything" }\n'


def errors(text: str) -> list[policydsl.Diagnostic]:
    with pytest.raises(policydsl.PolicyError) as excinfo:
        policydsl.loads(text, name="t.policy")
    return [d for d in excinfo.value.diagnostics if d.severity == "error"]


def assert_never_raw(diagnostic: policydsl.Diagnostic, ch: str) -> None:
    """The message names the code point; neither it nor the rendered snippet carries the char."""
    assert f"U+{ord(ch):04X}" in diagnostic.message
    rendered = diagnostic.render()
    assert ch not in rendered
    assert all(line.isprintable() for line in rendered.splitlines())


# ---- line breaks the grammar does not know -----------------------------------------------------

STRAY_LINE_BREAKS = [
    pytest.param("\r", id="lone-CR"),
    pytest.param("\v", id="VT"),
    pytest.param("\f", id="FF"),
    pytest.param("\x85", id="NEL"),
    pytest.param("\u2028", id="U+2028"),
    pytest.param("\u2029", id="U+2029"),
]


@pytest.mark.parametrize("ch", STRAY_LINE_BREAKS)
def test_a_line_break_inside_a_comment_cannot_hide_a_rule(ch: str) -> None:
    """`cat` and editors show `rule hidden` on a line of its own; the grammar's comment ran to
    the next LF and swallowed it. Such a file is refused, at the exact column of the character."""
    [diagnostic] = errors(HEAD + "# note" + ch + HIDDEN_RULE)
    assert diagnostic.code == "P010"
    assert (diagnostic.line, diagnostic.col) == (3, 7)
    assert_never_raw(diagnostic, ch)


@pytest.mark.parametrize("ch", STRAY_LINE_BREAKS)
def test_a_line_break_inside_a_string_is_refused(ch: str) -> None:
    text = HEAD + 'rule r: deny {\n  when true\n  reason "one' + ch + 'two"\n}\n'
    [diagnostic] = errors(text)
    assert diagnostic.code == "P010"
    assert (diagnostic.line, diagnostic.col) == (5, 14)


def test_positions_count_line_breaks_as_editors_do() -> None:
    """After a U+2028, a lone CR and a NEL, each next character is on a new line, column 1."""
    text = "# a\u2028# b\r# c\x85\u202e"
    found = [(d.code, d.line, d.col) for d in errors(text)]
    assert found == [("P010", 1, 4), ("P010", 2, 4), ("P010", 3, 4), ("P011", 4, 1)]


def test_crlf_and_tabs_are_plain_text() -> None:
    policy = policydsl.loads(HEAD + "# a comment\r\nrule r: deny {\r\n\twhen true\r\n}\r\n")
    assert policy.decide({}).decision == "deny"


# ---- bidirectional controls and other control characters --------------------------------------

BIDI = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
CONTROLS = "\x00\x01\x07\x08\x1b\x1c\x1f\x7f\x80\x9b\x9f"
INVISIBLE = [
    *(pytest.param(ch, "P011", id=f"U+{ord(ch):04X}") for ch in BIDI),
    *(pytest.param(ch, "P012", id=f"U+{ord(ch):04X}") for ch in CONTROLS),
]
PLACES = {
    "comment": HEAD + "# ok {} here\n" + HIDDEN_RULE,
    "string": HEAD + 'rule r: deny {\n  when true\n  reason "a{}b"\n}\n',
    "code": HEAD + "rule r: deny {{}\n  when true\n}\n",
}


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize(("ch", "code"), INVISIBLE)
def test_invisible_characters_are_refused_everywhere(ch: str, code: str, place: str) -> None:
    text = PLACES[place].replace("{}", ch, 1)
    offset = text.index(ch)
    [diagnostic] = errors(text)
    assert diagnostic.code == code
    assert diagnostic.span is not None and diagnostic.span.start == offset
    assert_never_raw(diagnostic, ch)


def test_names_the_character() -> None:
    [diagnostic] = errors(HEAD + "# \u202e\n")
    assert "`U+202E (RIGHT-TO-LEFT OVERRIDE)`" in diagnostic.message
    [diagnostic] = errors(HEAD + "# \x1b[2J\n")
    assert "`U+001B (ESCAPE)`" in diagnostic.message


def test_a_file_full_of_them_gives_a_bounded_report() -> None:
    found = errors(HEAD + "# " + "\u202e" * 100_000 + "\n")
    assert 1 <= len(found) <= 20


def test_check_output_never_carries_the_raw_character(tmp_path: Path) -> None:
    path = tmp_path / "escape.policy"
    path.write_text(HEAD + 'rule r: deny {\n  reason "\x1b]0;owned\x07\x1b[2J"\n}\n\u202e# x\n')
    result = CliRunner().invoke(cli, ["check", str(path)])
    assert result.exit_code == 1
    assert all(line.isprintable() for line in result.output.splitlines()), result.output
    assert result.output.count("error[P012]") == 3
    assert "error[P011]" in result.output


# ---- a leading byte order mark ----------------------------------------------------------------


def test_loads_drops_a_leading_bom_as_load_does(tmp_path: Path) -> None:
    text = "\ufeff" + HEAD + 'rule r: deny { when true  reason "r" }\n'
    path = tmp_path / "bom.policy"
    path.write_text(text, encoding="utf-8")
    from_file = policydsl.load(path).decide({}).to_dict()
    assert policydsl.loads(text).decide({}).to_dict() == from_file
    assert from_file["decision"] == "deny"


def test_positions_after_a_bom_are_not_shifted() -> None:
    [diagnostic] = [d for d in errors("\ufeffdef x = nope\n" + HEAD) if d.code == "P201"]
    assert (diagnostic.line, diagnostic.col) == (1, 9)


# ---- size is checked before reading ------------------------------------------------------------


def test_a_1gb_file_is_refused_without_being_read(tmp_path: Path) -> None:
    """A sparse 1 GB file: one `stat`, not 1 GB of memory (before: ~10 s and 1 GB)."""
    path = tmp_path / "huge.policy"
    with path.open("wb") as stream:
        stream.truncate(1 << 30)
    tracemalloc.start()
    start = time.perf_counter()
    try:
        diagnostics = policydsl.check([path])
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert [d.code for d in diagnostics] == ["P004"]
    assert "1,073,741,824 bytes" in diagnostics[0].message
    assert seconds < 2.0
    assert peak < 50 * 1024 * 1024


def test_fmt_refuses_a_1gb_file_without_reading_it(tmp_path: Path) -> None:
    """`policyc fmt` reads as `load` does (before: ~4 minutes and 2 GB)."""
    path = tmp_path / "huge.policy"
    with path.open("wb") as stream:
        stream.truncate(1 << 30)
    start = time.perf_counter()
    result = CliRunner().invoke(cli, ["fmt", "--check", str(path)])
    assert time.perf_counter() - start < 5.0
    assert result.exit_code == 1
    assert "error[P004]" in result.stderr


@pytest.mark.parametrize("ch", ["\u202e", "\x1b", "\u2028"])
def test_the_help_gives_the_escape_that_writes_it_visibly(ch: str) -> None:
    raw = HEAD + 'rule r: deny {\n  reason "a' + ch + 'b"\n}\n'
    [diagnostic] = errors(raw)
    escape = f"\\u{{{ord(ch):x}}}"
    assert diagnostic.help is not None and f"`{escape}`" in diagnostic.help
    policy = policydsl.loads(raw.replace(ch, escape))
    assert policy.decide({}).reasons == ("a" + ch + "b",)
