"""The Lark grammar, loaded once per process from cached tables, and the words it defines.

The parser reads text with it; the syntax hints name its terminals and its reserved words. Both
import this module, so neither imports the other. No Lark object leaves this module but the
parser made by `lark_parser()`, which only `parser` uses.

Building the LALR(1) tables from the grammar costs ~100 ms, more than loading the standard
library with them. So the tables are built once per grammar and Lark version and kept in the
user's cache folder (`parser_cache`: plain JSON in a private folder, never a pickle, never a
shared temporary path, `POLICYDSL_CACHE_DIR=off` to turn it off). Loading them is Lark's own
`Lark.load` on the data `Lark.save` would pickle, so the parser is the same object either way.
The cache key is a hash of everything the tables depend on: the grammar text, the options below,
the Lark version and this module's format. A missing, stale, corrupt or unsafe cache file, or a
folder that cannot be written, means the tables are built here as before: slower, never wrong.

The fast parser (`lalr`) reads the same tables as plain data (`fast_tables()`), cached in a file
of its own whose key needs no Lark import (Lark is known by the hash of its `__init__.py`), so a
process that parses only valid policies never imports Lark: that costs more than loading the
stdlib. Lark is imported here only inside the functions that build or use its parser.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from policydsl import lalr, parser_cache, resources

if TYPE_CHECKING:
    import lark

Origin = Literal["built", "cache"]

_BUILD_LOCK = threading.RLock()  # the fast tables are made from the parser, under it too
_OPTIONS: dict[str, Any] = {
    "parser": "lalr",
    "propagate_positions": True,
    "maybe_placeholders": True,
}
_FORMAT = 1  # bump when what is stored changes shape


def lark_parser() -> lark.Lark:
    """The parser, made once per process: loaded from the cache, or built (and cached)."""
    return _parser_and_origin()[0]


def parser_origin() -> Origin:
    """How this process got its parser (for tests and troubleshooting): `cache` or `built`."""
    return _parser_and_origin()[1]


@cache
def _parser_and_origin() -> tuple[lark.Lark, Origin]:
    with _BUILD_LOCK:
        return load_or_build(parser_cache.cache_dir())


def load_or_build(folder: Path | None) -> tuple[lark.Lark, Origin]:
    """The parser from the tables cached in `folder`, or built and stored there (None: built)."""
    import lark
    from lark.grammar import Rule
    from lark.lexer import TerminalDef

    grammar = resources.grammar_text()
    key = cache_key(grammar)
    name = f"parser-{key[:32]}.json"
    if folder is not None:
        stored = parser_cache.read(folder, name, key)
        if stored is not None:
            try:
                return lark.Lark.load(stored), "cache"
            except Exception:  # tables this Lark cannot load after all: build them anew
                pass
    parser = _build(grammar)
    if folder is not None:
        data, memo = parser.memo_serialize([TerminalDef, Rule])
        parser_cache.write(folder, name, key, {"data": data, "memo": memo})
    return parser, "built"


def cache_key(grammar: str) -> str:
    """The hash of everything the tables depend on."""
    import lark

    parts = {"format": _FORMAT, "lark": lark.__version__, "options": _OPTIONS, "grammar": grammar}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _build(grammar: str) -> lark.Lark:
    """The parser built from the grammar.

    With `interegular` installed, Lark re-proves at every build that no two terminals collide,
    which costs more than the build itself. The grammar's terminals are proven once, by
    `tests/test_grammar.py` in strict mode; here that check is skipped (the caller holds the
    lock, and the flag is restored at once).
    """
    import lark
    import lark.lexer

    saved = lark.lexer.has_interegular
    lark.lexer.has_interegular = False
    try:
        return lark.Lark(grammar, **_OPTIONS)
    finally:
        lark.lexer.has_interegular = saved


@cache
def _terminal_texts() -> dict[str, str]:
    tables = fast_tables()
    if tables is not None:
        return tables.literals
    return _literals(lark_parser())


def _literals(parser: lark.Lark) -> dict[str, str]:
    from lark.lexer import PatternStr

    return {
        term.name: term.pattern.value
        for term in parser.terminals
        if isinstance(term.pattern, PatternStr)
    }


def terminal_text(name: str) -> str | None:
    """The literal text of a grammar terminal (`RBRACE` → `}`), if it has one."""
    return _terminal_texts().get(name)


@cache
def reserved_words() -> frozenset[str]:
    """The grammar's quoted keywords (`rule`, `in`, ...): LANGUAGE.md reserves them all."""
    return frozenset(text for text in _terminal_texts().values() if text.isidentifier())


