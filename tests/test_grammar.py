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
