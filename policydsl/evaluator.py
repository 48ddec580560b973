"""The compiled evaluator: builds the program, generates its code, combines the fired rules.

Combining rests on no cache. Each rule's contribution is prepared at compile time (its effect's
rank, its obligations and citations, id, reason, its record for `fired` and, where the flags
split per rule, its predicate bits; see `codegen`), and so are the entries for no fired rule
and for each rule fired alone, the common cases. A set of several fired rules is combined for
each request that fires it, in time proportional to its size (`_several`): one OR of the rules'
packed contributions (`contributions`), whose decoded head (decision, obligations, citations,
flags) is looked up in a small memo, and the set's own ids and reasons. So varied traffic,
whose sets are mostly new, costs what repeated traffic costs. (A cache of decisions per set was
slower on it: its lookups ran in cold memory, and its misses cost more than combining.)

What is kept, and how it is bounded:
- The heads memo of `Contributions`: at most `MAX_HEADS` summaries.
- Per prepared entry, when outputs read the request: the decision built for each tuple of
  output values, at most `MAX_CACHED_OUTPUTS` per entry (the oldest makes room), and at most
  `MAX_CACHED_DECISIONS` and `MAX_CACHE_BYTES` estimated bytes (`decision_bytes`) in all; past
  either, every entry forgets its decisions and starts again.
Decisions are immutable, so one object serves every request that fires no rule, or one, and
ends the same way. Under threads the counts are approximate (a racing update can be lost);
dict operations keep the structures whole.
"""

from __future__ import annotations

import functools
import operator
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from policydsl import datetimes, ir
from policydsl.codegen import generate
from policydsl.context import validate
from policydsl.contributions import Contributions
from policydsl.decimals import Scaled
from policydsl.decision import Decision, EvaluationError
from policydsl.decision import new_decision as _new_decision
from policydsl.entities import EMPTY_STORE, Entity, EntityStore

# Bounds on what the caches keep, so that requests built to differ cannot grow memory without
# limit: past them, decisions are still right, only built afresh.
MAX_CACHE_BYTES = 32 * 2**20  # estimated bytes of the decisions kept per output values
MAX_CACHED_OUTPUTS = 256  # decisions kept per prepared entry (outputs may read the request)
MAX_CACHED_DECISIONS = 65_536  # decisions kept in all

_EMPTY: frozenset[str] = frozenset()

# The base of a decision: (decision, obligations, citations, rule ids, reasons).
Base = tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]
# A prepared entry (no rule fired, or one), when outputs read the request: [flags, the decisions
# built for output values, base]. Otherwise the entry is the `Decision` itself.
FLAGS, DECISIONS, BASE = range(3)
Entry = Any
# Several fired rules combined, when outputs read the request: (flags, *base), a tuple, which
# the generated code tells from a prepared entry (a list) by its class.
Parts = tuple[Any, ...]


class CompiledEvaluatorError(EvaluationError):
    """The generated code refused a context the validator accepted: a bug in policydsl."""


