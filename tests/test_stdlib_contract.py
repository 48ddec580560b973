"""The standard library against the usage-policy contract (`/work/shared/CONTRACT.md`).

Every expectation here is written by hand from the contract text: one case per row of its §2
(categories) and §3 (rules that are not categories), then the combining and enforcement rules of
§4, then the context schema of §1. Only the public API is used, so these tests hold for any
backend (the `backend` fixture of `conftest.py` runs each test on every one).
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

import policydsl

DECISION_KEYS = {"decision", "enforcement", "obligations", "citations", "rules", "reasons"}


@pytest.fixture(scope="module")
def policy(backend: str) -> Any:
    """The stdlib, compiled once per backend: `decide` is the hot path, loading is not."""
    return policydsl.load_stdlib(backend=backend)


# ---- helpers ------------------------------------------------------------------------------------


def ctx(
    *categories: str,
    user: dict[str, Any] | None = None,
    use: dict[str, Any] | None = None,
    content: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An adult's request (age 30), so the unknown-age review never interferes unless asked to."""
    context: dict[str, Any] = {"user": {"age": 30, **(user or {})}}
    if use is not None:
        context["use"] = dict(use)
    if categories or content is not None:
        context["content"] = {"categories": list(categories), **(content or {})}
    return context


def expect(
    decision: str,
    enforcement: str = "none",
    obligations: tuple[str, ...] = (),
    citations: tuple[str, ...] = (),
) -> dict[str, Any]:
    """The four fields the contract fixes; `rules` and `reasons` are the project's own wording."""
    return {
        "decision": decision,
        "enforcement": enforcement,
        "obligations": list(obligations),
        "citations": list(citations),
    }


ALLOW = expect("allow")


def deny(enforcement: str, *citations: str) -> dict[str, Any]:
    return expect("deny", enforcement, (), citations)


def review(obligations: tuple[str, ...], *citations: str) -> dict[str, Any]:
    return expect("review", "none", obligations, citations)


def decide(policy: Any, context: Any) -> dict[str, Any]:
    """Decide and check the shape every decision shares, whatever it is."""
    result = policy.decide(context).to_dict()
    assert set(result) == DECISION_KEYS
    assert json.loads(json.dumps(result)) == result, "to_dict() must be plain JSON"
    for key in ("obligations", "citations"):
        assert result[key] == sorted(set(result[key])), f"{key} must be sorted and unique"
    rules, reasons = result["rules"], result["reasons"]
    assert isinstance(rules, list) and isinstance(reasons, list)
    assert len(rules) == len(reasons), "one reason per fired rule"
    assert rules == sorted(set(rules)), "fired rule ids are sorted and unique"
    assert all(isinstance(r, str) and r for r in reasons), "every reason is a non-empty sentence"
    return result


def check(policy: Any, context: Any, expected: dict[str, Any], fired: int | None = None) -> None:
    """Compare the contract's fields exactly; something fired iff the decision is not allow.

    The stdlib has no allow rules, so an allow means nothing fired. `fired`, when given, is how
    many rules must fire (each category has exactly one row, each §3 row is one rule).
    """
    result = decide(policy, context)
    assert {k: result[k] for k in expected} == expected
    if expected["decision"] == "allow":
        assert result["rules"] == [] and result["reasons"] == []
    else:
        assert result["rules"], "a deny or review names the rules that fired"
    if fired is not None:
        assert len(result["rules"]) == fired, result["rules"]


# ---- CONTRACT §2: one case per category row ----------------------------------------------------

