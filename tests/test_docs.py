"""The README's language tour is a policy that checks and decides as the README says."""

from __future__ import annotations

from pathlib import Path

import policydsl

README = Path(__file__).resolve().parent.parent / "README.md"


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
