"""Policy test cases: read `*.cases.json` / `*.cases.jsonl` files and check decisions against them.

Kept out of the CLI so a pytest suite can run the same files; policies come from a caller's loader.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import attrs

import policydsl
from policydsl import strict_json, terminal

if TYPE_CHECKING:
    from policydsl import Policy
    from policydsl.entities import EntityStore

SUFFIXES = (".cases.json", ".cases.jsonl")
_ABSENT = object()


class CaseFileError(ValueError):
    """A test file that cannot be read as cases (bad JSON, wrong shape)."""


@attrs.frozen
class Case:
    name: str
    context: Mapping[str, Any]
    expect: Mapping[str, Any]


@attrs.frozen
class CaseFile:
    path: Path
    policy: Path | None  # resolved against the file's folder; None: the caller's default
    cases: tuple[Case, ...]
    # the file's entity data: a path resolved against its folder, or the entity list itself;
    # None: the entities the caller's policy holds (`policyc test --entities`)
    entities: Path | tuple[Any, ...] | None = None


@attrs.frozen
class Mismatch:
    field: str
    expected: Any
    actual: Any

    def render(self) -> str:
        actual = "absent" if self.actual is _ABSENT else json.dumps(self.actual)
        # a case file's fraction is read exactly (`Decimal`): shown as written
        expected = json.dumps(self.expected, default=str)
        return f"{self.field}: expected {expected}, got {actual}"


@attrs.frozen
class CaseResult:
    file: str
    name: str
    mismatches: tuple[Mismatch, ...] = ()
    error: str | None = None

    @property
    def status(self) -> Literal["pass", "fail", "error"]:
        if self.error is not None:
            return "error"
        return "fail" if self.mismatches else "pass"

    @property
    def passed(self) -> bool:
        return self.status == "pass"

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "name": self.name,
            "status": self.status,
            "mismatches": [
                {
                    "field": m.field,
                    "expected": m.expected,
                    "actual": None if m.actual is _ABSENT else m.actual,
                }
                for m in self.mismatches
            ],
            "error": self.error,
        }

    def render(self) -> str:
        """For people: the case's name (the case file's own text) shown escaped (`\\u{1b}`)."""
        lines = [terminal.shown(f"{self.status.upper():5} {self.file}::{self.name}")]
        lines.extend(f"      {m.render()}" for m in self.mismatches)
        if self.error is not None:
            lines.extend(f"      {line}" for line in self.error.splitlines())
        return "\n".join(lines)


def discover(paths: Iterable[Path]) -> list[Path]:
    """Files as given; folders expanded to their case files (sorted, recursive)."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.name.endswith(SUFFIXES)))
        else:
            found.append(path)
    return found