# With no prior violations the ladder gives: critical -> suspend_and_report, anything else -> warn.
PLAIN_DENY_CASES = [
    pytest.param("csam", deny("suspend_and_report", "1.1", "3.1", "4"), id="csam"),
    pytest.param(
        "minor_sexualization", deny("suspend_and_report", "3.1", "4"), id="minor_sexualization"
    ),
    pytest.param("minor_grooming", deny("suspend_and_report", "4"), id="minor_grooming"),
    pytest.param(
        "minor_exploitation", deny("suspend_and_report", "1.1", "4"), id="minor_exploitation"
    ),
    pytest.param("minor_targeting", deny("warn", "4"), id="minor_targeting"),
    pytest.param("terrorism", deny("suspend_and_report", "1.1"), id="terrorism"),
    pytest.param("human_trafficking", deny("suspend_and_report", "1.1"), id="human_trafficking"),
    pytest.param(
        "critical_infrastructure_interference",
        deny("suspend_and_report", "2.1"),
        id="critical_infrastructure_interference",
    ),
    pytest.param("violence_promotion", deny("warn", "1.1"), id="violence_promotion"),
    pytest.param("hate", deny("warn", "1.1"), id="hate"),
    pytest.param("self_harm_promotion", deny("warn", "1.1", "1.2"), id="self_harm_promotion"),
    pytest.param("fraud", deny("warn", "1.1"), id="fraud"),
    pytest.param("labor_exploitation", deny("warn", "1.1"), id="labor_exploitation"),
    pytest.param(
        "unauthorized_data_collection", deny("warn", "1.1"), id="unauthorized_data_collection"
    ),
    pytest.param("physical_harm", deny("warn", "1.2"), id="physical_harm"),
    pytest.param("weapons", deny("warn", "3.1"), id="weapons"),
    pytest.param("illegal_drugs", deny("warn", "3.1"), id="illegal_drugs"),
    pytest.param("harmful_materials", deny("warn", "3.1"), id="harmful_materials"),
    pytest.param("non_consensual_nudity", deny("warn", "3.1"), id="non_consensual_nudity"),
    pytest.param("multi_account_evasion", deny("warn", "3.3"), id="multi_account_evasion"),
    pytest.param("coordinated_abuse", deny("warn", "3.3"), id="coordinated_abuse"),
    pytest.param("graphic_violence", deny("warn", "1.1"), id="graphic_violence"),
    pytest.param("impersonation", deny("warn", "1.1"), id="impersonation"),
    pytest.param("disinformation", deny("warn", "1.1", "3.2"), id="disinformation"),
    pytest.param("ip_infringement", deny("warn", "1.1"), id="ip_infringement"),
    pytest.param("property_destruction", deny("warn", "1.2"), id="property_destruction"),
    pytest.param("discrimination", deny("warn", "1.2"), id="discrimination"),
    pytest.param("sexual_explicit", deny("warn", "3.1"), id="sexual_explicit"),
    pytest.param("extreme_gore", deny("warn", "3.1"), id="extreme_gore"),
    pytest.param("animal_cruelty", deny("warn", "3.1"), id="animal_cruelty"),
    pytest.param("real_violence", deny("warn", "3.1"), id="real_violence"),
    pytest.param("manipulation", deny("warn", "3.2"), id="manipulation"),
    pytest.param("data_fabrication", deny("warn", "3.2"), id="data_fabrication"),
    pytest.param("jailbreak", deny("warn", "3.3"), id="jailbreak"),
    pytest.param("prompt_injection", deny("warn", "3.3"), id="prompt_injection"),
    pytest.param("model_scraping", deny("warn", "3.3"), id="model_scraping"),
    pytest.param("reverse_engineering", deny("warn", "3.3"), id="reverse_engineering"),
    pytest.param("conspiracy_theory", deny("warn", "3.2"), id="conspiracy_theory"),
    pytest.param("plagiarism", deny("warn", "3.2"), id="plagiarism"),
    pytest.param("ghostwriting", deny("warn", "3.2"), id="ghostwriting"),
    pytest.param("exam_cheating", deny("warn", "3.2"), id="exam_cheating"),
    pytest.param("spam", deny("warn", "3.3"), id="spam"),
]


@pytest.mark.parametrize(("category", "expected"), PLAIN_DENY_CASES)
def test_plain_deny_category(policy: Any, category: str, expected: dict[str, Any]) -> None:
    """A label that is always denied: the row's clauses, the row's severity on the ladder."""
    check(policy, ctx(category), expected, fired=1)


