"""Loading: find the `.policy` files of a policy set, read, parse and check them together.

The cycle collector is paused while a policy set loads (`collection_paused`, see `gc_pause`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import attrs

from policydsl import data_rows, ir, lower, nodes
from policydsl.analysis import analyse
from policydsl.checker import check as check_files
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic, PolicyError
from policydsl.gc_pause import collection_paused
from policydsl.lints import lint, settle
from policydsl.model import CheckedPolicy
from policydsl.parser import parse, read_source
from policydsl.rule_memo import RuleMemo
from policydsl.source import Source

PolicyPath = str | Path


@attrs.frozen
class Loaded:
    """A policy set checked and lowered (both None when it has errors), with every diagnostic.

    The lowered form is made once here: the analysis reads it, and the engine builds its program
    from it.
    """

    checked: CheckedPolicy | None
    lowered: ir.Lowered | None
    diagnostics: list[Diagnostic]
    sources: list[Source] = attrs.field(factory=list)


def policy_files(paths: Sequence[PolicyPath]) -> tuple[list[Path], list[Diagnostic]]:
    """Every `.policy` file named or found (recursively, sorted) under the given paths."""
    found: list[Path] = []
    diags: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.policy") if p.is_file())
            if not files:
                diags.append(
                    Diagnostic(Code.EMPTY_FOLDER, f"no `.policy` files in folder `{path}`")
                )
            found.extend(files)
        elif path.exists():
            found.append(path)
        else:
            diags.append(Diagnostic(Code.FILE_UNREADABLE, f"no such file or folder: `{path}`"))
    return found, diags


def load_checked(paths: Sequence[PolicyPath]) -> Loaded:
    """Read, parse, check and lower a policy set."""
    with collection_paused():
        return _load_checked(paths)


def _load_checked(paths: Sequence[PolicyPath]) -> Loaded:
    files, diags = policy_files(paths)
    parsed: list[nodes.PolicyFile] = []
    sources: list[Source] = []
    for path in files:
        source = read_source(path)
        if isinstance(source, Diagnostic):
            diags.append(source)
            continue
        sources.append(source)
        tree, errors = parse(source)
        diags.extend(errors)
        if tree is not None:
            parsed.append(tree)
    parsed, data, problems = data_rows.attach(parsed, _from_disk)
    sources.extend(data)
    diags.extend(problems)
    if diags and any(d.severity == "error" for d in diags):
        return Loaded(None, None, sorted(diags, key=Diagnostic.sort_key), sources)
    found = _check_and_analyse(parsed)
    every = sorted(diags + found.diagnostics, key=Diagnostic.sort_key)
    return attrs.evolve(found, diagnostics=every, sources=sources)


def _from_disk(path: str) -> Source | Diagnostic:
    """A table's data file, read as a policy file is (size, encoding), named by its path."""
    return read_source(Path(path))


def _given_or_from_disk(sources: Sequence[Source]) -> data_rows.Reader:
    """Data files among `sources` (a policy rebuilt from its sources, a pickled one) by name;
    any other from the disk."""
    given = {s.name: s for s in sources}
    return lambda path: given.get(path) or _from_disk(path)


def is_data(source: Source) -> bool:
    """A table's data file among a policy set's sources: JSON rows, not policy text."""
    return source.name.endswith(".json")


def check_sources(sources: Sequence[Source]) -> Loaded:
    """Parse, check and lower in-memory sources (tests, editors, `policydsl.loads`)."""
    with collection_paused():
        return _check_sources(sources)


def _check_sources(sources: Sequence[Source]) -> Loaded:
    parsed, diags = [], []
    for source in sources:
        if is_data(source):
            continue
        tree, errors = parse(source)
        diags.extend(errors)
        if tree is not None:
            parsed.append(tree)
    parsed, data, problems = data_rows.attach(parsed, _given_or_from_disk(sources))
    every = list(sources) + [d for d in data if d not in sources]
    diags.extend(problems)
    if diags:
        return Loaded(None, None, diags, every)
    return attrs.evolve(_check_and_analyse(parsed), sources=every)


def check_trees(parsed: list[nodes.PolicyFile], memo: RuleMemo | None = None) -> Loaded:
    """`check_sources` for trees already parsed (the language server parses as the text changes,
    block by block): the checker's, the analysis' and the lints' verdict, as `policyc check`'s;
    `memo` keeps rule checks from one call to the next (`rule_memo`). Tables' data files are read
    from the disk."""
    with collection_paused():
        parsed, _data, problems = data_rows.attach(parsed, _from_disk)
        if any(d.severity == "error" for d in problems):
            return Loaded(None, None, sorted(problems, key=Diagnostic.sort_key))
        found = _check_and_analyse(parsed, memo)
        return attrs.evolve(
            found, diagnostics=sorted(problems + found.diagnostics, key=Diagnostic.sort_key)
        )


def _check_and_analyse(parsed: list[nodes.PolicyFile], memo: RuleMemo | None = None) -> Loaded:
    """The checker's verdict; when the policy is sound, its lowering and the analysis' warnings."""
    policy, diags = check_files(parsed, memo)
    if policy is None:
        return Loaded(None, None, settle(parsed, diags))
    try:
        lowered = lower.lower(policy)
    except PolicyError as err:
        return Loaded(None, None, sorted(diags + err.diagnostics, key=Diagnostic.sort_key))
    found = settle(parsed, diags + analyse(policy, lowered) + lint(parsed, policy, lowered))
    diags = sorted(found, key=Diagnostic.sort_key)
    if any(d.severity == "error" for d in diags):
        return Loaded(None, None, diags)
    return Loaded(policy, lowered, diags)
