"""The language server's view of a policy set: editor buffers over files on disk, parsed once per
text, recovered past syntax errors, and checked as `policyc check` checks.

A folder is one policy set: an open file's set is every `.policy` file under its folder (as
`policyc check FOLDER` reads it), an open buffer standing in for its file. Diagnostics are exactly
`policyc check`'s (`tests/test_lsp.py` holds them equal); the symbol index is built from each
file's latest tree that parses, so hover and completion outlive a half-typed declaration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import attrs

from policydsl import lower, model, nodes
from policydsl.analysis import analyse
from policydsl.checker import check as check_files
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic, PolicyError
from policydsl.gc_pause import collection_paused
from policydsl.loader import policy_files
from policydsl.parser import parse, read_source
from policydsl.source import LINE_BREAK, Source
from policydsl.symbols import Index

# Where a declaration may start: a keyword at the start of a line (the formatter's layout).
_DECL_START = re.compile(
    r"^(?:enum|context|effects|annotation|obligations|def|table|rule|output)\b", re.MULTILINE
)
MAX_RECOVERY = 8  # declarations blanked out of one file before giving up on recovering it


@attrs.frozen
class Parsed:
    """One file's text parsed: its tree (None on error), its diagnostics, and the tree the index
    reads (the tree itself, or the file with its broken declarations blanked out)."""

    source: Source
    tree: nodes.PolicyFile | None
    diagnostics: tuple[Diagnostic, ...]
    recovered: nodes.PolicyFile | None


@attrs.frozen
class Analysis:
    """A policy set at one moment: each file parsed and the index over them."""

    root: str
    parsed: tuple[Parsed, ...]
    read_errors: tuple[Diagnostic, ...]
    index: Index = attrs.field(eq=False)


@attrs.frozen
class Checked:
    """What `policyc check` says of the set, and its checked model when it has no errors."""

    diagnostics: tuple[Diagnostic, ...]
    checked: model.CheckedPolicy | None


def set_root(path: Path) -> Path:
    """The folder whose `.policy` files make the policy set of the file at `path`."""
    return path.parent


def set_files(root: Path, open_paths: Sequence[Path]) -> list[Path]:
    """The set's files: those on disk under `root` and the open buffers under it, sorted."""
    found: set[Path] = set()
    if root.is_dir():
        on_disk, _ = policy_files([root])
        found.update(p.resolve() for p in on_disk)
    found.update(p for p in open_paths if p == root or root in p.parents)
    return sorted(found)


class Workspace:
    """Parses each file once per text (the other files of a set are not parsed again when one
    changes) and keeps, per file, the last tree that parsed for the index to fall back on."""

    def __init__(self, max_cost: int | None = None) -> None:
        self.max_cost = max_cost
        self._parsed: dict[str, Parsed] = {}
        self._last_good: dict[str, Parsed] = {}
        self._checked: dict[str, tuple[tuple[Source, ...], Checked]] = {}
        self.last_checked: dict[str, model.CheckedPolicy] = {}

    def analyse(self, root: str, paths: Sequence[Path], buffers: Mapping[str, str]) -> Analysis:
        """Parse (or reuse) every file of a set; `buffers` maps a file name to its editor text."""
        with collection_paused():  # as `load` does: the trees are many small objects
            return self._analyse(root, paths, buffers)

    def _analyse(self, root: str, paths: Sequence[Path], buffers: Mapping[str, str]) -> Analysis:
        parsed: list[Parsed] = []
        read_errors: list[Diagnostic] = []
        for path in paths:
            name = str(path)
            if name in buffers:
                source: Source | Diagnostic = Source(name, buffers[name])
            else:
                source = read_source(path, name)
            if isinstance(source, Diagnostic):
                read_errors.append(source)
                continue
            parsed.append(self._parse(source))
        for name, text in buffers.items():  # a buffer with no file: a set of its own
            if not any(p.source.name == name for p in parsed) and not paths:
                parsed.append(self._parse(Source(name, text)))
        trees = [(p.source, p.recovered) for p in parsed if p.recovered is not None]
        index = Index(trees, self.last_checked.get(root))
        return Analysis(root, tuple(parsed), tuple(read_errors), index)

    def _parse(self, source: Source) -> Parsed:
        known = self._parsed.get(source.name)
        if known is not None and known.source.text == source.text:
            return known
        tree, diags = parse(source)
        if tree is not None:
            result = Parsed(source, tree, tuple(diags), tree)
            self._last_good[source.name] = result
        else:
            recovered = recover(source, diags)
            if recovered is None and source.name in self._last_good:
                recovered = self._last_good[source.name].tree
            result = Parsed(source, None, tuple(diags), recovered)
        self._parsed[source.name] = result
        return result

    def check(self, analysis: Analysis) -> Checked:
        """`policyc check` of the set as it is in the editor: the same diagnostics."""
        key = tuple(p.source for p in analysis.parsed)  # the same objects: compared by identity
        known = self._checked.get(analysis.root)
        if known is not None and known[0] == key and not analysis.read_errors:
            return known[1]
        with collection_paused():
            result = check_parsed(analysis, self.max_cost)
        self._checked[analysis.root] = (key, result)
        if result.checked is not None:
            self.last_checked[analysis.root] = result.checked
            analysis.index.checked = result.checked
        return result

    def forget(self, name: str) -> None:
        """A file closed in the editor: read it from disk from now on."""
        self._parsed.pop(name, None)


