"""Combining fired rules without a cache: prepared entries for no rule and one, several combined
from their contributions whatever their order and repeats, the decisions kept per output values
bounded, and the same decisions as the interpreter throughout."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest

import policydsl
from benchmarks.contexts import varied_contexts
from policydsl import evaluator as evaluator_module
from policydsl.evaluator import CompiledEvaluator

LABELS = """
enum Label { a, b, c, d }
context { labels: list<Label> = []  n: int = 0 }
effects deny > review > allow default allow
annotation weight: int
obligations { log, notify }
rule ra: deny { when a in labels  weight 3  cite ["1", "2"]  obligations [log]  reason "a" }
rule rb: review { when b in labels  weight 1  cite "2"  obligations [notify]  reason "b" }
rule rc: deny { when c in labels  cite "3"  obligations [notify]  reason "c" }
rule rd: allow { when d in labels  weight 5  cite "4"  reason "d" }
"""


def load(text: str, backend: str = "compiled") -> policydsl.Policy:
    return policydsl.loads(text, backend=backend)


def evaluator_of(policy: policydsl.Policy) -> CompiledEvaluator:
    assert policy.evaluator is not None
    return policy.evaluator


def assert_same(text: str, contexts: list[dict[str, Any]]) -> policydsl.Policy:
    """Every context decides the same, as a whole, on the compiled and interpreted backends."""
    compiled, interpreted = load(text), load(text, "interpreted")
    for context in contexts:
        assert compiled.decide(context) == interpreted.decide(context), context
        assert compiled.decide(context).to_dict() == interpreted.decide(context).to_dict()
    return compiled


def label_contexts() -> list[dict[str, Any]]:
    """Every order, repeat and subset of the labels, several times over."""
    lists = [[], ["a"], ["b", "a"], ["a", "b"], ["a", "b", "a"], ["c", "d", "b"], ["d"]]
    lists += [["d", "c"], ["a", "b", "c", "d"], ["d", "c", "b", "a"], ["b", "b"], ["c", "a"]]
    return [{"labels": labels, "n": n} for n in range(3) for labels in lists]


def test_no_rule_and_one_rule_are_prepared_and_shared() -> None:
    policy = assert_same(LABELS, label_contexts())
    evaluator = evaluator_of(policy)
    assert policy.decide({}) is evaluator.decide({"labels": []})
    assert policy.decide({"labels": ["b"]}) is policy.decide({"labels": ["b", "b"]})
    assert [rules for rules, _ in evaluator.entries()] == [
        frozenset(),
        *(frozenset({n}) for n in range(4)),
    ]


@pytest.mark.parametrize("text", [LABELS, LABELS + 'output o: string { otherwise => "x" }'])
def test_an_entry_that_cannot_be_prepared_fails_the_requests_that_need_it(
    monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """No rule's entry is also a name of its own (`_NONE`); where it could not be prepared the
    name is unbound, and a request firing no rule fails into the fallback, which refuses it,
    as reading `_ONE[-1]` did. Requests firing rules decide as before."""
    prepared = CompiledEvaluator._prepared

    def failing(self: CompiledEvaluator, number: int) -> Any:
        if number == -1:
            raise RuntimeError("cannot prepare")
        return prepared(self, number)

    monkeypatch.setattr(CompiledEvaluator, "_prepared", failing)
    policy = load(text)
    assert "_NONE" not in evaluator_of(policy).generated.namespace
    with pytest.raises(evaluator_module.CompiledEvaluatorError):
        policy.decide({"labels": []})
    monkeypatch.setattr(CompiledEvaluator, "_prepared", prepared)
    fresh = load(text)
    assert policy.decide({"labels": ["a", "b"]}) == fresh.decide({"labels": ["a", "b"]})
    assert evaluator_of(fresh).generated.namespace["_NONE"] is fresh.decide({})


def test_several_rules_combine_the_same_whatever_their_order_and_repeats() -> None:
    """The rules are combined as a set: firing order and repeats change nothing, and nothing is
    kept per set (varied traffic brings new sets all the time)."""
    policy = load(LABELS)
    first = policy.decide({"labels": ["a", "b", "c"]})
    assert first.rules == ("ra", "rb", "rc") and first.citations == ("1", "2", "3")
    for labels in (["c", "b", "a"], ["b", "a", "c", "a"], ["a", "c", "b", "b"]):
        assert policy.decide({"labels": labels}) == first
    assert evaluator_of(policy).decisions == 0


OUTPUTS = (
    LABELS
    + """
