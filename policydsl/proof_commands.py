"""What `policyc verify` and `policyc diff` print and exit with, apart from the CLI's options:
each command a function from loaded policies to (output, exit code)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any, BinaryIO

from policydsl import entity_options, policy_diff, smt, verify
from policydsl.batch import iter_lines
from policydsl.engine import Policy, load, load_stdlib
from policydsl.request_json import MAX_REQUEST_BYTES, RequestError, parse_request, too_large
from policydsl.terminal import shown

OK, FAILED = 0, 1


class UsageProblem(ValueError):
    """What the CLI reports as a usage error (exit 2): z3 missing, an unknown rule or effect,
    schemas that cannot be compared."""


def _load(paths: Sequence[Path]) -> Policy:
    if not paths:
        return load_stdlib()
    return load(paths[0] if len(paths) == 1 else list(paths))


def verify_command(
    paths: Sequence[Path], asked: dict[str, Any], equivalent: Path | None, output_format: str
) -> tuple[str, int]:
    """`policyc verify`: the output and the exit code."""
    try:
        smt.load_z3()
    except ImportError as err:
        raise UsageProblem(str(err)) from err
    policy = _load(paths)
    other = _load([equivalent]) if equivalent is not None else None
    try:
        return run_verify(policy, asked, other, output_format)
    except KeyError as err:
        raise UsageProblem(f"no rule or effect `{shown(str(err.args[0]))}`") from err


def diff_command(old: Path, new: Path, requests: str | None, output_format: str) -> tuple[str, int]:
    """`policyc diff`: the output and the exit code (replayed changes written as they come)."""
    before, after = _load([old]), _load([new])
    entity_options.install(before)  # --entities: the recorded requests' entities, for both
    entity_options.install(after)
    try:
        if requests is None:
            return run_diff(before, after, output_format)
        if requests == "-":
            return run_replay(before, after, sys.stdin.buffer, output_format)
        with open(requests, "rb") as stream:
            return run_replay(before, after, stream, output_format)
    except (ImportError, policy_diff.SchemaMismatch) as err:
        raise UsageProblem(str(err)) from err


def run_verify(
    policy: Policy,
    asked: dict[str, tuple[Any, ...]],
    other: Policy | None,
    output_format: str,
) -> tuple[str, int]:
    """Every property, then each question asked (`--never-fires RULE`...: option name to the
    values given) and `--equivalent OTHER`. KeyError names a rule or effect the policy lacks."""
    results = verify.prove_all(policy)
    for option, values in asked.items():
        for value in values:
            args = value if isinstance(value, tuple) else (value,)
            results.append(verify.QUESTIONS[option.replace("_", "-")](policy, *args))
    if other is not None:
        results.append(verify.equivalent(policy, other))
    failed = any(r.status != verify.PROVED for r in results)
    if output_format == "json":
        report = {"ok": not failed, "results": [r.to_dict() for r in results]}
        return json.dumps(report, indent=2), FAILED if failed else OK
    return shown(verify.render(results), keep="\n"), FAILED if failed else OK


def run_diff(old: Policy, new: Policy, output_format: str) -> tuple[str, int]:
    """The regions that change; exit 0 only when the versions are equivalent."""
    report = policy_diff.diff(old, new)
    code = OK if report.status == "equivalent" else FAILED
    if output_format == "json":
        return json.dumps(report.to_dict(), indent=2), code
    return shown(policy_diff.render(report), keep="\n"), code


def recorded(stream: BinaryIO) -> Iterator[tuple[int, Any]]:
    """(line number, request or the error that stops it being one) for each non-blank line."""
    for lineno, line in iter_lines(stream, MAX_REQUEST_BYTES):
        if line is not None and not line.strip():
            continue
        try:
            yield lineno, parse_request(line) if line is not None else too_large()
        except RequestError as err:
            yield lineno, err


def run_replay(
    old: Policy,
    new: Policy,
    stream: BinaryIO,
    output_format: str,
    write: Callable[[str], object] | None = None,
    progress: IO[str] | None = None,
) -> tuple[str, int]:
    """Each recorded request that changes, written as a JSON line as it is found (to stdout by
    default); then the totals (the returned text). A running count goes to `progress`, by
    default stderr when it is a terminal."""
    write = write or sys.stdout.write
    if progress is None and sys.stderr is not None and sys.stderr.isatty():
        progress = sys.stderr
    totals = policy_diff.Replay()

    def report(done: policy_diff.Replay) -> None:
        assert progress is not None
        progress.write(f"\r{done.lines:,} lines, {done.changed:,} changed")
        progress.flush()

    found = policy_diff.replay(old, new, recorded(stream), totals, report if progress else None)
    for changed in found:
        write(json.dumps(changed) + "\n")
    if progress is not None:
        progress.write("\n")
    code = FAILED if totals.changed else OK
    if output_format == "json":
        return json.dumps({"totals": totals.to_dict()}), code
    moves = ", ".join(f"{m}: {n:,}" for m, n in sorted(totals.moves.items()))
    text = f"{totals.lines:,} requests, {totals.changed:,} changed, {totals.invalid:,} invalid"
    return text + (f"; {moves}" if moves else ""), code
