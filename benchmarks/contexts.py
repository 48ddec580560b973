"""Seeded request contexts for benchmarks and agreement tests.

A fixed mix of valid contexts that exercises every rule of the contract, plus invalid ones paired
with the attribute they break. Everything comes from one `random.Random(seed)`: same seed, same
contexts, and each context is a fresh object that callers may mutate.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Iterator
from typing import Any

Context = dict[str, Any]

# CONTRACT.md §2 order, written out again here (not imported from the baseline) so a test can
# cross-check the two transcriptions.
CATEGORIES: tuple[str, ...] = (
    "csam",
    "minor_sexualization",
    "minor_grooming",
    "minor_exploitation",
    "minor_targeting",
    "terrorism",
    "human_trafficking",
    "critical_infrastructure_interference",
    "violence_promotion",
    "hate",
    "self_harm_promotion",
    "fraud",
    "labor_exploitation",
    "unauthorized_data_collection",
    "physical_harm",
    "weapons",
    "illegal_drugs",
    "harmful_materials",
    "non_consensual_nudity",
    "multi_account_evasion",
    "coordinated_abuse",
    "graphic_violence",
    "impersonation",
    "disinformation",
    "ip_infringement",
    "property_destruction",
    "discrimination",
    "sexual_explicit",
    "extreme_gore",
    "animal_cruelty",
    "real_violence",
    "manipulation",
    "data_fabrication",
    "jailbreak",
    "prompt_injection",
    "model_scraping",
    "reverse_engineering",
    "conspiracy_theory",
    "plagiarism",
    "ghostwriting",
    "exam_cheating",
    "spam",
    "biometric_identification",
    "minor_personal_data",
    "emotion_inference",
    "surveillance",
    "predictive_policing",
    "medical_diagnosis",
    "treatment_recommendation",
    "patient_care",
    "legal_advice",
    "tax_advice",
    "financial_advice",
    "insurance_advice",
)
DOMAINS: tuple[str, ...] = (
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
)

PRIOR_VIOLATIONS: tuple[int, ...] = (0, 1, 3, 7)
AGE_BOUNDARIES: tuple[int | None, ...] = (None, 0, 17, 18, 99)

# The flag that changes each conditional category's effect (CONTRACT.md §2).
_CATEGORY_CONDITIONS: dict[str, tuple[str, str]] = {
    "biometric_identification": ("content", "subject_consent"),
    "minor_personal_data": ("content", "guardian_consent"),
    "emotion_inference": ("use", "legally_permitted"),
    "surveillance": ("use", "legally_permitted"),
    "predictive_policing": ("use", "legally_permitted"),
    # the seven high-risk advice categories close the §2 table
    **{label: ("use", "professional_oversight") for label in CATEGORIES[-7:]},
}
_HIGH_RISK_DOMAINS = ("healthcare", "legal", "financial", "tax", "insurance")


def _adult_user(rng: random.Random) -> Context:
    """The common case: a known adult, usually with a clean record."""
    return {
        "id": f"u{rng.randrange(10**6):06d}",
        "age": rng.randint(18, 80),
        "prior_violations": rng.choice((0, 0, 0, 1, 3, 7)),
    }


def _benign(rng: random.Random, i: int) -> Context:
    """No categories, cycling through the domains and their oversight/permission flags."""
    return {
        "user": _adult_user(rng),
        "use": {
            "domain": DOMAINS[i % len(DOMAINS)],
            "professional_oversight": rng.random() < 0.5,
            "legally_permitted": rng.random() < 0.5,
        },
        "content": {"categories": []},
    }


def _single_category(rng: random.Random, i: int) -> Context:
    """One label, cycling through the categories; each lap flips the conditions that matter."""
    label = CATEGORIES[i % len(CATEGORIES)]
    lap = i // len(CATEGORIES)
    context: Context = {
        "user": _adult_user(rng),
        "use": {"domain": "general"},
        "content": {"categories": [label]},
    }
    condition = _CATEGORY_CONDITIONS.get(label)
    if condition is not None:
        section, flag = condition
        context[section][flag] = lap % 2 == 1
        if label == "emotion_inference":
            context["use"]["domain"] = ("workplace", "education", "general")[lap % 3]
        elif flag == "legally_permitted" and lap % 4 >= 2:
            context["use"]["domain"] = "law_enforcement"
        elif flag == "professional_oversight" and lap % 4 >= 2:
            context["use"]["domain"] = rng.choice(_HIGH_RISK_DOMAINS)
    return context


def _age_boundary(rng: random.Random, i: int) -> Context:
    """Ages absent, 0, 17, 18 and 99, with and without parental consent."""
    age = AGE_BOUNDARIES[i % len(AGE_BOUNDARIES)]
    user: Context = {"parental_consent": (i // len(AGE_BOUNDARIES)) % 2 == 1}
    if age is not None:
        user["age"] = age
    context: Context = {"user": user, "use": {"domain": "general"}}
    if rng.random() < 0.3:
        context["content"] = {"categories": [rng.choice(CATEGORIES)]}
    return context


def _multi_category(rng: random.Random, i: int) -> Context:
    """Two to five labels, sometimes repeated, with random flags and domain."""
    labels = rng.sample(CATEGORIES, rng.randint(2, 5))
    if i % 3 == 0:
        labels.append(rng.choice(labels))  # a duplicate label
        rng.shuffle(labels)
    return {
        "user": _adult_user(rng),
        "use": {
            "domain": rng.choice(DOMAINS),
            "professional_oversight": rng.random() < 0.5,
            "legally_permitted": rng.random() < 0.5,
        },
        "content": {
            "categories": labels,
            "subject_consent": rng.random() < 0.5,
            "guardian_consent": rng.random() < 0.5,
        },
    }


def _prior_violations(rng: random.Random, i: int) -> Context:
    """Each prior-violation count against a label of each severity."""
    label = rng.choice(("terrorism", "weapons", "jailbreak", "spam", "hate", "plagiarism"))
    user = _adult_user(rng)
    user["prior_violations"] = PRIOR_VIOLATIONS[i % len(PRIOR_VIOLATIONS)]
    return {"user": user, "content": {"categories": [label]}}


def _restricted(rng: random.Random, i: int) -> Context:
    """A restricted account, alone or with a label."""
    user = _adult_user(rng)
    user["restricted"] = True
    categories = [] if i % 2 == 0 else [rng.choice(CATEGORIES)]
    return {"user": user, "content": {"categories": categories}}


def _sparse(rng: random.Random, i: int) -> Context:
    """Absent sections and explicit nulls, which read as the defaults."""
    shapes: tuple[Callable[[], Context], ...] = (
        lambda: {},
        lambda: {"user": None, "use": None, "content": None},
        lambda: {"user": {"age": rng.randint(18, 80)}},
        lambda: {
            "user": {
                "id": None,
                "age": rng.randint(18, 80),
                "parental_consent": None,
                "prior_violations": None,
                "restricted": None,
            },
            "use": {"domain": None, "professional_oversight": None, "legally_permitted": None},
            "content": {"categories": None, "subject_consent": None, "guardian_consent": None},
        },
        lambda: {"user": {"age": None}, "content": {"categories": [rng.choice(CATEGORIES)]}},
        lambda: {"use": {"domain": rng.choice(DOMAINS)}},
    )
    return shapes[i % len(shapes)]()


def _every_attribute(rng: random.Random, i: int) -> Context:
    """Every declared attribute given, some as `null` (records are closed: no others)."""
    context = _multi_category(rng, i) if i % 2 else _benign(rng, i)
    context["user"].update(id=f"u{i}", parental_consent=None, restricted=False)
    context["user"].setdefault("prior_violations", None)
    context.setdefault("use", {}).update(professional_oversight=None, legally_permitted=False)
    context["use"].setdefault("domain", None)
    context.setdefault("content", {}).update(subject_consent=None, guardian_consent=False)
    return context


# The fixed mix, repeated in this order: 20 slots per round.
_MIX: tuple[Callable[[random.Random, int], Context], ...] = (
    (_benign,) * 3
    + (_single_category,) * 6
    + (_age_boundary,) * 2
    + (_multi_category,) * 4
    + (_prior_violations,) * 1
    + (_restricted,) * 1
    + (_sparse,) * 2
    + (_every_attribute,) * 1
)


def make_contexts(n: int = 2000, seed: int = 20261124) -> list[Context]:
    """`n` valid contexts in the fixed mix; every category appears alone once n >= 180."""
    rng = random.Random(seed)
    counters: dict[Callable[[random.Random, int], Context], int] = {}
    contexts: list[Context] = []
    for slot in range(n):
        kind = _MIX[slot % len(_MIX)]
        i = counters.get(kind, 0)
        counters[kind] = i + 1
        contexts.append(kind(rng, i))
    return contexts


# Each invalid value, with the section and key it is placed at.
_INVALID: tuple[tuple[str, str | None, object], ...] = (
    ("user", None, "u1"),
    ("user", None, ["age", 30]),
    ("use", None, 3),
    ("use", None, True),
    ("content", None, "spam"),
    ("content", None, ["spam"]),
    ("user", "id", 123),
    ("user", "age", "17"),
    ("user", "age", 17.0),
    ("user", "age", 17.5),
    ("user", "age", True),
    ("user", "age", False),
    ("user", "age", -1),
    ("user", "age", [17]),
    ("user", "age", {"years": 17}),
    ("user", "parental_consent", "true"),
    ("user", "parental_consent", 1),
    ("user", "parental_consent", 0),
    ("user", "prior_violations", -1),
    ("user", "prior_violations", 1.0),
    ("user", "prior_violations", "3"),
    ("user", "prior_violations", True),
    ("user", "restricted", "false"),
    ("user", "restricted", 1),
    ("use", "domain", "medical"),
    ("use", "domain", "General"),
    ("use", "domain", ""),
    ("use", "domain", 3),
    ("use", "domain", ["general"]),
    ("use", "professional_oversight", "yes"),
    ("use", "professional_oversight", 1),
    ("use", "legally_permitted", 1),
    ("use", "legally_permitted", "false"),
    ("content", "categories", "spam"),
    ("content", "categories", {"spam": True}),
    ("content", "categories", 7),
    ("content", "categories", ["spam", "not_a_category"]),
    ("content", "categories", ["Spam"]),
    ("content", "categories", ["spam", None]),
    ("content", "categories", [1]),
    ("content", "categories", [["spam"]]),
    ("content", "subject_consent", "yes"),
    ("content", "guardian_consent", 1),
    ("content", "categoris", ["spam"]),  # records are closed: a misspelt key is invalid
    ("user", "nickname", None),
)


def make_invalid_contexts(seed: int = 20261124) -> list[tuple[Context, str]]:
    """Contexts that break exactly one attribute of the schema, paired with its dotted name."""
    rng = random.Random(seed)
    cases: list[tuple[Context, str]] = []
    for section, key, value in _INVALID:
        context = _multi_category(rng, 1) if rng.random() < 0.5 else _benign(rng, 0)
        bad = copy.deepcopy(value)  # the table's lists must not leak into callers' contexts
        if key is None:
            context[section] = bad
            cases.append((context, section))
        else:
            context[section][key] = bad
            cases.append((context, f"{section}.{key}"))
    return cases


def varied_contexts(n: int, seed: int = 20261202) -> list[Context]:
    """`n` valid contexts drawn independently: real traffic's variety, not a repeating mix.

    Each draws zero to four labels from all 54 categories, any domain, every flag and age, so
    the sets of fired rules vary the way they do in production (200,000 of them give tens of
    thousands of distinct sets) and a per-rule-set cache cannot hold them all. Same seed, same
    list; `make_contexts` stays the fixed 2,000-request mix.
    """
    rng = random.Random(seed)
    return [_varied(rng) for _ in range(n)]


def iter_varied_contexts(n: int, seed: int = 20261202) -> Iterator[Context]:
    """The same contexts as `varied_contexts(n, seed)`, one at a time (for a million of them)."""
    rng = random.Random(seed)
    for _ in range(n):
        yield _varied(rng)


def _varied(rng: random.Random) -> Context:
    roll = rng.random()
    labels = rng.sample(CATEGORIES, rng.choice((0, 0, 1, 1, 1, 2, 2, 3, 4)))
    if roll < 0.05 and labels:
        labels.append(labels[0])  # a duplicate label
    user: Context = {"id": f"u{rng.randrange(10**6):06d}"}
    if roll >= 0.03:  # age unknown now and then
        user["age"] = rng.randint(13, 90) if rng.random() < 0.9 else rng.choice((0, 17, 18))
    user["prior_violations"] = rng.choice((0, 0, 0, 0, 1, 2, 3, 5, 9))
    if rng.random() < 0.1:
        user["parental_consent"] = rng.random() < 0.5
    if rng.random() < 0.04:
        user["restricted"] = True
    use: Context = {"domain": rng.choice(DOMAINS)}
    if rng.random() < 0.5:
        use["professional_oversight"] = rng.random() < 0.5
    if rng.random() < 0.5:
        use["legally_permitted"] = rng.random() < 0.5
    content: Context = {"categories": labels}
    if rng.random() < 0.3:
        content["subject_consent"] = rng.random() < 0.5
    if rng.random() < 0.3:
        content["guardian_consent"] = rng.random() < 0.5
    return {"user": user, "use": use, "content": content}
