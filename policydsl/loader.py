"""Loading: find the `.policy` files of a policy set, read, parse and check them together."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from policydsl import nodes
from policydsl.analysis import analyse
from policydsl.checker import check as check_files
from policydsl.diagnostics import Diagnostic
from policydsl.model import CheckedPolicy
from policydsl.parser import parse, read_source
from policydsl.source import Source

PolicyPath = str | Path


def policy_files(paths: Sequence[PolicyPath]) -> tuple[list[Path], list[Diagnostic]]:
    """Every `.policy` file named or found (recursively, sorted) under the given paths."""
    found: list[Path] = []
    diags: list[Diagnostic] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*.policy") if p.is_file())
            if not files:
                diags.append(Diagnostic("P006", f"no `.policy` files in folder `{path}`"))
            found.extend(files)
        elif path.exists():
            found.append(path)
        else:
            diags.append(Diagnostic("P001", f"no such file or folder: `{path}`"))
    return found, diags


def load_checked(
    paths: Sequence[PolicyPath],
) -> tuple[CheckedPolicy | None, list[Diagnostic], list[Source]]:
    """Parse and check a policy set: the checked policy (None on errors) and all diagnostics."""
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
    if diags and any(d.severity == "error" for d in diags):
        return None, sorted(diags, key=Diagnostic.sort_key), sources
    policy, check_diags = _check_and_analyse(parsed)
    return policy, sorted(diags + check_diags, key=Diagnostic.sort_key), sources


def check_sources(sources: Sequence[Source]) -> tuple[CheckedPolicy | None, list[Diagnostic]]:
    """Parse and check in-memory sources (tests, editors, `policydsl.loads`)."""
    parsed, diags = [], []
    for source in sources:
        tree, errors = parse(source)
        diags.extend(errors)
        if tree is not None:
            parsed.append(tree)
    if diags:
        return None, diags
    return _check_and_analyse(parsed)


def _check_and_analyse(
    parsed: list[nodes.PolicyFile],
) -> tuple[CheckedPolicy | None, list[Diagnostic]]:
    """The checker's verdict, plus the analysis' warnings when the policy is sound."""
    policy, diags = check_files(parsed)
    if policy is not None:
        diags = sorted(diags + analyse(policy), key=Diagnostic.sort_key)
    return policy, diags