CONDITIONAL_CASES = [
    # biometric_identification: deny unless content.subject_consent (high)
    pytest.param(
        ctx("biometric_identification"),
        deny("warn", "1.1"),
        1,
        id="biometric_identification-no-consent",
    ),
    pytest.param(
        ctx("biometric_identification", content={"subject_consent": True}),
        ALLOW,
        0,
        id="biometric_identification-subject-consent",
    ),
    pytest.param(
        ctx("biometric_identification", content={"guardian_consent": True}),
        deny("warn", "1.1"),
        1,
        id="biometric_identification-wrong-consent",
    ),
    # minor_personal_data: deny unless content.guardian_consent (high)
    pytest.param(
        ctx("minor_personal_data"), deny("warn", "1.1"), 1, id="minor_personal_data-no-consent"
    ),
    pytest.param(
        ctx("minor_personal_data", content={"guardian_consent": True}),
        ALLOW,
        0,
        id="minor_personal_data-guardian-consent",
    ),
    pytest.param(
        ctx("minor_personal_data", content={"subject_consent": True}),
        deny("warn", "1.1"),
        1,
        id="minor_personal_data-wrong-consent",
    ),
    # emotion_inference: deny in workplace/education unless legally permitted (medium)
    pytest.param(
        ctx("emotion_inference", use={"domain": "workplace"}),
        deny("warn", "1.1"),
        1,
        id="emotion_inference-workplace",
    ),
    pytest.param(
        ctx("emotion_inference", use={"domain": "education"}),
        deny("warn", "1.1"),
        1,
        id="emotion_inference-education",
    ),
    pytest.param(
        ctx("emotion_inference", use={"domain": "workplace", "legally_permitted": True}),
        ALLOW,
        0,
        id="emotion_inference-workplace-permitted",
    ),
    pytest.param(
        ctx("emotion_inference", use={"domain": "education", "legally_permitted": True}),
        ALLOW,
        0,
        id="emotion_inference-education-permitted",
    ),
    pytest.param(ctx("emotion_inference"), ALLOW, 0, id="emotion_inference-general"),
    pytest.param(
        ctx("emotion_inference", use={"domain": "general"}),
        ALLOW,
        0,
        id="emotion_inference-general-explicit",
    ),
    # surveillance: deny unless legally permitted (high); permitted: review with human_review
    pytest.param(
        ctx("surveillance"), deny("warn", "1.1", "2.1"), 1, id="surveillance-not-permitted"
    ),
    pytest.param(
        ctx("surveillance", use={"legally_permitted": True}),
        review(("human_review",), "1.1", "2.1"),
        1,
        id="surveillance-permitted",
    ),
    # predictive_policing: deny unless legally permitted (high); permitted: review
    pytest.param(
        ctx("predictive_policing"), deny("warn", "2.1"), 1, id="predictive_policing-not-permitted"
    ),
    pytest.param(
        ctx("predictive_policing", use={"legally_permitted": True}),
        review(("human_review",), "2.1"),
        1,
        id="predictive_policing-permitted",
    ),
]

HIGH_RISK_ADVICE = [
    "medical_diagnosis",
    "treatment_recommendation",
    "patient_care",
    "legal_advice",
    "tax_advice",
    "financial_advice",
    "insurance_advice",
]

# High-risk advice (medium): deny without professional oversight, review with it.
CONDITIONAL_CASES += [
    pytest.param(ctx(category), deny("warn", "2.1", "2.2"), 1, id=f"{category}-no-oversight")
    for category in HIGH_RISK_ADVICE
] + [
    pytest.param(
        ctx(category, use={"professional_oversight": True}),
        review(("human_review",), "2.1", "2.2"),
        1,
        id=f"{category}-oversight",
    )
    for category in HIGH_RISK_ADVICE
]


@pytest.mark.parametrize(("context", "expected", "fired"), CONDITIONAL_CASES)
def test_conditional_category(
    policy: Any, context: dict[str, Any], expected: dict[str, Any], fired: int
) -> None:
    """A label whose effect depends on consent, domain, permission or oversight."""
    check(policy, context, expected, fired=fired)


# ---- CONTRACT §3: rules that are not categories ------------------------------------------------

HIGH_RISK_DOMAINS = ["healthcare", "legal", "financial", "tax", "insurance"]

