"""The usage-policy contract written by hand in plain Python.

It is the honest baseline the compiled policy engine is benchmarked against, and a second,
independent reading of `CONTRACT.md` for agreement tests. It validates the context fully (§1)
and returns the contract's decision dict (§5).
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import attrgetter
from types import MappingProxyType
from typing import NamedTuple

DENY, REVIEW, ALLOW = "deny", "review", "allow"
CRITICAL, HIGH, MEDIUM, LOW = "critical", "high", "medium", "low"
HUMAN_REVIEW, VERIFY_AGE = "human_review", "verify_age"

DOMAINS = frozenset(
    {
        "general",
        "healthcare",
        "legal",
        "financial",
        "tax",
        "insurance",
        "critical_infrastructure",
        "law_enforcement",
        "workplace",
        "education",
    }
)
HIGH_RISK_DOMAINS = frozenset({"healthcare", "legal", "financial", "tax", "insurance"})
EMOTION_INFERENCE_DOMAINS = frozenset({"workplace", "education"})

# §2, categories that deny unconditionally: label -> (severity, clauses).
UNCONDITIONAL_CATEGORIES: dict[str, tuple[str, tuple[str, ...]]] = {
    "csam": (CRITICAL, ("1.1", "3.1", "4")),
    "minor_sexualization": (CRITICAL, ("3.1", "4")),
    "minor_grooming": (CRITICAL, ("4",)),
    "minor_exploitation": (CRITICAL, ("1.1", "4")),
    "minor_targeting": (HIGH, ("4",)),
    "terrorism": (CRITICAL, ("1.1",)),
    "human_trafficking": (CRITICAL, ("1.1",)),
    "critical_infrastructure_interference": (CRITICAL, ("2.1",)),
    "violence_promotion": (HIGH, ("1.1",)),
    "hate": (HIGH, ("1.1",)),
    "self_harm_promotion": (HIGH, ("1.1", "1.2")),
    "fraud": (HIGH, ("1.1",)),
    "labor_exploitation": (HIGH, ("1.1",)),
    "unauthorized_data_collection": (HIGH, ("1.1",)),
    "physical_harm": (HIGH, ("1.2",)),
    "weapons": (HIGH, ("3.1",)),
    "illegal_drugs": (HIGH, ("3.1",)),
    "harmful_materials": (HIGH, ("3.1",)),
    "non_consensual_nudity": (HIGH, ("3.1",)),
    "multi_account_evasion": (HIGH, ("3.3",)),
    "coordinated_abuse": (HIGH, ("3.3",)),
    "graphic_violence": (MEDIUM, ("1.1",)),
    "impersonation": (MEDIUM, ("1.1",)),
    "disinformation": (MEDIUM, ("1.1", "3.2")),
    "ip_infringement": (MEDIUM, ("1.1",)),
    "property_destruction": (MEDIUM, ("1.2",)),
    "discrimination": (MEDIUM, ("1.2",)),
    "sexual_explicit": (MEDIUM, ("3.1",)),
    "extreme_gore": (MEDIUM, ("3.1",)),
    "animal_cruelty": (MEDIUM, ("3.1",)),
    "real_violence": (MEDIUM, ("3.1",)),
    "manipulation": (MEDIUM, ("3.2",)),
    "data_fabrication": (MEDIUM, ("3.2",)),
    "jailbreak": (MEDIUM, ("3.3",)),
    "prompt_injection": (MEDIUM, ("3.3",)),
    "model_scraping": (MEDIUM, ("3.3",)),
    "reverse_engineering": (MEDIUM, ("3.3",)),
    "conspiracy_theory": (LOW, ("3.2",)),
    "plagiarism": (LOW, ("3.2",)),
    "ghostwriting": (LOW, ("3.2",)),
    "exam_cheating": (LOW, ("3.2",)),
    "spam": (LOW, ("3.3",)),
}
# §2, categories whose effect depends on the context.
ADVICE_CATEGORIES = frozenset(
    {
        "medical_diagnosis",
        "treatment_recommendation",
        "patient_care",
        "legal_advice",
        "tax_advice",
        "financial_advice",
        "insurance_advice",
    }
)
LAW_ENFORCEMENT_CATEGORIES = frozenset({"surveillance", "predictive_policing"})
OTHER_CONDITIONAL_CATEGORIES = frozenset(
    {"biometric_identification", "minor_personal_data", "emotion_inference"}
)
CONDITIONAL_CATEGORIES = (
    ADVICE_CATEGORIES | LAW_ENFORCEMENT_CATEGORIES | OTHER_CONDITIONAL_CATEGORIES
)
CATEGORIES = frozenset(UNCONDITIONAL_CATEGORIES) | CONDITIONAL_CATEGORIES


class HandwrittenContextError(ValueError):
    """A request context that breaks the §1 schema; `attribute` is its dotted name."""

    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(f"{attribute}: {message}" if attribute else message)
        self.attribute = attribute
        self.message = message


class Rule(NamedTuple):
    """One fired rule, prebuilt at import so firing it is a list append."""

    id: str
    effect: str
    severity: str | None
    clauses: tuple[str, ...]
    obligation: str | None
    reason: str


def _category_rule(
    label: str,
    effect: str,
    severity: str | None,
    clauses: tuple[str, ...],
    why: str,
    obligation: str | None = None,
) -> Rule:
    reason = f"the request is labelled `{label}`{why} ({', '.join(clauses)})"
    return Rule(f"category[{label}]", effect, severity, clauses, obligation, reason)


_DENIED = ", which the usage policy prohibits"
UNCONDITIONAL_RULES: dict[str, Rule] = {
    label: _category_rule(label, DENY, severity, clauses, _DENIED)
    for label, (severity, clauses) in UNCONDITIONAL_CATEGORIES.items()
}
_ADVICE_CLAUSES = ("2.1", "2.2")
ADVICE_DENY = {
    label: _category_rule(
        label,
        DENY,
        MEDIUM,
        _ADVICE_CLAUSES,
        " (high-risk advice) without professional oversight",
    )
    for label in ADVICE_CATEGORIES
}
ADVICE_REVIEW = {
    label: _category_rule(
        label,
        REVIEW,
        MEDIUM,
        _ADVICE_CLAUSES,
        " (high-risk advice), so a professional must review the output",
        HUMAN_REVIEW,
    )
    for label in ADVICE_CATEGORIES
}
_LAW_ENFORCEMENT_CLAUSES = {"surveillance": ("1.1", "2.1"), "predictive_policing": ("2.1",)}
LAW_ENFORCEMENT_DENY = {
    label: _category_rule(label, DENY, HIGH, clauses, " and the use is not legally permitted")
    for label, clauses in _LAW_ENFORCEMENT_CLAUSES.items()
}
LAW_ENFORCEMENT_REVIEW = {
    label: _category_rule(
        label,
        REVIEW,
        HIGH,
        clauses,
        "; the use is legally permitted but needs human review",
        HUMAN_REVIEW,
    )
    for label, clauses in _LAW_ENFORCEMENT_CLAUSES.items()
}
BIOMETRIC_DENY = _category_rule(
    "biometric_identification", DENY, HIGH, ("1.1",), " without the subject's explicit consent"
)
MINOR_DATA_DENY = _category_rule(
    "minor_personal_data", DENY, HIGH, ("1.1",), " without a legal guardian's consent"
)
EMOTION_DENY = _category_rule(
    "emotion_inference",
    DENY,
    MEDIUM,
    ("1.1",),
    " in a workplace or education setting not permitted by law",
)

# §3, rules that are not categories.
MINOR_WITHOUT_CONSENT = Rule(
    id="minor_without_consent",
    effect=DENY,
    severity=None,
    clauses=("4",),
    obligation=None,
    reason="the user is under 18 without parental consent (4)",
)
AGE_UNKNOWN = Rule(
    id="age_unknown",
    effect=REVIEW,
    severity=None,
    clauses=("4",),
    obligation=VERIFY_AGE,
    reason="the user's age is unknown and must be verified (4)",
)
RESTRICTED_ACCOUNT = Rule(
    id="restricted_account",
    effect=DENY,
    severity=None,
    clauses=("5",),
    obligation=None,
    reason="the account is under an active restriction (5)",
)
HIGH_RISK_DOMAIN_UNSUPERVISED = Rule(
    id="high_risk_domain_unsupervised",
    effect=DENY,
    severity=None,  # a deployment setting, not content: no enforcement (CONTRACT §3)
    clauses=("2.1",),
    obligation=None,
    reason="the output is used in a high-risk domain without professional oversight (2.1)",
)
HIGH_RISK_DOMAIN_SUPERVISED = Rule(
    id="high_risk_domain_supervised",
    effect=REVIEW,
    severity=None,
    clauses=("2.2",),
    obligation=HUMAN_REVIEW,
    reason="the output is used in a high-risk domain, so a professional must review it (2.2)",
)
LAW_ENFORCEMENT_UNPERMITTED = Rule(
    id="law_enforcement_unpermitted",
    effect=DENY,
    severity=None,  # a deployment setting, not content: no enforcement (CONTRACT §3)
    clauses=("2.1",),
    obligation=None,
    reason="the output is used for law enforcement without explicit legal permission (2.1)",
)
LAW_ENFORCEMENT_PERMITTED = Rule(
    id="law_enforcement_permitted",
    effect=REVIEW,
    severity=None,
    clauses=("2.2",),
    obligation=HUMAN_REVIEW,
    reason="the output is used for permitted law enforcement and needs human review (2.2)",
)
CRITICAL_INFRASTRUCTURE_DOMAIN = Rule(
    id="critical_infrastructure_domain",
    effect=REVIEW,
    severity=None,
    clauses=("2.2",),
    obligation=HUMAN_REVIEW,
    reason="the output is used in critical infrastructure and needs human review (2.2)",
)

_EMPTY: Mapping[str, object] = MappingProxyType({})
_BY_ID = attrgetter("id")


def _describe(value: object) -> str:
    """Name a value's JSON type for an error message."""
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value!r}"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list | tuple):
        return "an array"
    return f"a {type(value).__name__}"


