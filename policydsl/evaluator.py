"""The compiled evaluator: builds the program, generates its code, combines the fired rules.

Combining does not rest on a cache. Each rule's contribution is prepared at compile time (its
effect's rank, its obligations and citations, id, reason, its record for `fired` and, where the
flags split per rule, its predicate bits; see `codegen`), and so are the entries for no fired
rule and for each rule fired alone, the common cases. A set of several fired rules is combined
in time proportional to its size: one OR of the rules' packed contributions (`contributions`),
whose decoded head (decision, obligations, citations, flags) is looked up, and the set's own
ids and reasons.

What is cached, and how it is bounded:
- `RuleSetCache`: the entry of each set of several fired rules, keyed by the set (a frozenset:
  firing order and repeats do not matter). Bounded in bytes (`limit`, default
  `MAX_CACHE_BYTES`) by an estimate of what each entry keeps (`entry_bytes`, `decision_bytes`:
  its containers and pointers, not the policy's own strings it shares), in two generations:
  new and promoted entries go to the young one; when it would pass half the limit, it becomes
  the old one and the previous old one is dropped. The estimate never passes the limit. A set
  is kept when it is missed a second time while one of its two slots in a small table
  (`SEEN_MASK`, slots by the set's hash) still holds its last miss (two slots, so that two sets
  that share one and come in turns are kept too); it is then promoted from the old generation
  if it is there. A set that traffic keeps using is kept at once and stays; most
  sets of varied traffic are seen once, and keeping them would only churn. The table is a few
  kilobytes that stay in the CPU's cache: a miss probes nothing else.
- Per entry, when outputs read the request: the decision built for each tuple of output
  values, at most `MAX_CACHED_OUTPUTS` per entry and `MAX_CACHED_DECISIONS` in all, oldest
  evicted first, their bytes counted in the same young generation (those of the entries
  prepared at compile time are cleared when it turns old).
Decisions are immutable, so one object serves every request that ends the same way. Under
threads the counts are approximate (a racing update can be lost, by one entry per thread);
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
MAX_CACHE_BYTES = 32 * 2**20  # estimated bytes of every cached entry and decision, per policy
MAX_CACHED_OUTPUTS = 256  # decisions kept per rule set (outputs may read the request)
MAX_CACHED_DECISIONS = 65_536  # decisions kept in all

_EMPTY: frozenset[str] = frozenset()
_NOTHING: dict[Any, Decision] = {}  # the decisions of an entry that is not kept: never written
SEEN_MASK = 1_023  # slots remembering recently missed sets, so that a set missed twice is kept

# The base of a decision: (decision, obligations, citations, rule ids, reasons).
Base = tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]
# When outputs read the request, an entry per set of fired rules: [flags, the decisions built
# for output values, base, estimated bytes, prepared at compile time]. Otherwise the entry is
# the set's `Decision` itself.
FLAGS, DECISIONS, BASE, BYTES, PINNED = range(5)
Entry = Any


class CompiledEvaluatorError(EvaluationError):
    """The generated code refused a context the validator accepted: a bug in policydsl."""


class CompiledEvaluator:
    """Decides with Python code generated from the decision-tree IR."""

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
        self._dirty: list[list[Any]] = []  # prepared entries holding decisions of this generation
        self.decisions = 0  # decisions held by entries (approximate under threads)
        bound = {
            "_CACHE": {},
            "_miss": self._miss,
            "_finish": self._finish,
            "_ONE": [],
            "_STORE": {},
        }
        self.generated = generate(self.program, bound, filename)
        namespace = self.generated.namespace
        self.cache = RuleSetCache(
            MAX_CACHE_BYTES if cache_bytes is None else cache_bytes,
            functools.partial(namespace.__setitem__, "_CACHE"),
            self._rotated,
        )
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
        """The entries for each rule fired alone (`_ONE[rule]`) and for none (`_ONE[-1]`).

        Should combining one of them fail (a flag that fails for it), it is left out and
        requests that reach it fail when they decide, as they did before anything was prepared.
        """
        entries: dict[int, Entry] = {}
        for number in [*range(len(self._rules)), -1]:
            try:
                entries[number] = self._combine([] if number < 0 else [number], pinned=True)
            except Exception:
                continue
        if len(entries) == len(self._rules) + 1:  # a list when complete: the faster to index
            self._one = [entries[n] for n in range(len(self._rules))] + [entries[-1]]
        else:
            self._one = entries
        self.generated.namespace["_ONE"] = self._one

    # ---- combining ----------------------------------------------------------------------------

    def _combine(self, numbers: list[int], pinned: bool = False, kept: bool = True) -> Entry:
        """The entry for the fired rules `numbers` (sorted, distinct): effect of best rank,
        obligations of the rules with that effect, citations of all, ids and reasons. An entry
        that will not be `kept` keeps no decisions either."""
        base: Base
        if len(numbers) > 1:
            flags, base = self._several(numbers)
        else:  # compile time: no rule, or one
            if numbers:
                n = numbers[0]
                decision = self._rules[n].effect
                base = (
                    decision,
                    tuple(sorted(self._obligations[n])),
                    tuple(sorted(self._cites[n])),
                    (self._ids[n],),
                    (self._reasons[n],),
                )
            else:
                decision = self.program.default_effect
                base = (decision, (), (), (), ())
            flags = self._flags_of(decision, numbers)
        if self._direct:
            if self._outputs is None:
                return _new_decision((*base, (), None))
            values = self._outputs(flags)
            outputs = tuple(zip(self._output_names, values, strict=True))
            return _new_decision((*base, outputs, None))
        if not kept:
            return (flags, _NOTHING, base, 0, False)
        return [flags, {}, base, entry_bytes(len(numbers), base, len(flags)), pinned]

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

    def _several(self, numbers: list[int]) -> tuple[tuple[Any, ...], Base]:
        """(flags, base) of several fired rules (sorted, distinct): one OR of their packed
        contributions, whose head is looked up, and their own ids and reasons."""
        get = operator.itemgetter(*numbers)  # with two numbers or more, tuples
        summary = 0
        for bits in get(self._packed):
            summary |= bits
        contributions = self._contributions
        head = contributions.heads.get(summary)
        if head is None:
            head = contributions.head(summary)
        decision, obligations, citations, flags = head
        if self._flags_apart:
            flags = self._flags_of(decision, numbers)
        return flags, (decision, obligations, citations, get(self._ids), get(self._reasons))

    def _miss(self, key: frozenset[int]) -> Entry:
        """The entry of a set of several fired rules that the young generation does not hold.

        The path most requests of varied traffic take. A set missed for the first time (as far
        as the cache's table of recent misses knows) is combined into a bare entry that keeps
        nothing, which `_finish` turns into the decision at once; missed again, it is kept."""
        numbers = sorted(key)
        if len(numbers) == 1:  # one rule, fired more than once
            return self._one[numbers[0]]
        cache = self.cache
        if not cache.missed_before(key):
            return self._combine(numbers, kept=False)
        entry = cache.old.get(key)
        if entry is None:
            entry = self._combine(numbers)
        cache.add(key, entry, self._bytes(entry, len(key)))
        return entry

    def _bytes(self, entry: Entry, size: int) -> int:
        if isinstance(entry, Decision):
            return entry_bytes(size, _base_of(entry), 0) + decision_bytes(entry.outputs)
        estimate: int = entry[BYTES]
        return estimate

    def _finish(self, entry: list[Any], key: Any) -> Decision:
        """The decision for a rule set and output values: built, and kept while the bounds
        allow (the entry's oldest decision makes room when it or all entries hold their most)."""
        names = self._output_names
        outputs = ((names[0], key),) if len(names) == 1 else tuple(zip(names, key, strict=True))
        decision = _new_decision((*entry[BASE], outputs, None))
        decisions: dict[Any, Decision] = entry[DECISIONS]
        if decisions is _NOTHING:
            return decision
        size = decision_bytes(key)
        if len(decisions) >= MAX_CACHED_OUTPUTS or self.decisions >= MAX_CACHED_DECISIONS:
            if not decisions:  # every entry but this one holds them: a new generation
                self.cache.rotate()
                return decision
            try:
                oldest = next(iter(decisions))
                del decisions[oldest]
            except (StopIteration, RuntimeError, KeyError):  # another thread got there first
                return decision
            entry[BYTES] -= decision_bytes(oldest)
            self.decisions -= 1
        if not self.cache.charge(size):
            return decision
        if entry[PINNED] and not decisions:
            self._dirty.append(entry)
        decisions[key] = decision
        entry[BYTES] += size
        self.decisions += 1
        return decision

    def _rotated(
        self, dropped: dict[frozenset[int], Entry], kept: dict[frozenset[int], Entry]
    ) -> None:
        """The cache dropped a generation: forget its decisions, and those of the prepared
        entries (charged to the generation that just turned old)."""
        if self._direct:
            return
        gone = sum(len(e[DECISIONS]) for k, e in list(dropped.items()) if kept.get(k) is not e)
        dirty, self._dirty = self._dirty, []
        for entry in dirty:
            gone += len(entry[DECISIONS])
            entry[DECISIONS].clear()
            entry[BYTES] = entry_bytes(1, entry[BASE], len(entry[FLAGS]))
        self.decisions = max(0, self.decisions - gone)

    # ---- introspection ------------------------------------------------------------------------

    def entries(self) -> Iterator[tuple[frozenset[int], Entry]]:
        """Every entry held: those prepared at compile time, then the cache's."""
        one = self._one
        numbers = one.keys() if isinstance(one, dict) else range(-1, len(one) - 1)
        for n in numbers:
            yield (frozenset() if n < 0 else frozenset({n})), one[n]
        yield from list(self.cache.old.items())
        yield from list(self.cache.young.items())

    @property
    def _cache(self) -> dict[frozenset[int], Entry]:
        """Every entry by its set of fired rules (what older tests read)."""
        return dict(self.entries())

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


class RuleSetCache:
    """Entries per set of fired rules, bounded in estimated bytes, in two generations.

    `young` is what the generated code reads first (published to it as `_CACHE` each time it
    changes); `old` is probed on a miss. `bytes` never passes `limit`: each generation holds at
    most half of it. An entry estimated above half the limit is never kept.
    """

    def __init__(
        self,
        limit: int,
        publish: Callable[[dict[frozenset[int], Entry]], None],
        rotated: Callable[[dict[frozenset[int], Entry], dict[frozenset[int], Entry]], None],
    ):
        self.limit = limit
        self.young: dict[frozenset[int], Entry] = {}
        self.old: dict[frozenset[int], Entry] = {}
        self.young_bytes = 0
        self.old_bytes = 0
        self.rotations = 0
        # the last set missed per slot (by hash): a set missed again while still here is kept
        self.recent: list[int] = [0] * (SEEN_MASK + 1)
        self._publish = publish
        self._rotated = rotated
        self._lock = threading.Lock()  # one rotation at a time
        publish(self.young)

    @property
    def bytes(self) -> int:
        """The estimated bytes of what both generations hold (an entry in both counts twice)."""
        return self.young_bytes + self.old_bytes

    def __len__(self) -> int:
        return len(self.young.keys() | self.old.keys())

    def charge(self, size: int) -> bool:
        """Count `size` more bytes in the young generation, turning it old first if they would
        not fit; False if they could never fit."""
        half = self.limit // 2
        if size > half:
            return False
        if self.young_bytes + size > half:
            self.rotate()
        self.young_bytes += size
        return True

    def add(self, key: frozenset[int], entry: Entry, size: int) -> None:
        if self.charge(size):
            self.young[key] = entry

    def missed_before(self, key: frozenset[int]) -> bool:
        """Whether a set the young generation lacks was missed lately (one of its two slots of
        `recent` still holds it); if not, it is remembered there now."""
        recent, digest = self.recent, hash(key)  # a frozenset computes its hash once, keeps it
        first, second = digest & SEEN_MASK, (digest >> 20) & SEEN_MASK
        if recent[first] == digest or recent[second] == digest:
            return True
        recent[first] = recent[second] = digest
        return False

    def rotate(self) -> None:
        """The young generation becomes the old one; the old one is dropped."""
        with self._lock:
            dropped, self.old = self.old, self.young
            self.old_bytes, self.young_bytes = self.young_bytes, 0
            self.young = {}
            self._publish(self.young)
            self.rotations += 1
            self._rotated(dropped, self.old)


# ---- size estimates -------------------------------------------------------------------------
# What an entry keeps beyond what the policy holds anyway (rule ids, reasons, citations, which
# entries share): its key, list, base tuples, flags, the dict slots it takes, and for decisions
# the object and its outputs. Measured on CPython 3.11 and
# rounded up; an estimate to bound memory by, not an exact count.


def entry_bytes(size: int, base: Base, flags: int) -> int:
    """An entry for `size` fired rules: key set, list, base and its tuples, flags, dict slots."""
    pointers = len(base[1]) + len(base[2]) + len(base[3]) + len(base[4])
    return 640 + 40 * size + 8 * pointers + 16 * flags


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


def _base_of(decision: Decision) -> Base:
    return (
        decision.decision,
        decision.obligations,
        decision.citations,
        decision.rules,
        decision.reasons,
    )


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