RULE_CASES = [
    pytest.param({"user": {"age": 17}}, deny("none", "4"), 1, id="minor-without-consent"),
    pytest.param(
        {"user": {"age": 17, "parental_consent": True}}, ALLOW, 0, id="minor-with-consent"
    ),
    pytest.param({}, review(("verify_age",), "4"), 1, id="age-unknown"),
    pytest.param(ctx(user={"restricted": True}), deny("none", "5"), 1, id="restricted"),
    pytest.param(
        ctx(use={"domain": "law_enforcement"}),
        deny("none", "2.1"),
        1,
        id="law_enforcement-not-permitted",
    ),
    pytest.param(
        ctx(use={"domain": "law_enforcement", "legally_permitted": True}),
        review(("human_review",), "2.2"),
        1,
        id="law_enforcement-permitted",
    ),
    pytest.param(
        ctx(use={"domain": "law_enforcement", "professional_oversight": True}),
        deny("none", "2.1"),
        1,
        id="law_enforcement-oversight-is-not-permission",
    ),
    pytest.param(
        ctx(use={"domain": "critical_infrastructure"}),
        review(("human_review",), "2.2"),
        1,
        id="critical_infrastructure",
    ),
    pytest.param(
        ctx(
            use={
                "domain": "critical_infrastructure",
                "legally_permitted": True,
                "professional_oversight": True,
            }
        ),
        review(("human_review",), "2.2"),
        1,
        id="critical_infrastructure-always-review",
    ),
    pytest.param(ctx(use={"domain": "workplace"}), ALLOW, 0, id="workplace-domain-alone"),
    pytest.param(ctx(use={"domain": "education"}), ALLOW, 0, id="education-domain-alone"),
]
RULE_CASES += (
    [
        pytest.param(
            ctx(use={"domain": domain}), deny("none", "2.1"), 1, id=f"{domain}-no-oversight"
        )
        for domain in HIGH_RISK_DOMAINS
    ]
    + [
        pytest.param(
            ctx(use={"domain": domain, "professional_oversight": True}),
            review(("human_review",), "2.2"),
            1,
            id=f"{domain}-oversight",
        )
        for domain in HIGH_RISK_DOMAINS
    ]
    + [
        pytest.param(
            ctx(use={"domain": domain, "legally_permitted": True}),
            deny("none", "2.1"),
            1,
            id=f"{domain}-permission-is-not-oversight",
        )
        for domain in HIGH_RISK_DOMAINS
    ]
)


@pytest.mark.parametrize(("context", "expected", "fired"), RULE_CASES)
def test_rule_that_is_not_a_category(
    policy: Any, context: dict[str, Any], expected: dict[str, Any], fired: int
) -> None:
    """Age, account restriction and domain of use decide without any label."""
    check(policy, context, expected, fired=fired)


# ---- CONTRACT §4: combining ---------------------------------------------------------------------

COMBINATION_CASES = [
    pytest.param(
        ctx("spam", "fraud", "disinformation"),
        deny("warn", "1.1", "3.2", "3.3"),
        3,
        id="several-categories-citations-merged",
    ),
    pytest.param(
        ctx("csam", "minor_sexualization", "minor_grooming"),
        deny("suspend_and_report", "1.1", "3.1", "4"),
        3,
        id="overlapping-clauses-unique",
    ),
    pytest.param(
        ctx("weapons", "terrorism", user={"prior_violations": 1}),
        deny("suspend_and_report", "1.1", "3.1"),
        2,
        id="critical-beats-high",
    ),
    pytest.param(
        ctx("spam", "weapons", user={"prior_violations": 1}),
        deny("restrict_account", "3.1", "3.3"),
        2,
        id="high-beats-low",
    ),
    pytest.param(
        ctx("surveillance", "weapons", use={"legally_permitted": True}),
        deny("warn", "1.1", "2.1", "3.1"),
        2,
        id="deny-beats-review-drops-obligations",
    ),
    pytest.param(
        ctx("medical_diagnosis", use={"professional_oversight": True}),
        review(("human_review",), "2.1", "2.2"),
        1,
        id="review-alone",
    ),
    pytest.param(
        ctx(
            "medical_diagnosis",
            "legal_advice",
            use={"domain": "healthcare", "professional_oversight": True},
        ),
        review(("human_review",), "2.1", "2.2"),
        3,
        id="review-obligations-unique",
    ),
    pytest.param(
        ctx("medical_diagnosis", use={"domain": "healthcare"}),
        deny("warn", "2.1", "2.2"),
        2,
        id="advice-and-domain-without-oversight",
    ),
    pytest.param(
        {"use": {"domain": "critical_infrastructure"}},
        review(("human_review", "verify_age"), "2.2", "4"),
        2,
        id="two-reviews-obligations-merged",
    ),
    pytest.param(
        {"content": {"categories": ["spam"]}},
        deny("warn", "3.3", "4"),
        2,
        id="unknown-age-under-deny-drops-verify_age",
    ),
    pytest.param(
        {"user": {"restricted": True}}, deny("none", "4", "5"), 2, id="restricted-unknown-age"
    ),
    pytest.param(
        ctx("spam", user={"restricted": True, "prior_violations": 1}),
        deny("remove_content", "3.3", "5"),
        2,
        id="severity-free-deny-plus-low",
    ),
    pytest.param(
        ctx(
            "emotion_inference",
            "biometric_identification",
            use={"domain": "workplace"},
            content={"subject_consent": True},
        ),
        deny("warn", "1.1"),
        1,
        id="one-of-two-conditionals-fires",
    ),
    pytest.param(
        ctx(
            "predictive_policing",
            "surveillance",
            use={"domain": "law_enforcement", "legally_permitted": True},
        ),
        review(("human_review",), "1.1", "2.1", "2.2"),
        3,
        id="permitted-law-enforcement-all-review",
    ),
]


