"""Cedar (through `cedarpy`) as an oracle: which of a list of conditions hold, per request.

Each condition becomes one policy `permit(principal, action, resource) when { <condition> };`,
and every context is asked in one `is_authorized_batch` call, so a few thousand comparisons
cost one round trip. Cedar names the policies `policy0`, `policy1`, ... in order; a permit
policy that holds is among the diagnostics' reasons, one whose evaluation fails among its
errors.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

_POLICY = re.compile(r"policy `?policy(\d+)`?")


@attrs.frozen
class Answer:
    """What Cedar says of one request: the conditions that hold, and those that failed."""

    holds: frozenset[int]
    failed: frozenset[int]


def ask(conditions: Sequence[str], contexts: Sequence[Mapping[str, Any]]) -> list[Answer]:
    """Cedar's answer for each context, in order (one batch)."""
    import cedarpy

    policies = "\n".join(
        f"permit(principal, action, resource) when {{ {condition} }};" for condition in conditions
    )
    requests = [
        {
            "principal": 'User::"p"',
            "action": 'Action::"a"',
            "resource": 'Resource::"r"',
            "context": dict(context),
        }
        for context in contexts
    ]
    answers = []
    for result in cedarpy.is_authorized_batch(requests, policies, []):
        holds = frozenset(int(r.removeprefix("policy")) for r in result.diagnostics.reasons)
        failed = frozenset(
            int(found.group(1))
            for error in result.diagnostics.errors
            if (found := _POLICY.search(error)) is not None
        )
        answers.append(Answer(holds, failed))
    return answers
