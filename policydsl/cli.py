"""`policyc`: the command line around the library (check, eval, test, fmt, explain, compile, lsp).

The outer layer only: it reads files and requests, calls the public `policydsl` API, prints, and
turns every expected failure into one clean message and a documented exit code.
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click

import policydsl
from policydsl import strict_json, testing
from policydsl.codes import Code
from policydsl.cost import DEFAULT_MAX_COST
from policydsl.diagnostics import Diagnostic
from policydsl.engine import check_with_cost
from policydsl.loader import policy_files
from policydsl.parser import MAX_SOURCE_BYTES, read_source, source_from_bytes
from policydsl.terminal import shown

if TYPE_CHECKING:
    from policydsl import Policy

EXIT_OK = 0
EXIT_FAILED = 1  # policy errors, failed test cases, files `fmt --check` would change
EXIT_USAGE = 2  # bad options or arguments (click's own)
EXIT_BAD_REQUEST = 3  # a request that is not JSON, too large or deep, or breaks the schema
EXIT_INTERNAL = 4  # a bug in policydsl itself
EXIT_CLOSED_PIPE = 128 + 13  # the reader closed our output (`| head`): 128 + SIGPIPE, as tools do

MAX_REQUEST_BYTES = 10 * 1024 * 1024
BACKENDS = policydsl.BACKENDS

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (warnings allowed)
  1  policy errors, failed test cases, files `fmt --check` would change
  2  usage errors: bad options or arguments
  3  invalid request: not JSON, too large or deeply nested, or a context
     that breaks the policy's schema
  4  internal error (a bug in policydsl: rerun with --debug)
  141  the output was closed early (`... | head`): ended quietly,
       128 + SIGPIPE, as other tools exit
"""

F = TypeVar("F", bound=Callable[..., Any])
_DEBUG_KEY = "policydsl.debug"


class CliError(Exception):
    """An expected failure: printed as one line on stderr, then exit with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED):
        super().__init__(message)
        self.exit_code = exit_code


class RequestError(ValueError):
    """A request (or one batch line) that cannot become a context: not JSON, too big, too deep."""


# ---- error handling ---------------------------------------------------------------------------


def _describe(err: BaseException) -> tuple[str, int]:
    """The message and exit code of an exception that escaped a command."""
    if isinstance(err, CliError):
        return str(err), err.exit_code
    if isinstance(err, policydsl.PolicyError):
        return err.render(), EXIT_FAILED
    if isinstance(err, policydsl.ContextError):
        return str(err), EXIT_BAD_REQUEST
    if isinstance(err, policydsl.EvaluationError):
        return f"evaluation failed: {err}", EXIT_FAILED
    if isinstance(err, RecursionError):
        return "input nests too deeply", EXIT_FAILED
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror or err}", EXIT_FAILED
    return (
        f"internal error: {type(err).__name__}: {err} (rerun with --debug for the traceback)",
        EXIT_INTERNAL,
    )


class _Cli(click.Group):
    """Turns expected exceptions into clean messages; `--debug` lets them through."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except Exception as err:
            if isinstance(err, OSError) and err.errno == errno.EPIPE:
                _discard_stdout()  # the reader is gone: no message, no traceback
                ctx.exit(EXIT_CLOSED_PIPE)
            if ctx.meta.get(_DEBUG_KEY):
                raise
            message, code = _describe(err)
            message = shown(message, keep="\n")  # a file name, an exception's text: never raw
            click.echo(f"policyc: {message}" if "\n" not in message else message, err=True)
            ctx.exit(code)


