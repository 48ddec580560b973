"""`policyc compile --emit dot`: the decision tree as a Graphviz graph that is well formed (every
edge between declared nodes, every label a quoted DOT string) for the stdlib and hostile text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from policydsl.cli import cli

ROOT = Path(__file__).resolve().parent.parent
QUOTED = r'"(?:[^"\\]|\\.)*"'
ATTRS = rf"\[(?:\w+=(?:{QUOTED}|[\w.#-]+)(?:, )?)+\]"
NODE = re.compile(rf"  (\w+) {ATTRS};")
EDGE = re.compile(rf"  (\w+) -> (\w+)(?: {ATTRS})?;")
SETTING = re.compile(r"  (rankdir=LR|(node|edge) \[.*\]);")


def graph(*args: str) -> str:
    result = CliRunner().invoke(cli, ["compile", "--emit", "dot", *args])
    assert result.exit_code == 0, result.output
    return result.output


def well_formed(text: str) -> tuple[set[str], list[tuple[str, str]]]:
    lines = text.splitlines()
    assert lines[0] == "digraph policy {" and lines[-1] == "}"
    nodes: set[str] = set()
    edges: list[tuple[str, str]] = []
    for line in lines[1:-1]:
        if node := NODE.fullmatch(line):
            nodes.add(node.group(1))
        elif edge := EDGE.fullmatch(line):
            edges.append((edge.group(1), edge.group(2)))
        else:
            assert SETTING.fullmatch(line), line
    assert {n for e in edges for n in e} <= nodes
    return nodes, edges


def test_the_stdlib_graph() -> None:
    text = graph()
    nodes, edges = well_formed(text)
    assert {f"r{i}" for i in range(71)} <= nodes
    reached = {b for _, b in edges}
    assert {f"r{i}" for i in range(71)} <= reached  # every rule is reached from somewhere
    assert '[label="each element of\\ncontent.categories", shape=diamond]' in text
    assert '-> r14 [label="if not has user.age"]' in text
    assert "default" in nodes


@pytest.mark.parametrize("naive", [False, True])
def test_a_custom_policy_with_hostile_strings(tmp_path: Path, naive: bool) -> None:
    policy = tmp_path / "p.policy"
    policy.write_text(
        "context { name: string  n: int = 0 }\neffects deny > allow default allow\n"
        'rule quote: deny { when name == "a\\"b\\\\c" }\n'
        'rule escape: deny { when name starts_with "\\u{1b}[2J" and n > 3 }\n'
        "rule dead: allow { when 1 > 2 }\n",
        encoding="utf-8",
    )
    text = graph(str(policy), *(["--naive"] if naive else []))
    well_formed(text)
    assert "\x1b" not in text
    assert '\\"a\\\\\\"b' in text  # the policy's `"a\"b` inside a quoted DOT label
    assert "(never fires)" in text
