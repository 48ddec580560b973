"""The documents' examples run: the README's language tour checks and decides as the README says,
and every ```policy block of docs/LANGUAGE.md parses and, together with the others, checks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import policydsl
from policydsl.parser import parse
from policydsl.source import Source

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
LANGUAGE = ROOT / "docs" / "LANGUAGE.md"
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def tour_policy() -> str:
    text = README.read_text(encoding="utf-8")
    tour = text[text.index("## A five-minute tour") :]
    return tour.split("```\n", 2)[1]


def test_the_tour_policy_checks_cleanly() -> None:
    policy = policydsl.loads(tour_policy(), name="README.md")
    assert policy.warnings == []


def test_the_tour_policy_decides() -> None:
    policy = policydsl.loads(tour_policy(), name="README.md")
    share = {"actor": {"id": "ann", "role": "editor"}, "share": {"audience": "team"}}
    assert policy.decide(share).decision == "allow"
    external = {**share, "share": {"audience": "external", "expires_days": 90}}
    assert policy.decide(external).rules == ("editors_share", "external_without_expiry")
    assert policy.decide(external).decision == "forbid"


# ---- docs/LANGUAGE.md -------------------------------------------------------------------------


def fenced_blocks(path: Path) -> list[tuple[str, int, str]]:
    """(info string, line of the opening fence, body) of every fenced block."""
    text = path.read_text(encoding="utf-8")
    return [
        (m.group(1).strip(), text.count("\n", 0, m.start()) + 1, m.group(2))
        for m in FENCE.finditer(text)
    ]


BLOCKS = fenced_blocks(LANGUAGE)
EXAMPLES = [(line, body) for info, line, body in BLOCKS if info == "policy"]
ERROR_EXAMPLES = [
    pytest.param(info.split()[1], body, id=f"line-{line}")
    for info, line, body in BLOCKS
    if info.startswith("policy-error ")
]


def language_policy(*extra: str) -> str:
    """The reference's examples, in order, as one policy set (they build on each other)."""
    return "\n".join([*(body for _, body in EXAMPLES), *extra])


def test_every_block_says_what_it_holds() -> None:
    """An untagged block would escape these tests: say `policy`, `policy-error CODE`, `sh`..."""
    untagged = [line for info, line, _ in BLOCKS if not info]
    assert not untagged, f"docs/LANGUAGE.md: fenced blocks without a language at lines {untagged}"
    assert len(EXAMPLES) >= 3 and ERROR_EXAMPLES


@pytest.mark.parametrize(("line", "body"), EXAMPLES, ids=[f"line-{line}" for line, _ in EXAMPLES])
def test_each_example_parses(line: int, body: str) -> None:
    tree, diagnostics = parse(Source(f"LANGUAGE.md:{line}", body))
    assert tree is not None, "\n".join(d.render() for d in diagnostics)


def test_the_examples_check_together() -> None:
    policydsl.loads(language_policy(), name="LANGUAGE.md")  # raises PolicyError on any error


@pytest.mark.parametrize(("code", "body"), ERROR_EXAMPLES)
def test_each_error_example_fails_with_its_code(code: str, body: str) -> None:
    with pytest.raises(policydsl.PolicyError) as excinfo:
        policydsl.loads(language_policy(body), name="LANGUAGE.md")
    found = {d.code for d in excinfo.value.diagnostics if d.severity == "error"}
    assert found == {code}