class CompiledEvaluator:
    """Decides with Python code generated from the decision-tree IR.

    `cache_bytes` bounds the estimated bytes of the decisions the prepared entries keep per
    output values (`MAX_CACHE_BYTES` by default); nothing else it keeps grows with traffic.
    """

    def __init__(
        self,
        lowered: ir.Lowered,
        *,
        indexed: bool = True,
        filename: str = "<policy>",
        cache_bytes: int | None = None,
        program: ir.Program | None = None,
    ):
        if program is None:  # else built already (a compiled artifact's): no indexing to import
            from policydsl.indexing import program as build

            program = build(lowered, indexed=indexed)
        elif program.indexed != indexed:
            raise ValueError(f"the program given is {'' if program.indexed else 'not '}indexed")
        self.program = program
        self._schema = lowered.schema
        rules = self._rules = self.program.rules
        rank = {effect: i for i, effect in enumerate(self.program.effects)}
        self._effects = self.program.effects
        self._output_names = tuple(o.name for o in self.program.outputs)
        # each rule's contribution, by rule number (numbers follow ids: sorted numbers sort ids)
        self._ranks = [rank[r.effect] for r in rules]
        self._obligations = [frozenset(r.obligations) for r in rules]
        self._cites = [frozenset(r.cite) for r in rules]
        self._ids = [r.id for r in rules]
        self._reasons = [r.reason for r in rules]
        self._records = [_record(r) for r in rules]
        self._one: list[Entry] | dict[int, Entry] = []  # `_ONE`, filled by `_prepare`
        # the decisions prepared entries keep per output values, and their bound
        self._holding: list[list[Any]] = []  # the prepared entries holding some
        self.decisions = 0  # decisions they hold (approximate under threads)
        self.kept_bytes = 0  # their estimated bytes
        self.byte_limit = MAX_CACHE_BYTES if cache_bytes is None else cache_bytes
        self.restarts = 0  # times every entry forgot its decisions, the bounds reached
        self._lock = threading.Lock()  # one restart at a time
        bound: dict[str, Any] = {
            "_several": None,  # bound below, once the outputs are known
            "_finish": self._finish,
            "_make_decision": _new_decision,
            "_ONE": [],
            "_NONE": None,  # bound by `_prepare`, with `_ONE`
            "_STORE": {},
        }
        self.generated = generate(self.program, bound, filename)
        namespace = self.generated.namespace
        self._flags = self.generated.flags
        self._flags_masks = self.generated.flags_masks
        self._outputs = self.generated.outputs
        self._direct = not self.program.outputs or self._outputs is not None
        self._masks = self._rule_masks()
        self._contributions = Contributions(
            self._effects,
            self._ranks,
            self._obligations,
            self._cites,
            self._masks,
            self._flags_masks if self._masks is not None else None,
        )
        self._packed = self._contributions.packed
        self._flags_apart = not self._contributions.has_flags
        self._prepare()
        self._several = self._combiner()
        namespace["_several"] = self._several_decision if self._direct else self._several
        self._decide = self.generated.decide
        self.entities: EntityStore = EMPTY_STORE
        # `decide(context)`: the generated function itself, its fallback bound as the default
        # (not through `functools.partial`, whose call costs a tenth of a small decision)
        self._decide.__defaults__ = (self._slow, None)
        self.decide: Callable[[Mapping[str, Any]], Decision] = self._decide

    # ---- compile time -------------------------------------------------------------------------

    def _rule_masks(self) -> list[int] | None:
        """Each rule's predicate bits, when the flags split per rule; else None (the flags are
        then computed from the fired rules' records). A predicate that fails on some rule makes
        them all go the general way, which fails, or not, exactly as the interpreter does."""
        rule_bits = self.generated.rule_bits
        if rule_bits is None or self._flags_masks is None:
            return None
        try:
            return [rule_bits(record) for record in self._records]
        except Exception:
            return None

    def _prepare(self) -> None:
        """The entries for each rule fired alone (`_ONE[rule]`) and for none (`_ONE[-1]`, also
        bound as `_NONE`).

        Should combining one of them fail (a flag that fails for it), it is left out and
        requests that reach it fail when they decide, as they did before anything was prepared.
        """
        entries: dict[int, Entry] = {}
        for number in [*range(len(self._rules)), -1]:
            try:
                entries[number] = self._prepared(number)
            except Exception:
                continue
        if len(entries) == len(self._rules) + 1:  # a list when complete: the faster to index
            self._one = [entries[n] for n in range(len(self._rules))] + [entries[-1]]
        else:
            self._one = entries
        namespace = self.generated.namespace
        namespace["_ONE"] = self._one
        if -1 in entries:  # `_ONE[-1]` as a name of its own: a global read, not a subscript
            namespace["_NONE"] = entries[-1]
        else:  # left unbound: reading it fails into the fallback, as `_ONE[-1]` would
            namespace.pop("_NONE", None)

    # ---- combining ----------------------------------------------------------------------------

    def _prepared(self, number: int) -> Entry:
        """The entry prepared for rule `number` fired alone, or for no rule (-1)."""
        if number >= 0:
            decision = self._rules[number].effect
            base: Base = (
                decision,
                tuple(sorted(self._obligations[number])),
                tuple(sorted(self._cites[number])),
                (self._ids[number],),
                (self._reasons[number],),
            )
        else:
            decision = self.program.default_effect
            base = (decision, (), (), (), ())
        flags = self._flags_of(decision, [number] if number >= 0 else [])
        if self._direct:
            return _new_decision((*base, self._output_pairs(flags), None))
        return [flags, {}, base]

    def _output_pairs(self, flags: tuple[Any, ...]) -> tuple[tuple[str, Any], ...]:
        """The outputs, when none reads the request: computed from the flags alone."""
        if self._outputs is None:
            return ()
        return tuple(zip(self._output_names, self._outputs(flags), strict=True))

    def _flags_of(self, decision: str, numbers: list[int]) -> tuple[Any, ...]:
        if not self.program.flags:
            return ()
        masks = self._masks
        if masks is not None and self._flags_masks is not None:
            bits = [masks[n] for n in numbers]
            some = functools.reduce(operator.or_, bits, 0)
            every = functools.reduce(operator.and_, bits, -1)
            return self._flags_masks(decision, some, every)
        records = self._records
        return self._flags(decision, tuple([records[n] for n in numbers]))

    def _combiner(self) -> Callable[[list[int]], Parts | Entry]:
        """`several(fired)`: two fired rules or more (sorted, perhaps repeated) combined
        into (flags, decision, obligations, citations, ids, reasons), from one OR of their
        packed contributions, whose head is looked up, and their own ids and reasons; a rule
        fired more than once, and no other, is its prepared entry. A closure over what it
        reads: on the path of most varied requests, the attribute lookups of a method cost a
        tenth of it.

        Repeats are rare, and a set to drop them costs more than the rest of the OR: two or
        three sorted numbers are compared with their neighbours, and for more, where the packed
        ints hold a bit per rule, the OR's count of rules tells whether there were any. A repeat
        found, or a policy too large for a bit per rule, drops them with a set (`deduplicated`),
        then combines the same way."""
        one, packed, ids, reasons = self._one, self._packed, self._ids, self._reasons
        heads, head_of = self._contributions.heads, self._contributions.head
        rules_at = self._contributions.rules_at
        contribution_bits = self._contributions.contribution_bits
        flags_of = self._flags_of if self._flags_apart else None
        itemgetter = operator.itemgetter

        def deduplicated(fired: list[int]) -> Parts | Entry:
            numbers = sorted(set(fired))
            return one[numbers[0]] if len(numbers) == 1 else several(numbers)

        def several(fired: list[int]) -> Parts | Entry:
            # two or more, sorted by the caller: rule numbers follow ids, sorted numbers sort ids.
            # Two and three (most requests that fire several) are read by index, which costs
            # less than making an itemgetter.
            n = len(fired)
            rule_ids: tuple[str, ...]
            rule_reasons: tuple[str, ...]
            if n == 2:
                a, b = fired
                if a == b:
                    return one[a]
                summary = packed[a] | packed[b]
                rule_ids, rule_reasons = (ids[a], ids[b]), (reasons[a], reasons[b])
            elif n == 3:
                a, b, c = fired
                if a == b or b == c:
                    return deduplicated(fired)
                summary = packed[a] | packed[b] | packed[c]
                rule_ids = (ids[a], ids[b], ids[c])
                rule_reasons = (reasons[a], reasons[b], reasons[c])
            else:
                get = itemgetter(*fired)
                summary = 0
                for bits in get(packed):
                    summary |= bits
                # with no bit per rule (`rules_at` None) only `deduplicated` calls this, with
                # distinct numbers
                if rules_at is not None and (summary >> rules_at).bit_count() != n:
                    return deduplicated(fired)  # some rule fired twice
                rule_ids, rule_reasons = get(ids), get(reasons)
            summary &= contribution_bits
            head = heads.get(summary)
            if head is None:
                head = head_of(summary)
            decision, obligations, citations, flags = head
            if flags_of is not None:
                flags = flags_of(decision, fired)
            return (flags, decision, obligations, citations, rule_ids, rule_reasons)

        return several if rules_at is not None else deduplicated

    def _several_decision(self, fired: list[int]) -> Decision:
        """`_several`'s decision, when no output reads the request."""
        parts = self._several(fired)
        if isinstance(parts, Decision):  # one rule, repeated: its prepared decision
            return parts
        flags, *base = parts
        return _new_decision((*base, self._output_pairs(flags), None))

    def _finish(self, entry: list[Any], key: Any) -> Decision:
        """The decision for a prepared entry and output values: built, and kept while the
        bounds allow (the entry's oldest decision makes room when it holds its most; when all
        entries hold their most, every one forgets its decisions)."""
        names = self._output_names
        outputs = ((names[0], key),) if len(names) == 1 else tuple(zip(names, key, strict=True))
        decision = _new_decision((*entry[BASE], outputs, None))
        size = decision_bytes(key)
        if size > self.byte_limit // 2:  # never kept: it would crowd out every other
            return decision
        decisions: dict[Any, Decision] = entry[DECISIONS]
        if len(decisions) >= MAX_CACHED_OUTPUTS:
            try:
                oldest = next(iter(decisions))
                del decisions[oldest]
            except (StopIteration, RuntimeError, KeyError):  # another thread got there first
                return decision
            self.decisions -= 1
            self.kept_bytes -= decision_bytes(oldest)
        if self.decisions >= MAX_CACHED_DECISIONS or self.kept_bytes + size > self.byte_limit:
            self._restart()
        if not decisions:
            self._holding.append(entry)
        decisions[key] = decision
        self.decisions += 1
        self.kept_bytes += size
        return decision

    def _restart(self) -> None:
        """Every prepared entry forgets the decisions it keeps: the bounds were reached."""
        with self._lock:
            holding, self._holding = self._holding, []
            for entry in holding:
                entry[DECISIONS].clear()
            self.decisions = 0
            self.kept_bytes = 0
            self.restarts += 1

    # ---- introspection ------------------------------------------------------------------------

    def entries(self) -> Iterator[tuple[frozenset[int], Entry]]:
        """The entries prepared at compile time, each with its set of fired rules."""
        one = self._one
        numbers = one.keys() if isinstance(one, dict) else range(-1, len(one) - 1)
        for n in numbers:
            yield (frozenset() if n < 0 else frozenset({n})), one[n]

    # ---- requests the fast path did not accept ----------------------------------------------

    def _slow(self, context: Any) -> Decision:
        """Anything the fast path did not accept: validate precisely (raising `ContextError`),
        then decide the normalised context, which the fast path always accepts."""
        normalised = _exact(validate(self._schema, context, self.entities))
        return self._decide(normalised, _refuse)

    def use_entities(self, store: EntityStore) -> None:
        """Decide from now on with `store`'s entities (one assignment each: a decision running
        meanwhile reads one store or the other, never a mix)."""
        self.entities = store
        self.generated.namespace["_STORE"] = store.by_type

    def decide_normalised(self, normalised: Mapping[str, Any], store: EntityStore) -> Decision:
        """Decide a context the validator made, its entities resolved in `store`."""
        return self._decide(_exact(normalised), _refuse, store.by_type)


