"""The hand-written baseline against cases read directly off CONTRACT.md, and the context generator.

The expectations here are worked out by hand from the contract, not by running the baseline, so
the baseline earns its place as the reference for agreement tests with the engine.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

import pytest

from benchmarks import handwritten
from benchmarks.contexts import (
    AGE_BOUNDARIES,
    CATEGORIES,
    DOMAINS,
    PRIOR_VIOLATIONS,
    iter_varied_contexts,
    make_contexts,
    make_invalid_contexts,
    varied_contexts,
)
from benchmarks.handwritten import HandwrittenContextError, decide


def request(
    *categories: str,
    age: int | None = 30,
    prior: int = 0,
    domain: str | None = None,
    **flags: bool,
) -> dict[str, Any]:
    """An adult with a clean record unless told otherwise; each flag goes to its section."""
    user: dict[str, Any] = {"prior_violations": prior}
    if age is not None:
        user["age"] = age
    use: dict[str, Any] = {}
    if domain is not None:
        use["domain"] = domain
    content: dict[str, Any] = {"categories": list(categories)}
    for flag, value in flags.items():
        if flag in ("parental_consent", "restricted"):
            user[flag] = value
        elif flag in ("professional_oversight", "legally_permitted"):
            use[flag] = value
        else:
            content[flag] = value
    return {"user": user, "use": use, "content": content}


class Case(NamedTuple):
    name: str
    context: Mapping[str, Any]
    decision: str
    enforcement: str
    obligations: list[str]
    citations: list[str]


def deny(name: str, context: Mapping[str, Any], enforcement: str, *citations: str) -> Case:
    return Case(name, context, "deny", enforcement, [], sorted(citations))


def review(name: str, context: Mapping[str, Any], obligations: list[str], *citations: str) -> Case:
    return Case(name, context, "review", "none", obligations, sorted(citations))


def allow(name: str, context: Mapping[str, Any]) -> Case:
    return Case(name, context, "allow", "none", [], [])


HR, VA = "human_review", "verify_age"

CASES = [
    # §4 enforcement: each severity level x prior violations 0/1/3.
    deny("critical-0", request("terrorism"), "suspend_and_report", "1.1"),
    deny("critical-1", request("csam", prior=1), "suspend_and_report", "1.1", "3.1", "4"),
    deny("critical-3", request("minor_grooming", prior=3), "suspend_and_report", "4"),
    deny("high-0", request("weapons"), "warn", "3.1"),
    deny("high-1", request("weapons", prior=1), "restrict_account", "3.1"),
    deny("high-3", request("hate", prior=3), "restrict_account", "1.1"),
    deny("medium-0", request("jailbreak"), "warn", "3.3"),
    deny("medium-1", request("jailbreak", prior=1), "remove_content", "3.3"),
    deny("medium-3", request("disinformation", prior=3), "restrict_account", "1.1", "3.2"),
    deny("low-0", request("spam"), "warn", "3.3"),
    deny("low-1", request("spam", prior=1), "remove_content", "3.3"),
    deny("low-2", request("exam_cheating", prior=2), "remove_content", "3.2"),
    deny("low-3", request("plagiarism", prior=3), "restrict_account", "3.2"),
    deny("low-7", request("plagiarism", prior=7), "restrict_account", "3.2"),
    # Conditional categories, each variant.
    deny("biometric", request("biometric_identification"), "warn", "1.1"),
    deny("biometric-1", request("biometric_identification", prior=1), "restrict_account", "1.1"),
    allow("biometric-consent", request("biometric_identification", subject_consent=True)),
    deny("minor-data-1", request("minor_personal_data", prior=1), "restrict_account", "1.1"),
    allow("minor-data-consent", request("minor_personal_data", guardian_consent=True)),
    deny("emotion-workplace", request("emotion_inference", domain="workplace"), "warn", "1.1"),
    deny(
        "emotion-education-1",
        request("emotion_inference", domain="education", prior=1),
        "remove_content",
        "1.1",
    ),
    allow(
        "emotion-workplace-permitted",
        request("emotion_inference", domain="workplace", legally_permitted=True),
    ),
    allow("emotion-general", request("emotion_inference")),
    review(
        "emotion-healthcare-supervised",
        request("emotion_inference", domain="healthcare", professional_oversight=True),
        [HR],
        "2.2",
    ),
    deny("surveillance", request("surveillance"), "warn", "1.1", "2.1"),
    deny("surveillance-1", request("surveillance", prior=1), "restrict_account", "1.1", "2.1"),
    review(
        "surveillance-permitted",
        request("surveillance", legally_permitted=True),
        [HR],
        "1.1",
        "2.1",
    ),
    deny("policing", request("predictive_policing"), "warn", "2.1"),
    review(
        "policing-permitted-law-enforcement",
        request("predictive_policing", domain="law_enforcement", legally_permitted=True),
        [HR],
        "2.1",
        "2.2",
    ),
    deny("diagnosis", request("medical_diagnosis"), "warn", "2.1", "2.2"),
    deny("legal-advice-1", request("legal_advice", prior=1), "remove_content", "2.1", "2.2"),
    review(
        "diagnosis-supervised",
        request("medical_diagnosis", professional_oversight=True),
        [HR],
        "2.1",
        "2.2",
    ),
    deny(
        "diagnosis-healthcare",
        request("medical_diagnosis", domain="healthcare"),
        "warn",
        "2.1",
        "2.2",
    ),
    review(
        "tax-advice-tax-supervised",
        request("tax_advice", domain="tax", professional_oversight=True),
        [HR],
        "2.1",
        "2.2",
    ),
    # §3 rules.
    review("age-unknown", request(age=None), [VA], "4"),
    deny("age-0", request(age=0), "none", "4"),
    deny("age-17", request(age=17, prior=3), "none", "4"),
    allow("age-17-consent", request(age=17, parental_consent=True)),
    allow("age-18", request(age=18)),
    allow("age-99", request(age=99)),
    deny("age-unknown-and-weapons", request("weapons", age=None), "warn", "3.1", "4"),
    deny("restricted", request(restricted=True, prior=7), "none", "5"),
    deny("restricted-minor", request(age=15, restricted=True), "none", "4", "5"),
    deny("restricted-spam", request("spam", restricted=True), "warn", "3.3", "5"),
    deny("healthcare", request(domain="healthcare"), "none", "2.1"),
    deny("insurance-1", request(domain="insurance", prior=1), "none", "2.1"),
    deny(
        "insurance-1-and-spam",
        request("spam", domain="insurance", prior=1),
        "remove_content",
        "2.1",
        "3.3",
    ),
    review(
        "financial-supervised",
        request(domain="financial", professional_oversight=True),
        [HR],
        "2.2",
    ),
    deny("law-enforcement-3", request(domain="law_enforcement", prior=3), "none", "2.1"),
    deny(
        "law-enforcement-3-and-spam",
        request("spam", domain="law_enforcement", prior=3),
        "restrict_account",
        "2.1",
        "3.3",
    ),
    review(
        "law-enforcement-permitted",
        request(domain="law_enforcement", legally_permitted=True),
        [HR],
        "2.2",
    ),
    review("critical-infrastructure", request(domain="critical_infrastructure"), [HR], "2.2"),
    review(
        "critical-infrastructure-age-unknown",
        request(domain="critical_infrastructure", age=None),
        [HR, VA],
        "2.2",
        "4",
    ),
    # Multiple categories, duplicates, and rules combined.
    deny(
        "critical-beats-low",
        request("spam", "terrorism", prior=1),
        "suspend_and_report",
        "1.1",
        "3.3",
    ),
    deny("duplicates", request("spam", "jailbreak", "spam", prior=1), "remove_content", "3.3"),
    deny("two-high-1", request("weapons", "hate", prior=1), "restrict_account", "1.1", "3.1"),
    deny(
        "medium-low-3",
        request("graphic_violence", "plagiarism", prior=3),
        "restrict_account",
        "1.1",
        "3.2",
    ),
    deny(
        "review-loses-to-deny",
        request("surveillance", "spam", legally_permitted=True),
        "warn",
        "1.1",
        "2.1",
        "3.3",
    ),
    review(
        "reviews-merge",
        request(
            "surveillance",
            "medical_diagnosis",
            "medical_diagnosis",
            legally_permitted=True,
            professional_oversight=True,
        ),
        [HR],
        "1.1",
        "2.1",
        "2.2",
    ),
    deny("high-and-minor-1", request("fraud", age=16, prior=1), "restrict_account", "1.1", "4"),
    allow(
        "allowed-conditionals",
        request(
            "biometric_identification",
            "minor_personal_data",
            "emotion_inference",
            subject_consent=True,
            guardian_consent=True,
        ),
    ),
    # Absent, null and unknown attributes.
    review("empty", {}, [VA], "4"),
    review("null-sections", {"user": None, "use": None, "content": None}, [VA], "4"),
    allow(
        "null-values",
        {
            "user": {
                "id": None,
                "age": 40,
                "parental_consent": None,
                "prior_violations": None,
                "restricted": None,
            },
            "use": {"domain": None, "professional_oversight": None, "legally_permitted": None},
            "content": {"categories": None, "subject_consent": None, "guardian_consent": None},
        },
    ),
    review("null-age", {"user": {"age": None, "parental_consent": True}}, [VA], "4"),
    deny(
        "mapping-not-dict",
        MappingProxyType(
            {"user": MappingProxyType({"age": 30}), "content": {"categories": ("weapons",)}}
        ),
        "warn",
        "3.1",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_contract_case(case: Case) -> None:
    result = decide(case.context)
    assert {k: result[k] for k in ("decision", "enforcement", "obligations", "citations")} == {
        "decision": case.decision,
        "enforcement": case.enforcement,
        "obligations": case.obligations,
        "citations": case.citations,
    }


# CONTRACT.md §2 transcribed a second time, grouped: what each label alone does at prior
# violations 1 (critical: suspend, high: restrict, medium and low: remove), and its clauses.
ENFORCEMENT_AT_PRIOR_1 = {
    "suspend_and_report": """csam minor_sexualization minor_grooming minor_exploitation terrorism
        human_trafficking critical_infrastructure_interference""",
    "restrict_account": """minor_targeting violence_promotion hate self_harm_promotion fraud
        labor_exploitation unauthorized_data_collection physical_harm weapons illegal_drugs
        harmful_materials non_consensual_nudity multi_account_evasion coordinated_abuse
        biometric_identification minor_personal_data surveillance predictive_policing""",
    "remove_content": """graphic_violence impersonation disinformation ip_infringement
        property_destruction discrimination sexual_explicit extreme_gore animal_cruelty
        real_violence manipulation data_fabrication jailbreak prompt_injection model_scraping
        reverse_engineering conspiracy_theory plagiarism ghostwriting exam_cheating spam
        emotion_inference medical_diagnosis treatment_recommendation patient_care legal_advice
        tax_advice financial_advice insurance_advice""",
}
CLAUSES = {
    ("1.1",): """terrorism human_trafficking violence_promotion hate fraud labor_exploitation
        unauthorized_data_collection graphic_violence impersonation ip_infringement
        biometric_identification minor_personal_data emotion_inference""",
    ("1.1", "1.2"): "self_harm_promotion",
    ("1.1", "2.1"): "surveillance",
    ("1.1", "3.1", "4"): "csam",
    ("1.1", "3.2"): "disinformation",
    ("1.1", "4"): "minor_exploitation",
    ("1.2",): "physical_harm property_destruction discrimination",
    ("2.1",): "critical_infrastructure_interference predictive_policing",
    ("2.1", "2.2"): """medical_diagnosis treatment_recommendation patient_care legal_advice
        tax_advice financial_advice insurance_advice""",
    ("3.1",): """weapons illegal_drugs harmful_materials non_consensual_nudity sexual_explicit
        extreme_gore animal_cruelty real_violence""",
    ("3.1", "4"): "minor_sexualization",
    (
        "3.2",
    ): "manipulation data_fabrication conspiracy_theory plagiarism ghostwriting exam_cheating",
    ("3.3",): """multi_account_evasion coordinated_abuse jailbreak prompt_injection model_scraping
        reverse_engineering spam""",
    ("4",): "minor_grooming minor_targeting",
}
EVERY_CATEGORY = [
    (label, enforcement, list(clauses))
    for enforcement, labels in ENFORCEMENT_AT_PRIOR_1.items()
    for label in labels.split()
    for clauses, group in CLAUSES.items()
    if label in group.split()
]


def test_every_category_is_transcribed_once() -> None:
    assert sorted(label for label, _, _ in EVERY_CATEGORY) == sorted(CATEGORIES)


@pytest.mark.parametrize(("label", "enforcement", "clauses"), EVERY_CATEGORY)
def test_every_category_alone(label: str, enforcement: str, clauses: list[str]) -> None:
    # workplace: the only kind of domain where emotion_inference denies, and no §3 rule fires
    result = decide(request(label, prior=1, domain="workplace"))
    assert result["decision"] == "deny"
    assert result["enforcement"] == enforcement
    assert result["citations"] == clauses
    assert result["obligations"] == []


def test_case_names_are_unique() -> None:
    assert len({case.name for case in CASES}) == len(CASES)


def test_rules_and_reasons() -> None:
    result = decide(request("weapons", "spam", "weapons", age=None, domain="healthcare"))
    assert list(result) == [
        "decision",
        "enforcement",
        "obligations",
        "citations",
        "rules",
        "reasons",
    ]
    assert result["rules"] == [
        "age_unknown",
        "category[spam]",
        "category[weapons]",
        "high_risk_domain_unsupervised",
    ]
    reasons = result["reasons"]
    assert isinstance(reasons, list)
    assert len(reasons) == 4
    assert all(isinstance(reason, str) and reason for reason in reasons)
    assert "`spam`" in reasons[1]


def test_allow_has_no_rules() -> None:
    assert decide(request()) == {
        "decision": "allow",
        "enforcement": "none",
        "obligations": [],
        "citations": [],
        "rules": [],
        "reasons": [],
    }


def test_decide_does_not_mutate_the_context() -> None:
    context = request("spam", "weapons", "spam", age=None, domain="healthcare")
    before = copy.deepcopy(context)
    decide(context)
    decide(context)
    assert context == before


INVALID = [
    ({"user": {"age": "17"}}, "user.age"),
    ({"user": {"age": 17.0}}, "user.age"),
    ({"user": {"age": 17.5}}, "user.age"),
    ({"user": {"age": True}}, "user.age"),
    ({"user": {"age": -1}}, "user.age"),
    ({"user": {"age": 30, "prior_violations": -2}}, "user.prior_violations"),
    ({"user": {"age": 30, "prior_violations": False}}, "user.prior_violations"),
    ({"user": {"age": 30, "prior_violations": 3.0}}, "user.prior_violations"),
    ({"user": {"age": 16, "parental_consent": 1}}, "user.parental_consent"),
    ({"user": {"age": 30, "restricted": "no"}}, "user.restricted"),
    ({"user": {"id": 42, "age": 30}}, "user.id"),
    ({"user": "alice"}, "user"),
    ({"use": ["general"]}, "use"),
    ({"content": "spam"}, "content"),
    ({"use": {"domain": "medicine"}}, "use.domain"),
    ({"use": {"domain": 1}}, "use.domain"),
    ({"use": {"professional_oversight": "true"}}, "use.professional_oversight"),
    ({"use": {"legally_permitted": 0}}, "use.legally_permitted"),
    ({"content": {"categories": "spam"}}, "content.categories"),
    ({"content": {"categories": ["spam", "cooking"]}}, "content.categories"),
    ({"content": {"categories": [None]}}, "content.categories"),
    ({"content": {"categories": {"spam"}}}, "content.categories"),
    ({"content": {"subject_consent": "yes"}}, "content.subject_consent"),
    ({"content": {"guardian_consent": 1}}, "content.guardian_consent"),
    (["not", "an", "object"], ""),
    ({"user": {"age": 30, "nickname": 5}}, "user.nickname"),  # records are closed
    ({"session": [1, 2]}, "session"),
    ({"content": {"categoris": ["spam"]}}, "content.categoris"),
]


@pytest.mark.parametrize(("context", "attribute"), INVALID)
def test_invalid_context_names_the_attribute(context: Any, attribute: str) -> None:
    with pytest.raises(HandwrittenContextError) as info:
        decide(context)
    assert info.value.attribute == attribute
    assert str(info.value).startswith(f"{attribute}: " if attribute else "expected an object")


@pytest.mark.parametrize(("context", "attribute"), make_invalid_contexts(seed=7))
def test_generated_invalid_context(context: Mapping[str, Any], attribute: str) -> None:
    with pytest.raises(HandwrittenContextError) as info:
        decide(context)
    assert info.value.attribute == attribute


def test_invalid_error_is_a_value_error() -> None:
    assert issubclass(HandwrittenContextError, ValueError)


# The context generator.


def test_constants_match_the_baseline() -> None:
    assert len(CATEGORIES) == len(set(CATEGORIES)) == 54
    assert set(CATEGORIES) == handwritten.CATEGORIES
    assert len(DOMAINS) == 10
    assert set(DOMAINS) == handwritten.DOMAINS
    assert DOMAINS[0] == "general"
    assert CATEGORIES[0] == "csam"


def test_make_contexts_is_deterministic() -> None:
    assert make_contexts() == make_contexts()
    assert make_contexts(500, seed=3) == make_contexts(500, seed=3)
    assert make_contexts(500, seed=3) != make_contexts(500, seed=4)
    assert make_invalid_contexts(5) == make_invalid_contexts(5)
    assert make_contexts(300) == make_contexts(2000)[:300]


def test_make_contexts_returns_fresh_objects() -> None:
    first = make_contexts(200)
    for context in first:
        context.clear()
    assert make_contexts(200) == make_contexts(200)
    assert make_contexts(200) != first
    invalid = make_invalid_contexts()
    for context, _ in invalid:
        context.clear()
    assert all(context for context, _ in make_invalid_contexts())


def _categories(context: Mapping[str, Any]) -> list[str]:
    content = context.get("content") or {}
    return content.get("categories") or []


def test_make_contexts_covers_the_contract() -> None:
    contexts = make_contexts()
    assert len(contexts) == 2000
    alone = {labels[0] for labels in map(_categories, contexts) if len(labels) == 1}
    assert alone == set(CATEGORIES)
    assert {label for c in contexts for label in _categories(c)} == set(CATEGORIES)
    domains = {(c.get("use") or {}).get("domain") for c in contexts}
    assert set(DOMAINS) <= domains
    users = [c.get("user") or {} for c in contexts]
    ages = {u.get("age") for u in users}
    assert set(AGE_BOUNDARIES) <= ages
    assert set(PRIOR_VIOLATIONS) <= {u.get("prior_violations") for u in users}
    assert any(u.get("restricted") for u in users)
    assert any(u.get("age") == 17 and u.get("parental_consent") for u in users)
    assert any(u.get("age") == 17 and not u.get("parental_consent") for u in users)
    multi = [labels for labels in map(_categories, contexts) if len(labels) >= 2]
    assert {len(set(labels)) for labels in multi} == {2, 3, 4, 5}
    assert any(len(labels) != len(set(labels)) for labels in multi)
    assert {} in contexts
    assert {"user": None, "use": None, "content": None} in contexts
    assert any("id" in (c.get("user") or {}) and "restricted" in c["user"] for c in contexts)


def test_make_contexts_covers_each_conditional_variant() -> None:
    results = [(c, decide(c)) for c in make_contexts()]
    seen: dict[str, set[str]] = {}
    for context, result in results:
        labels = _categories(context)
        user = context.get("user") or {}
        if len(labels) == 1 and (user.get("age") or 0) >= 18 and not user.get("restricted"):
            seen.setdefault(labels[0], set()).add(str(result["decision"]))
    for label in ("biometric_identification", "minor_personal_data", "emotion_inference"):
        assert seen[label] == {"deny", "allow"}, label
    for label in CATEGORIES[-9:]:  # surveillance, predictive policing, high-risk advice
        assert seen[label] == {"deny", "review"}, label
    decisions = {str(result["decision"]) for _, result in results}
    enforcements = {str(result["enforcement"]) for _, result in results}
    assert decisions == {"allow", "review", "deny"}
    assert enforcements == {
        "none",
        "warn",
        "remove_content",
        "restrict_account",
        "suspend_and_report",
    }


def test_make_contexts_small_n() -> None:
    assert make_contexts(0) == []
    assert len(make_contexts(1)) == 1
    for context in make_contexts(180):
        decide(context)
    alone = {tuple(_categories(c)) for c in make_contexts(180)}
    assert {(label,) for label in CATEGORIES} <= alone


def test_varied_contexts_are_seeded_valid_and_varied() -> None:
    contexts = varied_contexts(3_000, seed=5)
    assert contexts == varied_contexts(3_000, seed=5)
    assert contexts != varied_contexts(3_000, seed=6)
    assert list(iter_varied_contexts(500, seed=5)) == contexts[:500]
    results = [decide(c) for c in contexts]  # every one valid: the baseline raises otherwise
    distinct = {tuple(r["rules"]) for r in results}
    assert len(distinct) > 1_000  # variety no fixed mix has: the point of the generator
    assert {str(r["decision"]) for r in results} == {"allow", "review", "deny"}
    assert {label for c in contexts for label in _categories(c)} == set(CATEGORIES)