@pytest.mark.parametrize(("context", "expected", "fired"), COMBINATION_CASES)
def test_combination(
    policy: Any, context: dict[str, Any], expected: dict[str, Any], fired: int
) -> None:
    """Strongest effect wins; citations from every fired rule; obligations of the winner only."""
    check(policy, context, expected, fired=fired)


def test_benign_request(policy: Any) -> None:
    """An adult's unlabelled request: nothing fires, and every list is empty."""
    assert policy.decide({"user": {"age": 30}}).to_dict() == {
        "decision": "allow",
        "enforcement": "none",
        "obligations": [],
        "citations": [],
        "rules": [],
        "reasons": [],
    }


def test_decide_leaves_context_untouched(policy: Any) -> None:
    """Defaults are applied on the engine's side, never written into the caller's mapping."""
    context = {"user": {"age": 17, "parental_consent": None}, "content": {"categories": ["spam"]}}
    before = copy.deepcopy(context)
    policy.decide(context)
    assert context == before


def test_compile_once_decide_many(policy: Any) -> None:
    """A compiled policy is reusable: one decision does not leak into the next."""
    check(policy, ctx("csam"), deny("suspend_and_report", "1.1", "3.1", "4"))
    check(policy, ctx(), ALLOW)
    check(policy, ctx("spam", user={"prior_violations": 3}), deny("restrict_account", "3.3"))
    check(policy, ctx(), ALLOW)


# ---- CONTRACT §3 / policy §4: age boundaries ----------------------------------------------------

AGE_CASES = [
    pytest.param({"user": {"age": 17}}, deny("none", "4"), id="17-no-consent"),
    pytest.param(
        {"user": {"age": 17, "parental_consent": False}}, deny("none", "4"), id="17-consent-false"
    ),
    pytest.param({"user": {"age": 17, "parental_consent": True}}, ALLOW, id="17-consent"),
    pytest.param({"user": {"age": 18}}, ALLOW, id="18-no-consent"),
    pytest.param({"user": {"age": 18, "parental_consent": True}}, ALLOW, id="18-consent"),
    pytest.param({"user": {"age": 0}}, deny("none", "4"), id="0-no-consent"),
    pytest.param({"user": {"age": 120}}, ALLOW, id="120"),
    pytest.param(
        {"user": {"age": 17}, "content": {"categories": ["spam"]}},
        deny("warn", "3.3", "4"),
        id="17-no-consent-with-spam",
    ),
    pytest.param(
        {"user": {"age": 17, "prior_violations": 3}},
        deny("none", "4"),
        id="17-no-consent-prior-violations",
    ),
    pytest.param(
        {
            "user": {"age": 17, "parental_consent": True},
            "content": {"categories": ["minor_targeting"]},
        },
        deny("warn", "4"),
        id="17-consent-still-protected",
    ),
    pytest.param({}, review(("verify_age",), "4"), id="unknown-no-user"),
    pytest.param({"user": {}}, review(("verify_age",), "4"), id="unknown-empty-user"),
    pytest.param({"user": {"age": None}}, review(("verify_age",), "4"), id="unknown-null-age"),
    pytest.param({"user": None}, review(("verify_age",), "4"), id="unknown-null-user"),
    pytest.param(
        {"user": {"parental_consent": True}},
        review(("verify_age",), "4"),
        id="unknown-with-consent",
    ),
    pytest.param(
        {"user": {"id": "u-1"}, "use": {"domain": "healthcare", "professional_oversight": True}},
        review(("human_review", "verify_age"), "2.2", "4"),
        id="unknown-plus-review",
    ),
]


@pytest.mark.parametrize(("context", "expected"), AGE_CASES)
def test_age(policy: Any, context: dict[str, Any], expected: dict[str, Any]) -> None:
    """18+ or parental consent; an unknown age is reviewed, never guessed."""
    check(policy, context, expected)


# ---- CONTRACT §1: absent, null and duplicate attributes ----------------------------------

