"""`policyc diff OLD NEW`: the regions of requests two versions decide differently, each with an
example both engines decide as shown; recorded requests replayed through both."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import policydsl
from policydsl import policy_diff
from policydsl.cli import cli

pytest.importorskip("z3")

ROOT = Path(__file__).resolve().parent.parent
STDLIB = ROOT / "stdlib_rules"
SHARING = ROOT / "examples" / "doc_sharing"


def run(*args: str | Path, input: str | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def copy_with(tmp_path: Path, source: Path, file: str, old: str, new: str) -> Path:
    folder = tmp_path / source.name
    shutil.copytree(source, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def test_a_version_is_equivalent_to_itself() -> None:
    result = run("diff", STDLIB, STDLIB)
    assert result.exit_code == 0, result.output
    assert result.output.startswith("equivalent")


def test_a_deleted_row_shows_every_move_it_causes(tmp_path: Path) -> None:
    new = copy_with(
        tmp_path,
        STDLIB,
        "03_prohibited.policy",
        '  spam,                   low,      ["3.3"]\n',
        "",
    )
    result = run("diff", STDLIB, new, "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["status"] == "different" and report["complete"]
    assert report["changed_rules"] == ["prohibited[spam]"]
    assert set(report["moves"]) == {"deny -> allow", "deny -> review", "deny -> deny"}
    old, new_policy = policydsl.load_stdlib(), policydsl.load(new)
    for region in report["regions"]:
        assert "spam" in region["request"]["content"]["categories"]
        assert region["responsible"] == {"old": ["prohibited[spam]"], "new": []}
        assert old.decide(region["request"]).to_dict() == region["old"]
        assert new_policy.decide(region["request"]).to_dict() == region["new"]
    deny_deny = next(r for r in report["regions"] if r["move"] == "deny -> deny")
    assert deny_deny["changes"] == ["enforcement: warn -> none"]


def test_an_off_by_one_age(tmp_path: Path) -> None:
    new = copy_with(
        tmp_path, STDLIB, "04_minors.policy", "def adult_age = 18", "def adult_age = 17"
    )
    report = policy_diff.diff(policydsl.load_stdlib(), policydsl.load(new))
    assert report.status == "different" and report.changed_rules == ()
    assert {r.request["user"]["age"] for r in report.regions} == {17}
    assert all(r.responsible_old == ("minor_without_parental_consent",) for r in report.regions)


def test_a_custom_policy_with_a_swapped_effect(tmp_path: Path) -> None:
    new = copy_with(
        tmp_path,
        SHARING,
        "sharing.policy",
        "rule outside_recipient: forbid",
        "rule outside_recipient: allow",
    )
    result = run("diff", SHARING, new)
    assert result.exit_code == 1
    assert "forbid -> allow" in result.output
    report = policy_diff.diff(policydsl.load(SHARING), policydsl.load(new))
    assert report.changed_rules == ("outside_recipient",)
    for region in report.regions:
        recipients = region.request["share"]["recipients"]
        assert any(not r.endswith("@example.com") for r in recipients)


def test_different_schemas_are_refused() -> None:
    result = run("diff", STDLIB, SHARING)
    assert result.exit_code == 2
    assert "different request schemas" in result.output


def test_replaying_recorded_requests(tmp_path: Path) -> None:
    new = copy_with(
        tmp_path,
        STDLIB,
        "03_prohibited.policy",
        '  spam,                   low,      ["3.3"]\n',
        "",
    )
    lines = [
        {"content": {"categories": ["spam"]}, "user": {"age": 30}},
        {"content": {"categories": ["hate"]}, "user": {"age": 30}},
        {"user": {"age": "x"}},
        {"content": {"categories": ["spam", "hate"]}, "user": {"age": 30}},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\nnot json\n"
    result = run("diff", STDLIB, new, "--requests", "-", input=text)
    assert result.exit_code == 1
    out = result.output.splitlines()
    changed = json.loads(out[0])
    assert changed["line"] == 1 and changed["move"] == "deny -> allow"
    assert out[-1] == "5 requests, 1 changed, 2 invalid; deny -> allow: 1"
    same = run("diff", STDLIB, STDLIB, "--requests", "-", "--format", "json", input=text)
    assert same.exit_code == 0
    assert json.loads(same.output)["totals"]["changed"] == 0


def test_a_large_table_diff_is_quick_and_its_example_short() -> None:
    """A one-cell change in a 1,000-row table: one region, found in seconds, whose example holds
    the one label and the smallest count that tells the versions apart."""
    import time

    rows = "\n".join(f"  c{i}, {i % 50}" for i in range(1000))
    text = (
        "enum C { " + ", ".join(f"c{i}" for i in range(1000)) + " }\n"
        "context { x: { cs: set<C> = []  n: int[0..] = 0 } }\n"
        "effects deny > allow default allow\n"
        f"table t(c: C, k: int) {{\n{rows}\n}}\n"
        "rule r for t: deny { when c in x.cs and x.n > k }\n"
    )
    old, new = policydsl.loads(text), policydsl.loads(text.replace("  c7, 7\n", "  c7, 8\n"))
    started = time.perf_counter()
    report = policy_diff.diff(old, new)
    assert time.perf_counter() - started < 20
    (region,) = report.regions
    assert region.request == {"x": {"cs": ["c7"], "n": 8}}
    assert report.changed_rules == ("r[c7]",) and report.moves == {"deny -> allow": 1}


def test_a_label_added_to_the_schema(tmp_path: Path) -> None:
    """Requests with the new label are refused by the old version's schema and decided by the
    new one: regions `refused -> deny`; the other way round, `deny -> refused`."""
    folder = tmp_path / "added"
    shutil.copytree(STDLIB, folder)
    for name, old, new in [
        ("00_schema.policy", "  spam,\n", "  spam,\n  phishing,\n"),
        (
            "03_prohibited.policy",
            '  spam,                   low,      ["3.3"]\n',
            '  spam,                   low,      ["3.3"]\n'
            '  phishing,               high,     ["3.3"]\n',
        ),
    ]:
        path = folder / name
        path.write_text(path.read_text(encoding="utf-8").replace(old, new, 1), encoding="utf-8")
    report = policy_diff.diff(policydsl.load_stdlib(), policydsl.load(folder))
    assert report.moves == {"refused -> deny": 1}
    (region,) = report.regions
    assert region.request == {"content": {"categories": ["phishing"]}}
    assert region.responsible_new == ("prohibited[phishing]",)
    back = policy_diff.diff(policydsl.load(folder), policydsl.load_stdlib())
    assert back.moves == {"deny -> refused": 1}
    line = json.dumps({"content": {"categories": ["phishing"]}, "user": {"age": 30}})
    result = run("diff", STDLIB, folder, "--requests", "-", input=line + "\n")
    assert result.output.splitlines()[-1] == "1 requests, 1 changed, 0 invalid; refused -> deny: 1"