# The declared keys of each record: records are closed (CONTRACT v2).
_KEYS = {
    "": frozenset({"user", "use", "content"}),
    "user": frozenset({"id", "age", "parental_consent", "prior_violations", "restricted"}),
    "use": frozenset({"domain", "professional_oversight", "legally_permitted"}),
    "content": frozenset({"categories", "subject_consent", "guardian_consent"}),
}


def _closed(record: Mapping[object, object], name: str) -> None:
    """Refuse a key the record does not declare."""
    declared = _KEYS[name]
    if record.keys() <= declared:
        return
    for key in record:
        if key not in declared:
            path = f"{name}.{key}" if name else str(key)
            raise HandwrittenContextError(path, "is not a declared attribute")


def _section(context: Mapping[str, object], name: str) -> Mapping[str, object]:
    """A top-level object; absent or null reads as empty."""
    value = context.get(name)
    if value is None:
        return _EMPTY
    if type(value) is not dict and not isinstance(value, Mapping):  # dict: skip the ABC check
        raise HandwrittenContextError(name, f"expected an object, got {_describe(value)}")
    _closed(value, name)
    return value


def _flag(section: Mapping[str, object], attribute: str, key: str) -> bool:
    """A bool defaulting to false; 0/1 and strings are not bools."""
    value = section.get(key)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise HandwrittenContextError(attribute, f"expected a boolean, got {_describe(value)}")
    return value