def read_case_file(path: Path) -> CaseFile:
    """Parse one test file; `.jsonl` is one case a line, anything else one JSON document."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise CaseFileError(f"cannot read: {err}") from None
    if path.suffix == ".jsonl":
        return _read_lines(path, text)
    document = _json(text, "")
    if not isinstance(document, dict) or not isinstance(document.get("cases"), list):
        raise CaseFileError('expected an object {"policy": ..., "cases": [...]}')
    cases = tuple(_case(item, f"case {i}") for i, item in enumerate(document["cases"], 1))
    return CaseFile(path, _policy(path, document), cases, _entities(path, document))


def _read_lines(path: Path, text: str) -> CaseFile:
    header: dict[str, Any] | None = None
    cases: list[Case] = []
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        item = _json(line, f"line {lineno}: ")
        if isinstance(item, dict) and item and set(item) <= {"policy", "entities"}:
            if cases or header is not None:
                raise CaseFileError(
                    f'line {lineno}: {{"policy": ..., "entities": ...}} must come before the cases'
                )
            header = item
            continue
        cases.append(_case(item, f"line {lineno}"))
    header = header or {}
    return CaseFile(path, _policy(path, header), tuple(cases), _entities(path, header))


def _json(text: str, where: str) -> Any:
    try:
        return strict_json.loads(text)
    except strict_json.DuplicateKeyError as err:
        raise CaseFileError(f"{where}{err}") from None
    except RecursionError:
        raise CaseFileError(f"{where}JSON nests too deeply") from None
    except ValueError as err:
        raise CaseFileError(f"{where}not valid JSON: {err}") from None


def _policy(path: Path, document: Mapping[str, Any]) -> Path | None:
    policy = document.get("policy")
    if policy is None:
        return None
    if not isinstance(policy, str):
        raise CaseFileError('"policy" must be a path string')
    return path.parent / policy


def _entities(path: Path, document: Mapping[str, Any]) -> Path | tuple[Any, ...] | None:
    entities = document.get("entities")
    if entities is None:
        return None
    if isinstance(entities, list):
        return tuple(entities)
    if not isinstance(entities, str):
        raise CaseFileError('"entities" must be a path string or a list of entities')
    return path.parent / entities


def _case(item: Any, where: str) -> Case:
    if not isinstance(item, dict):
        raise CaseFileError(f"{where}: a case must be a JSON object")
    name = item.get("name", where)
    context, expect = item.get("context"), item.get("expect")
    if not isinstance(name, str):
        raise CaseFileError(f'{where}: "name" must be a string')
    if not isinstance(context, dict):
        raise CaseFileError(f'{where}: "context" must be a JSON object')
    if not isinstance(expect, dict) or not expect:
        raise CaseFileError(f'{where}: "expect" must be a non-empty JSON object')
    return Case(name, context, expect)


def run_case(policy: Policy, case: Case) -> tuple[Mismatch, ...]:
    """Decide one case; each expected key that differs from the decision is a mismatch."""
    expect = dict(case.expect)
    wanted_error = expect.pop("context_error", _ABSENT)
    try:
        decision = policy.decide(case.context)
    except policydsl.ContextError as err:
        got = getattr(err, "attribute", str(err))
        if wanted_error is _ABSENT:
            return (Mismatch("context_error", None, got),)
        return () if got == wanted_error else (Mismatch("context_error", wanted_error, got),)
    mismatches = []
    if wanted_error is not _ABSENT:
        mismatches.append(Mismatch("context_error", wanted_error, _ABSENT))
    actual = decision.to_dict()
    for field, expected in expect.items():
        got = actual.get(field, _ABSENT)
        if got != expected:
            mismatches.append(Mismatch(field, expected, got))
    return tuple(mismatches)


def run_files(
    files: Iterable[Path],
    load: Callable[[Path | None], Policy],
    observe: Callable[[str, Policy, Mapping[str, Any]], None] | None = None,
) -> list[CaseResult]:
    """Run every case of every file; a file or policy that fails to load is one error result.
    `observe` (coverage) is given each case's policy (named as the file names it) and request."""
    from policydsl.entity_data import EntityDataError

    cache: dict[Path | None, tuple[Policy, EntityStore]] = {}
    stores: dict[tuple[Path | None, Path], EntityStore] = {}
    results: list[CaseResult] = []
    for path in files:
        shown = str(path)
        try:
            case_file = read_case_file(path)
            if case_file.policy not in cache:
                loaded = load(case_file.policy)
                cache[case_file.policy] = (loaded, loaded.entities)
            policy, store = cache[case_file.policy]
            if case_file.entities is not None:
                named = case_file.entities  # a file of them, shared; else the list in place
                key = (case_file.policy, named if isinstance(named, Path) else path)
                if key not in stores:
                    stores[key] = _entity_store(policy, case_file.entities)
                store = stores[key]
        except EntityDataError as err:
            results.append(CaseResult(shown, "<entities>", error=str(err)))
            continue
        except CaseFileError as err:
            results.append(CaseResult(shown, "<file>", error=str(err)))
            continue
        except policydsl.PolicyError as err:
            results.append(CaseResult(shown, "<policy>", error=err.render()))
            continue
        except OSError as err:
            results.append(CaseResult(shown, "<policy>", error=f"cannot load the policy: {err}"))
            continue
        policy.use_entities(store)  # the file's own entity data, else the policy's
        for case in case_file.cases:
            if observe is not None:
                observe(str(case_file.policy or "the default policy"), policy, case.context)
            try:
                results.append(CaseResult(shown, case.name, run_case(policy, case)))
            except policydsl.EvaluationError as err:  # fails its case, not the run
                results.append(CaseResult(shown, case.name, error=f"evaluation failed: {err}"))
    return results


def _entity_store(policy: Policy, entities: Path | tuple[Any, ...]) -> EntityStore:
    """A case file's entity data, validated against its policy's declarations."""
    if isinstance(entities, tuple):
        return policy.entity_store(list(entities))
    from policydsl import entity_data

    return entity_data.load_file(policy.checked.entities, entities)


def run_report(
    files: Iterable[Path],
    load: Callable[[Path | None], Policy],
    output_format: str,
    coverage: bool = False,
    threshold: float | None = None,
) -> tuple[str, bool]:
    """`policyc test`: every case run, the report (text or JSON), and whether the run failed:
    a case failed, or (with `threshold`) a policy's rule coverage is below it."""
    from policydsl import coverage as covered

    seen = covered.Coverage() if coverage or threshold is not None else None
    observe = None if seen is None else (lambda n, p, c: seen.observe(n, p.checked, c, p.entities))
    results = run_files(files, load, observe)
    failed = [r for r in results if not r.passed]
    found = seen.report() if seen is not None else None
    below = threshold is not None and covered.lowest(found or []) < threshold
    if output_format == "json":
        report: dict[str, Any] = {
            "ok": not failed and not below,
            "passed": len(results) - len(failed),
            "failed": len(failed),
            "cases": [r.to_dict() for r in results],
        }
        if found is not None:
            report["coverage"] = found
        return json.dumps(report, indent=2, default=str), bool(failed or below)
    lines = [r.render() for r in results]
    if found is not None:
        lines.append(covered.render(found))
    lines.append(
        f"{'ok' if not failed and not below else 'failed'}: "
        f"{len(results) - len(failed)} passed, {len(failed)} failed"
        + (f"; rule coverage below {threshold:g}%" if below else "")
    )
    return "\n".join(lines), bool(failed or below)
