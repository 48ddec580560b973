"""The grammar itself: LALR(1) without conflicts and without colliding terminals (strict mode)."""

from __future__ import annotations

import lark
import pytest

from policydsl import resources


def test_grammar_builds_in_strict_mode() -> None:
    """Strict mode turns shift/reduce conflicts and terminal collisions into errors.

    The parser used at run time skips the collision proof for speed; this test is that proof.
    """
    pytest.importorskip("interegular")
    lark.Lark(resources.grammar_text(), parser="lalr", strict=True, maybe_placeholders=True)


def test_grammar_opens_with_its_conventions() -> None:
    assert resources.grammar_text().startswith("// policydsl grammar")


KEYWORD_FIELDS = """\
context {
  review: {
    kind: { group: string = ""  version: string  kind: string }
    from: list<string> = []
    default: int = 0
  }
}
effects deny > allow default allow
rule old_api: deny { when review.kind.version == "v1beta1" and "ns" in review.from }
"""


@pytest.mark.parametrize("backend", ["compiled", "interpreted", "naive"])
def test_a_field_may_be_named_by_a_reserved_word(backend: str) -> None:
    """`version`, `from`, `default`: declared in a record, read after a dot; everywhere else a
    reserved word is still not a name."""
    import policydsl

    policy = policydsl.loads(KEYWORD_FIELDS, backend=backend)
    old = {"review": {"kind": {"version": "v1beta1", "kind": "Pod"}, "from": ["ns"]}}
    assert policy.decide(old).rules == ("old_api",)
    assert policy.decide({"review": {"kind": {"version": "v1", "kind": "Pod"}}}).rules == ()
    with pytest.raises(policydsl.PolicyError):
        policydsl.loads(KEYWORD_FIELDS + "def version = 1\n")


def test_a_field_named_by_a_reserved_word_formats_and_parses_back() -> None:
    from policydsl.formatter import format_source

    formatted = format_source(KEYWORD_FIELDS)
    assert "version: string" in formatted and format_source(formatted) == formatted
