"""`policyc verify`: properties and built-in questions proved for every request, or a
counterexample the engine confirms; planted mistakes in the standard library are caught."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import policydsl
from policydsl import smt, verify
from policydsl.cli import cli

z3 = pytest.importorskip("z3")

ROOT = Path(__file__).resolve().parent.parent
STDLIB = ROOT / "stdlib_rules"
SHARING = ROOT / "examples" / "doc_sharing"


def run(*args: str | Path) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args])


def planted(tmp_path: Path, file: str, old: str, new: str) -> Path:
    """A copy of the standard library with one mistake planted in `file`."""
    folder = tmp_path / "stdlib"
    shutil.copytree(STDLIB, folder)
    path = folder / file
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


DELETED_ROW = ("03_prohibited.policy", '  spam,                   low,      ["3.3"]\n', "")
SWAPPED_EFFECT = (
    "01_universal.policy",
    "rule surveillance_not_permitted: deny",
    "rule surveillance_not_permitted: review",
)
OFF_BY_ONE_AGE = ("04_minors.policy", "def adult_age = 18", "def adult_age = 17")
LIGHTER_ENFORCEMENT = (
    "05_enforcement.policy",
    "when habitual_offender => restrict_account",
    "when habitual_offender => warn",
)


# ---- the standard library -------------------------------------------------------------------


def test_the_stdlib_properties_are_all_proved_quickly() -> None:
    started = time.perf_counter()
    result = run("verify")
    elapsed = time.perf_counter() - started
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1].startswith("ok: 19 proved")
    assert elapsed < 10


def test_the_stdlib_properties_cover_the_issue() -> None:
    names = {p.name for p in policydsl.load_stdlib().checked.properties}
    assert {
        "denied_labels_are_denied",
        "known_minor_without_consent_is_denied",
        "high_risk_domains_are_reviewed_by_a_human",
        "enforcement_never_lighter_with_more_violations",
        "critical_severity_suspends_and_reports",
    } <= names


@pytest.mark.parametrize(
    ("mistake", "broken", "example"),
    [
        pytest.param(
            DELETED_ROW,
            "denied_labels_are_denied",
            {"content": {"categories": ["spam"]}},
            id="deleted-row",
        ),
        pytest.param(
            SWAPPED_EFFECT,
            "surveillance_and_policing_need_the_law",
            {"content": {"categories": ["surveillance"]}},
            id="swapped-effect",
        ),
        pytest.param(
            OFF_BY_ONE_AGE,
            "known_minor_without_consent_is_denied",
            {"user": {"age": 17}},
            id="off-by-one-age",
        ),
    ],
)
def test_planted_mistakes_are_caught(
    tmp_path: Path, mistake: tuple[str, str, str], broken: str, example: dict[str, object]
) -> None:
    folder = planted(tmp_path, *mistake)
    result = run("verify", folder, "--format", "json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert not report["ok"]
    found = {r["name"]: r for r in report["results"]}
    assert found[broken]["status"] == "counterexample"
    assert found[broken]["requests"] == [example]
    # the example is real: the engine decides it as shown
    policy = policydsl.load(folder)
    assert policy.decide(example).to_dict() == found[broken]["decisions"][0]
    assert all(r["status"] in ("proved", "counterexample") for r in report["results"])


def test_a_lighter_enforcement_for_more_violations_breaks_monotonicity(tmp_path: Path) -> None:
    policy = policydsl.load(planted(tmp_path, *LIGHTER_ENFORCEMENT))
    prop = next(
        p
        for p in policy.checked.properties
        if p.name == "enforcement_never_lighter_with_more_violations"
    )
    result = verify.prove(policy, prop)
    assert result.status == "counterexample"
    low, high = result.requests
    assert low["user"]["prior_violations"] < high["user"]["prior_violations"]
    order = ["none", "warn", "remove_content", "restrict_account", "suspend_and_report"]
    before, after = (policy.decide(r).output("enforcement") for r in result.requests)
    assert order.index(before) > order.index(after)


# ---- the built-in questions -----------------------------------------------------------------


def test_questions_on_the_stdlib() -> None:
    policy = policydsl.load_stdlib()
    assert verify.disjoint(
        policy, "surveillance_permitted", "surveillance_not_permitted"
    ).status == ("proved")
    fires = verify.never_fires(policy, "prohibited[spam]")
    assert fires.status == "counterexample"
    assert "prohibited[spam]" in policy.decide(fires.requests[0]).rules
    assert verify.always_fires(policy, "age_unknown").status == "counterexample"
    implied = verify.implies(
        policy, "advice_with_oversight[tax_advice]", "advice_with_oversight[tax_advice]"
    )
    assert implied.status == "proved"
    assert verify.always_decides(policy, "deny").status == "counterexample"
    assert verify.always_decides(policy, "allow", never=True).status == "counterexample"


def test_questions_through_the_cli() -> None:
    result = run(
        "verify",
        "--disjoint",
        "surveillance_permitted",
        "surveillance_not_permitted",
        "--implies",
        "restricted_account",
        "restricted_account",
    )
    assert result.exit_code == 0, result.output
    result = run("verify", "--never-fires", "restricted_account")
    assert result.exit_code == 1
    assert 'request   {"user": {"restricted": true}}' in result.output
    result = run("verify", "--never-fires", "no_such_rule")
    assert result.exit_code == 2 and "no rule or effect `no_such_rule`" in result.output


def test_equivalent_versions(tmp_path: Path) -> None:
    assert run("verify", "--equivalent", STDLIB).exit_code == 0
    result = run("verify", "--equivalent", planted(tmp_path, *DELETED_ROW), "--format", "json")
    assert result.exit_code == 1
    last = json.loads(result.output)["results"][-1]
    assert last["name"] == "equivalent" and last["status"] == "counterexample"


# ---- a custom policy ------------------------------------------------------------------------

SHARING_PROPERTIES = """
property secret_never_leaves {
  when document.level == secret
  ensure decision == forbid
}

