"""One regex for a whole top-level item of a form the fast parse knows (`lalr._Plan`).

A plan's items are lexed token by token, a match and a few lookups per token: for 10,000 rules
of one form that is most of the parse. Once a plan has served often, its items are matched by
one regex. Per token: the ignored text the lexer skips, then the token's terminal, guarded so
that it matches only where the lexer's alternation would pick that terminal (no earlier
alternative matches there) and taking exactly what the alternation would take (an atomic
group). A token a state's own lexer read is guarded as well by the root lexer's choice, which
must not be one of the state's terminals. Then a lookahead for the next item's first token,
which chose the plan. One match gives every token; keywords and the words to be wary of are
checked on the matched texts, those of one kind at once. The regex reads no more than the token
loop would: where it does not match or a check fails (a keyword where a name was, a reserved
word after a token that is not a dot), the item is lexed token by token, as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from operator import itemgetter
from typing import Any, NamedTuple, Protocol


class Expected(NamedTuple):
    """One token of an item as the plan read it."""

    pattern: str  # a regex for it, whose group `name` is its text
    name: str
    keyword: str | None  # the text it must be (a keyword read from a name), else None
    refused: frozenset[str]  # texts it may not be (keywords, words to be wary of here)


def _getter(groups: Sequence[int]) -> Any:
    """The texts of `groups` of a match's `groups()` (numbered from 1), as a tuple."""
    if len(groups) == 1:
        only = groups[0] - 1
        return lambda values: (values[only],)
    return itemgetter(*[g - 1 for g in groups])


class ItemRegex:
    """The regex of one plan's items, and the checks on what it matched."""

    __slots__ = ("_groups", "_keywords", "_refusals", "_texts", "regex")

    def __init__(self, tokens: Sequence[Expected], after: Expected):
        self.regex = re.compile("".join(e.pattern for e in tokens) + f"(?={after.pattern})")
        everything = [*tokens, after]
        groups = [self.regex.groupindex[e.name] for e in everything]
        # read off a match by C calls alone (`groups()` is numbered from 1)
        self._groups = groups
        self._texts = itemgetter(*[g - 1 for g in groups])
        keyword_groups = [g for g, e in zip(groups, everything, strict=True) if e.keyword]
        self._keywords = (
            (_getter(keyword_groups), tuple(e.keyword for e in everything if e.keyword))
            if keyword_groups
            else None
        )
        by_refusal: dict[frozenset[str], list[int]] = {}
        for group, expected in zip(groups, everything, strict=True):
            if expected.refused:
                by_refusal.setdefault(expected.refused, []).append(group)
        self._refusals = [(_getter(groups), words) for words, groups in by_refusal.items()]

    def match(
        self, text: str, pos: int
    ) -> tuple[Sequence[str], Sequence[int], Sequence[int]] | None:
        """(the texts, starts and ends of the item's tokens and of the next one) where the item
        at `pos` is one of the plan's, else None: then the token loop decides."""
        match = self.regex.match(text, pos)
        if match is None:
            return None
        values = match.groups()
        if self._keywords is not None:
            get, texts = self._keywords
            if get(values) != texts:
                return None
        for get, words in self._refusals:
            if not words.isdisjoint(get(values)):
                return None
        groups = self._groups
        return self._texts(values), list(map(match.start, groups)), list(map(match.end, groups))


class Lexer(Protocol):
    """What `for_reading` needs of a lexer (`lalr._Lexer`): the root's, or a state's own."""

    order: list[int]  # the terminal of each alternative, in order
    patterns: list[str]  # the pattern of each
    skipped: list[str] | None  # the ignored text it skips before a token; None: it does not
    by_group: dict[int, int]  # its regex's group of each alternative -> the terminal


# A lexer's reading of its terminals: (keywords a text may be, words to be wary of), as
# `lalr.Tables.words` gives it
Words = dict[int, tuple[dict[str, int] | None, frozenset[str] | None]]


def _skip(lexer: Lexer) -> str:
    """The ignored text a lexer skips before a token, atomically, as its own regex does."""
    ignored = "|".join(f"(?:{p})" for p in lexer.skipped or ())
    return f"(?>(?:{ignored})*)" if ignored else ""


def _chosen(lexer: Lexer, alternative: int, name: str) -> str:
    """A token the lexer's alternation reads as its alternative number `alternative`: no earlier
    alternative matches there, and it takes what the alternation takes (atomic)."""
    earlier = "|".join(f"(?:{p})" for p in lexer.patterns[:alternative])
    guard = f"(?!{earlier})" if earlier else ""
    return f"{_skip(lexer)}{guard}(?P<{name}>(?>{lexer.patterns[alternative]}))"


def _not_read_by_root(root: Lexer, read: Iterable[int], name: str) -> str:
    """The root lexer's alternation picks a token, of none of the alternatives `read` (then the
    state's own lexer reads it): those alternatives are groups, refused by conditionals."""
    marked = set(read)
    parts = [
        f"(?P<{name}_{a}>{p})" if a in marked else f"(?:{p})" for a, p in enumerate(root.patterns)
    ]
    refuse = "".join(f"(?({name}_{a})(?!))" for a in sorted(marked))
    return f"(?={_skip(root)}(?>{'|'.join(parts)})){refuse}"


def for_reading(
    reading: Sequence[tuple[int, int, int]],
    root: Lexer,
    lexer: Callable[[int], Lexer],
    words: Callable[[int], Words],
    wary_after: frozenset[int],
) -> ItemRegex | None:
    """The regex of a plan's items, from its `reading` (each token's terminal, lexer and the
    root lexer's group, or -1 where the state's own lexer read it; then the next item's first);
    None where a lexer does not skip ignored text first, or a keyword has two texts."""
    expected: list[Expected] = []
    before = -1  # the terminal before the token: unknown for the first, which gets the stricter
    for i, (tid, index, group) in enumerate(reading):
        name = f"k{i}" if i < len(reading) - 1 else "next"
        terminals = words(index)
        if group >= 0:  # the root lexer read it, as a terminal of the state's
            raw, reader, pattern = root.by_group[group], root, ""
        else:  # the root's token is not the state's: the state's own lexer read it
            reader = lexer(index)
            read = [a for a, t in enumerate(root.order) if t in terminals]
            pattern = _not_read_by_root(root, read, name)
            raw = next((t for t in reader.order if t == tid or _keyword(terminals, t, tid)), -1)
        if reader.skipped is None or raw not in reader.order:
            return None
        pattern += _chosen(reader, reader.order.index(raw), name)
        keywords, wary_of = terminals[raw]
        if tid != raw:  # a keyword: the one text that reads as it
            texts = [text for text, to in (keywords or {}).items() if to == tid]
            if len(texts) != 1:
                return None
            expected.append(Expected(pattern, name, texts[0], frozenset()))
        else:
            refused = frozenset(keywords or ())
            if wary_of is not None and before not in wary_after:
                refused |= wary_of
            expected.append(Expected(pattern, name, None, refused))
        before = tid
    return ItemRegex(expected[:-1], expected[-1])


def _keyword(words: Words, terminal: int, tid: int) -> bool:
    """Whether a text of `terminal` may read as the keyword `tid`."""
    keywords = words.get(terminal, (None, None))[0]
    return keywords is not None and tid in keywords.values()
