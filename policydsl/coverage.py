"""Coverage of a policy by its test cases (`policyc test --coverage`): which rules fired, and for
each test of each rule (its `and`-ed parts, as `explain` shows them) whether it was seen true and
seen false. The tests are traced by the reference interpreter, whatever backend decided.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import attrs

from policydsl import interp, nodes
from policydsl.context import ContextError, validate
from policydsl.entities import EntityStore
from policydsl.model import CheckedPolicy, Rule
from policydsl.render import expr_text
from policydsl.terminal import shown


@attrs.define
class TestSeen:
    text: str
    true: bool = False
    false: bool = False


@attrs.define
class RuleSeen:
    id: str
    file: str | None
    line: int | None
    fired: int = 0
    tests: list[TestSeen] = attrs.Factory(list)


class Coverage:
    """What the cases decided so far showed of each policy they ran against."""

    def __init__(self) -> None:
        self.policies: dict[int, tuple[str, dict[str, RuleSeen]]] = {}

    def observe(
        self,
        name: str,
        policy: CheckedPolicy,
        context: Mapping[str, Any],
        entities: EntityStore | None = None,
    ) -> None:
        """Trace one case's request through every rule of `policy`, its entity ids resolved in
        `entities` (the store the case was decided with)."""
        key = id(policy)
        if key not in self.policies:
            self.policies[key] = (name, {r.id: _rule(policy, r) for r in policy.rules})
        rules = self.policies[key][1]
        try:
            normal = validate(policy.schema, context, entities)
        except ContextError:
            return  # a case that expects the request refused runs no rule
        for rule in policy.rules:
            seen = rules[rule.id]
            traced = interp.trace(policy, normal, rule)
            if all(value is True for _, value, _ in traced):
                seen.fired += 1
            for test, (_, value, _) in zip(seen.tests, traced, strict=True):
                test.true |= value is True
                test.false |= value is False

    def report(self) -> list[dict[str, Any]]:
        """Per policy: its rules, each fired or not, each test seen true and false, and totals."""
        found = []
        for name, rules in self.policies.values():
            fired = sum(r.fired > 0 for r in rules.values())
            tests = [t for r in rules.values() for t in r.tests]
            ways = sum(t.true for t in tests) + sum(t.false for t in tests)
            found.append(
                {
                    "policy": name,
                    "rules": [
                        {
                            "id": r.id,
                            "file": r.file,
                            "line": r.line,
                            "fired": r.fired,
                            "tests": [
                                {"test": t.text, "seen_true": t.true, "seen_false": t.false}
                                for t in r.tests
                            ],
                        }
                        for r in rules.values()
                    ],
                    "rule_coverage": _percent(fired, len(rules)),
                    "test_coverage": _percent(ways, 2 * len(tests)),
                }
            )
        return found


def _rule(policy: CheckedPolicy, rule: Rule) -> RuleSeen:
    """A rule's tests as `interp.trace` splits them: the parts of its top-level `and`."""
    condition = rule.condition
    parts = condition.operands if isinstance(condition, nodes.And) else (condition,)
    span = rule.span
    return RuleSeen(
        rule.id,
        span.file if span else None,
        span.line if span else None,
        tests=[TestSeen(expr_text(p)) for p in parts],
    )


def _near(path: str) -> str:
    """A file as short as it can be said from here."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive
        return path
    return path if relative.startswith("..") else relative


def _percent(part: int, whole: int) -> float:
    return 100.0 if whole == 0 else round(100.0 * part / whole, 1)


def lowest(report: list[dict[str, Any]]) -> float:
    """The lowest rule coverage of the policies tested: what `--threshold` is held to."""
    return min((p["rule_coverage"] for p in report), default=100.0)


def render(report: list[dict[str, Any]]) -> str:
    """For people: per policy, the rules that never fired and the tests not seen both ways."""
    lines = []
    for policy in report:
        lines.append(f"coverage of {policy['policy']}:")
        for rule in policy["rules"]:
            where = f"{_near(rule['file'])}:{rule['line']}" if rule["file"] else ""
            if not rule["fired"]:
                lines.append(f"  never fired   {rule['id']}  {where}")
            for test in rule["tests"]:
                missing = [w for w in ("true", "false") if not test[f"seen_{w}"]]
                if missing and rule["fired"]:
                    lines.append(f"  never {'/'.join(missing):<6} {rule['id']}: {test['test']}")
        fired = sum(r["fired"] > 0 for r in policy["rules"])
        lines.append(
            f"  rules: {fired}/{len(policy['rules'])} fired ({policy['rule_coverage']}%), "
            f"tests seen true and false: {policy['test_coverage']}%"
        )
    return shown("\n".join(lines), keep="\n")