def _count(section: Mapping[str, object], attribute: str, key: str) -> int | None:
    """A non-negative integer or None; bools, floats (even 17.0) and strings are refused."""
    value = section.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise HandwrittenContextError(attribute, f"expected an integer, got {_describe(value)}")
    if value < 0:
        raise HandwrittenContextError(attribute, f"must be 0 or more, got {value}")
    return value


def decide(context: Mapping[str, object]) -> dict[str, object]:
    """Decide one request context against the usage-policy contract."""
    if type(context) is not dict and not isinstance(context, Mapping):
        raise HandwrittenContextError("", f"expected an object, got {_describe(context)}")
    _closed(context, "")
    user = _section(context, "user")
    use = _section(context, "use")
    content = _section(context, "content")

    user_id = user.get("id")
    if user_id is not None and not isinstance(user_id, str):
        raise HandwrittenContextError("user.id", f"expected a string, got {_describe(user_id)}")
    age = _count(user, "user.age", "age")
    parental_consent = _flag(user, "user.parental_consent", "parental_consent")
    prior_violations = _count(user, "user.prior_violations", "prior_violations") or 0
    restricted = _flag(user, "user.restricted", "restricted")

    domain = use.get("domain")
    if domain is None:
        domain = "general"
    elif not isinstance(domain, str) or domain not in DOMAINS:
        raise HandwrittenContextError("use.domain", f"unknown domain {_describe(domain)}")
    oversight = _flag(use, "use.professional_oversight", "professional_oversight")
    permitted = _flag(use, "use.legally_permitted", "legally_permitted")

    categories = content.get("categories")
    if categories is None:
        categories = ()
    elif not isinstance(categories, list | tuple):
        raise HandwrittenContextError(
            "content.categories", f"expected an array of categories, got {_describe(categories)}"
        )
    subject_consent = _flag(content, "content.subject_consent", "subject_consent")
    guardian_consent = _flag(content, "content.guardian_consent", "guardian_consent")

    emotion_inference_denied = domain in EMOTION_INFERENCE_DOMAINS and not permitted
    fired: list[Rule] = []
    seen: set[str] = set()
    for label in categories:
        if not isinstance(label, str) or label not in CATEGORIES:
            raise HandwrittenContextError(
                "content.categories", f"unknown category {_describe(label)}"
            )
        if label in seen:
            continue
        seen.add(label)
        rule = UNCONDITIONAL_RULES.get(label)
        if rule is None:
            if label in ADVICE_CATEGORIES:
                rule = ADVICE_REVIEW[label] if oversight else ADVICE_DENY[label]
            elif label in LAW_ENFORCEMENT_CATEGORIES:
                rule = LAW_ENFORCEMENT_REVIEW[label] if permitted else LAW_ENFORCEMENT_DENY[label]
            elif label == "biometric_identification":
                rule = None if subject_consent else BIOMETRIC_DENY
            elif label == "minor_personal_data":
                rule = None if guardian_consent else MINOR_DATA_DENY
            elif label == "emotion_inference":
                rule = EMOTION_DENY if emotion_inference_denied else None
        if rule is not None:
            fired.append(rule)

    if age is None:
        fired.append(AGE_UNKNOWN)
    elif age < 18 and not parental_consent:
        fired.append(MINOR_WITHOUT_CONSENT)
    if restricted:
        fired.append(RESTRICTED_ACCOUNT)
    if domain in HIGH_RISK_DOMAINS:
        fired.append(HIGH_RISK_DOMAIN_SUPERVISED if oversight else HIGH_RISK_DOMAIN_UNSUPERVISED)
    elif domain == "law_enforcement":
        fired.append(LAW_ENFORCEMENT_PERMITTED if permitted else LAW_ENFORCEMENT_UNPERMITTED)
    elif domain == "critical_infrastructure":
        fired.append(CRITICAL_INFRASTRUCTURE_DOMAIN)

    return _combine(fired, prior_violations)