LENIENT_CASES = [
    pytest.param({"user": {"age": 30}, "use": None, "content": None}, ALLOW, id="null-sections"),
    pytest.param({"user": {"age": 30}, "use": {}, "content": {}}, ALLOW, id="empty-sections"),
    pytest.param(
        {"user": {"age": 30, "id": None, "prior_violations": None, "restricted": None}},
        ALLOW,
        id="null-user-fields",
    ),
    pytest.param({"user": {"age": 30, "id": "acct-42"}}, ALLOW, id="user-id-is-for-logs"),
    pytest.param({"user": {"age": 30}, "use": {"domain": None}}, ALLOW, id="null-domain-general"),
    pytest.param(
        {"user": {"age": 30}, "use": {"domain": "healthcare", "professional_oversight": None}},
        deny("none", "2.1"),
        id="null-oversight-false",
    ),
    pytest.param(
        {
            "user": {"age": 30},
            "use": {"legally_permitted": None},
            "content": {"categories": ["surveillance"]},
        },
        deny("warn", "1.1", "2.1"),
        id="null-permission-false",
    ),
    pytest.param(
        {"user": {"age": 17, "parental_consent": None}},
        deny("none", "4"),
        id="null-parental-consent-false",
    ),
    pytest.param(
        {"user": {"age": 30}, "content": {"categories": None}}, ALLOW, id="null-categories-empty"
    ),
    pytest.param(
        {"user": {"age": 30}, "content": {"categories": []}}, ALLOW, id="empty-categories"
    ),
    pytest.param(
        {
            "user": {"age": 30},
            "content": {"categories": ["biometric_identification"], "subject_consent": None},
        },
        deny("warn", "1.1"),
        id="null-subject-consent-false",
    ),
    pytest.param(
        {"user": {"age": 30, "prior_violations": None}, "content": {"categories": ["weapons"]}},
        deny("warn", "3.1"),
        id="null-prior-violations-zero",
    ),
    pytest.param(ctx("spam", "spam", "spam"), deny("warn", "3.3"), id="duplicate-categories"),
    pytest.param(
        ctx("csam", "spam", "csam"),
        deny("suspend_and_report", "1.1", "3.1", "3.3", "4"),
        id="duplicates-among-others",
    ),
]


@pytest.mark.parametrize(("context", "expected"), LENIENT_CASES)
def test_absent_null_duplicate_extra(
    policy: Any, context: dict[str, Any], expected: dict[str, Any]
) -> None:
    """`null` is absent, absent takes the default, duplicates collapse."""
    check(policy, context, expected)


def test_duplicates_fire_one_rule(policy: Any) -> None:
    """A label given twice is one label: one rule, one reason."""
    once = decide(policy, ctx("spam"))
    twice = decide(policy, ctx("spam", "spam"))
    assert twice == once
    assert len(twice["rules"]) == 1


# ---- CONTRACT §4: enforcement ladder ------------------------------------------------------------

# Representative rows: one label per severity.
SEVERITY_LABEL = {"critical": "terrorism", "high": "weapons", "medium": "jailbreak", "low": "spam"}
SEVERITY_CLAUSE = {"critical": "1.1", "high": "3.1", "medium": "3.3", "low": "3.3"}

ENFORCEMENT_CASES = [
    pytest.param("critical", 0, "suspend_and_report", id="critical-0"),
    pytest.param("critical", 1, "suspend_and_report", id="critical-1"),
    pytest.param("critical", 3, "suspend_and_report", id="critical-3"),
    pytest.param("high", 0, "warn", id="high-0"),
    pytest.param("high", 1, "restrict_account", id="high-1"),
    pytest.param("high", 3, "restrict_account", id="high-3"),
    pytest.param("medium", 0, "warn", id="medium-0"),
    pytest.param("medium", 1, "remove_content", id="medium-1"),
    pytest.param("medium", 2, "remove_content", id="medium-2"),
    pytest.param("medium", 3, "restrict_account", id="medium-3"),
    pytest.param("low", 0, "warn", id="low-0"),
    pytest.param("low", 1, "remove_content", id="low-1"),
    pytest.param("low", 2, "remove_content", id="low-2"),
    pytest.param("low", 3, "restrict_account", id="low-3"),
    pytest.param("low", 50, "restrict_account", id="low-50"),
]


@pytest.mark.parametrize(("severity", "prior", "enforcement"), ENFORCEMENT_CASES)
def test_enforcement_ladder(policy: Any, severity: str, prior: int, enforcement: str) -> None:
    """Critical always suspends; high restricts a repeat offender; 3+ restricts; 1+ removes."""
    context = ctx(SEVERITY_LABEL[severity], user={"prior_violations": prior})
    check(policy, context, deny(enforcement, SEVERITY_CLAUSE[severity]), fired=1)


