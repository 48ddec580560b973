"""The content-scores example (examples/content_scores): a trust-and-safety policy on classifier
confidence scores with per-category decimal thresholds. Its cases pass, it checks without
warnings, and its example requests decide as their names say on every backend."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import policydsl

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "content_scores"
REQUESTS = {
    "hate_removed.json": ("remove", ["label_over[hate]", "remove_over[hate]", "review_over[hate]"]),
    "just_under.json": ("allow", []),
    "kids_borderline.json": ("review", ["kids_strict"]),
}


def test_the_cases_pass() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "policydsl", "test", str(EXAMPLE / "scores.cases.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "11 passed, 0 failed" in done.stdout


def test_it_checks_without_warnings() -> None:
    policy = policydsl.load(EXAMPLE)
    assert policy.warnings == []


@pytest.mark.parametrize("backend", policydsl.BACKENDS)
@pytest.mark.parametrize("name", sorted(REQUESTS))
def test_each_example_request_decides_as_named(backend: str, name: str) -> None:
    policy = policydsl.load(EXAMPLE, backend=backend)
    request = json.loads((EXAMPLE / "requests" / name).read_text(), parse_float=str)
    decision = policy.decide(request)
    assert (decision.decision, list(decision.rules)) == REQUESTS[name]


def test_the_command_line_reads_a_request_exactly() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "policydsl",
            "eval",
            "-p",
            str(EXAMPLE),
            str(EXAMPLE / "requests" / "just_under.json"),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(done.stdout)["decision"] == "allow"  # 0.5999 is under the 0.6 label line
