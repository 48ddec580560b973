"""Reasons that show values: `reason "{user.name} is {user.age}, under {minimum_age}"`.

A reason's `{name}` is read when the policy is checked: a table column is put in place for each
row; anything else (an attribute of the request, a definition, the variable of a `some` that
the rule's condition requires) becomes a `model.Message`, rendered here for each decision that
fires the rule. Rendering joins text and values, never formats a string (a value holding `{`
is only text), and works the same whichever backend decided: it evaluates the message's
expressions with the reference interpreter on the validated request, so its cost is paid only
by decisions that fire such a rule, in proportion to what the message reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from policydsl import decimals, interp, model, nodes
from policydsl.decision import Decision

# `{{` and `}}` stand for braces; `{name}` or `{name.attr...}` is a placeholder
PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)\}")
MAX_SHOWN = 200  # characters of one value a reason shows; longer values end in `…`
ABSENT = "-"  # what an absent optional attribute shows, as an absent table cell does


def segments(template: str) -> list[str | tuple[str, ...]]:
    """The template's text (braces `{{ }}` made single) and its placeholders' dotted paths."""
    found: list[str | tuple[str, ...]] = []
    text: list[str] = []
    at = 0
    for m in PLACEHOLDER.finditer(template):
        text.append(template[at : m.start()])
        at = m.end()
        if m.group(1) is None:
            text.append(m.group(0)[0])
            continue
        if text:
            found.append("".join(text))
            text = []
        found.append(tuple(m.group(1).split(".")))
    text.append(template[at:])
    if "".join(text):
        found.append("".join(text))
    return found


def show(value: Any) -> str:
    """A value as a reason shows it: `true`/`false`, sets sorted, items joined by `, `, long
    text clipped."""
    if value is None:
        return ABSENT
    if isinstance(value, bool):
        return "true" if value else "false"
    if value.__class__ is decimals.Scaled:  # a decimal, as the interpreter reads it: as written
        return decimals.text(value)
    if isinstance(value, frozenset | tuple | list):
        items = _ordered(value) if isinstance(value, frozenset) else value
        text = ", ".join(show(v) for v in items)
    else:
        text = str(value)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def render(message: model.Message, context: Mapping[str, Any]) -> str:
    """The reason for one validated request of a decision that fired its rule."""
    env = interp.Env(None, context)
    for witness in message.witnesses:
        env.locals[witness.var.name] = _first(witness, env)
    return "".join(part if isinstance(part, str) else _value(part, env) for part in message.parts)


def with_messages(
    decide: Callable[[Mapping[str, Any]], Decision],
    messages: Mapping[str, model.Message],
    validate: Callable[[Mapping[str, Any]], Mapping[str, Any]],
) -> Callable[[Mapping[str, Any]], Decision]:
    """`decide`, its decisions' reasons rendered where a fired rule's reason shows values."""

    def deciding(context: Mapping[str, Any]) -> Decision:
        decision = decide(context)
        if messages.keys().isdisjoint(decision.rules):
            return decision
        valid = validate(context)
        reasons = tuple(
            render(messages[rule], valid) if rule in messages else reason
            for rule, reason in zip(decision.rules, decision.reasons, strict=True)
        )
        return Decision(
            decision.decision,
            decision.obligations,
            decision.citations,
            decision.rules,
            reasons,
            decision.outputs,
            decision.error,
        )

    return deciding


def _value(expr: model.Expr, env: interp.Env) -> str:
    """The part's value shown; an optional attribute absent from the request shows as `-`."""
    return show(interp.evaluate(expr, env)) if _present(expr, env) else ABSENT


def _present(expr: model.Expr, env: interp.Env) -> bool:
    """Whether a path part can be read: every optional step on it present, and a witness
    found. Other parts (definitions written out) guard their own reads, as the checker asks."""
    match expr:
        case model.Attr(path):
            return interp.evaluate(model.Present(path), env) is True
        case model.Local(name):
            return env.locals.get(name) is not None
        case model.FieldOf(base, name):
            return _present(base, env) and name in interp.evaluate(base, env)
    return True


def _first(witness: nodes.Quantifier[model.Expr], env: interp.Env) -> Any:
    """The first element (sets in order) for which the `some` test's body holds: the one that
    made the rule fire. None when none does (the rule fired some other way)."""
    items = interp.evaluate(witness.collection, env)
    if isinstance(items, frozenset):
        items = _ordered(items)
    for item in items:
        env.locals[witness.var.name] = item
        if interp.evaluate(witness.body, env) is True:
            return item
    return None


def _ordered(values: frozenset[Any]) -> list[Any]:
    try:
        return sorted(values)
    except TypeError:  # not mutually ordered: by their text, which is deterministic
        return sorted(values, key=repr)
