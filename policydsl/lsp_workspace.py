"""The language server's view of a policy set: editor buffers over files on disk, parsed block by
block (`pieces`), recovered past syntax errors, and checked as `policyc check` checks.

A folder is one policy set: an open file's set is every `.policy` file under its folder (as
`policyc check FOLDER` reads it), an open buffer standing in for its file. Diagnostics are exactly
`policyc check`'s (`tests/test_lsp.py` holds them equal); the symbol index is built from each
file's declarations that parse, so hover and completion outlive a half-typed declaration.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from policydsl import model, nodes
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.gc_pause import collection_paused
from policydsl.loader import check_trees, policy_files
from policydsl.parser import parse, read_source
from policydsl.pieces import Pieces, file_errors, recover, to_file
from policydsl.rule_memo import RuleMemo
from policydsl.source import Source
from policydsl.symbols import Index


@attrs.frozen
class Parsed:
    """One file's text parsed: its tree (None on error), its diagnostics, and the tree the index
    reads (the tree itself, or the declarations of the file that parse)."""

    source: Source
    tree: nodes.PolicyFile | None
    diagnostics: tuple[Diagnostic, ...]
    recovered: nodes.PolicyFile | None


@attrs.frozen
class Analysis:
    """A policy set at one moment: each file parsed, and the index over them."""

    root: str
    parsed: tuple[Parsed, ...]
    read_errors: tuple[Diagnostic, ...]
    workspace: Workspace = attrs.field(eq=False, repr=False)

    _built: list[Index] = attrs.field(factory=list, eq=False, repr=False)  # the index, once made

    @property
    def index(self) -> Index:
        """Built on first use, after the check: the diagnostics do not wait for it, and it
        reads the types of the set's latest checked model."""
        return self.build_index(None)

    def build_index(self, cancelled: Callable[[], bool] | None) -> Index:
        """The index, built now unless `cancelled` says it is no longer wanted (`Cancelled`)."""
        if not self._built:
            trees = [(p.source, p.recovered) for p in self.parsed if p.recovered is not None]
            last = self.workspace.last_checked.get(self.root)
            self._built.append(Index(trees, last, cancelled))
        return self._built[0]


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
        self.pieces = Pieces()
        self.memos: dict[str, RuleMemo] = {}  # each set's rule checks, kept between checks

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
        return Analysis(root, tuple(parsed), tuple(read_errors), self)

    def _parse(self, source: Source) -> Parsed:
        known = self._parsed.get(source.name)
        if known is not None and known.source.text == source.text:
            return known
        tree, blocks = self.pieces.parse(source)
        diags: list[Diagnostic] = []
        if tree is None:  # what `policyc check` says: read off the blocks, or the whole parse
            known_errors = file_errors(source, blocks)
            if known_errors is not None:
                diags = known_errors
            else:
                tree, diags = parse(source)
        if tree is not None:
            result = Parsed(source, tree, tuple(diags), tree)
            self._last_good[source.name] = result
        else:
            recovered = recover(source, blocks)
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
        memo = self.memos.setdefault(analysis.root, RuleMemo())
        with collection_paused():
            result = check_parsed(analysis, self.max_cost, memo)
        self._checked[analysis.root] = (key, result)
        if result.checked is not None:
            self.last_checked[analysis.root] = result.checked
        return result

    def forget(self, name: str) -> None:
        """A file closed in the editor: read it from disk from now on."""
        self._parsed.pop(name, None)
        self.pieces.forget(name)


def check_parsed(
    analysis: Analysis, max_cost: int | None = None, memo: RuleMemo | None = None
) -> Checked:
    """`engine.check_with_cost` over trees already parsed: reading or syntax errors alone when
    there are any, else the loader's verdict (checker, lowering, analysis, lints) and the cost
    warnings; every span in its file."""
    from policydsl.cost import DEFAULT_MAX_COST, cost_diagnostics, policy_cost

    diags = [*analysis.read_errors, *(d for p in analysis.parsed for d in p.diagnostics)]
    if not analysis.parsed and not diags:
        empty = f"no `.policy` files in folder `{analysis.root}`"
        diags.append(Diagnostic(Code.EMPTY_FOLDER, empty))
    policy = None
    if not any(d.severity == "error" for d in diags):
        loaded = check_trees([p.tree for p in analysis.parsed if p.tree is not None], memo)
        diags.extend(loaded.diagnostics)
        policy = loaded.checked
        if policy is not None:
            limit = DEFAULT_MAX_COST if max_cost is None else max_cost
            diags.extend(cost_diagnostics(policy_cost(policy), policy, limit))
    found = sorted((to_file(d) for d in diags), key=Diagnostic.sort_key)
    return Checked(tuple(found), policy)


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
