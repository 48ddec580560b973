"""The fast parse: one loop over the LALR tables Lark computed, building nodes as it reduces.

Lark's own parse costs seconds on a policy of 10,000 rules (a token object, a tree, a meta and a
chain of wrappers per step). This module reads the same tables as plain data (`Tables`, made by
`lark_grammar` and cached without pickle), lexes as Lark's contextual lexer would (each state's
terminals tried in Lark's order, keywords resolved by exact match as Lark's `UnlessCallback`
does; one regex serves every state, see `parse`), shapes children as Lark's tree builder would
(filtered tokens, inlined `_` rules, `?` rules, `[x]` placeholders) and gives each tree the
positions `propagate_positions` would. A top-level item (a declaration) whose terminals repeat
those of one parsed before is built without the tables, by the same builder calls (`_Plan`):
10,000 rules of one form are parsed once and built 9,999 times more, most of them lexed by one
regex match each (`item_regex`). It never reports an error: on anything it does not expect it
answers None, and the caller asks Lark, whose diagnostics are the reference. It imports nothing
from Lark.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from itertools import pairwise, repeat
from typing import Any, NamedTuple

from policydsl.item_regex import ItemRegex, for_reading

FORMAT = 3  # bump when the shape of `Tables.data` changes


class Token(NamedTuple):
    """A token the transform reads: its text and where it is."""

    value: str
    start: int
    end: int


Build = Callable[[int, int, list[Any]], Any]  # (start, end, children) -> node; start -1: empty

# What a rule does with the children it pops, as Lark's tree builder would:
HELPER = 0  # a `_rule` (Lark's `x*` helpers): its children are spliced into its parent's
PASS = 1  # a `?rule` without alias whose only child passes up as it is (no filtering, no None)
EXPAND1 = 2  # a `?rule` without alias: a single child passes up, else a tree
TREE = 3  # a tree named after the rule (or its alias)
BEGIN = 4  # a HELPER `_x: item`, beginning a list of one
APPEND = 5  # a HELPER `_x: _x tokens... item` (left recursion), appending its last symbol
TREE1 = 6  # a TREE of the one symbol it pops (`?literal: STRING -> str_lit`)


class _Rule(NamedTuple):
    origin: int  # nonterminal id, for the goto
    size: int  # symbols popped
    kind: int
    name: str
    include: tuple[tuple[int, bool, int], ...]  # (index, splice a helper, Nones before)
    nones_after: int


class Tables:
    """The grammar's tables as plain data (JSON-ready: lists, strings, ints, bools), compiled.

    `data` keys: `terminals` (names; ids index it), `end` (id of `$END`), `start_state`,
    `end_state`, `lexers` (each a list of `[terminal id, regex]` in Lark's order, a list of
    ignored ids, `unless`: `[[regex terminal id, [[text, terminal id], ...]], ...]` and
    whether ignored text may be skipped first), `root_lexer` (the same for all terminals),
    `states` (each `[lexer index, [terminal id, action, ...], [nonterminal id, state, ...]]`;
    an action >= 0 shifts to that state, -1-r reduces rule r), `rules` (each `[origin, size,
    kind, name, [[index, splice, nones], ...], nones_after]`) and `literals` (terminal name →
    its literal text, for the reserved words and the hints).
    """

    def __init__(self, data: dict[str, Any]):
        self.data = data
        self.terminals: list[str] = list(data["terminals"])
        self.end: int = data["end"]
        self.start_state: int = data["start_state"]
        self.end_state: int = data["end_state"]
        self.literals: dict[str, str] = dict(data["literals"])
        # each bracket's terminal: +1 opens, -1 closes (the parse measures their nesting)
        self.brackets: dict[int, int] = {
            self.terminals.index(name): 1 if text in "([{" else -1
            for name, text in self.literals.items()
            if text in ("(", "[", "{", ")", "]", "}") and name in self.terminals
        }
        self.actions: list[dict[int, int]] = []
        self.gotos: list[dict[int, int]] = []
        self.state_lexer: list[int] = []
        for lexer, actions, gotos in data["states"]:
            self.state_lexer.append(lexer)
            self.actions.append(dict(zip(actions[::2], actions[1::2], strict=True)))
            self.gotos.append(dict(zip(gotos[::2], gotos[1::2], strict=True)))
        self.rules = [
            _Rule(o, s, k, n, tuple((i, bool(x), z) for i, x, z in inc), after)
            for o, s, k, n, inc, after in data["rules"]
        ]
        # what the parse loop reads per rule, reversed: an action -1-r reads rule r
        self.reductions = [
            (_kind(rule), rule.size, rule.origin, _direct(rule), rule)
            for rule in reversed(self.rules)
        ]
        self._lexers: list[_Lexer | None] = [None] * len(data["lexers"])
        self._root: _Lexer | None = None
        self.passes: dict[int, int] = {}  # (state below, state, token) as one int -> state after
        self._reads: dict[tuple[int, frozenset[tuple[int, frozenset[str]]]], dict[int, _Read]] = {}
        self._words: dict[tuple[int, frozenset[tuple[int, frozenset[str]]]], dict[int, _Words]] = {}
        # each plan's `ItemRegex` by its reading (`_item_regex`), or None where it has none
        self.item_regexes: dict[Any, ItemRegex | None] = {}

    def root(self) -> _Lexer:
        """The lexer of every terminal (Lark's root lexer), compiled on first use."""
        if self._root is None:
            self._root = _Lexer(*self.data["root_lexer"])
        return self._root

    def words(self, index: int, wary: dict[int, frozenset[str]]) -> dict[int, _Words]:
        """The terminals of one lexer, each with the keywords its text may be and the words
        to be wary of; ignored ones too. Kept, as `reads`."""
        key = (index, frozenset(wary.items()))
        found = self._words.get(key)
        if found is None:
            found = self._words[key] = self._make_words(index, wary)
        return found

    def _make_words(self, index: int, wary: dict[int, frozenset[str]]) -> dict[int, _Words]:
        terminals, ignore, unless, *_ = self.data["lexers"][index]
        keywords = {tid: {text: to for text, to in pairs} for tid, pairs in unless}
        return {
            tid: (keywords.get(tid), wary.get(tid))
            for tid in [tid for tid, _ in terminals] + list(ignore)
        }

    def reads(self, index: int, wary: dict[int, frozenset[str]]) -> dict[int, _Read]:
        """`_reads`, kept: parsing a small policy would otherwise cost mostly this."""
        key = (index, frozenset(wary.items()))
        found = self._reads.get(key)
        if found is None:
            found = self._reads[key] = _reads(self, index, wary)
        return found

    def lexer(self, index: int) -> _Lexer:
        """The lexer of one group of states, compiled on first use (most are never needed)."""
        found = self._lexers[index]
        if found is None:
            found = self._lexers[index] = _Lexer(*self.data["lexers"][index])
        return found


class _Lexer:
    """One state's terminals as one regex: the first alternative that matches wins, as in Lark.

    When no terminal can start where an ignored one (whitespace, a comment) can, the ignored
    terminals are skipped by an atomic prefix of the same regex, so a token costs one match.
    """

    def __init__(
        self,
        terminals: Sequence[Sequence[Any]],
        ignore: Sequence[int],
        unless: Sequence[Sequence[Any]],
        skip_ignored: bool = False,
    ):
        self.ignore = frozenset(ignore)
        named = [(tid, pattern) for tid, pattern in terminals]
        skipped = [pattern for tid, pattern in named if tid in self.ignore]
        if skip_ignored and skipped:
            named = [(tid, pattern) for tid, pattern in named if tid not in self.ignore]
        alternatives = "|".join(f"(?P<t{tid}>{pattern})" for tid, pattern in named)
        # what `ItemRegex` rebuilds: the alternatives in order, and the ignored text skipped
        self.order = [tid for tid, _ in named]
        self.patterns = [pattern for _, pattern in named]
        self.skipped = skipped if skip_ignored else None
        if skip_ignored and skipped:  # ignored text, then a token if any (None at the end)
            ignored = "|".join(f"(?:{pattern})" for pattern in skipped)
            alternatives = f"(?>(?:{ignored})*)(?:{alternatives})?"
        self.regex = re.compile(alternatives)
        # the group of each alternative (a pattern's own groups are numbered after it)
        self.by_group: dict[int, int] = {
            number: int(name[1:]) for name, number in self.regex.groupindex.items()
        }
        self.unless: dict[int, dict[str, int]] = {
            tid: {text: to for text, to in pairs} for tid, pairs in unless
        }


_new_token = tuple.__new__  # `Token(...)` without the call through NamedTuple's `__new__`

# A state's reading of one of its terminals: (keywords its text may be, words to be wary of)
_Words = tuple[dict[str, int] | None, frozenset[str] | None]
# A state's reading of a group of the root lexer: (terminal id, -1 if ignored; then as _Words)
_Read = tuple[int, dict[str, int] | None, frozenset[str] | None]


def _reads(tables: Tables, index: int, wary: dict[int, frozenset[str]]) -> dict[int, _Read]:
    """How the states of one lexer read each group of the root lexer that is a terminal of
    theirs (the others are for their own lexer)."""
    root = tables.root()
    words = tables.words(index, wary)
    return {
        group: (-1 if tid in root.ignore else tid, *words[tid])
        for group, tid in root.by_group.items()
        if tid in words
    }


def parse(
    text: str,
    tables: Tables,
    builders: dict[str, Build],
    wary: dict[int, frozenset[str]],
    wary_after: frozenset[int] = frozenset(),
) -> tuple[Any, int, int] | None:
    """The node of the whole text, the height of Lark's tree for it and how deep its brackets
    nest, or None when Lark should parse it: a syntax error, or a token whose text
    `wary[terminal id]` holds (a reserved word read as a name, which the parser refuses after
    Lark's parse) unless it follows a token of `wary_after` (a field after a dot)."""
    # Everything the loop reads, looked up once: per rule (negative index: an action -1-r
    # reads rule r) and per lexer; the loop is the whole cost of parsing.
    reduce_info = [
        (kind, size, origin, builders.get(rule.name), direct, rule)
        for kind, size, origin, direct, rule in tables.reductions
    ]
    # One regex for every state (the root lexer's): its match is the state's own wherever it
    # is a terminal of the state's, since every state's lexer tries its terminals in the same
    # order; where it is not, the state's own lexer decides (compiled when first needed).
    root = tables.root()
    root_match = root.regex.match
    reads_of: dict[int, dict[int, _Read]] = {}  # lexer -> root's group -> how the state reads it
    words_of: dict[int, dict[int, _Words]] = {}  # lexer -> its terminals -> keywords, wary
    actions = tables.actions
    gotos = tables.gotos
    state_lexer = tables.state_lexer
    passes = tables.passes
    n_states = len(actions)
    n_terms = len(tables.terminals)
    end_tid = tables.end
    end_state = tables.end_state
    length = len(text)
    states = [tables.start_state]
    stack: list[tuple[Any, int, int, int]] = []  # (value, container start, end, tree height)
    state = tables.start_state
    pos = 0
    previous = end_tid  # the terminal of the token before
    before_previous = end_tid  # and the one before it
    brackets = tables.brackets
    depth = deepest = 0  # brackets open, and the most open at once
    # Items (declarations) whose terminals repeat an item parsed before are built by its plan
    # (`_Plan`), with no table lookups: `plans` holds them, `recorded` the tokens of the item
    # being parsed when it is to be learned, `log` its builds. Learning costs about what
    # parsing does: a text of a few items, or of items that seldom repeat, is parsed alone.
    plans: _Node | None = None
    recorded: list[tuple[int, int, Token, int]] | None = None
    log: list[tuple[Build, int, int, list[Any], Any]] = []
    plain_info = logged_info = reduce_info
    at_item = False  # the parse is between two top-level items, the next not yet lexed
    items = built = missed = 0  # items parsed; of them, built by a plan; items no plan had
    while True:
        if at_item:  # build the items plans have, then learn the next one
            at_item = False
            if plans is None:
                plans = _Node(state_lexer[state], tables.reads(state_lexer[state], wary))
                logged_info = [
                    (kind, size, origin, build and _logged(build, log), direct, rule)
                    for kind, size, origin, build, direct, rule in reduce_info
                ]
            listed = len(stack[0][0])
            pos, previous, stack[0], nested = _replayed(
                text, pos, previous, plans, tables, wary, wary_after, stack[0]
            )
            deepest = max(deepest, nested)
            built += len(stack[0][0]) - listed
            missed += 1
            recorded, reduce_info = [], logged_info
            del log[:]
        # ---- the next token, lexed by the current state's lexer
        entry: tuple[Any, int, int, int] | None = None
        tid = end_tid
        index = state_lexer[state]
        reads = reads_of.get(index)
        if reads is None:
            reads = reads_of[index] = tables.reads(index, wary)
        while pos < length:
            match = root_match(text, pos)
            if match is None:
                return None
            group = match.lastindex or 0
            read = reads.get(group)
            if read is None:
                if group not in root.by_group:  # nothing but ignored text: the end, or an error
                    if match.end() < length:
                        return None
                    pos = length
                    break
                # not a terminal of this state's: its own lexer decides
                words = words_of.get(index)
                if words is None:
                    words = words_of[index] = tables.words(index, wary)
                lexed = _lex(tables.lexer(index), words, text, pos)
                if lexed is None:
                    return None
                tid, start, end, value, wary_of = lexed
                group = -1  # not read through the root lexer: no `ItemRegex` for its item
                if tid < 0:
                    tid = end_tid
                    pos = length
                    break
                if wary_of is not None and value in wary_of and previous not in wary_after:
                    return None
            else:
                tid, keywords, wary_of = read
                if tid < 0:  # ignored
                    pos = match.end(group)
                    tid = end_tid
                    continue
                start, end = match.span(group)
                value = match.group(group)
                if keywords is not None and value in keywords:
                    tid = keywords[value]
                elif wary_of is not None and value in wary_of and previous not in wary_after:
                    return None
            before_previous, previous = previous, tid
            entry = (_new_token(Token, (value, start, end)), start, end, 0)
            if recorded is not None:
                recorded.append((tid, index, entry[0], group))
            if tid in brackets:
                depth += brackets[tid]
                deepest = max(deepest, depth)
            pos = end
            break
        # ---- reduce until the token shifts (or the text is accepted)
        while True:
            action = actions[state].get(tid)
            if action is None:
                return None
            if action >= 0:
                if entry is None:  # $END is never shifted: Lark accepts on the goto
                    return None
                states.append(action)
                stack.append(entry)
                state = action
                break
            kind, size, origin, build, indices, rule = reduce_info[action]
            if kind == PASS:  # the value stays; only the state on top changes
                key = (states[-2] * n_states + state) * n_terms + tid
                after = passes.get(key)
                if after is None:
                    after = passes[key] = _passes(tables, states[-2], state, tid)
                state = states[-1] = after
                if tid == end_tid and state == end_state:
                    return stack[-1][0], stack[-1][3], deepest
                continue
            made: tuple[Any, int, int, int] | None
            if kind == TREE1:
                made = stack[-1]
                if build is not None and made[1] >= 0:
                    made = (build(made[1], made[2], [made[0]]), made[1], made[2], made[3] + 1)
                    stack[-1] = made
                    state = states[-1] = gotos[states[-2]][origin]
                    if tid == end_tid and state == end_state:
                        return made[0], made[3], deepest
                    continue
                kind = TREE
            if kind == BEGIN:  # `_x: item`: a list begins
                made = stack[-1]
                stack[-1] = ([made[0]], made[1], made[2], made[3])
                state = states[-1] = gotos[states[-2]][origin]
                continue
            if kind == APPEND:  # `_x: _x (filtered tokens) item`: the list grows
                first = stack[-size]
                last = stack[-1]
                if first[1] >= 0 and last[2] >= 0:
                    first[0].append(last[0])
                    made = (first[0], first[1], last[2], max(first[3], last[3]))
                    del states[-size:]
                    stack[-size:] = [made]
                    state = gotos[states[-1]][origin]
                    states.append(state)
                    if len(states) == 2 and entry is not None:  # a top-level item ends
                        items += 1
                        if recorded is not None and plans is not None:
                            _learn(plans, recorded, log, last, reads_of, brackets)
                        recorded, reduce_info = None, plain_info
                        if items >= _PLANS_AFTER and missed <= _MISSES + 2 * built + items // 64:
                            # the next item's first token is lexed again, from its plan's node
                            pos, previous, at_item = entry[1], before_previous, True
                            break
                    continue
                kind = HELPER
            if not size:
                made = _reduce(rule, build, [])
            else:
                popped = stack[-size:]
                start = popped[0][1]
                end = popped[-1][2]
                if indices is not None and kind == TREE and start >= 0 and end >= 0:
                    # the common case: a tree of the popped values, positioned by its ends
                    if build is None:
                        return None
                    if len(indices) == 1:  # a clause, `not x`: no lists to build
                        only = popped[indices[0]]
                        made = (build(start, end, [only[0]]), start, end, only[3] + 1)
                    else:
                        made = (
                            build(start, end, [popped[i][0] for i in indices]),
                            start,
                            end,
                            max([popped[i][3] for i in indices]) + 1 if indices else 1,
                        )
                elif kind in (TREE, HELPER) and start >= 0 and end >= 0:
                    # a tree or a helper's list that splices lists or adds placeholders: what
                    # `_reduce` makes, without its search for the ends
                    children: list[Any] = []
                    height = 0
                    for index, splice, nones in rule.include:
                        item = popped[index]
                        if item[3] > height:
                            height = item[3]
                        if nones:
                            children.extend([None] * nones)
                        if splice:
                            children.extend(item[0])
                        else:
                            children.append(item[0])
                    if rule.nones_after:
                        children.extend([None] * rule.nones_after)
                    if kind == HELPER:
                        made = (children, start, end, height)
                    elif build is None:
                        return None
                    else:
                        made = (build(start, end, children), start, end, height + 1)
                else:
                    made = _reduce(rule, build, popped)
                del states[-size:]
                del stack[-size:]
            if made is None:
                return None
            stack.append(made)
            state = gotos[states[-1]][origin]
            states.append(state)
            if tid == end_tid and state == end_state:
                return made[0], made[3], deepest


_PLANS_AFTER = 64  # items parsed before any is learned: a short text is parsed alone
# Items no plan had, beyond twice those built by one, before plans are set aside; they are tried
# again once every 64 items, so that rules of one form after varied declarations are found.
_MISSES = 8


class _Plan:
    """How an item is built from its tokens, as the parse of one with the same terminals built
    it: the same builders called on the same children, from the same tokens (LALR's actions
    depend on the terminals alone, and every item starts from the same stack)."""

    __slots__ = ("depth", "height", "item", "last", "reading", "regex", "steps", "walked")

    def __init__(
        self,
        steps: tuple[tuple[Build, int, int, tuple[int, ...]], ...],
        item: int,
        last: int,
        height: int,
        depth: int,
        reading: tuple[tuple[int, int, int], ...],
    ):
        # (builder, index of the token that starts its tree or -1, that ends it, its children):
        # a child is 0 for a placeholder (None), 1 + i for token i, 1 + n + j for step j's node
        self.steps = steps
        self.item = item  # the child number of the item's node
        self.last = last  # the token that ends the item
        self.height = height  # of the item's tree
        self.depth = depth  # the most brackets open at once in the item (none around it)
        # each token's (terminal, lexer, root lexer group or -1), and the next item's first
        self.reading = reading
        self.walked = 0  # items built by this plan after a token-by-token walk
        self.regex: ItemRegex | None = None  # made after `_REGEX_AFTER` walks, where it can be


class _Node:
    """A point in the terminals of the items learned, from an item's start: how its next token
    is read (its state's lexer), the node after each terminal, and the plans of the items that
    end here, by the terminal of the next item's first token (the one their last reduction
    reads)."""

    __slots__ = ("ends", "index", "next", "reads")

    def __init__(self, index: int, reads: dict[int, _Read]):
        self.index = index
        self.reads = reads
        self.next: dict[int, _Node] = {}
        self.ends: dict[int, _Plan] = {}


def _logged(build: Build, log: list[tuple[Build, int, int, list[Any], Any]]) -> Build:
    """`build`, keeping each call and its node in `log` (while an item is learned)."""

    def logged(start: int, end: int, children: list[Any]) -> Any:
        made = build(start, end, children)
        log.append((build, start, end, list(children), made))
        return made

    return logged


def _learn(
    plans: _Node,
    recorded: list[tuple[int, int, Token, int]],
    log: list[tuple[Build, int, int, list[Any], Any]],
    item: tuple[Any, int, int, int],
    reads: dict[int, dict[int, _Read]],
    brackets: dict[int, int],
) -> None:
    """Keep the plan of an item just parsed: its tokens and the next one, each with its
    terminal and lexer (`recorded`), the builds that made it (`log`) and its stack entry.
    Nothing is kept of an item whose children are not all tokens, nodes and placeholders."""
    if len(recorded) < 2 or recorded[0][2].start != item[1]:  # not this item's tokens alone
        return
    tokens = [token for _, _, token, _ in recorded[:-1]]
    child = {id(token): 1 + i for i, token in enumerate(tokens)}
    starts = {token.start: i for i, token in enumerate(tokens)}
    ends = {token.end: i for i, token in enumerate(tokens)}
    steps: list[tuple[Build, int, int, tuple[int, ...]]] = []
    for build, start, end, children, made in log:
        first = starts.get(start) if start >= 0 else -1
        last = ends.get(end) if end >= 0 else -1
        refs = [0 if value is None else child.get(id(value), -1) for value in children]
        if first is None or last is None or -1 in refs:
            return
        if id(made) in child and not any(made is value for value in children):
            return  # one object made twice (a constant): which step a child is would be a guess
        steps.append((build, first, last, tuple(refs)))
        child[id(made)] = len(tokens) + len(steps)
    item_ref, item_last = child.get(id(item[0])), ends.get(item[2])
    if item_ref is None or item_last is None:
        return
    node = plans
    for (tid, index, _, _), (_, next_index, _, _) in pairwise(recorded):
        if node.index != index or tid in node.ends:
            return
        found = node.next.get(tid)
        if found is None:
            found = node.next[tid] = _Node(next_index, reads[next_index])
        node = found
    depth = deepest = 0
    for tid, _, _, _ in recorded[:-1]:
        depth += brackets.get(tid, 0)
        deepest = max(deepest, depth)
    after = recorded[-1][0]
    if node.index == recorded[-1][1] and after not in node.next:
        reading = tuple((tid, index, group) for tid, index, _, group in recorded)
        plan = _Plan(tuple(steps), item_ref, item_last, item[3], deepest, reading)
        node.ends.setdefault(after, plan)


def _replayed(
    text: str,
    pos: int,
    previous: int,
    plans: _Node,
    tables: Tables,
    wary: dict[int, frozenset[str]],
    wary_after: frozenset[int],
    listed: tuple[Any, int, int, int],
) -> tuple[int, int, tuple[Any, int, int, int], int]:
    """Build the items at `pos` whose terminals a plan has, appending them to the top-level
    list `listed` (a stack entry): (the position after them, the terminal before it, the list
    entry, the most brackets open at once in them). Each item is lexed as the parse would lex
    it (by its plan's `ItemRegex` when the last item's plan has one and it matches), and stops
    at the first token no plan expects, for the parse to take it from its start."""
    root = tables.root()
    root_match = root.regex.match
    deepest = 0
    hot: _Plan | None = None  # the plan of the item before, whose regex is tried first
    while True:
        if hot is not None and hot.regex is not None:
            matched = hot.regex.match(text, pos)
            if matched is not None:
                texts, starts, ends = matched
                tokens = list(map(_new_token, repeat(Token), zip(texts, starts, ends, strict=True)))
                tokens.pop()  # the next item's first token
                listed = _built(hot, tokens, listed)
                pos, previous = starts[-1], hot.reading[-2][0]
                deepest = max(deepest, hot.depth)
                continue
        node = plans
        tokens = []
        at, last_tid = pos, previous
        while True:  # the item's tokens, then the first token of the next item
            match = root_match(text, at)
            if match is None:
                return pos, previous, listed, deepest
            group = match.lastindex or 0
            read = node.reads.get(group)
            if read is not None:
                tid, keywords, wary_of = read
                if tid < 0:  # ignored
                    at = match.end(group)
                    continue
                start, end = match.span(group)
                value = match.group(group)
                if keywords is not None and value in keywords:
                    tid = keywords[value]
                    wary_of = None
            elif group not in root.by_group:  # the end, or an error
                return pos, previous, listed, deepest
            else:  # not a terminal of this state's: its own lexer decides, as in `parse`
                words = tables.words(node.index, wary)
                lexed = _lex(tables.lexer(node.index), words, text, at)
                if lexed is None or lexed[0] < 0:
                    return pos, previous, listed, deepest
                tid, start, end, value, wary_of = lexed
            if wary_of is not None and value in wary_of and last_tid not in wary_after:
                return pos, previous, listed, deepest
            plan = node.ends.get(tid)
            if plan is not None:
                break
            found = node.next.get(tid)
            if found is None:
                return pos, previous, listed, deepest
            node = found
            tokens.append(_new_token(Token, (value, start, end)))
            last_tid = tid
            at = end
        listed = _built(plan, tokens, listed)
        pos, previous, deepest = start, last_tid, max(deepest, plan.depth)
        hot = plan
        plan.walked += 1
        if plan.walked == _REGEX_AFTER:
            plan.regex = _item_regex(tables, plan.reading, wary, wary_after)


_REGEX_AFTER = 16  # items a plan builds token by token before its `ItemRegex` is made


def _built(
    plan: _Plan, tokens: list[Token], listed: tuple[Any, int, int, int]
) -> tuple[Any, int, int, int]:
    """The top-level list entry `listed` with the item `plan` builds from `tokens` appended."""
    values: list[Any] = [None, *tokens]
    for build, first, last, children in plan.steps:
        values.append(
            build(
                tokens[first][1] if first >= 0 else -1,
                tokens[last][2] if last >= 0 else -1,
                [values[i] for i in children],
            )
        )
    items, items_start, _, height = listed
    items.append(values[plan.item])
    return (items, items_start, tokens[plan.last][2], max(height, plan.height))


def _item_regex(
    tables: Tables,
    reading: tuple[tuple[int, int, int], ...],
    wary: dict[int, frozenset[str]],
    wary_after: frozenset[int],
) -> ItemRegex | None:
    """`item_regex.for_reading`, kept on `tables` for later parses."""
    key = (reading, frozenset(wary.items()), wary_after)
    kept = tables.item_regexes
    if key not in kept:
        if len(kept) >= _KEPT_REGEXES:
            kept.clear()
        kept[key] = for_reading(
            reading,
            tables.root(),
            tables.lexer,
            lambda index: tables.words(index, wary),
            wary_after,
        )
    return kept[key]


_KEPT_REGEXES = 64  # item regexes kept per grammar, across parses; then they are made afresh


def _lex(
    lexer: _Lexer, words: dict[int, _Words], text: str, pos: int
) -> tuple[int, int, int, str, frozenset[str] | None] | None:
    """The next token by one state's own lexer, exactly as Lark's: (terminal id, start, end,
    text, the words to be wary of in it), the end as terminal id -1, or None where Lark would
    refuse it."""
    length = len(text)
    while pos < length:
        match = lexer.regex.match(text, pos)
        if match is None:
            return None
        group = match.lastindex or 0
        tid = lexer.by_group.get(group)
        if tid is None:
            if match.end() < length:
                return None
            break
        start, end = match.span(group)
        if tid in lexer.ignore:
            pos = end
            continue
        value = match.group(group)
        keywords, wary_of = words[tid]
        if keywords is not None and value in keywords:
            return keywords[value], start, end, value, None
        return tid, start, end, value, wary_of
    return -1, length, length, "", None


def _kind(rule: _Rule) -> int:
    """A rule's kind, with the two shapes of Lark's `x*` helpers told apart."""
    if rule.kind == HELPER and not rule.nones_after:
        if rule.size == 1 and rule.include == ((0, False, 0),):
            return BEGIN
        last = rule.size - 1
        if rule.size > 1 and rule.include == ((0, True, 0), (last, False, 0)):
            return APPEND
    if rule.kind == TREE and rule.size == 1 and _direct(rule) == (0,):
        return TREE1
    return rule.kind


def _direct(rule: _Rule) -> tuple[int, ...] | None:
    """The indices of the popped values a rule's tree takes as they are, if it splices none
    and adds no placeholder."""
    if rule.nones_after or any(splice or nones for _, splice, nones in rule.include):
        return None
    return tuple(index for index, _, _ in rule.include)


def _passes(tables: Tables, below: int, state: int, token: int) -> int:
    """The state on top after the chain of `PASS` reductions from `state` on `token`, `below`
    staying under it: each replaces the state on top by a goto from `below`."""
    while True:
        action = tables.actions[state].get(token)
        if action is None or action >= 0 or tables.rules[-1 - action].kind != PASS:
            return state
        state = tables.gotos[below][tables.rules[-1 - action].origin]
        if token == tables.end and state == tables.end_state:
            return state


def _reduce(
    rule: _Rule, build: Build | None, popped: list[tuple[Any, int, int, int]]
) -> tuple[Any, int, int, int] | None:
    """The stack entry a reduction makes from the entries it pops, or None if unusual."""
    start = end = -1
    for item in popped:
        if item[1] >= 0:
            start = item[1]
            break
    for item in reversed(popped):
        if item[2] >= 0:
            end = item[2]
            break
    children: list[Any] | None = None
    height = 0
    for index, splice, nones in rule.include:
        value, _, _, child_height = popped[index]
        if child_height > height:
            height = child_height
        if children is None:
            if not nones and splice:  # a helper's list, taken over as Lark does (left recursion)
                children = value
                continue
            children = []
        if nones:
            children.extend([None] * nones)
        if splice:
            children.extend(value)
        else:
            children.append(value)
    if children is None:
        children = []
    if rule.nones_after:
        children.extend([None] * rule.nones_after)
    kind = rule.kind
    if kind == HELPER:
        return (children, start, end, height)
    if kind == EXPAND1 and len(children) == 1:
        found = [item for item in popped if item[0] is children[0]]
        if not found:  # a placeholder, or a child spliced from a helper: unusual here
            return None
        only = found[0]
        if only[3] == 0:  # a token: Lark leaves it as it is
            return only
        # a tree: Lark gives it the container of the raw children, keeping its own span
        return (only[0], start, end, only[3]) if start >= 0 else only
    if build is None or (start < 0 and rule.name != "start"):
        return None  # a rule nothing converts, or a tree with no position: Lark's business
    return (build(start, end, children), start, end, height + 1)