def _discard_stdout() -> None:
    """Point stdout at the null device, so output still buffered cannot fail again at exit."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return  # not a real file (a test runner's buffer): nothing will be flushed to a pipe
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, fd)
    finally:
        os.close(null)


def _debug_option(f: F) -> F:
    def enable(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.meta[_DEBUG_KEY] = True

    option = click.option(
        "--debug",
        is_flag=True,
        expose_value=False,
        is_eager=True,
        callback=enable,
        help="Show full tracebacks instead of one-line errors.",
    )
    return option(f)


def _print_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if not value or ctx.resilient_parsing:
        return
    click.echo(f"policyc (policydsl) {policydsl.__version__}")
    ctx.exit(EXIT_OK)


# ---- shared pieces ----------------------------------------------------------------------------

_policy_option = click.option(
    "--policy",
    "-p",
    "policies",
    multiple=True,
    type=click.Path(exists=True, path_type=Path),
    help="A .policy file or folder (repeatable). Default: the standard library.",
)
_backend_option = click.option(
    "--backend",
    type=click.Choice(BACKENDS),
    default=None,
    help="Evaluator to use. Default: the library's default.",
)
_format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Output for people or for machines.",
)


def _load(
    policies: Sequence[Path], *, backend: str | None = None, fail_closed: bool = False
) -> Policy:
    """Compile the given policies (the stdlib when none), passing through only what was asked."""
    kwargs: dict[str, Any] = {"fail_closed": fail_closed}
    if backend is not None:
        kwargs["backend"] = backend
    try:
        if not policies:
            return policydsl.load_stdlib(**kwargs)
        return policydsl.load(policies[0] if len(policies) == 1 else list(policies), **kwargs)
    except policydsl.PolicyError as err:
        if [d.code for d in err.diagnostics] == [
            Code.NO_REFUSAL
        ]:  # a sound policy, a flag it cannot honour
            raise CliError(f"--fail-closed: {err.render()}", EXIT_USAGE) from err
        raise


def _too_large() -> RequestError:
    return RequestError(f"request is larger than {MAX_REQUEST_BYTES // (1024 * 1024)} MB")


def parse_request(data: bytes) -> dict[str, Any]:
    """Bytes to a request object; every way this fails is a `RequestError` with a clear message."""
    if len(data) > MAX_REQUEST_BYTES:
        raise _too_large()
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise RequestError(f"request is not valid UTF-8 (byte {err.start})") from None
    try:
        value = strict_json.loads(text)
    except strict_json.DuplicateKeyError as err:
        raise RequestError(f"request gives a key twice: {err}") from None
    except RecursionError:
        raise RequestError("request nests too deeply") from None
    except json.JSONDecodeError as err:
        where = f"line {err.lineno} column {err.colno}"
        raise RequestError(f"request is not valid JSON: {err.msg} ({where})") from None
    except ValueError as err:  # `NaN`, integers too long to convert
        raise RequestError(f"request is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise RequestError(f"a request must be a JSON object, not {_json_kind(value)}")
    return value


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "null"


def _open_binary(path: str) -> AbstractContextManager[BinaryIO]:
    """The file, or stdin left open for whoever owns it."""
    if path == "-":
        return nullcontext(sys.stdin.buffer)
    return open(path, "rb")


def _read_request(path: str) -> dict[str, Any]:
    name = "<stdin>" if path == "-" else path
    if path == "-" and sys.stdin is not None and sys.stdin.isatty():
        raise CliError("no request given: pass REQUEST.json, or `-` and pipe JSON in", EXIT_USAGE)
    try:
        with _open_binary(path) as stream:
            data = stream.read(MAX_REQUEST_BYTES + 1)
    except OSError as err:
        raise CliError(f"{name}: cannot read: {err.strerror or err}", EXIT_BAD_REQUEST) from err
    try:
        return parse_request(data)
    except RequestError as err:
        raise CliError(f"{name}: {err}", EXIT_BAD_REQUEST) from err


def _iter_lines(stream: BinaryIO, limit: int) -> Iterator[tuple[int, bytes | None]]:
    """Numbered lines; a line longer than `limit` is skipped whole and yields `None`."""
    lineno = 0
    while line := stream.readline(limit + 1):
        lineno += 1
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(limit + 1)
            yield lineno, None
        else:
            yield lineno, line


def _dump(value: Any, pretty: bool) -> str:
    return json.dumps(value, indent=2 if pretty else None)


# ---- commands ---------------------------------------------------------------------------------


@click.group(
    cls=_Cli,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=EXIT_CODES_HELP,
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_print_version,
    help="Show the version and exit.",
)
@_debug_option
def cli() -> None:
    """Check, evaluate, test and format policydsl policies.

    Without --policy, commands use the standard library (the usage policy).
    """


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_format_option
@click.option(
    "--max-cost",
    type=click.IntRange(min=0),
    default=DEFAULT_MAX_COST,
    show_default=True,
    help="Warn (W501) about rules whose static cost bound is past this many steps.",
)
@_debug_option
def check(paths: tuple[Path, ...], output_format: str, max_cost: int) -> None:
    """Parse and check policies (default: the standard library).

    Exits 1 on any error; warnings are reported but allowed. Every rule's worst-case cost, from
    the declared maxima of the request's strings and collections, is checked against --max-cost;
    the JSON output lists the bounds under `cost`.
    """
    targets = list(paths) or [policydsl.stdlib_path()]
    diagnostics, cost = check_with_cost(targets, max_cost=max_cost)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    if output_format == "json":
        report: dict[str, Any] = {
            "ok": errors == 0,
            "diagnostics": [d.to_dict() for d in diagnostics],
            "cost": None if cost is None else {"limit": max_cost, **cost.to_dict()},
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for diagnostic in diagnostics:
            click.echo(diagnostic.render() + "\n")
        files = len(_policy_files(targets))
        verdict = "ok" if errors == 0 else "failed"
        click.echo(
            f"{verdict}: {_plural(files, 'file')} checked, "
            f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
        )
    click.get_current_context().exit(EXIT_FAILED if errors else EXIT_OK)


@cli.command("eval", epilog=EXIT_CODES_HELP)
@click.argument(
    "request",
    required=False,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
)
@_policy_option
@click.option(
    "--batch",
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
    help="Decide every line of a JSON Lines file (`-`: stdin), one decision per line.",
)
@click.option("--pretty", is_flag=True, help="Indent the decision JSON.")
@click.option(
    "--fail-closed",
    is_flag=True,
    help="Decide the policy's `refuse` effect for an invalid context instead of failing.",
)
@_backend_option
@_debug_option
def eval_(
    request: str | None,
    policies: tuple[Path, ...],
    batch: str | None,
    pretty: bool,
    fail_closed: bool,
    backend: str | None,
) -> None:
    """Decide a request and print the decision as JSON.

    REQUEST.json is a JSON object; `-` or no argument reads stdin.

    With --batch, an invalid line prints {"line": N, "error": "..."} in its place, is reported on
    stderr, and the other lines are still decided; the exit code is then 3.
    """
    ctx = click.get_current_context()
    if batch is not None and request is not None:
        raise click.UsageError("give either REQUEST or --batch, not both")
    policy = _load(policies, backend=backend, fail_closed=fail_closed)
    if batch is not None:
        ctx.exit(_eval_batch(policy, batch, pretty))
    decision = policy.decide(_read_request(request or "-"))
    click.echo(_dump(decision.to_dict(), pretty))


def _eval_batch(policy: Policy, path: str, pretty: bool) -> int:
    """Decide each line; returns the exit code (3 if a line was invalid, 1 if evaluation failed)."""
    name = "<stdin>" if path == "-" else path
    out = sys.stdout
    invalid = failed = False
    with _open_binary(path) as stream:
        for lineno, line in _iter_lines(stream, MAX_REQUEST_BYTES):
            if line is not None and not line.strip():
                continue  # blank lines are not requests
            try:
                if line is None:
                    raise _too_large()
                decision = policy.decide(parse_request(line))
            except (RequestError, policydsl.ContextError) as err:
                invalid, message = True, str(err)
            except policydsl.EvaluationError as err:
                failed, message = True, f"evaluation failed: {err}"
            else:
                out.write(_dump(decision.to_dict(), pretty) + "\n")
                out.flush()  # a consumer sees each decision as soon as its line is decided
                continue
            out.write(json.dumps({"line": lineno, "error": message}) + "\n")
            out.flush()
            click.echo(shown(f"policyc: {name}:{lineno}: {message}"), err=True)
    if invalid:
        return EXIT_BAD_REQUEST
    return EXIT_FAILED if failed else EXIT_OK


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument(
    "request",
    required=False,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True),
)
@_policy_option
@_backend_option
@click.option(
    "--rule",
    "rules",
    multiple=True,
    metavar="ID",
    help="Also explain why this rule did not fire (repeatable).",
)
@_format_option
@_debug_option
def explain(
    request: str | None,
    policies: tuple[Path, ...],
    backend: str | None,
    rules: tuple[str, ...],
    output_format: str,
) -> None:
    """Show which rules fire for a request, and why: each test with the values it read.

    REQUEST.json is a JSON object; `-` or no argument reads stdin. With `--rule ID`, a rule that
    did not fire is shown too, with the tests it failed.
    """
    policy = _load(policies, backend=backend)
    context = _read_request(request or "-")
    try:
        if output_format == "json":
            click.echo(json.dumps(policy.explanation(context, rules)))
        else:
            click.echo(policy.explain(context, rules))
    except ValueError as err:
        if isinstance(err, policydsl.ContextError):
            raise
        raise CliError(str(err), EXIT_USAGE) from err


@cli.command("test", epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_policy_option
@_backend_option
@_format_option
@_debug_option
def test_(
    paths: tuple[Path, ...],
    policies: tuple[Path, ...],
    backend: str | None,
    output_format: str,
) -> None:
    """Run policy test cases (*.cases.json, *.cases.jsonl, or folders).

    \b
    A .cases.json file:  {"policy": "my.policy", "cases": [CASE, ...]}
    A .cases.jsonl file: one CASE per line; `#` lines are comments; a first
                         line {"policy": "my.policy"} names the policy.
    CASE: {"name": "...", "context": {...}, "expect": {...}}

    `expect` is a partial decision: each key given must equal the decision's
    (e.g. {"decision": "deny", "enforcement": "warn"}); {"context_error":
    "user.age"} expects the context to be rejected at that attribute.
    A file's "policy" is relative to the file; without one, --policy or the
    standard library is used.
    """
    files = testing.discover(paths)
    if not files:
        raise CliError("no test files found (*.cases.json, *.cases.jsonl)", EXIT_USAGE)

    def load(policy: Path | None) -> Policy:
        return _load([policy] if policy else policies, backend=backend)

    results = testing.run_files(files, load)
    failed = [r for r in results if not r.passed]
    if output_format == "json":
        report = {
            "ok": not failed,
            "passed": len(results) - len(failed),
            "failed": len(failed),
            "cases": [r.to_dict() for r in results],
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for result in results:
            click.echo(result.render())
        click.echo(
            f"{'ok' if not failed else 'failed'}: "
            f"{len(results) - len(failed)} passed, {len(failed)} failed"
        )
    click.get_current_context().exit(EXIT_FAILED if failed else EXIT_OK)


@cli.command("fmt", epilog=EXIT_CODES_HELP)
@click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, allow_dash=True, path_type=Path)
)
@click.option("--check", "check_only", is_flag=True, help="Change nothing; exit 1 if a file would.")
@click.option("--diff", is_flag=True, help="Print a unified diff instead of rewriting files.")
@_debug_option
def fmt(paths: tuple[Path, ...], check_only: bool, diff: bool) -> None:
    """Format .policy files in place.

    PATH is a file or a folder of .policy files; `-` formats stdin to stdout.
    """
    changed = broken = 0
    for path in _policy_files(paths):
        name = "<stdin>" if str(path) == "-" else str(path)
        try:
            original = _read_policy_text(path)
            formatted = policydsl.format_source(original, name=name)
        except policydsl.PolicyError as err:
            broken += 1
            click.echo(err.render(), err=True)
            continue
        if formatted == original:
            if name == "<stdin>" and not (check_only or diff):
                click.echo(formatted, nl=False)
            continue
        changed += 1
        if diff:
            click.echo(_unified_diff(original, formatted, name), nl=False)
        if name == "<stdin>" and not (check_only or diff):
            click.echo(formatted, nl=False)
        elif check_only or diff:
            click.echo(shown(f"would reformat {name}"), err=True)
        else:
            path.write_text(formatted, encoding="utf-8", newline="")
            click.echo(shown(f"reformatted {name}"), err=True)
    verb = "would be reformatted" if check_only or diff else "reformatted"
    summary = f"{_plural(changed, 'file')} {verb}, {_plural(broken, 'file')} with errors"
    click.echo(summary, err=True)
    failing = broken or (check_only and changed)
    click.get_current_context().exit(EXIT_FAILED if failing else EXIT_OK)


def _read_policy_text(path: Path) -> str:
    """A policy's text, read as `load` reads it (bounded); `PolicyError` if it is not text."""
    if str(path) == "-":
        source = source_from_bytes(sys.stdin.buffer.read(MAX_SOURCE_BYTES + 1), "<stdin>")
    else:
        source = read_source(path)
    if isinstance(source, Diagnostic):
        raise policydsl.PolicyError([source])
    return source.text