def _combine(fired: list[Rule], prior_violations: int) -> dict[str, object]:
    """§4: strongest effect, its obligations, every citation, and enforcement."""
    fired.sort(key=_BY_ID)
    severities = [rule.severity for rule in fired if rule.effect == DENY]
    if severities:
        decision = DENY
        enforcement = _enforcement(severities, prior_violations)
    else:
        decision = REVIEW if any(rule.effect == REVIEW for rule in fired) else ALLOW
        enforcement = "none"
    return {
        "decision": decision,
        "enforcement": enforcement,
        "obligations": sorted(
            {r.obligation for r in fired if r.effect == decision and r.obligation is not None}
        ),
        "citations": sorted({clause for rule in fired for clause in rule.clauses}),
        "rules": [rule.id for rule in fired],
        "reasons": [rule.reason for rule in fired],
    }


def _enforcement(severities: list[str | None], prior_violations: int) -> str:
    """§4 steps 1-5 over the severities of the fired deny rules (None: no severity)."""
    if all(severity is None for severity in severities):
        return "none"  # only severity-less denials fired (minor, restricted account)
    if CRITICAL in severities:
        return "suspend_and_report"
    if HIGH in severities and prior_violations >= 1:
        return "restrict_account"
    if prior_violations >= 3:
        return "restrict_account"
    if prior_violations >= 1:
        return "remove_content"
    return "warn"