SEVERITY_FREE_CASES = [
    pytest.param({"user": {"age": 30, "restricted": True}}, "5", id="restricted"),
    pytest.param({"user": {"age": 17}}, "4", id="minor-without-consent"),
    *(
        pytest.param(
            {"user": {"age": 30}, "use": {"domain": domain}}, "2.1", id=f"{domain}-no-oversight"
        )
        for domain in HIGH_RISK_DOMAINS
    ),
    pytest.param(
        {"user": {"age": 30}, "use": {"domain": "law_enforcement"}},
        "2.1",
        id="law_enforcement-not-permitted",
    ),
]


@pytest.mark.parametrize("prior", [0, 1, 3])
@pytest.mark.parametrize(("context", "clause"), SEVERITY_FREE_CASES)
def test_deny_without_severity_has_no_enforcement(
    policy: Any, context: dict[str, Any], clause: str, prior: int
) -> None:
    """A deny with no severity-carrying rule is not a content violation: enforcement `none`."""
    context = copy.deepcopy(context)
    context["user"]["prior_violations"] = prior
    check(policy, context, deny("none", clause), fired=1)


DOMAIN_DENY_WITH_CONTENT_CASES = [
    # The domain deny adds its clause but no severity: the content rule alone sets the rung.
    pytest.param(ctx("spam", use={"domain": "healthcare"}), deny("warn", "2.1", "3.3"), id="low-0"),
    pytest.param(
        ctx("spam", use={"domain": "legal"}, user={"prior_violations": 1}),
        deny("remove_content", "2.1", "3.3"),
        id="low-1",
    ),
    pytest.param(
        ctx("weapons", use={"domain": "law_enforcement"}, user={"prior_violations": 1}),
        deny("restrict_account", "2.1", "3.1"),
        id="high-1",
    ),
    pytest.param(
        ctx("terrorism", use={"domain": "tax"}),
        deny("suspend_and_report", "1.1", "2.1"),
        id="critical-0",
    ),
    pytest.param(
        ctx("jailbreak", use={"domain": "financial"}, user={"prior_violations": 3}),
        deny("restrict_account", "2.1", "3.3"),
        id="medium-3",
    ),
]


@pytest.mark.parametrize(("context", "expected"), DOMAIN_DENY_WITH_CONTENT_CASES)
def test_domain_deny_beside_a_severity_carrying_rule(
    policy: Any, context: dict[str, Any], expected: dict[str, Any]
) -> None:
    """A severity-free domain deny never lowers or raises the rung the content rule gives."""
    check(policy, context, expected, fired=2)


@pytest.mark.parametrize("prior", [0, 1, 3])
def test_review_and_allow_have_no_enforcement(policy: Any, prior: int) -> None:
    """Enforcement follows a deny only, whatever the account's history."""
    check(policy, ctx(user={"prior_violations": prior}), ALLOW)
    check(
        policy,
        ctx(use={"domain": "critical_infrastructure"}, user={"prior_violations": prior}),
        review(("human_review",), "2.2"),
    )
    check(
        policy,
        ctx("surveillance", use={"legally_permitted": True}, user={"prior_violations": prior}),
        review(("human_review",), "1.1", "2.1"),
    )


# ---- CONTRACT §1: invalid contexts --------------------------------------------------------------

INVALID_CASES = [
    pytest.param(
        {"user": {"age": 30}, "content": {"categories": ["spam", "not_a_category"]}},
        "content.categories",
        id="unknown-category",
    ),
    pytest.param(
        {"user": {"age": 30}, "use": {"domain": "space"}}, "use.domain", id="unknown-domain"
    ),
    pytest.param({"user": {"age": "17"}}, "user.age", id="age-string"),
    pytest.param({"user": {"age": -1}}, "user.age", id="age-negative"),
    pytest.param({"user": {"age": 17.5}}, "user.age", id="age-float"),
    pytest.param({"user": {"age": 17.0}}, "user.age", id="age-integral-float"),
    pytest.param({"user": {"age": True}}, "user.age", id="age-bool"),
    pytest.param(
        {"user": {"age": 30}, "content": {"categories": "spam"}},
        "content.categories",
        id="categories-string",
    ),
    pytest.param(
        {"user": {"age": 30}, "content": {"categories": [1]}},
        "content.categories",
        id="categories-int-element",
    ),
    pytest.param({"user": "bob"}, "user", id="user-string"),
    pytest.param(
        {"user": {"age": 17, "parental_consent": "yes"}},
        "user.parental_consent",
        id="parental-consent-string",
    ),
    pytest.param(
        {"user": {"age": 30, "prior_violations": -2}},
        "user.prior_violations",
        id="prior-violations-negative",
    ),
    pytest.param({"user": {"age": 30, "restricted": 1}}, "user.restricted", id="restricted-int"),
    pytest.param({"user": {"age": 30, "id": 42}}, "user.id", id="user-id-int"),
    pytest.param(
        {"user": {"age": 30}, "use": {"professional_oversight": "true"}},
        "use.professional_oversight",
        id="oversight-string",
    ),
    pytest.param({"user": {"age": 30}, "content": ["spam"]}, "content", id="content-list"),
]