output heavy: bool { otherwise => some r in fired: has r.weight and r.weight > 2 }
output all_weighted: bool { otherwise => all r in fired: has r.weight }
output level: string {
  when decision == deny and (some r in fired: has r.weight and r.weight >= 3) => "high"
  when decision == review => "middle"
  otherwise => "low"
}
"""
)


def test_outputs_from_the_flags_alone_are_part_of_the_prepared_decision() -> None:
    policy = assert_same(OUTPUTS, label_contexts())
    generated = evaluator_of(policy).generated
    assert generated.outputs is not None and generated.rule_bits is not None
    empty = policy.decide({})
    assert (empty.heavy, empty.all_weighted, empty.level) == (False, True, "low")  # all of none
    several = policy.decide({"labels": ["d", "a"]})
    assert several == policy.decide({"labels": ["a", "d"]})
    assert (several.heavy, several.all_weighted, several.level) == (True, True, "high")


READS_REQUEST = OUTPUTS + "output echo: int { when n > 1 => n + 1  otherwise => 0 }\n"


def test_outputs_that_read_the_request_share_decisions_per_value() -> None:
    policy = assert_same(READS_REQUEST, label_contexts())
    evaluator = evaluator_of(policy)
    assert evaluator.generated.outputs is None
    assert policy.decide({"labels": ["a"], "n": 5}) is policy.decide({"labels": ["a"], "n": 5})
    assert policy.decide({"labels": ["a", "b"], "n": 5}) == policy.decide(
        {"labels": ["b", "a"], "n": 5}
    )
    assert policy.decide({"labels": ["a"], "n": 7}).echo == 8


@pytest.mark.parametrize(
    "output",
    [
        "output count: int { otherwise => size(fired) }",
        "output pair: bool { otherwise => some r in fired: some s in fired: r.id != s.id }",
        "output mixed: bool { otherwise => some r in fired: r.effect == decision }",
    ],
    ids=["size", "nested", "reads-decision"],
)
def test_flags_that_do_not_split_per_rule_are_computed_from_the_records(output: str) -> None:
    policy = assert_same(LABELS + output + "\n", label_contexts())
    assert evaluator_of(policy).generated.rule_bits is None


def test_varied_traffic_keeps_nothing_per_set_and_decides_right() -> None:
    """Thousands of varied requests, most firing a set of rules never seen before: every
    decision is the interpreter's, and what is kept stays the prepared entries' few."""
    stdlib = policydsl.load_stdlib()
    interpreted = policydsl.load_stdlib(backend="interpreted")
    evaluator = CompiledEvaluator(stdlib.lowered())
    contexts = varied_contexts(3_000, seed=7)
    decisions = [evaluator.decide(context) for context in contexts]
    assert decisions == [interpreted.decide(context) for context in contexts]
    several = {d.rules for d in decisions if len(d.rules) > 1}
    assert len(several) > 500
    held = sum(len(entry[1]) for _, entry in evaluator.entries())
    prepared = {(d.rules, d.outputs) for d in decisions if len(d.rules) <= 1}
    assert held == evaluator.decisions == len(prepared) < 200  # one per rule and output value


def test_a_decision_larger_than_half_the_bound_is_never_kept() -> None:
    policy = load(READS_REQUEST)
    evaluator = CompiledEvaluator(policy.lowered(), cache_bytes=100)
    decision = evaluator.decide({"labels": ["a"], "n": 3})
    assert decision == policy.decide({"labels": ["a"], "n": 3})
    assert evaluator.decisions == 0 and evaluator.kept_bytes == 0


def test_decisions_per_entry_are_bounded_oldest_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(evaluator_module, "MAX_CACHED_OUTPUTS", 4)
    policy = load(READS_REQUEST)
    evaluator = evaluator_of(policy)
    for n in range(2, 12):
        assert policy.decide({"labels": ["a"], "n": n}).echo == n + 1
    entry = dict(evaluator.entries())[frozenset({0})]
    assert [key[-1] for key in entry[1]] == [9, 10, 11, 12]  # the latest four, not the first
    assert evaluator.decisions == 4


def test_the_prepared_entries_forget_their_decisions_at_the_byte_bound() -> None:
    policy = load(READS_REQUEST)
    evaluator = CompiledEvaluator(policy.lowered(), cache_bytes=8_192)
    for n in range(2, 200):
        for labels in (["a"], ["b"], []):
            context = {"labels": labels, "n": n}
            assert evaluator.decide(context) == policy.decide(context)
            assert evaluator.kept_bytes <= evaluator.byte_limit
    held = sum(len(entry[1]) for _, entry in evaluator.entries())
    assert 0 < held == evaluator.decisions < 20 and evaluator.restarts > 0


def test_deciding_on_many_threads_keeps_every_decision_right() -> None:
    stdlib = policydsl.load_stdlib()
    evaluator = CompiledEvaluator(stdlib.lowered(), cache_bytes=32_768)
    contexts = varied_contexts(2_000, seed=11)
    expected = [stdlib.decide(c) for c in contexts]
    failures: Counter[int] = Counter()

    def work(offset: int) -> None:
        for i in range(len(contexts)):
            j = (i + offset) % len(contexts)
            if evaluator.decide(contexts[j]) != expected[j]:
                failures[offset] += 1

    threads = [threading.Thread(target=work, args=(k * 250,)) for k in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    assert evaluator.kept_bytes <= evaluator.byte_limit + 8 * 1_024  # one decision per thread


# ---- packed contributions: a set's summary is the OR of its rules' ints ------------------------

MANY_EFFECTS = """
enum Label { a, b, c, d, e, f }
context { labels: list<Label> = [] }
effects deny > review > hold > allow default allow
obligations { log, notify, page }
rule ra: deny { when a in labels  cite ["1", "2"]  obligations [log]  reason "a" }
rule rb: review { when b in labels  cite "2"  obligations [notify, page]  reason "b" }
rule rc: deny { when c in labels  cite "3"  obligations [notify]  reason "c" }
rule rd: hold { when d in labels  cite "4"  obligations [page]  reason "d" }
rule re: allow { when e in labels  cite ["5", "1"]  obligations [log]  reason "e" }
rule rf: review { when f in labels  reason "f" }
output loud: bool { when some r in fired: r.effect == review => true  otherwise => false }
"""


def every_subset(labels: str) -> list[dict[str, Any]]:
    return [
        {"labels": [labels[i] for i in range(len(labels)) if mask >> i & 1][::-1]}
        for mask in range(1 << len(labels))
    ]


def test_every_set_of_fired_rules_combines_as_the_interpreter_does() -> None:
    """Obligations come only from the rules of the winning effect, whichever rank wins; the
    citations of all; the flags from the OR and the AND of the predicates."""
    policy = assert_same(MANY_EFFECTS, every_subset("abcdef"))
    both = policy.decide({"labels": ["b", "e", "d"]})
    assert (both.decision, both.obligations, both.citations) == (
        "review",
        ("notify", "page"),
        ("1", "2", "4", "5"),
    )
    assert both.loud and both.rules == ("rb", "rd", "re")


def test_the_memo_of_decoded_summaries_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    from policydsl import contributions

    monkeypatch.setattr(contributions, "MAX_HEADS", 3)
    policy = assert_same(MANY_EFFECTS, every_subset("abcdef") * 2)
    heads = evaluator_of(policy)._contributions.heads
    assert 0 < len(heads) <= 3


REPEATS = ["aa", "aab", "aba", "bab", "abcabc", "ff", "ffe", "eef", "aaaaa", "fdf", "cbacba"]


@pytest.mark.parametrize("bit_per_rule", [True, False], ids=["bit-per-rule", "many-rules"])
def test_a_rule_fired_twice_counts_once(
    monkeypatch: pytest.MonkeyPatch, bit_per_rule: bool
) -> None:
    """A label listed twice fires its rule twice: the set still holds it once, whether the
    packed ints count the rules (a bit each) or the policy has too many rules for that."""
    from policydsl import contributions

    if not bit_per_rule:
        monkeypatch.setattr(contributions, "MAX_RULE_BITS", 5)
    policy = assert_same(MANY_EFFECTS, [{"labels": list(labels)} for labels in REPEATS])
    assert (evaluator_of(policy)._contributions.rules_at is not None) == bit_per_rule
    twice = policy.decide({"labels": ["b", "a", "b"]})
    assert twice.rules == ("ra", "rb") and twice.reasons == ("a", "b")
    assert policy.decide({"labels": ["f", "f"]}) == policy.decide({"labels": ["f"]})


NAMED_LIKE_TUPLE_METHODS = (
    LABELS
    + """
