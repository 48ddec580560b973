"""String literals: `\\u{HEX}` names any Unicode character, so every string has a literal. What
`render.quote` prints for any string parses back to that very string, shows every character a
terminal would act on or hide as an escape, and loads as the value it printed; the formatter keeps
each literal as it was written."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import policydsl
from policydsl import nodes
from policydsl.parser import parse
from policydsl.render import quote
from policydsl.source import Source

# Every Unicode scalar value (surrogates are not characters: no string of a request or a policy
# holds one), with the characters that have stories of their own drawn often.
TRICKY = "\x00\x1b\x7f\x85\x9b\r\n\t\v\f\u2028\u2029\u202e\u2066\u061c\u200b\u00a0\ufeff"
TRICKY += '"\\{}\U0001f600\U000e0041\U0010ffff'
STRINGS = st.text(
    st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(TRICKY)), max_size=30
)


def value_of(literal: str) -> str:
    """The value a string literal parses to, or fail naming the diagnostics."""
    tree, diagnostics = parse(Source("<literal>", f"def s = {literal}\n"))
    assert tree is not None, [d.render() for d in diagnostics]
    decl = tree.decls[0]
    assert isinstance(decl, nodes.DefDecl) and isinstance(decl.value, nodes.StrLit)
    return decl.value.value


@given(STRINGS)
def test_every_string_prints_as_a_literal_of_itself(value: str) -> None:
    literal = quote(value)
    assert value_of(literal) == value
    assert literal.isprintable(), "nothing a terminal would act on or hide is printed raw"


@given(STRINGS)
def test_a_printed_string_loads_and_decides_as_itself(value: str) -> None:
    policy = policydsl.loads(
        'context { s: string = "" }\neffects deny > allow default allow\n'
        f'rule same: deny {{ when s == {quote(value)} cite "1" reason "r" }}\n'
    )
    assert policy.decide({"s": value}).decision == "deny"
    assert policy.decide({"s": value + "x"}).decision == "allow"


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        (r'"\u{41}"', "A"),
        (r'"\u{000041}"', "A"),
        (r'"caf\u{E9}"', "café"),
        (r'"\u{1f600}\u{1F600}"', "\U0001f600" * 2),
        (r'"\u{10ffff}"', "\U0010ffff"),
        (r'"\u{0}"', "\x00"),
        (r'"\u{1b}[2J"', "\x1b[2J"),  # an escape is visible in the source: not trojan text
        (r'"\u{202e}\u{2066}"', "\u202e\u2066"),
        (r'"\u{7b}x\u{7d}"', "{x}"),
        (r'"a\\u{41}"', "a\\u{41}"),  # an escaped backslash starts no escape
        (r'"\"\\\n\t"', '"\\\n\t'),
    ],
)
def test_escapes(literal: str, value: str) -> None:
    assert value_of(literal) == value


@pytest.mark.parametrize(
    ("literal", "code", "col", "underlined", "message"),
    [
        (r'"\u{110000}"', "P082", 2, r"\u{110000}", "beyond U+10FFFF"),
        (r'"\u{d800}"', "P082", 2, r"\u{d800}", "U+D800 is a surrogate"),
        (r'"ok\u{DFFF}"', "P082", 4, r"\u{DFFF}", "U+DFFF is a surrogate"),
        (r'"\u{}"', "P081", 2, r"\u{}", "names no code point"),
        (r'"\u{zz}"', "P081", 2, r"\u{zz}", "`zz` is not 1 to 6 hexadecimal digits"),
        (r'"\u{1000000}"', "P081", 2, r"\u{1000000}", "is not 1 to 6 hexadecimal digits"),
        (r'"\u{-1}"', "P081", 2, r"\u{-1}", "is not 1 to 6 hexadecimal digits"),
        (r'"\u{ 41 }"', "P081", 2, r"\u{ 41 }", "is not 1 to 6 hexadecimal digits"),
        (r'"\u41"', "P081", 2, r"\u", "no `{` after `\\u`"),
        (r'"ab\u{41"', "P081", 4, r"\u", "never closed"),
        (r'"\q"', "P080", 2, r"\q", "unknown escape `\\q`"),
        (r'"\r"', "P080", 2, r"\r", "unknown escape `\\r`"),
        ('"\\\u00a0"', "P080", 2, "\\\u00a0", "`\\` before U+00A0 (NO-BREAK SPACE)"),
    ],
)
def test_a_bad_escape_is_named_where_it_stands(
    literal: str, code: str, col: int, underlined: str, message: str
) -> None:
    text = f"def ok = 1\ndef s = {literal}\n"
    with pytest.raises(policydsl.PolicyError) as info:
        policydsl.loads(text, name="esc.policy")
    (error,) = info.value.diagnostics
    assert (error.code, error.line, error.col) == (code, 2, 8 + col)
    assert error.span is not None
    assert text[error.span.start : error.span.end] == underlined
    assert message in error.message
    assert error.help and "\\u{" in error.help


def test_a_raw_hidden_character_is_still_refused() -> None:
    """Only the escape may put such a character in a string: raw, it is trojan text."""
    for ch, code in [("\u202e", "P011"), ("\x1b", "P012"), ("\u2028", "P010")]:
        with pytest.raises(policydsl.PolicyError) as info:
            policydsl.loads(f'def s = "a{ch}b"\n')
        assert [d.code for d in info.value.diagnostics] == [code]


# ---- the formatter ----------------------------------------------------------------------------

WRITTEN = (
    'def a = "caf\\u{E9} and caf\u00e9"\n'
    'def b = "zero\u200bwidth, \\u{200b} escaped, \\u{1b}[2J, \\u{202e}"\n'
    'def c = ["\\u{41}", "tab\there"]\n'
    "table t(k: string) {\n"
    '  "\\u{1f600}"\n'
    "}\n"
    'rule r for t: deny { when a == k reason "\\u{7b}{k}\\u{7d}" }\n'
)


def test_the_formatter_keeps_strings_as_written() -> None:
    formatted = policydsl.format_source(WRITTEN)
    for literal in [
        '"caf\\u{E9} and caf\u00e9"',
        '"zero\u200bwidth, \\u{200b} escaped, \\u{1b}[2J, \\u{202e}"',
        '"\\u{41}"',
        '"\\u{1f600}"',
        'reason "\\u{7b}{k}\\u{7d}"',
    ]:
        assert literal in formatted
    assert '"tab\\there"' in formatted, "a raw tab becomes `\\t`"
    assert policydsl.format_source(formatted) == formatted


@given(STRINGS)
def test_the_formatter_is_idempotent_on_any_string(value: str) -> None:
    text = f"def s = [{quote(value)}, {quote(value)}]\nrule r: deny {{ reason {quote(value)} }}\n"
    formatted = policydsl.format_source(text)
    assert policydsl.format_source(formatted) == formatted
    tree, _ = parse(Source("<formatted>", formatted))
    assert tree is not None
    (string, _again) = tree.decls[0].value.items  # type: ignore[union-attr]
    assert string.value == value