def check_parsed(analysis: Analysis, max_cost: int | None = None) -> Checked:
    """`engine.check_with_cost` over trees already parsed: reading or syntax errors alone when
    there are any, else the checker's, lowering's, the analysis' and the cost warnings."""
    from policydsl.cost import DEFAULT_MAX_COST, cost_diagnostics, policy_cost

    diags = [*analysis.read_errors, *(d for p in analysis.parsed for d in p.diagnostics)]
    if not analysis.parsed and not diags:
        diags.append(
            Diagnostic(Code.EMPTY_FOLDER, f"no `.policy` files in folder `{analysis.root}`")
        )
    if any(d.severity == "error" for d in diags):
        return Checked(tuple(sorted(diags, key=Diagnostic.sort_key)), None)
    trees = [p.tree for p in analysis.parsed if p.tree is not None]
    policy, found = check_files(trees)
    diags.extend(found)
    if policy is None:
        return Checked(tuple(sorted(diags, key=Diagnostic.sort_key)), None)
    try:
        lowered = lower.lower(policy)
    except PolicyError as err:
        return Checked(tuple(sorted(diags + err.diagnostics, key=Diagnostic.sort_key)), None)
    diags.extend(analyse(policy, lowered))
    limit = DEFAULT_MAX_COST if max_cost is None else max_cost
    diags.extend(cost_diagnostics(policy_cost(policy), policy, limit))
    return Checked(tuple(sorted(diags, key=Diagnostic.sort_key)), policy)


def recover(source: Source, diagnostics: Sequence[Diagnostic]) -> nodes.PolicyFile | None:
    """The file with the declarations that break it blanked out (spaces for their characters,
    line breaks kept, so every other declaration keeps its offsets), or None.

    The parser stops at the first error; the declaration holding it is blanked, or the one before
    when the error is the first token of a declaration (the previous one never ended), and the
    text parsed again, at most `MAX_RECOVERY` times.
    """
    text = source.text
    starts = [m.start() for m in _DECL_START.finditer(text)]
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    blanked: set[int] = set()
    diags = list(diagnostics)
    for _ in range(MAX_RECOVERY):
        where = next((d.span.start for d in diags if d.span is not None), None)
        if where is None:
            return None
        i = max(0, _chunk_of(starts, where))
        if i > 0 and i - 1 not in blanked and _unclosed(text, starts[i - 1], starts[i]):
            i -= 1  # the declaration before never ended: the error is only where it shows
        while i in blanked and i + 1 < len(starts):
            i += 1
        if i in blanked:
            return None
        blanked.add(i)
        end = starts[i + 1] if i + 1 < len(starts) else len(text)
        text = text[: starts[i]] + _blank(text[starts[i] : end]) + text[end:]
        tree, diags = parse(Source(source.name, text))
        if tree is not None:
            return _rehome(tree, source) if tree.decls else None
    return None


_BRACKETS = re.compile(r'#[^\n]*|"(?:[^"\\\n]|\\.)*"?|[{}\[\]()]')


def _unclosed(text: str, start: int, end: int) -> bool:
    """Whether `text[start:end]` opens more brackets than it closes (strings, comments aside)."""
    depth = 0
    for m in _BRACKETS.finditer(text, start, end):
        token = m.group(0)
        if token in "{[(":
            depth += 1
        elif token in "}])":
            depth -= 1
    return depth > 0


def _chunk_of(starts: list[int], offset: int) -> int:
    import bisect

    return bisect.bisect_right(starts, offset) - 1


def _blank(text: str) -> str:
    """Spaces for every character but line breaks: offsets and line numbers stay as they were."""
    out: list[str] = []
    pos = 0
    for m in LINE_BREAK.finditer(text):
        out.append(" " * (m.start() - pos))
        out.append(m.group(0))
        pos = m.end()
    out.append(" " * (len(text) - pos))
    return "".join(out)


def _rehome(tree: nodes.PolicyFile, source: Source) -> nodes.PolicyFile:
    """The recovered tree's spans point at the blanked copy of the text; offsets are the same,
    so they are pointed back at the editor's source (hover shows what the author wrote)."""
    import copy

    memo: dict[int, object] = {}
    blanked = tree.span.source if tree.span is not None else None
    if blanked is not None:
        memo[id(blanked)] = source
    return copy.deepcopy(tree, memo)


_SUGGESTION = re.compile(r"did you mean `([^`]+)`\?")
_QUOTED = re.compile(r"`([^`]+)`")


def suggested_fix(diagnostic: Diagnostic) -> tuple[int, int, str] | None:
    """The edit a "did you mean" help proposes: (start, end, new text) in the diagnostic's file.

    The misspelt name is the message's first quoted name, found as a word in the text the
    diagnostic underlines; a suggestion for the head of a dotted name replaces the head only.
    """
    span, help_text = diagnostic.span, diagnostic.help
    if span is None or help_text is None:
        return None
    suggestion = _SUGGESTION.search(help_text)
    wrong = _QUOTED.search(diagnostic.message)
    if suggestion is None or wrong is None:
        return None
    new, old = suggestion.group(1), wrong.group(1)
    text = span.source.text[span.start : span.end]
    found = list(re.finditer(rf"(?<!\w){re.escape(old)}(?!\w)", text))
    if not found:
        return None
    start = span.start + found[-1].start()
    if "." in old and "." not in new:
        old = old.split(".", 1)[0]
    return start, start + len(old), new
