"""`policyc verify`: prove properties of a policy for every request its schema admits.

Each question is put to the solver through `smt`'s encoding of the checked model. A request the
solver offers as a counterexample is decided by the engine (`Policy.decide`) and the claim is
evaluated on that decision by the reference interpreter before it is shown: if they do not
confirm it, the answer is `unknown`, never a false alarm. Anything the encoding does not cover,
and any `unknown` from the solver, is reported as not decided, never as proved.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from policydsl import interp, model, smt
from policydsl.context import ContextError, validate
from policydsl.decision import Decision, EvaluationError
from policydsl.engine import Policy
from policydsl.typesys import EnumType

PROVED = "proved"
COUNTEREXAMPLE = "counterexample"
VACUOUS = "vacuous"
UNKNOWN = "unknown"

TIMEOUT_MS = 20_000  # per question: past it, the solver's answer is `unknown`


@attrs.frozen
class Result:
    """The answer to one question: `status` is one of `proved`, `counterexample`, `vacuous`
    (the premise holds for no request) or `unknown` (not decided: `detail` says why)."""

    name: str
    status: str
    detail: str = ""
    requests: tuple[dict[str, Any], ...] = ()
    decisions: tuple[dict[str, Any], ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        found: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.detail:
            found["detail"] = self.detail
        if self.requests:
            found["requests"] = list(self.requests)
            found["decisions"] = list(self.decisions)
        found["seconds"] = round(self.seconds, 3)
        return found


# A question: the requests it needs, what must hold of their outcomes (terms), an optional premise
# (terms) and the same claim on engine decisions (to confirm a counterexample).
Claim = Callable[[Sequence[smt.Outcome]], Any]
Confirm = Callable[[Sequence[dict[str, Any]], Sequence[Decision]], bool]


def ask(
    policy: Policy,
    name: str,
    claim: Claim,
    confirm: Confirm,
    *,
    premise: Claim | None = None,
    requests: int = 1,
    link: Callable[[Sequence[smt.Request]], Any] | None = None,
) -> Result:
    """Prove `claim` for every request (or tuple of requests, related by `link`) that meets
    `premise`; a counterexample is returned only once the engine confirms it."""
    z3 = smt.load_z3()
    started = time.perf_counter()

    def done(status: str, detail: str = "", **kw: Any) -> Result:
        return Result(name, status, detail, seconds=time.perf_counter() - started, **kw)

    try:
        encoder = smt.Encoder(policy.checked)
        reqs = [smt.Request(policy.checked.schema, f"r{i}:") for i in range(requests)]
        outcomes = [encoder.decide(r) for r in reqs]
        solver = z3.Solver()
        solver.set("timeout", TIMEOUT_MS)
        for r in reqs:
            solver.add(*r.constraints)
        if link is not None:
            solver.add(link(reqs))
        if premise is not None:
            solver.add(smt._bool(premise(outcomes)))
            if solver.check() == z3.unsat:
                return done(VACUOUS, "the premise holds for no request the schema admits")
        solver.add(z3.Not(smt._bool(claim(outcomes))))
        answer = solver.check()
    except smt.Unsupported as err:
        return done(UNKNOWN, f"not decided: the encoding does not cover {err}")
    if answer == z3.unsat:
        return done(PROVED)
    if answer != z3.sat:
        return done(UNKNOWN, f"not decided: the solver gave up ({solver.reason_unknown()})")
    try:
        found = smt.shrink(solver, [p for r in reqs for p in r.preferences()])
        examples = [r.example(found) for r in reqs]
        decided = [policy.decide(e) for e in examples]
        confirmed = confirm(examples, decided)
    except (smt.Unsupported, ContextError, EvaluationError) as err:
        return done(UNKNOWN, f"internal error: the solver's example is not usable ({err})")
    if not confirmed:
        return done(UNKNOWN, "internal error: the engine does not confirm the solver's example")
    return done(
        COUNTEREXAMPLE,
        requests=tuple(examples),
        decisions=tuple(d.to_dict() for d in decided),
    )


# ---- properties ---------------------------------------------------------------------------------


def outcome_values(checked: model.CheckedPolicy, decision: Decision) -> dict[str, Any]:
    """What a claim reads, from an engine decision (as `interp` holds such values)."""
    rules = {r.id: r for r in checked.rules}
    values: dict[str, Any] = dict(decision.outputs)
    values["decision"] = decision.decision
    values["fired"] = tuple(interp.fired_record(rules[i]) for i in decision.rules)
    values["obligated"] = frozenset(decision.obligations)
    return values


def prove(policy: Policy, prop: model.Property) -> Result:
    """One property: proved, a confirmed counterexample, vacuous, or not decided."""
    checked = policy.checked
    if isinstance(prop.claim, model.Monotone):
        return _monotone(policy, prop, prop.claim)
    claim_expr = prop.claim
    premise_expr = prop.premise

    def premise(outs: Sequence[smt.Outcome]) -> Any:
        encoder = smt.Encoder(checked)
        return encoder.expr(premise_expr, smt.Env(outs[0].request))

    def claim(outs: Sequence[smt.Outcome]) -> Any:
        return smt.Encoder(checked).holds(claim_expr, outs[0])

    def confirm(examples: Sequence[dict[str, Any]], decided: Sequence[Decision]) -> bool:
        context = validate(checked.schema, examples[0])
        premise_true = premise_expr is None or interp.evaluate_in(checked, context, premise_expr)
        if premise_true is not True:
            return False
        values = outcome_values(checked, decided[0])
        return interp.evaluate_in(checked, context, claim_expr, values) is False

    return ask(
        policy,
        prop.name,
        claim,
        confirm,
        premise=premise if premise_expr is not None else None,
    )


def _rank(checked: model.CheckedPolicy, output: str) -> tuple[Callable[[Any], Any], list[str]]:
    """How high a value of `output` stands: an enum output by its members' order, `decision` by
    effect strength (the strongest highest)."""
    if output == "decision":
        return (lambda v: v), list(reversed(checked.effects))
    found = next(o for o in checked.outputs if o.name == output)
    assert isinstance(found.type, EnumType)
    return (lambda v: v), list(found.type.members)


def _monotone(policy: Policy, prop: model.Property, claim: model.Monotone) -> Result:
    checked = policy.checked
    z3 = smt.load_z3()
    _, order = _rank(checked, claim.output)
    path = claim.attribute

    def value(out: smt.Outcome) -> Any:
        return out.decision if claim.output == "decision" else out.outputs[claim.output]

    def rank(v: Any) -> Any:
        if isinstance(v, str):
            return z3.IntVal(order.index(v))
        members = list(v.type.members)
        return z3.Sum([z3.If(v.term == i, order.index(m), 0) for i, m in enumerate(members)])

    def link(reqs: Sequence[smt.Request]) -> Any:
        a, b = reqs
        return z3.And(
            a.same_as(b, but=path), a.has(path), b.has(path), a.values[path] < b.values[path]
        )

    def holds(outs: Sequence[smt.Outcome]) -> Any:
        return rank(value(outs[0])) <= rank(value(outs[1]))

    def confirm(examples: Sequence[dict[str, Any]], decided: Sequence[Decision]) -> bool:
        low_request, high_request = (validate(checked.schema, e) for e in examples)
        if not _differ_only_in(low_request, high_request, path):
            return False
        if prop.premise is not None and not all(
            interp.evaluate_in(checked, r, prop.premise) is True
            for r in (low_request, high_request)
        ):
            return False
        if claim.output == "decision":
            low, high = decided[0].decision, decided[1].decision
        else:
            low, high = decided[0].output(claim.output), decided[1].output(claim.output)
        return order.index(low) > order.index(high)

    premise = None
    if prop.premise is not None:
        premise_expr = prop.premise

        def both(outs: Sequence[smt.Outcome]) -> Any:
            encoder = smt.Encoder(checked)
            return z3.And([smt._bool(encoder.expr(premise_expr, smt.Env(o.request))) for o in outs])

        premise = both
    return ask(policy, prop.name, holds, confirm, premise=premise, requests=2, link=link)


def _differ_only_in(a: dict[str, Any], b: dict[str, Any], path: tuple[str, ...]) -> bool:
    """Two validated requests are equal but for `path`, whose value is larger in `b`."""
    found_a: Any = a
    found_b: Any = b
    for part in path[:-1]:
        found_a, found_b = found_a.get(part), found_b.get(part)
        if not isinstance(found_a, dict) or not isinstance(found_b, dict):
            return False
    last = path[-1]
    if not (last in found_a and last in found_b and found_a[last] < found_b[last]):
        return False
    rest_a, rest_b = dict(found_a), dict(found_b)
    del rest_a[last], rest_b[last]
    return bool(_replaced(a, path[:-1], rest_a) == _replaced(b, path[:-1], rest_b))


def _replaced(request: dict[str, Any], path: tuple[str, ...], value: Any) -> Any:
    if not path:
        return value
    return {**request, path[0]: _replaced(request[path[0]], path[1:], value)}


# ---- built-in questions -------------------------------------------------------------------------


def _rule(policy: Policy, rule_id: str) -> model.Rule:
    for rule in policy.checked.rules:
        if rule.id == rule_id:
            return rule
    raise KeyError(rule_id)


def never_fires(policy: Policy, rule_id: str) -> Result:
    _rule(policy, rule_id)
    return ask(
        policy,
        f"never fires: {rule_id}",
        lambda outs: smt.z3.Not(outs[0].fired[rule_id]),
        lambda _, d: rule_id in d[0].rules,
    )


def always_fires(policy: Policy, rule_id: str) -> Result:
    _rule(policy, rule_id)
    return ask(
        policy,
        f"always fires: {rule_id}",
        lambda outs: outs[0].fired[rule_id],
        lambda _, d: rule_id not in d[0].rules,
    )


def implies(policy: Policy, a: str, b: str) -> Result:
    _rule(policy, a), _rule(policy, b)
    return ask(
        policy,
        f"implies: {a} => {b}",
        lambda outs: smt.z3.Implies(outs[0].fired[a], outs[0].fired[b]),
        lambda _, d: a in d[0].rules and b not in d[0].rules,
    )


def disjoint(policy: Policy, a: str, b: str) -> Result:
    _rule(policy, a), _rule(policy, b)
    return ask(
        policy,
        f"disjoint: {a}, {b}",
        lambda outs: smt.z3.Not(smt.z3.And(outs[0].fired[a], outs[0].fired[b])),
        lambda _, d: a in d[0].rules and b in d[0].rules,
    )


def always_decides(policy: Policy, effect: str, never: bool = False) -> Result:
    checked = policy.checked
    if effect not in checked.effects:
        raise KeyError(effect)
    index = checked.effect_type.members.index(effect)

    def claim(outs: Sequence[smt.Outcome]) -> Any:
        same = outs[0].decision.term == index
        return smt.z3.Not(same) if never else same

    return ask(
        policy,
        f"{'never' if never else 'always'} decides: {effect}",
        claim,
        lambda _, d: (d[0].decision == effect) == never,
    )


def prove_all(policy: Policy) -> list[Result]:
    """Every property the policy declares, in order."""
    return [prove(policy, p) for p in policy.checked.properties]


def equivalent(old: Policy, new: Policy) -> Result:
    """Whether two versions decide every request alike (`policy_diff`): a counterexample is a
    request they decide differently (the old side's decision first)."""
    from policydsl import policy_diff

    found = policy_diff.diff(old, new, max_regions=1)
    name = "equivalent"
    if found.status == "equivalent":
        return Result(name, PROVED, seconds=found.seconds)
    if found.status == "unknown" or not found.regions:
        return Result(name, UNKNOWN, found.detail, seconds=found.seconds)
    region = found.regions[0]
    return Result(
        name,
        COUNTEREXAMPLE,
        f"{region.move}",
        requests=(region.request,),
        decisions=(region.old, region.new),
        seconds=found.seconds,
    )


QUESTIONS: dict[str, Callable[..., Result]] = {
    "never-fires": never_fires,
    "always-fires": always_fires,
    "implies": implies,
    "disjoint": disjoint,
    "always": always_decides,
    "never": lambda policy, effect: always_decides(policy, effect, never=True),
}


def render(results: Sequence[Result]) -> str:
    """The text report: one line per question, each counterexample's requests and decisions."""
    import json

    lines = []
    width = max((len(r.status) for r in results), default=0)
    for r in results:
        head = f"{r.status.ljust(width)}  {r.name}  ({r.seconds:.2f} s)"
        lines.append(head + (f": {r.detail}" if r.detail and not r.requests else ""))
        if r.detail and r.requests:
            lines.append(f"    {r.detail}")
        for request in r.requests:
            lines.append(f"    request   {json.dumps(request)}")
        for decision in r.decisions:
            lines.append(f"    decision  {json.dumps(decision)}")
    counts = {s: sum(r.status == s for r in results) for s in (PROVED, COUNTEREXAMPLE, VACUOUS)}
    undecided = len(results) - sum(counts.values())
    total = sum(r.seconds for r in results)
    if counts[PROVED] == len(results):
        lines.append(f"ok: {len(results)} proved in {total:.2f} s")
    else:
        lines.append(
            f"failed: {counts[PROVED]} proved, {counts[COUNTEREXAMPLE]} with a counterexample, "
            f"{counts[VACUOUS]} vacuous, {undecided} not decided ({total:.2f} s)"
        )
    return "\n".join(lines)