property external_shares_expire {
  when share.audience == external and not has share.expires_days
  ensure decision == forbid and audit != quiet
}

property outsiders_are_alerts {
  when share.audience == team and (some r in share.recipients: r ends_with "@evil.test")
  ensure audit == alert
}

property confidential_is_watermarked {
  when document.level == confidential
  ensure decision != allow or obligated contains watermark
}

property owners_may_share_internally {
  when document.owner_id == actor.id and document.level != secret and share.audience == team
       and size(share.recipients) == 0
  ensure decision == allow
}

property nobody_shares_public_documents_externally {
  when document.level == public and share.audience == external
  ensure decision == forbid
}
"""


def sharing_with(tmp_path: Path, text: str) -> Path:
    folder = tmp_path / "sharing"
    shutil.copytree(SHARING, folder)
    (folder / "properties.policy").write_text(text, encoding="utf-8")
    return folder


def test_a_custom_policy_with_strings_lists_and_quantifiers(tmp_path: Path) -> None:
    policy = policydsl.load(sharing_with(tmp_path, SHARING_PROPERTIES))
    results = {r.name: r for r in verify.prove_all(policy)}
    assert {n: r.status for n, r in results.items()} == {
        "secret_never_leaves": "proved",
        "external_shares_expire": "proved",
        "outsiders_are_alerts": "proved",
        "confidential_is_watermarked": "proved",
        "owners_may_share_internally": "proved",
        "nobody_shares_public_documents_externally": "counterexample",
    }
    example = results["nobody_shares_public_documents_externally"].requests[0]
    assert policy.decide(example).decision == "allow"


def test_a_vacuous_premise_is_reported(tmp_path: Path) -> None:
    folder = sharing_with(
        tmp_path,
        "property impossible { when has share.expires_days and share.expires_days < 1 "
        "ensure decision == allow }",
    )
    result = run("verify", folder)
    assert result.exit_code == 1
    assert result.output.startswith("vacuous  impossible")


def test_what_the_encoding_does_not_cover_is_not_decided(tmp_path: Path) -> None:
    """`like` with a pattern read from the request is not encoded: `unknown`, never `proved`."""
    folder = sharing_with(
        tmp_path,
        "rule mirror: forbid { when actor.id like document.owner_id }\n"
        "property p { when actor.role == viewer ensure decision == forbid }",
    )
    result = run("verify", folder)
    assert result.exit_code == 1
    assert result.output.startswith("unknown  p")
    assert "not decided: the encoding does not cover `like` with a pattern" in result.output


def test_an_unconfirmed_counterexample_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """A solver's example the engine does not confirm is an internal error, not an alarm."""
    policy = policydsl.load_stdlib()
    prop = policy.checked.properties[0]
    monkeypatch.setattr(smt.Encoder, "holds", lambda self, e, outcome: z3.BoolVal(False))
    result = verify.prove(policy, prop)
    assert result.status == "unknown" and "internal error" in result.detail
    assert result.requests == ()


def test_without_z3_verify_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    def missing() -> None:
        raise ImportError("policyc verify needs z3: pip install 'policydsl[verify]'")

    monkeypatch.setattr(smt, "load_z3", missing)
    result = run("verify")
    assert result.exit_code == 2
    assert "pip install 'policydsl[verify]'" in result.output
    assert len(result.output.strip().splitlines()) == 1


STRINGS = r"""
context { name: string[..8] }
effects deny > allow default allow
rule escaped: deny { when name == "\\u{41}" }
rule control: deny { when name starts_with "\u{1b}[" and name ends_with "é" }
property backslash_text_is_not_a { when name == "A" ensure decision == allow }
property control_needs_two { when name starts_with "\u{1b}[" ensure decision == allow }
"""


def test_strings_are_encoded_exactly(tmp_path: Path) -> None:
    """`"\\u{41}"` in a policy is six characters, not `A`; a counterexample's characters are the
    ones the engine is given (an escape character, a non-ASCII letter)."""
    policy = policydsl.loads(STRINGS)
    results = {r.name: r for r in verify.prove_all(policy)}
    assert results["backslash_text_is_not_a"].status == "proved"
    broken = results["control_needs_two"]
    assert broken.status == "counterexample"
    (request,) = broken.requests
    assert request["name"].startswith("\x1b[") and request["name"].endswith("é")
    assert verify.never_fires(policy, "escaped").requests == ({"name": "\\u{41}"},)


