"""`property` declarations: parsed, checked (names, types, the request/decision split), formatted;
deciding never reads them. Proving them is `test_verify.py`'s business (it needs z3)."""

from __future__ import annotations

import pytest

import policydsl
from policydsl import model

BASE = """
enum Level { low, high }
enum Grade { none, mild, full }
context { user: { age: int[0..]?  level: Level = low  strikes: int[0..] = 0 } }
effects deny > allow default allow
obligations { notify }
rule young: deny { when has user.age and user.age < 18 cite "1" reason "young" }
rule high: allow { when user.level == high cite "2" obligations [notify] reason "high" }
output grade: Grade {
  when decision == deny => full
  when user.strikes > 2 => mild
  otherwise => none
}
"""


def checked(text: str) -> model.CheckedPolicy:
    return policydsl.loads(BASE + text).checked


def codes(text: str) -> set[str]:
    with pytest.raises(policydsl.PolicyError) as excinfo:
        policydsl.loads(BASE + text)
    return {d.code for d in excinfo.value.diagnostics if d.severity == "error"}


def test_a_property_reads_the_request_in_its_premise_and_the_outcome_in_its_claim() -> None:
    policy = checked(
        """
        property young_denied {
          when has user.age and user.age < 18
          ensure decision == deny and grade == full and not (obligated contains notify)
                 and (some r in fired: r.id == "young")
        }
        property grows { ensure monotone(grade, user.strikes) }
        """
    )
    first, second = policy.properties
    assert first.name == "young_denied" and first.premise is not None
    assert second.claim == model.Monotone("grade", ("user", "strikes"))


def test_properties_never_change_a_decision() -> None:
    plain = policydsl.loads(BASE)
    with_property = policydsl.loads(BASE + "property p { ensure decision == allow }")
    request = {"user": {"age": 12}}
    assert plain.decide(request) == with_property.decide(request)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param(
            "property p { when user.age < 3 ensure decision == deny }", "P303", id="absent"
        ),
        pytest.param(
            "property p { when decision == deny ensure true }", "P306", id="premise-outcome"
        ),
        pytest.param("property p { when user.level == high }", "P330", id="no-claim"),
        pytest.param("property p { ensure monotone(grade) }", "P330", id="monotone-arity"),
        pytest.param(
            "property p { ensure monotone(grade, user.level) }", "P330", id="monotone-int"
        ),
        pytest.param(
            "property p { ensure monotone(young, user.strikes) }", "P330", id="monotone-out"
        ),
        pytest.param("property p { ensure grade == loud }", "P204", id="member"),
        pytest.param("property p { ensure true ensure false }", "P307", id="two-claims"),
        pytest.param("property p { ensure true } property p { ensure true }", "P202", id="twice"),
        pytest.param("property p { ensure 3 }", "P301", id="not-bool"),
    ],
)
def test_property_errors(text: str, code: str) -> None:
    assert code in codes(text)


def test_properties_format_and_parse_back() -> None:
    text = BASE + "property   p {\n when user.level==high\n  ensure   decision==allow }\n"
    formatted = policydsl.format_source(text)
    assert "property p {\n  when user.level == high\n  ensure decision == allow\n}\n" in formatted
    assert policydsl.format_source(formatted) == formatted