def _unified_diff(before: str, after: str, name: str) -> str:
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=shown(name),  # a file name is any text: a folder may hold `\x1b[2J.policy`
        tofile=shown(f"{name} (formatted)"),
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@cli.command("compile", epilog=EXIT_CODES_HELP)
@click.argument("path", required=False, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--emit",
    type=click.Choice(["ir", "python"]),
    default="ir",
    show_default=True,
    help="What to print: the IR disassembly or the generated Python.",
)
@click.option(
    "--naive",
    is_flag=True,
    help="Show the unindexed lowering (every rule checked in turn), the index's baseline.",
)
@_debug_option
def compile_(path: Path | None, emit: str, naive: bool) -> None:
    """Print a policy's compiled form (IR or Python).

    PATH defaults to the standard library.
    """
    text = policydsl.compile_policy(path or policydsl.stdlib_path(), emit=emit, naive=naive)
    click.echo(text, nl=not text.endswith("\n"))


@cli.command("lsp")
@click.option(
    "--stdio",
    is_flag=True,
    help="Talk over stdin and stdout (the only transport; accepted for clients that pass it).",
)
@_debug_option
def lsp(stdio: bool) -> None:
    """Run the language server over stdin and stdout (needs the `lsp` extra).

    Diagnostics as `policyc check` gives them, hover, go to definition, references, completion,
    document symbols, formatting and quick fixes, for the folder of each open `.policy` file.
    """
    try:
        from policydsl.lsp_server import serve
    except ModuleNotFoundError as err:
        if (err.name or "").split(".")[0] not in ("pygls", "lsprotocol", "cattrs"):
            raise
        raise CliError(
            "policyc lsp needs the language server extra: pip install 'policydsl[lsp]'"
        ) from None
    serve()


# ---- helpers ----------------------------------------------------------------------------------


def _policy_files(paths: Sequence[Path]) -> list[Path]:
    """The files `load` would read (folders expanded the same way); `-` stays itself."""
    files: list[Path] = []
    for path in paths:
        files.extend([path] if str(path) == "-" else policy_files([path])[0])
    return files


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def main(argv: Sequence[str] | None = None, prog_name: str = "policyc") -> int:
    """Run `policyc` with `argv` (default: the process arguments); returns the exit code."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name=prog_name)
    except SystemExit as exit_:  # click always exits with an int code (or None: success)
        return int(exit_.code or EXIT_OK)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