def test_a_character_past_the_solver_alphabet_is_not_decided() -> None:
    text = STRINGS + 'property far { when name == "\\u{e0100}" ensure decision == allow }'
    results = {r.name: r for r in verify.prove_all(policydsl.loads(text))}
    assert results["far"].status == "unknown"
    assert "U+2FFFF" in results["far"].detail


COLLECTIONS = """
context { labels: set<string[..4]>[..3] = []  path: list<int[0..9]>[..4] = [] }
effects deny > allow default allow
rule many: deny { when size(labels) >= 3 }
rule exact: deny { when path == [1, 2] }
rule same: deny { when labels == ["a", "b"] }
property many_tags_denied { when size(labels) > 2 ensure decision == deny }
property two_tags_allowed {
  when size(labels) == 2 and not (labels contains "a")
  ensure not (some r in fired: r.id == "same")
}
property short_paths { when size(path) < 2 ensure not (some r in fired: r.id == "exact") }
property a_and_b {
  when labels contains_all ["a", "b"] and size(labels) == 2
  ensure decision == deny
}
property three_is_enough { when size(labels) == 3 ensure decision == allow }
"""


def test_sizes_and_equality_of_string_and_int_collections() -> None:
    policy = policydsl.loads(COLLECTIONS)
    results = {r.name: r for r in verify.prove_all(policy)}
    assert {n: r.status for n, r in results.items()} == {
        "many_tags_denied": "proved",
        "two_tags_allowed": "proved",
        "short_paths": "proved",
        "a_and_b": "proved",
        "three_is_enough": "counterexample",
    }
    (request,) = results["three_is_enough"].requests
    assert len(set(request["labels"])) == 3
    assert verify.never_fires(policy, "exact").requests[0]["path"] == [1, 2]


def test_remainders_and_escaped_like_patterns() -> None:
    text = r"""
context { n: int[0..100]  name: string[..6] }
effects deny > allow default allow
rule odd: deny { when n % 2 == 1 }
rule starred: deny { when name like "a\\*?" }
property even_allowed { when n % 2 == 0 and not (name starts_with "a*") ensure decision == allow }
property star_is_literal { when name == "ab" ensure not (some r in fired: r.id == "starred") }
property starred_needs_star { when n % 2 == 0 and name like "a*" ensure decision == allow }
"""
    policy = policydsl.loads(text)
    results = {r.name: r for r in verify.prove_all(policy)}
    assert results["even_allowed"].status == "proved"
    assert results["star_is_literal"].status == "proved"
    broken = results["starred_needs_star"]
    assert broken.status == "counterexample"
    (request,) = broken.requests
    assert request["name"].startswith("a*") and len(request["name"]) == 3


PODS = """
enum Verdict { clean, malware }
context {
  content: {
    attachments: list<{
      name: string[..16]
      bytes: int[0..]
      ports: list<int[0..65535]>[..3] = []
      scan: { verdict: Verdict? }
    }>[..4] = []
  }
}
effects deny > allow default allow
rule big: deny { when some a in content.attachments: a.bytes > 1000 }
rule bad: deny {
  when some a in content.attachments: has a.scan.verdict and a.scan.verdict == malware
}
rule ssh: deny { when some a in content.attachments: 22 in a.ports }
rule twins: deny {
  when some a in content.attachments: some b in content.attachments: a.name == b.name and a != b
}
property clean_small_allowed {
  when size(content.attachments) <= 1
       and (all a in content.attachments: a.bytes <= 1000 and not (22 in a.ports)
            and (not has a.scan.verdict or a.scan.verdict == clean))
  ensure decision == allow
}
property distinct_names_allowed {
  when all a in content.attachments: a.bytes <= 1000 and size(a.ports) == 0
       and not has a.scan.verdict
  ensure decision == allow
}
"""


def test_lists_of_records() -> None:
    policy = policydsl.loads(PODS)
    results = {r.name: r for r in verify.prove_all(policy)}
    assert results["clean_small_allowed"].status == "proved"
    broken = results["distinct_names_allowed"]
    assert broken.status == "counterexample"
    (request,) = broken.requests
    names = [a["name"] for a in request["content"]["attachments"]]
    assert len(names) == 2 and names[0] == names[1]
    assert policy.decide(request).rules == ("twins",)


def test_shrinking_past_its_time_keeps_the_solver_s_example() -> None:
    """With no time to shrink, the example is the solver's first model: longer, still valid."""
    request = smt.Request(policydsl.load_stdlib().checked.schema, "t:")
    solver = z3.Solver()
    solver.add(*request.constraints)
    assert solver.check() == z3.sat
    first = request.example(solver.model())
    assert request.example(smt.shrink(solver, request.preferences(), seconds=0)) == first
    solver.pop()
    assert solver.check() == z3.sat
    assert request.example(smt.shrink(solver, request.preferences())) == {}
