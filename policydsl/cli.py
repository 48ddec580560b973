"""`policyc`: the command line around the library (check, eval, test, fmt, explain, compile).

The outer layer only: it reads files and requests, calls the public `policydsl` API, prints, and
turns every expected failure into one clean message and a documented exit code.
"""

from __future__ import annotations

import difflib
import errno
import json
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, TypeVar

import click

import policydsl
from policydsl import entity_options, lsp_command, testing
from policydsl.codes import Code
from policydsl.cost import DEFAULT_MAX_COST
from policydsl.diagnostics import Diagnostic
from policydsl.engine import check_with_cost
from policydsl.loader import policy_files
from policydsl.parser import MAX_SOURCE_BYTES, read_source, source_from_bytes
from policydsl.request_json import MAX_REQUEST_BYTES, RequestError, parse_request
from policydsl.terminal import shown

if TYPE_CHECKING:
    from policydsl import Policy

EXIT_OK = 0
EXIT_FAILED = 1  # policy errors, failed test cases, files `fmt --check` would change
EXIT_USAGE = 2  # bad options or arguments (click's own)
EXIT_BAD_REQUEST = 3  # a request that is not JSON, too large or deep, or breaks the schema
EXIT_INTERNAL = 4  # a bug in policydsl itself
EXIT_CLOSED_PIPE = 128 + 13  # the reader closed our output (`| head`): 128 + SIGPIPE, as tools do

BACKENDS = policydsl.BACKENDS