# ---- size estimates -------------------------------------------------------------------------
# What a kept decision costs beyond what the policy holds anyway (rule ids, reasons, citations,
# which decisions share): the object, its outputs, its dict slot and its output values. Measured
# on CPython 3.11 and rounded up; an estimate to bound memory by, not an exact count.


def decision_bytes(values: Any) -> int:
    """A decision for output values `values` (its key): object, outputs, dict
    slot, and the values themselves."""
    if type(values) is tuple:
        return 600 + 120 * len(values) + sum(map(_value_bytes, values))
    return 720 + _value_bytes(values)


def _value_bytes(value: Any) -> int:
    cls = type(value)
    if cls is bool or value is None:
        return 0
    if cls is tuple or cls is frozenset or cls is list:
        return sys.getsizeof(value) + sum(map(_value_bytes, value))
    return sys.getsizeof(value)


def _record(rule: ir.RuleInfo) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": rule.id,
        "effect": rule.effect,
        "cite": frozenset(rule.cite),
        "tags": frozenset(rule.tags),
    }
    record.update(rule.annotations)
    return record


def _exact(value: Any) -> Any:
    """A validated value rebuilt from exact built-in types, as the fast path's class tests want
    them: the validator accepts and keeps subclasses (an `IntEnum`, a `str` subclass), and makes
    sets frozensets, which the fast path refuses like any Python set (the validator does too)."""
    if value.__class__ is Entity:  # resolved in the entity data: taken as it is (and its
        return value  # references may form a cycle, which must not be walked)
    if isinstance(value, dict):
        return {key: _exact(v) for key, v in value.items()}
    if isinstance(value, tuple | frozenset):
        return tuple(_exact(v) for v in value)
    if isinstance(value, bool) or value.__class__ in _CHECKED_TIMES or value.__class__ is Scaled:
        return value  # a datetime, duration or decimal the validator made: its class says so
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return int.__int__(value)
    return value


_CHECKED_TIMES = (datetimes.Datetime, datetimes.Duration)


def _refuse(context: Any) -> Decision:
    """The fast path failed on a validated request: datetime arithmetic that overflowed (the
    error being handled says so) is the policy's `EvaluationError`; anything else, a fault."""
    failed = sys.exc_info()[1]
    if isinstance(failed, datetimes.TimeOverflow):
        raise EvaluationError(f"cannot evaluate the policy: {failed}") from failed
    raise CompiledEvaluatorError("the compiled evaluator rejected a validated context")