# ---- the fast parser's tables ------------------------------------------------------------------


def fast_tables() -> lalr.Tables | None:
    """The tables `lalr` parses with, made once per process: read from the cache without
    importing Lark, or taken from Lark's parser (and cached). None when this Lark's parser has
    a shape `lalr` does not know: then Lark parses everything."""
    return _fast_tables_and_origin()[0]


def fast_tables_origin() -> Origin:
    """How this process got its fast tables (for tests): `cache` or `built`."""
    return _fast_tables_and_origin()[1]


@cache
def _fast_tables_and_origin() -> tuple[lalr.Tables | None, Origin]:
    with _BUILD_LOCK:
        return load_or_build_fast(parser_cache.cache_dir())


def load_or_build_fast(folder: Path | None) -> tuple[lalr.Tables | None, Origin]:
    """The fast tables cached in `folder`, or taken from Lark's parser and stored there.

    Tables are kept only when `lalr` shapes trees exactly as this Lark does on a probe (the
    stdlib and `_PROBE`): Lark's trees are the reference, and Lark's own have changed between
    versions (Lark 1.1.6 ends a tree at its first child's container). Where they differ the
    fast parser stays off, and that verdict is cached too.
    """
    key = fast_cache_key(resources.grammar_text())
    name = f"lalr-{key[:32]}.json"
    if folder is not None:
        stored = parser_cache.read(folder, name, key)
        if stored == _UNSUPPORTED:
            return None, "cache"
        if stored is not None:
            try:
                return lalr.Tables(stored), "cache"
            except (KeyError, TypeError, ValueError, IndexError):  # not what we store: rebuild
                pass
    parser = _parser_and_origin()[0]
    data = export_tables(parser)
    tables = lalr.Tables(data) if data is not None else None
    if tables is not None and not _agrees(tables, parser):
        tables = None
    if folder is not None:
        parser_cache.write(folder, name, key, data if tables is not None else _UNSUPPORTED)
    return tables, "built"


_UNSUPPORTED = {"unsupported": True}  # what is cached when the fast parser must stay off

# Every construct of the grammar once, for `_agrees` (the stdlib has most of them).
_PROBE = r"""
enum E { a, b, }
context { x: int[0..] = 1 y: list<string>[..4]? z: set<E>[1..] w: { v: bool } u: int[..-1] }
effects deny > warn > allow default allow refuse deny
annotation sev: int
obligations { log, notify }
def d: int = -(x + 2) * 3 - -4
def f = some t in y: t like "a*" or not (t in ["b", "c"]) and (all s in z: s != a)
table t(k: string, n: int, l: list<int>) {
  "a", -1, [1, 2,]  # a comment
  b, 2, []
  - , 3, [-4]
}
rule r for t: deny {
  when has w.v and x not in [1] and y contains_any ["q"] and z contains_all [] and f(x, (x))
  cite d reason "r\u{e9}" obligations [log] tags [t1, t2] sev 3
}
rule q: allow { when x >= 1 and x starts_with "" and x ends_with "e" and y contains "c" }
output o: string { when decision == deny => "d" otherwise => "n" }
"""


def _agrees(tables: lalr.Tables, parser: lark.Lark) -> bool:
    """Whether `lalr` builds Lark's own trees (names, children, tokens, positions) from the
    probe texts: trees as tuples `(name, start, end, children)`, tokens as `lalr.Token`."""
    import lark

    names = {rule.name for rule in tables.rules if rule.kind != lalr.HELPER}

    def shaped(name: str) -> lalr.Build:
        return lambda start, end, children: (name, start, end, children)

    def lark_shape(node: Any) -> Any:
        if isinstance(node, lark.Tree):
            meta = node.meta
            start, end = (-1, -1) if meta.empty else (meta.start_pos, meta.end_pos)
            return (node.data, start, end, [lark_shape(child) for child in node.children])
        if isinstance(node, lark.Token):
            return lalr.Token(str(node), node.start_pos or 0, node.end_pos or 0)
        return node

    builders = {name: shaped(name) for name in names}
    texts = [_PROBE] + [
        path.read_text(encoding="utf-8")
        for path in sorted(resources.stdlib_path().glob("*.policy"))
    ]
    for text in texts:
        ours = lalr.parse(text, tables, builders, {})
        if ours is None or ours[0] != lark_shape(parser.parse(text)):
            return False
    return True


