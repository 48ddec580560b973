"""`policyc test --coverage`: which rules the cases fired, which tests they saw true and false;
`--threshold` fails a run below it. The standard library's shipped cases fire every rule."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from policydsl.cli import cli

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "examples" / "tests"
SHARING = ROOT / "examples" / "doc_sharing"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_the_stdlib_cases_fire_every_rule_and_see_every_test_both_ways() -> None:
    result = run("test", CASES, "--coverage", "--threshold", "100", "--format", "json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)["coverage"]
    assert report["rule_coverage"] == 100.0 and report["test_coverage"] == 100.0
    assert len(report["rules"]) == 71 and all(r["fired"] for r in report["rules"])


def test_a_threshold_above_the_coverage_fails() -> None:
    result = run("test", CASES / "stdlib.cases.jsonl", "--coverage", "--threshold", "50")
    assert result.exit_code == 1
    assert "never fired   prohibited[weapons]  " in result.output
    assert result.output.splitlines()[-1] == ("failed: 9 passed, 0 failed; rule coverage below 50%")
    assert run("test", CASES / "stdlib.cases.jsonl", "--threshold", "10").exit_code == 0


def test_coverage_of_a_custom_policy(tmp_path: Path) -> None:
    cases = json.loads((SHARING / "sharing.cases.json").read_text(encoding="utf-8"))
    cases["policy"] = str(SHARING / "sharing.policy")
    cases["cases"] = [c for c in cases["cases"] if "context_error" not in c["expect"]][:2]
    path = tmp_path / "few.cases.json"
    path.write_text(json.dumps(cases), encoding="utf-8")
    result = run("test", path, "--coverage", "--format", "json")
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)["coverage"]
    rules = {r["id"]: r for r in report["rules"]}
    assert set(rules) >= {"editors_share", "outside_recipient", "too_wide[secret]"}
    assert report["rule_coverage"] < 100
    for rule in rules.values():
        for test in rule["tests"]:
            assert set(test) == {"test", "seen_true", "seen_false"}
    text = run("test", path, "--coverage").output
    assert "coverage of " in text and "fired (" in text


def test_without_coverage_the_report_is_unchanged() -> None:
    result = run("test", CASES, "--format", "json")
    assert "coverage" not in json.loads(result.output)