EXIT_CODES_HELP = """\b
Exit codes:
  0  success (warnings allowed)
  1  policy errors, failed test cases, files `fmt --check` would change
  2  usage errors: bad options or arguments
  3  invalid request or --entities data: not JSON, too large or deeply
     nested, or breaking the policy's schema or entity declarations
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
            return entity_options.install(policydsl.load_stdlib(**kwargs))
        policy = policydsl.load(policies[0] if len(policies) == 1 else list(policies), **kwargs)
        return entity_options.install(policy)  # --entities, where the command has it
    except policydsl.PolicyError as err:
        if [d.code for d in err.diagnostics] == [Code.NO_REFUSAL]:  # a flag it cannot honour
            raise CliError(f"--fail-closed: {err.render()}", EXIT_USAGE) from err
        raise


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
        return parse_request(data, MAX_REQUEST_BYTES)
    except RequestError as err:
        raise CliError(f"{name}: {err}", EXIT_BAD_REQUEST) from err


def _dump(value: Any, pretty: bool) -> str:
    return json.dumps(value, indent=2 if pretty else None)


# ---- commands ---------------------------------------------------------------------------------


@click.group(
    cls=_Cli,
    commands=[lsp_command.lsp],  # `policyc lsp`: its own module (pygls imported when it runs)
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
@click.option("--strict", is_flag=True, help="Fail (exit 1) on warnings too.")
@_debug_option
def check(paths: tuple[Path, ...], output_format: str, max_cost: int, strict: bool) -> None:
    """Parse and check policies (default: the standard library).

    Exits 1 on any error; warnings are reported but allowed. Every rule's worst-case cost, from
    the declared maxima of the request's strings and collections, is checked against --max-cost;
    the JSON output lists the bounds under `cost`.
    """
    targets = list(paths) or [policydsl.stdlib_path()]
    diagnostics, cost = check_with_cost(targets, max_cost=max_cost)
    errors = sum(d.severity == "error" for d in diagnostics)
    warnings = len(diagnostics) - errors
    failed = errors > 0 or (strict and warnings > 0)
    if output_format == "json":
        report: dict[str, Any] = {
            "ok": not failed,
            "diagnostics": [d.to_dict() for d in diagnostics],
            "cost": None if cost is None else {"limit": max_cost, **cost.to_dict()},
        }
        click.echo(json.dumps(report, indent=2))
    else:
        for diagnostic in diagnostics:
            click.echo(diagnostic.render() + "\n")
        files = len(_policy_files(targets))
        verdict = "failed" if failed else "ok"
        click.echo(
            f"{verdict}: {_plural(files, 'file')} checked, "
            f"{_plural(errors, 'error')}, {_plural(warnings, 'warning')}"
        )
    click.get_current_context().exit(EXIT_FAILED if failed else EXIT_OK)


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
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=1,
    show_default=True,
    help="With --batch: worker processes (0: one per core); output stays in input order.",
)
@click.option(
    "--summary/--no-summary",
    default=True,
    show_default=True,
    help="With --batch: end with one line on stderr (lines, decisions by effect, invalid).",
)
@click.option(
    "--progress/--no-progress",
    default=None,
    help="With --batch: show progress on stderr. Default: only when stderr is a terminal.",
)
@_backend_option
@_debug_option
def eval_(
    request: str | None,
    policies: tuple[Path, ...],
    batch: str | None,
    pretty: bool,
    fail_closed: bool,
    jobs: int,
    summary: bool,
    progress: bool | None,
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
        ctx.exit(_eval_batch(policy, batch, pretty, jobs, summary, progress))
    decision = policy.decide(_read_request(request or "-"))
    click.echo(_dump(decision.to_dict(), pretty))


def _eval_batch(
    policy: Policy, path: str, pretty: bool, jobs: int, summary: bool, progress: bool | None
) -> int:
    """Decide each line; returns the exit code (3 if a line was invalid, 1 if evaluation failed)."""
    from policydsl import batch

    name = "<stdin>" if path == "-" else path

    def report(lineno: int, message: str) -> None:
        click.echo(shown(f"policyc: {name}:{lineno}: {message}"), err=True)

    show = sys.stderr.isatty() if progress is None else progress
    with _open_binary(path) as stream:
        meter = batch.Progress(sys.stderr, _size(stream)) if show else None
        done = batch.run(
            policy,
            stream,
            _binary_stdout(),
            report,
            limit=MAX_REQUEST_BYTES,
            pretty=pretty,
            jobs=batch.default_jobs() if jobs == 0 else jobs,
            progress=meter,
        )
    if summary:
        click.echo(f"policyc: {name}: {done.line()}", err=True)
    if done.invalid:
        return EXIT_BAD_REQUEST
    return EXIT_FAILED if done.failed else EXIT_OK


def _size(stream: BinaryIO) -> int | None:
    """The size of a regular file (for the share a progress report shows); None for a pipe."""
    try:
        stat = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return None
    return stat.st_size if stat.st_size and (stat.st_mode & 0o170000) == 0o100000 else None


def _binary_stdout() -> BinaryIO:
    """Standard output as bytes (what `batch` writes), its text layer flushed first."""
    sys.stdout.flush()
    buffer: BinaryIO = sys.stdout.buffer
    return buffer


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
        identity = {"version": policy.version, "fingerprint": policy.fingerprint}
        if output_format == "json":
            click.echo(json.dumps({**policy.explanation(context, rules), "policy": identity}))
        else:
            click.echo(policy.explain(context, rules))
            version = f"version {shown(policy.version)}, " if policy.version else ""
            click.echo(f"policy: {version}fingerprint {policy.fingerprint}")
    except ValueError as err:
        if isinstance(err, policydsl.ContextError):
            raise
        raise CliError(str(err), EXIT_USAGE) from err


_THRESHOLD = "With --coverage: fail (exit 1) when a policy's rule coverage is below N%."


@cli.command("test", epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_policy_option
@_backend_option
@click.option("--coverage", is_flag=True, help="Report the rules fired, the tests seen.")
@click.option("--threshold", type=click.FloatRange(0, 100), metavar="N", help=_THRESHOLD)
@_format_option
@_debug_option
def test_(
    paths: tuple[Path, ...],
    policies: tuple[Path, ...],
    backend: str | None,
    coverage: bool,
    threshold: float | None,
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

    text, failed = testing.run_report(files, load, output_format, coverage, threshold)
    click.echo(text)
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
    type=click.Choice(["ir", "python", "dot"]),
    default="ir",
    show_default=True,
    help="What to print: the IR disassembly, the generated Python, or a Graphviz graph.",
)
@click.option(
    "--naive",
    is_flag=True,
    help="Show the unindexed lowering (every rule checked in turn), the index's baseline.",
)
@_debug_option
def compile_(path: Path | None, emit: str, naive: bool) -> None:
    """Print a policy's compiled form (IR, Python, or the decision tree for Graphviz:
    `policyc compile --emit dot | dot -Tsvg > tree.svg`).

    PATH defaults to the standard library.
    """
    target = path or policydsl.stdlib_path()
    from policydsl import dot

    render = dot.render_policy if emit == "dot" else policydsl.compile_policy
    text = render(target, emit=emit, naive=naive)
    click.echo(text, nl=not text.endswith("\n"))


_QUESTIONS = (  # `policyc verify`'s built-in questions: flag, values, their names, help
    ("--never-fires", 1, "RULE", "Prove RULE never fires."),
    ("--always-fires", 1, "RULE", "Prove RULE always fires."),
    ("--implies", 2, "A B", "Prove that when A fires, B fires."),
    ("--disjoint", 2, "A B", "Prove A and B never fire together."),
    ("--always", 1, "EFFECT", "Prove every decision is EFFECT."),
    ("--never", 1, "EFFECT", "Prove no decision is EFFECT."),
)
_SAME = "Prove this other version of the policy decides every request alike."
_LINES = click.Path(exists=True, dir_okay=False, allow_dash=True)  # `-`: stdin


def _question_options(f: F) -> F:
    for flag, nargs, metavar, text in reversed(_QUESTIONS):
        f = click.option(flag, nargs=nargs, multiple=True, metavar=metavar, help=text)(f)
    return f


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@_question_options
@click.option("--equivalent", type=click.Path(exists=True, path_type=Path), help=_SAME)
@_format_option
@_debug_option
def verify(
    paths: tuple[Path, ...], output_format: str, equivalent: Path | None, **asked: Any
) -> None:
    """Prove the policy's properties for every request its schema admits (default: the stdlib)
    and the questions asked; each counterexample is decided by the engine before it is shown.
    Exits 0 when all is proved, else 1. Needs z3: pip install 'policydsl[verify]'."""
    from policydsl import proof_commands

    try:
        text, code = proof_commands.verify_command(paths, asked, equivalent, output_format)
    except proof_commands.UsageProblem as err:
        raise CliError(str(err), EXIT_USAGE) from err
    click.echo(text)
    click.get_current_context().exit(code)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
@click.option("--requests", type=_LINES, help="Replay recorded requests (JSON Lines) instead.")
@_format_option
@_debug_option
def diff(old: Path, new: Path, requests: str | None, output_format: str) -> None:
    """Show the regions of requests two versions decide differently, each with an example and
    the rules responsible, counted by move (allow -> deny, ...); with --requests, the recorded
    requests that change, then totals. Exits 0 when the versions are equivalent, else 1."""
    from policydsl import proof_commands

    try:
        text, code = proof_commands.diff_command(old, new, requests, output_format)
    except proof_commands.UsageProblem as err:
        raise CliError(str(err), EXIT_USAGE) from err
    click.echo(text)
    click.get_current_context().exit(code)


SERVER_EXTRA = "`policyc serve` needs the server extra: pip install 'policydsl[server]'"
TOKEN_ENV = "POLICYC_SERVE_TOKEN"


@cli.command(epilog=EXIT_CODES_HELP)
@_policy_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8181, show_default=True)
@_backend_option
@click.option(
    "--fail-closed",
    is_flag=True,
    help="Decide the policy's `refuse` effect for an invalid context instead of a 400.",
)
@click.option(
    "--token-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Require `Authorization: Bearer TOKEN`, TOKEN read from this file (or from ${TOKEN_ENV}"
    "); /health stays open.",
)
@click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=MAX_REQUEST_BYTES,
    show_default=True,
    help="Largest request body in bytes; a larger one is refused with 413.",
)
@click.option(
    "--decision-log",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Append one JSON line per decision to this file (`-`: standard output).",
)
@click.option(
    "--mask",
    multiple=True,
    metavar="ATTRIBUTE",
    help="Keep this attribute (dotted: user.id) out of the decision log (repeatable).",
)
@click.option(
    "--log-queue",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Decision-log records held for a slow sink before new ones are dropped (and counted).",
)
@click.option(
    "--watch/--no-watch",
    default=True,
    show_default=True,
    help="Reload when the policy files change (SIGHUP and POST /v1/reload always reload).",
)
@click.option(
    "--access-log/--no-access-log", default=False, show_default=True, help="Log every request."
)
@_debug_option
def serve(
    policies: tuple[Path, ...],
    host: str,
    port: int,
    backend: str | None,
    fail_closed: bool,
    token_file: Path | None,
    max_body: int,
    decision_log: Path | None,
    mask: tuple[str, ...],
    log_queue: int,
    watch: bool,
    access_log: bool,
) -> None:
    """Serve decisions over HTTP (the standard library unless --policy).

    \b
    POST /v1/decide        {"input": {...}} -> the decision, its id, the policy's identity
    POST /v1/decide/batch  {"inputs": [...]} -> one result per input, in order
    POST /v1/explain       {"input": {...}, "rules": [...]}
    POST /v1/reload        reload now: the outcome and any diagnostics
    GET  /v1/policy        files, version, fingerprint, rules, the last reload
    GET  /health           200 once a policy is loaded
    GET  /metrics          Prometheus text

    A new version of the policy that fails to check is rejected and the one in force keeps
    serving. SIGTERM or Ctrl-C finishes the requests in flight, then stops.
    """
    try:
        import uvicorn  # noqa: F401 - the server extra; missing, it is named in one clear line

        from policydsl import service
        from policydsl.decision_log import DecisionLog, JsonLinesFile
        from policydsl.reload import PolicyHolder
    except ImportError as err:
        raise CliError(f"{SERVER_EXTRA} ({err})", EXIT_USAGE) from err
    import logging

    token = _read_token(token_file)
    if token is None and host not in ("127.0.0.1", "localhost", "::1"):
        click.echo(
            f"policyc: warning: serving on {host} with no token: anyone who reaches it "
            "may decide, reload and read the policy (--token-file)",
            err=True,
        )
    logging.basicConfig(level=logging.INFO, format="policyc: %(name)s: %(message)s")
    logging.getLogger("watchfiles").setLevel(logging.WARNING)  # not a line per change seen
    holder = PolicyHolder(policies, **entity_options.held(backend, fail_closed))
    if holder.current is None:
        last = holder.last
        for diagnostic in last.diagnostics if last else ():
            click.echo(diagnostic.render() + "\n", err=True)
        raise CliError("the policy or its entity data does not check; not serving it")
    sink = None
    if decision_log is not None:
        try:
            sink = DecisionLog(JsonLinesFile(decision_log), mask=mask, max_queue=log_queue)
        except OSError as err:
            raise CliError(f"{decision_log}: cannot open: {err.strerror or err}") from err
    holder.reload_on_signal()
    app = service.create_app(holder, token=token, max_body=max_body, decision_log=sink, watch=watch)
    service.serve(app, host=host, port=port, access_log=access_log)


def _read_token(path: Path | None) -> str | None:
    """The bearer token: the file's first line, else the environment's; None: no auth."""
    if path is not None:
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as err:
            raise CliError(f"{path}: cannot read the token: {err}", EXIT_USAGE) from err
        if not token:
            raise CliError(f"{path}: the token file is empty", EXIT_USAGE)
        return token
    return os.environ.get(TOKEN_ENV) or None


# ---- helpers ----------------------------------------------------------------------------------


def _policy_files(paths: Sequence[Path]) -> list[Path]:
    """The files `load` would read (folders expanded the same way); `-` stays itself."""
    files: list[Path] = []
    for path in paths:
        files.extend([path] if str(path) == "-" else policy_files([path])[0])
    return files


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


entity_options.attach(cli)  # --entities FILE on eval, explain, test, serve and diff


def main(argv: Sequence[str] | None = None, prog_name: str = "policyc") -> int:
    """Run `policyc` with `argv` (default: the process arguments); returns the exit code."""
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name=prog_name)
    except SystemExit as exit_:  # click always exits with an int code (or None: success)
        return int(exit_.code or EXIT_OK)
    return EXIT_OK