# CONTRACT v2: records are closed. (attribute at fault, the declared name the hint suggests)
UNDECLARED_CASES = [
    pytest.param(
        {"user": {"age": 30}, "content": {"categoris": ["spam"]}},
        "content.categoris",
        "content.categories",
        id="nested-misspelt",
    ),
    pytest.param({"user": {"age": 30}, "contnet": {}}, "contnet", "content", id="top-misspelt"),
    pytest.param({"usr": {"age": 30}}, "usr", "user", id="top-misspelt-only-key"),
    pytest.param(
        {"user": {"age": 30, "prior_violation": 2}},
        "user.prior_violation",
        "user.prior_violations",
        id="beside-declared",
    ),
    pytest.param(
        {"user": {"age": 30, "nickname": None}}, "user.nickname", None, id="undeclared-null"
    ),
    pytest.param(
        {"user": {"age": 30}, "use": None, "request_id": "r-1"}, "request_id", None, id="extra"
    ),
    pytest.param(
        {"user": {"age": 30, "id": None, "restricted": None, "age_verified": True}},
        "user.age_verified",
        None,
        id="beside-declared-nulls",
    ),
]


@pytest.mark.parametrize(("context", "attribute", "hint"), UNDECLARED_CASES)
def test_undeclared_attribute_is_refused(
    policy: Any, context: dict[str, Any], attribute: str, hint: str | None
) -> None:
    """A misspelt key can never drop a category: it is an error naming it, with the closest
    declared attribute as a hint."""
    with pytest.raises(policydsl.ContextError) as excinfo:
        policy.decide(context)
    assert excinfo.value.attribute == attribute
    if hint is not None:
        assert str(excinfo.value).endswith(f"did you mean `{hint}`?")


def test_undeclared_attribute_fails_closed() -> None:
    """`{"content": {"categoris": ["spam"]}}` was an allow, even fail-closed: now it is a deny."""
    for backend in policydsl.BACKENDS:
        policy = policydsl.load_stdlib(backend=backend, fail_closed=True)
        decision = policy.decide({"user": {"age": 30}, "content": {"categoris": ["spam"]}})
        assert decision.decision == "deny"
        assert decision.error is not None and "content.categoris" in decision.error


@pytest.mark.parametrize(
    "context",
    [
        pytest.param({1: {}}, id="top"),
        pytest.param({"user": {"age": 30, ("a", 1): True}}, id="nested-tuple"),
        pytest.param({"user": {"age": 30, None: 1}}, id="nested-none"),
    ],
)
def test_non_string_key_is_a_context_error(policy: Any, context: dict[Any, Any]) -> None:
    """A mapping from Python may hold any hashable key: one that is not a string is refused."""
    with pytest.raises(policydsl.ContextError) as excinfo:
        policy.decide(context)
    assert "not a string" in str(excinfo.value)


@pytest.mark.parametrize(("context", "attribute"), INVALID_CASES)
def test_invalid_context(policy: Any, context: dict[str, Any], attribute: str) -> None:
    """A context that breaks the schema is never silently decided: the error names the path."""
    with pytest.raises(policydsl.ContextError) as excinfo:
        policy.decide(context)
    assert excinfo.value.attribute == attribute
    assert attribute in str(excinfo.value)


@pytest.mark.parametrize(
    "context",
    [
        pytest.param(["user"], id="list"),
        pytest.param("user", id="string"),
        pytest.param(42, id="number"),
    ],
)
def test_non_object_context(policy: Any, context: Any) -> None:
    """The context itself must be an object; the root has no dotted path to name."""
    with pytest.raises(policydsl.ContextError) as excinfo:
        policy.decide(context)
    assert not excinfo.value.attribute
    assert str(excinfo.value)
