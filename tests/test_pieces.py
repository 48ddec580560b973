"""Block-by-block parsing (`policydsl/pieces.py`) against the whole file's parse: the same
declarations at the same lines and columns, through a run of edits that reuse blocks, and the
same `policyc check` diagnostics for a set checked from blocks."""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

import attrs
import pytest

import policydsl
from policydsl import nodes
from policydsl.lsp_workspace import Workspace
from policydsl.parser import parse
from policydsl.pieces import Piece, Pieces, cuts, file_errors
from policydsl.source import Source

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks.synthetic import equality_policy, pair_policy  # noqa: E402


def positions(node: Any) -> list[tuple[str, tuple[int, int, int, int]]]:
    """Every span under `node`, as (class, line, col, end line, end col)."""
    found = []
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif attrs.has(type(item)):
            span = getattr(item, "span", None)
            if span is not None:
                where = (span.line, span.col, span.end_line, span.end_col)
                found.append((type(item).__name__, where))
            stack.extend(
                getattr(item, f.name) for f in attrs.fields(type(item)) if f.name != "span"
            )
    return sorted(found)


def same_as_whole(pieces: Pieces, text: str) -> None:
    source = Source("x.policy", text)
    tree, _ = pieces.parse(source)
    whole, diags = parse(source)
    assert whole is not None, diags
    assert tree is not None
    assert tree == whole
    assert positions(tree.decls) == positions(whole.decls)


def corpus() -> list[str]:
    files = [p.read_text(encoding="utf-8") for p in sorted(ROOT.rglob("*.policy"))]
    return [*files, equality_policy(400), pair_policy(400)]


@pytest.mark.parametrize("text", corpus(), ids=lambda t: t[:30])
def test_blocks_parse_as_the_whole_file(text: str) -> None:
    """Where the file parses, into the same declarations; where it does not, a block fails."""
    if parse(Source("x.policy", text))[0] is None:
        assert Pieces().parse(Source("x.policy", text))[0] is None
    else:
        same_as_whole(Pieces(), text)


def test_a_long_file_is_cut_into_blocks() -> None:
    text = equality_policy(2_000)
    assert 30 < len(cuts(text)) < 130  # about one cut in 32 declarations


def test_a_big_declaration_is_a_block_of_its_own() -> None:
    """An edit to the rule after a table of many rows parses the rule again, not the table."""
    text = pair_policy(2_000)
    table = text.index("table grants")
    rule = text.index("rule granted")
    assert {table, rule} <= set(cuts(text))
    pieces = Pieces()
    _, blocks = pieces.parse(Source("x.policy", text))
    edited = text[:rule] + text[rule:].replace('cite "G"', '# a comment\n  cite "H"')
    _, after = pieces.parse(Source("x.policy", edited))
    table_block = next(b for b in blocks if b.piece.text.startswith("table grants"))
    assert any(b is table_block for b in after)
    same_as_whole(pieces, edited)


def test_undoing_an_edit_brings_back_the_blocks_before_it() -> None:
    """A syntax error typed into a table of many rows, then undone: the table is not parsed
    again, and its declarations are where they were."""
    text = pair_policy(2_000)
    pieces = Pieces()
    _, blocks = pieces.parse(Source("x.policy", text))
    middle = text.index('  "g1000"')
    broken = text[:middle] + "rule broken: deny { when\n" + text[middle:]
    assert pieces.parse(Source("x.policy", broken))[0] is None
    _, again = pieces.parse(Source("x.policy", text))
    assert [b.piece for b in again] == [b.piece for b in blocks]
    same_as_whole(pieces, text)


@pytest.mark.slow
def test_edits_reuse_blocks_and_keep_positions() -> None:
    rng = random.Random(12)
    text = equality_policy(250)
    pieces = Pieces()
    same_as_whole(pieces, text)
    for _ in range(25):
        lines = text.split("\n")
        at = rng.randrange(4, len(lines) - 1)
        match rng.randrange(4):
            case 0:
                lines.insert(at, "# a comment\n# and another")
            case 1:
                del lines[at]
            case 2:
                lines[at] = lines[at].replace("deny", "allow")
            case _:
                lines.insert(at, f'rule new{at}: deny {{ when request.action == a1 cite "c" }}')
        text = "\n".join(lines)
        same_as_whole(pieces, text)
    source = Source("x.policy", text)
    _, blocks = pieces.parse(source)
    again = Source("x.policy", "# one line more\n" + text)
    _, moved = pieces.parse(again)
    reused = {id(b.piece) for b in blocks} & {id(b.piece) for b in moved}
    assert len(reused) >= len(blocks) - 1  # only the first block changed
    assert all(isinstance(b.piece, Piece) and b.piece.place[0] is again for b in moved)


def test_checking_blocks_gives_policyc_checks_diagnostics(tmp_path: Path) -> None:
    """Errors and warnings in many blocks, after edits: `policyc check`'s list, in its order."""
    text = equality_policy(300)
    text = text.replace("== a7 ", "== a7x ").replace("== a250 ", "== zzz ")
    text = text.replace('cite "c120" ', "")  # a warning
    path = tmp_path / "x.policy"
    workspace = Workspace()
    for step in range(3):
        text = text.replace(f"rule r{10 + step}:", f"# moved\nrule r{10 + step}:")
        path.write_text(text, encoding="utf-8")
        analysis = workspace.analyse(str(tmp_path), [path], {str(path): text})
        shown = [d.to_dict() for d in workspace.check(analysis).diagnostics]
        expected = [d.to_dict() for d in policydsl.check([tmp_path])]
        for d in expected:
            d["file"] = str(path)
        assert shown == expected
        assert len(shown) >= 2


