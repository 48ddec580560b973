"""The solver encoding against the engine: for random policies of every index shape and of the
general generator, each request pinned in the solver must give the rules, decision, obligations
and outputs the reference interpreter gives. A `proved` is only as good as this agreement.

`POLICYDSL_SMT_POLICIES` is the number of policies per kind (quick: 3, CI: 8)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from campaigns import campaign_size
from randcontext import stdlib_contexts
from randpolicy import SHAPES, make_case, make_shape_case

import policydsl
from policydsl import smt
from policydsl.context import ContextError, validate
from policydsl.decision import Decision

z3 = pytest.importorskip("z3")

POLICIES = campaign_size("POLICYDSL_SMT_POLICIES", full=8, quick=3)
CONTEXTS = 12


def pin(request: smt.Request, context: dict[str, Any]) -> list[Any]:
    """Constraints that make the symbolic request exactly this validated context."""
    pins = []
    for path, present in request.present.items():
        found: Any = context
        for part in path:
            found = found.get(part) if isinstance(found, dict) and part in found else None
        if z3.is_true(present):
            if found is None:
                continue  # inside a record left absent: its own presence is pinned
        else:
            pins.append(present == (found is not None))
        if path in request.values and found is not None:
            pins.append(_equal(request.values[path], found))
    return pins


def _pin_record(shape: Any, term: Any, given: dict[str, Any]) -> Any:
    """A record of a list pinned to a validated element, field by field."""
    held = []
    for field in shape.type.fields:
        if field.optional:
            held.append(shape.accessors[f"{field.name}?"](term) == (field.name in given))
        if field.name not in given:
            continue
        value = shape.accessors[field.name](term)
        if field.name in shape.nested:
            held.append(_pin_record(shape.nested[field.name], value, given[field.name]))
        elif hasattr(field.type, "members"):
            held.append(value == field.type.members.index(given[field.name]))
        elif isinstance(given[field.name], tuple):
            held.append(_equal(smt.Sequence_(value, "list"), given[field.name]))
        else:
            held.append(_equal(value, given[field.name]))
    return z3.And(held)


def _equal(value: Any, given: Any) -> Any:
    match value:
        case smt.Sequence_(term, _, shape) if shape is not None:
            items = list(given)
            return z3.And(
                z3.Length(term) == len(items),
                *(_pin_record(shape, term[i], item) for i, item in enumerate(items)),
            )
        case smt.Enum(term, type_):
            return term == type_.members.index(given)
        case smt.EnumBag(flags, _, count):
            return z3.And(
                *(f == (m in given) for m in flags for f in [flags[m]]), count == len(given)
            )
        case smt.Sequence_(term):
            items = list(given)
            if not items:
                return z3.Length(term) == 0
            units = [z3.Unit(_literal(v)) for v in items]
            return term == (units[0] if len(units) == 1 else z3.Concat(*units))
    return value == (smt._string(given))


def _literal(v: Any) -> Any:
    if isinstance(v, str):
        return smt._string(v)
    return z3.BoolVal(v) if isinstance(v, bool) else z3.IntVal(v)


def mismatches(outcome: smt.Outcome, decision: Decision) -> list[tuple[str, Any]]:
    """(what, the term that holds when the encoding disagrees with the decision)."""
    found = [(f"rule {i}", fired != (i in decision.rules)) for i, fired in outcome.fired.items()]
    effect = outcome.decision
    found.append(("decision", effect.term != effect.type.members.index(decision.decision)))
    for name, flag in outcome.obligated.items():
        found.append((f"obligation {name}", flag != (name in decision.obligations)))
    for name, value in outcome.outputs.items():
        given = decision.output(name)
        if isinstance(value, smt.Enum):
            found.append((f"output {name}", value.term != value.type.members.index(given)))
        elif not isinstance(
            value, smt.EnumBag | smt.Sequence_ | smt.Items | tuple | frozenset | smt.Unencoded
        ):
            term = smt._string(given)
            found.append((f"output {name}", smt._bool(smt._string(value) != term)))
    return found


def check_case(text: str, contexts: list[Any], stats: Counter[str]) -> list[str]:
    policy = (
        policydsl.load_stdlib(backend="interpreted")
        if text == "stdlib"
        else policydsl.loads(text, backend="interpreted")
    )
    checked = policy.checked
    try:
        request = smt.Request(checked.schema, "r:")
        outcome = smt.Encoder(checked).decide(request)
    except smt.Unsupported as err:
        stats[f"not encoded: {err}"] += 1
        return []
    stats["policies"] += 1
    problems = []
    for context in contexts:
        try:
            decision = policy.decide(context)
            normal = validate(checked.schema, context)
        except ContextError:
            continue
        pins = pin(request, normal)
        solver = z3.Solver()
        solver.set("timeout", 5_000)
        solver.add(*request.constraints, *pins)
        if solver.check() != z3.sat:
            problems.append(f"the encoding refuses a valid request: {normal}")
            continue
        wrong = mismatches(outcome, decision)
        solver.add(z3.Or([smt._bool(term) for _, term in wrong]))
        answer = solver.check()
        if answer == z3.unsat:
            stats["agree"] += 1
        elif answer == z3.sat:
            found = solver.model()
            which = [w for w, term in wrong if z3.is_true(found.eval(smt._bool(term), True))]
            problems.append(f"{which} for {normal}\n{text}")
        else:
            stats["unknown"] += 1
    return problems


@pytest.mark.slow
@pytest.mark.parametrize("shape", [*SHAPES, "general"])
def test_the_encoding_decides_as_the_interpreter(shape: str) -> None:
    stats: Counter[str] = Counter()
    problems: list[str] = []
    for seed in range(POLICIES):
        case = (
            make_case(seed, entities=False)  # entities are not encoded
            if shape == "general"
            else make_shape_case(seed, shape, regexes=False)  # `matches` is not encoded
        )
        problems += check_case(case.text, case.contexts(CONTEXTS), stats)
    assert not problems, problems[0]
    assert stats["agree"] > 0, stats


@pytest.mark.slow
def test_the_encoding_decides_lists_of_records_as_the_interpreter() -> None:
    """Records in lists (optional and defaulted fields, nested records, lists inside, record
    equality) on the random pods of `test_records_in_lists`."""
    import random

    from test_records_in_lists import POD, random_container

    rng = random.Random(3)
    contexts = [
        {
            "pod": {
                "namespace": "prod",
                "containers": [random_container(rng) for _ in range(rng.randint(0, 4))],
            }
        }
        for _ in range(15 * POLICIES)
    ]
    stats: Counter[str] = Counter()
    problems = check_case(POD, contexts, stats)
    assert not problems, problems[0]
    assert stats["agree"] >= 12 * POLICIES, stats


@pytest.mark.slow
def test_the_encoding_decides_the_stdlib_as_the_interpreter() -> None:
    """The standard library's rules, decision, obligations and enforcement, on the varied
    requests of the stdlib campaigns (every label, domain, age and record)."""
    stats: Counter[str] = Counter()
    problems = check_case("stdlib", stdlib_contexts(40 * POLICIES, seed=7), stats)
    assert not problems, problems[0]
    assert stats["agree"] >= 10 * POLICIES, stats
