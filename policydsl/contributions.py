"""Each rule's contribution to a decision, packed into one int, so that a set of fired rules is
combined with one OR over them and one dict lookup.

Combining a set takes the best effect's rank, the obligations of the rules with that effect, the
citations of all, and for the flags the OR and the AND of the rules' predicate bits (see
`codegen`). Each of these is a bitwise OR over the rules once laid out in bit fields of one int
(lowest bit first):

    ranks       one bit per effect, set at the rule's rank: the lowest bit set is the best rank
    citations   one bit per distinct citation, in sorted order
    some        the rule's predicate bits (their OR over the set is "some rule")
    not every   the predicate bits it lacks (their OR is the complement of "every rule")
    obligations per rank, one bit per distinct obligation in sorted order, shifted to its rank's
                field: only the best rank's field is read, so only its rules' obligations count
    rules       one bit per rule (policies of up to `MAX_RULE_BITS` rules): the set's rules, whose
                count tells whether a rule was fired twice without building a set of them

The OR of a set's ints, its *summary*, determines the decision, obligations, citations and flags
(its `Head`), which are decoded from it once and kept in a bounded memo: distinct summaries are
few when rules share effects and citations, and when they are not, decoding is proportional to
the bits set. Rule ids and reasons are the set's own and are read per set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

MAX_HEADS = 4_096  # summaries decoded and kept; past it the memo starts again
MAX_RULE_BITS = 256  # past it, ints a bit per rule wide would cost more to OR than they save

Head = tuple[str, tuple[str, ...], tuple[str, ...], tuple[Any, ...]]
FlagsFunction = Callable[[str, int, int], tuple[Any, ...]]


class Contributions:
    """The packed contributions of a policy's rules, and the heads of their summaries."""

    def __init__(
        self,
        effects: Sequence[str],
        ranks: Sequence[int],
        obligations: Sequence[frozenset[str]],
        citations: Sequence[frozenset[str]],
        predicate_bits: Sequence[int] | None,
        flags: FlagsFunction | None,
    ):
        """`predicate_bits` and `flags` (`_flags_masks`) are None when the flags do not split per
        rule: heads then carry no flags, and the caller derives them from the fired rules."""
        self._effects = tuple(effects)
        self._citations = tuple(sorted(set().union(*citations)))
        self._obligations = tuple(sorted(set().union(*obligations)))
        self._flags = flags
        bits = list(predicate_bits) if predicate_bits is not None and flags else []
        width = max((b.bit_length() for b in bits), default=0)
        self._predicates = (1 << width) - 1
        self._cite_at = len(self._effects)
        self._some_at = self._cite_at + len(self._citations)
        self._not_every_at = self._some_at + width
        self._obligations_at = self._not_every_at + width
        self._obligation_width = len(self._obligations)
        cite_bit = {c: 1 << i for i, c in enumerate(self._citations)}
        obligation_bit = {o: 1 << i for i, o in enumerate(self._obligations)}
        rules_at = self._obligations_at + len(self._effects) * self._obligation_width
        # the rules field's offset, and the bits below it, which a head depends on
        self.rules_at: int | None = rules_at if len(ranks) <= MAX_RULE_BITS else None
        self.contribution_bits = (1 << rules_at) - 1
        self.packed: list[int] = []
        for n, rank in enumerate(ranks):
            value = 1 << rank
            value |= sum(cite_bit[c] for c in citations[n]) << self._cite_at
            if bits:
                value |= bits[n] << self._some_at
                value |= (self._predicates & ~bits[n]) << self._not_every_at
            field = self._obligations_at + rank * self._obligation_width
            value |= sum(obligation_bit[o] for o in obligations[n]) << field
            if self.rules_at is not None:
                value |= 1 << (self.rules_at + n)
            self.packed.append(value)
        self.heads: dict[int, Head] = {}  # decoded summaries (read them first); emptied when full

    @property
    def has_flags(self) -> bool:
        """Whether heads carry the flags (else they are `()` and the caller derives them)."""
        return self._flags is not None

    def head(self, summary: int) -> Head:
        """(decision, obligations, citations, flags) of a non-empty set with this summary (its
        contribution bits: `summary & contribution_bits`)."""
        head = self.heads.get(summary)
        if head is None:
            head = self._decode(summary)
            if len(self.heads) >= MAX_HEADS:
                self.heads.clear()  # in place: the evaluator's combiner holds this dict
            self.heads[summary] = head
        return head

    def _decode(self, summary: int) -> Head:
        best = (summary & -summary).bit_length() - 1
        decision = self._effects[best]
        citations = _chosen(self._citations, summary >> self._cite_at)
        field = self._obligations_at + best * self._obligation_width
        obligations = _chosen(self._obligations, summary >> field)
        flags: tuple[Any, ...] = ()
        if self._flags is not None:
            some = (summary >> self._some_at) & self._predicates
            every = self._predicates & ~(summary >> self._not_every_at)
            flags = self._flags(decision, some, every)
        return decision, obligations, citations, flags


def _chosen(names: tuple[str, ...], bits: int) -> tuple[str, ...]:
    """The names whose bit is set among the low `len(names)` bits of `bits`, in order."""
    return tuple(name for i, name in enumerate(names) if bits >> i & 1)