def test_a_file_past_the_size_limit_is_parsed_whole() -> None:
    from policydsl.parser import MAX_SOURCE_CHARS

    source = Source("x.policy", "#" * (MAX_SOURCE_CHARS + 1))
    assert Pieces().parse(source) == (None, [])
    assert isinstance(nodes.PolicyFile, type)


@pytest.mark.slow
def test_a_blocks_syntax_error_is_the_files(tmp_path: Path) -> None:
    """Random damage to a file of many blocks: the diagnostics read off the blocks, where they
    are read at all, are exactly the whole file's parse's (hidden characters and deep nesting
    included)."""
    rng = random.Random(7)
    base = equality_policy(160)  # five blocks or so
    damage = ["{", "}", "(", '"', "==", "rule", "\u202e", "[" * 70, "\\q", "#", "@", "\n", ""]
    read = 0
    for _ in range(60):
        text = base
        for _ in range(rng.randrange(1, 4)):
            at = rng.randrange(len(text))
            cut = rng.randrange(0, 4)
            text = text[:at] + rng.choice(damage) + text[at + cut :]
        source = Source("x.policy", text)
        tree, blocks = Pieces().parse(source)
        whole, expected = parse(source)
        if tree is not None:
            assert whole == tree
            continue
        assert whole is None
        found = file_errors(source, blocks)
        if found is not None:
            read += 1
            assert [d.to_dict() for d in found] == [d.to_dict() for d in expected], text
    assert read > 20  # most damage is read off the blocks


def test_declaration_starts_are_the_grammars() -> None:
    """`DECL_START` names the keyword each declaration of `grammar/policy.lark` begins with."""
    import re

    from policydsl.pieces import DECL_START

    grammar = (ROOT / "grammar" / "policy.lark").read_text(encoding="utf-8")
    firsts = set(re.findall(r'^\w+_decl: "(\w+)"', grammar, re.MULTILINE))
    items = re.search(r"^\?item:(.*?)\n\n", grammar, re.MULTILINE | re.DOTALL)
    assert items is not None
    assert len(firsts) == len(re.findall(r"\w+_decl", items.group(1))) >= 9
    assert set(re.findall(r"\w+", DECL_START.pattern.split("(?:")[1].split(")")[0])) == firsts


def test_kept_rule_checks_give_policyc_checks_diagnostics(tmp_path: Path) -> None:
    """Rule checks kept between checks (`rule_memo`), over random edits to rules and to the
    declarations they read: after each, exactly `policyc check`'s diagnostics, in its order."""
    rng = random.Random(5)
    text = "require cite reason\n" + equality_policy(300).replace(
        "effects deny > allow default allow",
        "effects deny > allow default allow\ndef near = request.action == a1\n"
        "table extra(k: string, a: Action) {\n"
        + "\n".join(f'  "k{i}", a{i}' for i in range(40))
        + "\n}\n"
        'rule from_table for extra: allow { when request.action == a cite "t" reason "{k}" }',
    )
    path = tmp_path / "x.policy"
    workspace = Workspace()
    edits = [
        lambda s, i: s.replace(f"== a{i} ", f"== a{i}x ", 1),  # an unknown member
        lambda s, i: s.replace(f'cite "c{i}" ', "", 1),  # W101
        lambda s, i: s.replace(f"rule r{i}:", f"# moved\n\nrule r{i}:", 1),  # positions move
        lambda s, i: s.replace(f"rule r{i}:", f"rule r{i + 1}:", 1),  # a rule id twice
        lambda s, i: s.replace(f"rule r{i}:", f"rule r{i}: deny {{ when near }}\nrule r{i}x:", 1),
        lambda s, i: s.replace("def near = request.action == a1", f"def near = a{i} == a{i}", 1),
        lambda s, i: s.replace(f'  "k{i % 40}", a', f'  "k{(i + 1) % 40}", a', 1),  # a row twice
        lambda s, i: s.replace(", unlisted }", f", unlisted, b{i} }}", 1),  # the enum grows
        lambda s, i: s.replace(f" a{i}, ", f" z{i}, ", 1),  # a member renamed: its rule breaks
        lambda s, i: s.replace("def near = request.action == a1", "def near = 1", 1),
        lambda s, i: s.replace(f"rule r{i}:", f"rule r{i}: allow {{ when\nrule r{i}y:", 1),
    ]
    texts = [text]
    for step in range(40):
        if rng.random() < 0.2 and len(texts) > 1:
            text = texts[rng.randrange(len(texts))]  # back to an earlier text (an undo)
        else:
            text = rng.choice(edits)(text, rng.randrange(1, 290))
        texts.append(text)
        path.write_text(text, encoding="utf-8")
        analysis = workspace.analyse(str(tmp_path), [path], {str(path): text})
        shown = [d.to_dict() for d in workspace.check(analysis).diagnostics]
        expected = [d.to_dict() for d in policydsl.check([tmp_path])]
        for d in expected:
            d["file"] = str(path)
        assert shown == expected, step