def fast_cache_key(grammar: str) -> str:
    """The hash of everything the fast tables depend on, found without importing Lark."""
    parts = {
        "format": [_FORMAT, lalr.FORMAT],
        "lark": _lark_version(),
        "options": _OPTIONS,
        "grammar": grammar,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _lark_version() -> str:
    """What identifies the installed Lark, found without importing it (~50 ms): the hash of its
    `__init__.py`, which holds `__version__`."""
    try:
        spec = importlib.util.find_spec("lark")
        if spec is None or spec.origin is None:
            return "none"
        return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()[:16]
    except (ImportError, OSError, ValueError):
        return "unknown"


def export_tables(parser: lark.Lark) -> dict[str, Any] | None:
    """Lark's parse table, lexers and tree-shaping rules as the plain data `lalr.Tables` reads,
    or None when they are not shaped as `lalr` expects (another Lark, another option)."""
    try:
        return _export(parser)
    except (AttributeError, KeyError, TypeError, ValueError, AssertionError):
        return None


def _export(parser: lark.Lark) -> dict[str, Any] | None:
    from lark.lexer import UnlessCallback
    from lark.parsers.lalr_analysis import Shift

    options = parser.options
    if options.g_regex_flags or options.postlex is not None or options.transformer is not None:
        return None
    if parser.lexer_conf.callbacks or options.lexer != "contextual":
        return None
    table = parser.parser.parser.parser.parse_table
    contextual = parser.parser.lexer
    reductions = {
        id(arg): arg
        for actions in table.states.values()
        for action, arg in actions.values()
        if action is not Shift
    }
    rules = list(reductions.values())
    rule_index = {id(rule): i for i, rule in enumerate(rules)}
    nonterminals = sorted({rule.origin.name for rule in rules})
    nt_index = {name: i for i, name in enumerate(nonterminals)}
    terminals = sorted(
        {name for actions in table.states.values() for name in actions} - set(nonterminals)
        | {t.name for t in parser.terminals}
        | {"$END"}
    )
    t_index = {name: i for i, name in enumerate(terminals)}
    lexers: list[Any] = []
    lexer_index: dict[int, int] = {}

    def lexer_data(basic: Any) -> list[Any] | None:
        scanner = basic.scanner  # builds `basic.callback` too
        unless = []
        for name, callback in basic.callback.items():
            if not isinstance(callback, UnlessCallback):
                return None
            pairs = [[t.pattern.value, t_index[t.name]] for t in callback.scanner.terminals]
            unless.append([t_index[name], pairs])
        return [
            [[t_index[t.name], t.pattern.to_regexp()] for t in scanner.terminals],
            sorted(t_index[name] for name in basic.ignore_types),
            unless,
            _may_skip_ignored(scanner.terminals, basic.ignore_types),
        ]

    states: list[Any] = []
    for state in range(len(table.states)):
        actions = table.states[state]
        basic = contextual.lexers[state]
        if id(basic) not in lexer_index:
            lexer_index[id(basic)] = len(lexers)
            data = lexer_data(basic)
            if data is None:
                return None
            lexers.append(data)
        shifts: list[int] = []
        gotos: list[int] = []
        for name, (action, arg) in actions.items():
            if name in nt_index:
                assert action is Shift
                gotos += [nt_index[name], arg]
            else:
                shifts += [t_index[name], arg if action is Shift else -1 - rule_index[id(arg)]]
        states.append([lexer_index[id(basic)], shifts, gotos])
    root = lexer_data(contextual.root_lexer)
    if root is None:
        return None
    return {
        "terminals": terminals,
        "end": t_index["$END"],
        "start_state": table.start_states["start"],
        "end_state": table.end_states["start"],
        "lexers": lexers,
        "root_lexer": root,
        "states": states,
        "rules": [_rule_data(rule, nt_index) for rule in rules],
        "literals": _literals(parser),
    }


def _rule_data(rule: Any, nt_index: dict[str, int]) -> list[Any]:
    """One rule as `lalr` applies it: what Lark's `maybe_create_child_filter`,
    `ExpandSingleChild` and placeholders (`maybe_placeholders=True`) do with its children."""
    options = rule.options
    expansion = rule.expansion
    if options.template_source is not None:
        raise ValueError("templates are not shaped here")
    empty = options.empty_indices
    if empty:
        ones = "".join(str(int(b)) for b in empty).split("0")
        nones_at = [len(run) for run in ones]
    else:
        nones_at = [0] * (len(expansion) + 1)
    assert len(nones_at) == len(expansion) + 1
    include: list[list[Any]] = []
    pending = 0
    for i, sym in enumerate(expansion):
        pending += nones_at[i]
        if options.keep_all_tokens or not (sym.is_term and sym.filter_out):
            splice = not sym.is_term and sym.name.startswith("_")
            include.append([i, splice, pending])
            pending = 0
    after = pending + nones_at[len(expansion)]
    origin = rule.origin.name
    if origin.startswith("_"):
        if options.expand1:
            raise ValueError("an inlined `?_rule` is not shaped here")
        kind = lalr.HELPER
    elif options.expand1 and not rule.alias:
        plain = len(expansion) == 1 and include == [[0, False, 0]] and not after
        kind = lalr.PASS if plain else lalr.EXPAND1
    else:
        kind = lalr.TREE
    name = rule.alias or origin
    return [nt_index[origin], len(expansion), kind, name, include, after]


def _may_skip_ignored(terminals: list[Any], ignore: frozenset[str]) -> bool:
    """Whether no terminal can start with a character an ignored one can start with, so that
    ignored text may be skipped before the terminals are tried (Lark tries them all, in order,
    at every position). Proven from the parsed regexes; anything not understood says no."""
    sre = importlib.import_module("re._parser")  # the `re` module's own reader (no stubs)
    try:
        firsts: set[int] = set()
        for term in terminals:
            if term.name in ignore:
                found = _first_chars(sre.parse(term.pattern.to_regexp()))
                if found is None:
                    return False
                firsts |= found
        return not any(
            _may_start(sre.parse(term.pattern.to_regexp()), code)[0]
            for term in terminals
            if term.name not in ignore
            for code in firsts
        )
    except Exception:  # a pattern this reading does not follow
        return False


def _first_chars(items: Any) -> set[int] | None:
    """The characters a parsed regex can start with, when they are a few known ones."""
    c = importlib.import_module("re._constants")

    found: set[int] = set()
    for op, av in items:
        if op is c.LITERAL:
            return found | {av}
        if op is c.IN and all(o in (c.LITERAL, c.RANGE) for o, _ in av):
            for o, a in av:
                if o is c.LITERAL:
                    found.add(a)
                elif a[1] - a[0] > 256:
                    return None
                else:
                    found.update(range(a[0], a[1] + 1))
            return found
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            inner = _first_chars(av[2])
            if inner is None:
                return None
            found |= inner
            if av[0] > 0:
                return found
            continue
        if op is c.SUBPATTERN and not av[1] and not av[2]:
            inner = _first_chars(av[3])
            if inner is None:
                return None
            return found | inner  # a group that may match nothing is not followed here
        return None
    return None  # may match nothing at all


def _may_start(items: Any, code: int) -> tuple[bool, bool]:
    """(whether a parsed regex may start with the character `code`, whether it may match
    nothing); unknown constructs may do both."""
    c = importlib.import_module("re._constants")

    for op, av in items:
        if op is c.LITERAL:
            return av == code, False
        if op is c.NOT_LITERAL:
            return av != code, False
        if op is c.IN:
            return _in_set(av, code), False
        if op is c.AT:
            continue  # an anchor matches no character
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            may, empty = _may_start(av[2], code)
            if may:
                return True, False
            if av[0] > 0 and not empty:
                return False, False
            continue
        if op is c.SUBPATTERN and not av[1] and not av[2]:
            may, empty = _may_start(av[3], code)
        elif op is c.BRANCH:
            results = [_may_start(alt, code) for alt in av[1]]
            may, empty = any(m for m, _ in results), any(e for _, e in results)
        else:
            return True, True
        if may:
            return True, False
        if not empty:
            return False, False
    return False, True


def _in_set(av: Any, code: int) -> bool:
    c = importlib.import_module("re._constants")

    negate = False
    hit = False
    for op, a in av:
        if op is c.NEGATE:
            negate = True
        elif op is c.LITERAL:
            hit = hit or a == code
        elif op is c.RANGE:
            hit = hit or a[0] <= code <= a[1]
        else:
            return True  # a category: maybe
    return hit != negate