output count: int { otherwise => size(fired) }
output index: string { when decision == deny => "high"  otherwise => "low" }
"""
)


def test_decisions_are_immutable_values_whatever_builds_them() -> None:
    """A decision compares and hashes by its fields, never equals a bare tuple, survives pickling
    and copying, cannot be changed, and reads outputs named like a tuple's methods."""
    import copy
    import pickle

    compiled = load(NAMED_LIKE_TUPLE_METHODS)
    interpreted = load(NAMED_LIKE_TUPLE_METHODS, "interpreted")
    context = {"labels": ["c", "a", "b"]}
    decision = compiled.decide(context)
    assert decision == interpreted.decide(context) and decision is not interpreted.decide(context)
    assert hash(decision) == hash(interpreted.decide(context))
    read: Any = decision  # mypy sees the tuple's methods; an output so named comes first
    assert (read.count, read.index, decision.output("count")) == (3, "high", 3)
    assert decision.rules == ("ra", "rb", "rc") and decision.error is None
    assert decision != tuple(decision) and tuple(decision) != decision
    for again in (pickle.loads(pickle.dumps(decision)), copy.copy(decision)):
        assert again == decision and type(again) is type(decision)
    assert copy.deepcopy(decision) == decision
    assert repr(decision).startswith("Decision(decision='deny', obligations=('log', 'notify')")
    with pytest.raises(AttributeError):
        decision.decision = "allow"
    with pytest.raises(AttributeError):
        decision.missing  # noqa: B018
    assert decision.to_dict()["count"] == 3 and decision.decision == "deny"
