"""`explain`: each fired rule with its reason, clauses and the tests it passed with the values
they read; for a rule asked about by id, the tests it failed. Through the library and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

import policydsl
from policydsl.cli import cli

REQUEST = {
    "user": {"age": 41},
    "use": {"domain": "healthcare", "professional_oversight": True},
    "content": {"categories": ["medical_diagnosis"]},
}


@pytest.fixture(scope="module")
def stdlib() -> policydsl.Policy:
    return policydsl.load_stdlib()


def test_fired_rules_show_their_tests_and_what_they_read(stdlib: policydsl.Policy) -> None:
    text = stdlib.explain(REQUEST)
    assert text.startswith("decision: review\n")
    assert 'obligations: ["human_review"]' in text
    assert "- review by `high_risk_domain_with_oversight` (" in text
    assert "02_high_risk.policy:" in text
    assert '    yes use.domain in high_risk_domains    (use.domain = "healthcare", ' in text
    assert "    yes use.professional_oversight\n" in text


def test_a_rule_asked_about_shows_the_test_it_failed(stdlib: policydsl.Policy) -> None:
    text = stdlib.explain(REQUEST, ["advice_without_oversight[medical_diagnosis]"])
    section = text.split("- did not fire: `advice_without_oversight[medical_diagnosis]`")[1]
    assert "    yes medical_diagnosis in content.categories" in section
    assert "    no  not use.professional_oversight    (use.professional_oversight = true)" in (
        section
    )


def test_absent_attributes_read_by_a_test_are_called_absent(stdlib: policydsl.Policy) -> None:
    text = stdlib.explain({}, ["minor_without_parental_consent", "age_unknown"])
    assert "- review by `age_unknown`" in text
    assert "    yes not has user.age" in text
    assert "- did not fire: `minor_without_parental_consent`" in text


def test_nothing_fired_says_so() -> None:
    policy = policydsl.loads(
        "context { n: int = 0 }\neffects no > yes default yes\n"
        'rule big: no { when n > 10  cite "1"  reason "too big" }\n'
    )
    text = policy.explain({"n": 3}, ["big"])
    assert "no rule fired; the default effect is `yes`" in text
    assert "    no  n > 10    (n = 3)" in text


def test_an_unknown_rule_is_named_with_a_suggestion(stdlib: policydsl.Policy) -> None:
    with pytest.raises(ValueError, match="did you mean `restricted_account`"):
        stdlib.explain({}, ["restricted_acount"])


def test_an_invalid_request_is_a_context_error(stdlib: policydsl.Policy) -> None:
    with pytest.raises(policydsl.ContextError):
        stdlib.explain({"user": {"age": "17"}})


def test_cli_explain_with_rule(tmp_path: object) -> None:
    runner = CliRunner()
    result = runner.invoke(
        cli, ["explain", "-", "--rule", "minor_without_parental_consent"], input=json.dumps(REQUEST)
    )
    assert result.exit_code == 0, result.output
    assert "- did not fire: `minor_without_parental_consent`" in result.stdout


def test_cli_explain_unknown_rule_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["explain", "-", "--rule", "nope"], input="{}")
    assert result.exit_code == 2
    assert "no rule `nope`" in result.stderr
    assert "Traceback" not in result.output


def test_cli_explain_json_is_the_structured_explanation() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "explain",
            "-",
            "--format",
            "json",
            "--rule",
            "advice_without_oversight[medical_diagnosis]",
        ],
        input=json.dumps(REQUEST),
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["decision"] == "review"
    by_id = {rule["id"]: rule for rule in data["explained"]}
    missed = by_id["advice_without_oversight[medical_diagnosis]"]
    assert missed["fired"] is False
    assert missed["line"] > 0
    assert {
        "test": "not use.professional_oversight",
        "value": False,
        "reads": {"use.professional_oversight": True},
    } in missed["tests"]
    assert by_id["high_risk_domain_with_oversight"]["fired"] is True


def test_a_test_the_request_never_reaches_is_shown_unevaluated() -> None:
    """`has age and age >= 18` for a request without `age`: the second test reads an absent
    attribute. Explaining the rule used to raise EvaluationError; it shows the test, no value."""
    policy = policydsl.loads(
        "context { age: int? }\neffects deny > allow default allow\n"
        'rule adult: deny { when has age and age >= 18 cite "1" reason "adults" }\n'
    )
    explained = policy.explanation({}, ["adult"])
    tests = explained["explained"][0]["tests"]
    assert [(t["test"], t["value"]) for t in tests] == [("has age", False), ("age >= 18", None)]
    assert "\n        age >= 18    (age = absent)" in policy.explain({}, ["adult"])
