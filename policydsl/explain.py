"""Explanations: why a request was decided as it was, and why a named rule did not fire.

The structure is plain JSON data (for `policyc explain --format json`); the text form is for
people, and shows values in policy notation with every character a terminal would act on or hide
escaped (`"\\u{1b}[2J"`): a request or a table cell cannot write to the terminal through it.
Tests are traced by the reference interpreter, the semantic ground truth, whatever backend
decided.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from policydsl import decimals, interp
from policydsl.context import validate
from policydsl.decision import Decision, to_json
from policydsl.entities import Entity, EntityStore
from policydsl.model import CheckedPolicy
from policydsl.render import entity_text, expr_text, quote
from policydsl.terminal import shown


def explanation(
    policy: CheckedPolicy,
    decision: Decision,
    context: Mapping[str, Any],
    rules: Sequence[str],
    entities: EntityStore | None = None,
) -> dict[str, Any]:
    """The decision, then each fired rule and each rule named in `rules`, with its tests; the
    request's entity ids are resolved in `entities` (the store the decision read), and an
    entity read is shown as its uid."""
    by_id = {r.id: r for r in policy.rules}
    for name in rules:
        if name not in by_id:
            close = difflib.get_close_matches(name, list(by_id), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise ValueError(f"no rule `{shown(name)}` in this policy{shown(hint)}")
    normalised = validate(policy.schema, context, entities)
    asked = [*decision.rules, *(r for r in rules if r not in decision.rules)]
    given = {}  # each fired rule's reason as decided, values shown (a refusal has none)
    if len(decision.rules) == len(decision.reasons):
        given = dict(zip(decision.rules, decision.reasons, strict=True))
    explained = []
    for rule_id in asked:
        rule = by_id[rule_id]
        tests = []
        for part, value, reads in interp.trace(policy, normalised, rule):
            text = expr_text(part)
            tests.append(
                {
                    "test": text,
                    "value": value,
                    "reads": {n: _json_value(v) for n, v in reads if n != text},
                }
            )
        explained.append(
            {
                "id": rule.id,
                "effect": rule.effect,
                "fired": rule_id in decision.rules,
                "file": rule.span.file if rule.span else None,
                "line": rule.span.line if rule.span else None,
                "reason": given.get(rule_id, rule.reason),
                "cite": list(rule.cite),
                "tests": tests,
            }
        )
    return {
        **decision.to_dict(),
        "default_effect": policy.default_effect,
        "explained": explained,
    }


class _Bare(str):
    """A decimal read (its exact text) or an entity (its uid): a string in JSON, written bare
    in the text form."""


def _json_value(value: Any) -> Any:
    if value.__class__ is decimals.Scaled:
        return _Bare(decimals.text(value))
    if value.__class__ is Entity:  # its uid: its attributes and references are not walked
        return _Bare(entity_text(value.type, value.id))
    if isinstance(value, frozenset | tuple) and any(v.__class__ is Entity for v in value):
        shown = [_json_value(v) for v in value]
        return sorted(shown) if isinstance(value, frozenset) else shown
    return "absent" if value is interp.ABSENT else to_json(value)


def as_text(explained: Mapping[str, Any]) -> str:
    """The explanation for people: one block per rule, one line per test."""
    skip = {"decision", "rules", "reasons", "default_effect", "explained"}
    lines = [f"decision: {shown(explained['decision'])}"]
    lines.extend(f"{shown(k)}: {_text(v)}" for k, v in explained.items() if k not in skip)
    if not explained["rules"]:
        lines.append(f"no rule fired; the default effect is `{explained['default_effect']}`")
    for rule in explained["explained"]:
        where = f" ({shown(rule['file'])}:{rule['line']})" if rule["file"] else ""
        verb = f"{rule['effect']} by" if rule["fired"] else "did not fire:"
        lines.append(f"- {verb} `{shown(rule['id'])}`{where}")
        cites = f" (cites {', '.join(rule['cite'])})" if rule["cite"] else ""
        lines.append(f"    {shown(rule['reason'] + cites)}")
        for test in rule["tests"]:
            value = test["value"]
            mark = "yes" if value is True else "no " if value is False else "   "
            seen = ", ".join(f"{n} = {_text(v)}" for n, v in test["reads"].items())
            lines.append(f"    {mark} {test['test']}" + (f"    ({seen})" if seen else ""))
    return "\n".join(lines)


def _text(value: Any) -> str:
    return "absent" if value == "absent" else _shown_value(value)


def _shown_value(value: Any) -> str:
    """A JSON value as the text form shows it: strings as policy literals (`quote`), hiding
    nothing; the rest as JSON writes it."""
    if isinstance(value, _Bare):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, list):
        return "[" + ", ".join(_shown_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = (f"{quote(str(k))}: {_shown_value(v)}" for k, v in value.items())
        return "{" + ", ".join(items) + "}"
    return json.dumps(value)
