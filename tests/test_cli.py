"""`policyc` end to end through click's test runner: every command, every documented exit code."""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

import policydsl
from policydsl import cli as cli_module
from policydsl import parser as parser_module
from policydsl.cli import cli, main
from policydsl.codes import Code
from policydsl.diagnostics import Diagnostic
from policydsl.source import Source, Span

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
REQUESTS = EXAMPLES / "requests"
SHARING = EXAMPLES / "doc_sharing"
CONTRACT_KEYS = {"decision", "enforcement", "obligations", "citations", "rules", "reasons"}
COMMANDS = ["check", "eval", "test", "fmt", "explain", "compile", "serve"]

# file name -> (decision, enforcement, obligations), by hand from CONTRACT.md
EXPECTED = {
    "allow.json": ("allow", "none", []),
    "review_human_review.json": ("review", "none", ["human_review"]),
    "review_verify_age.json": ("review", "none", ["verify_age"]),
    "deny_warn.json": ("deny", "warn", []),
    "deny_remove_content.json": ("deny", "remove_content", []),
    "deny_restrict_account.json": ("deny", "restrict_account", []),
    "deny_suspend_and_report.json": ("deny", "suspend_and_report", []),
    "deny_no_severity.json": ("deny", "none", []),
}


def run(*args: str, input: str | bytes | None = None) -> Result:
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


def assert_clean_failure(result: Result, code: int) -> None:
    """The documented exit code, one message on stderr, and never a traceback."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert result.stderr.strip(), "a failure must say why on stderr"
    assert result.exception is None or isinstance(result.exception, SystemExit)


def contract(decision: dict[str, Any]) -> tuple[str, str, list[str]]:
    assert set(decision) >= CONTRACT_KEYS
    return decision["decision"], decision["enforcement"], decision["obligations"]


@pytest.fixture
def stdlib_copy(tmp_path: Path) -> Path:
    """A private copy of the standard library, to add broken files beside."""
    folder = tmp_path / "rules"
    shutil.copytree(policydsl.stdlib_path(), folder)
    return folder


# ---- version and help -------------------------------------------------------------------------


def test_version() -> None:
    result = run("--version")
    assert result.exit_code == 0
    assert result.output.strip() == f"policyc (policydsl) {policydsl.__version__}"


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)])
def test_help_on_every_command(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert "Exit codes:" in result.output
    assert "--debug" in result.output


def test_main_returns_exit_codes() -> None:
    assert main(["--version"]) == 0
    assert main(["check", "/no/such/policy"]) == 2
    assert main(["no-such-command"]) == 2


@pytest.mark.slow
def test_python_dash_m() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "policydsl", "--version"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0
    assert policydsl.__version__ in done.stdout


# ---- check ------------------------------------------------------------------------------------


def test_check_stdlib_is_clean() -> None:
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("ok: ")


def test_check_example_policy_is_clean() -> None:
    assert run("check", SHARING).exit_code == 0


def test_check_reports_syntax_error_with_position(tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text("effects deny > allow default allow\n\nrule oops: deny {\n  when\n}\n")
    result = run("check", broken)
    assert result.exit_code == 1
    assert re.search(rf"{re.escape(str(broken))}:\d+:\d+: error\[\w+\]", result.output)
    assert result.output.strip().splitlines()[-1].startswith("failed: ")


def test_check_reports_unknown_attribute(stdlib_copy: Path) -> None:
    bad = stdlib_copy / "zz_bad.policy"
    bad.write_text('rule typo: deny {\n  when user.agee > 3\n  reason "a typo"\n}\n')
    result = run("check", stdlib_copy)
    assert result.exit_code == 1
    assert f"{bad}:2:" in result.output
    assert "user.agee" in result.output


def test_check_json_format(stdlib_copy: Path) -> None:
    clean = json.loads(run("check", "--format", "json").output)
    assert clean["ok"] is True
    assert all(d["severity"] == "warning" for d in clean["diagnostics"])

    (stdlib_copy / "zz_bad.policy").write_text("rule typo: deny { when user.agee > 3 }\n")
    result = run("check", "--format", "json", stdlib_copy)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["ok"] is False
    first = next(d for d in report["diagnostics"] if d["severity"] == "error")
    assert {"code", "message", "file", "line", "col", "help"} <= set(first)
    assert first["file"].endswith("zz_bad.policy")


def test_check_missing_path_is_a_usage_error() -> None:
    assert_clean_failure(run("check", "/no/such/dir"), 2)


# ---- eval -------------------------------------------------------------------------------------


def test_every_decision_kind_has_an_example() -> None:
    assert sorted(p.name for p in REQUESTS.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_eval_example_request(name: str) -> None:
    result = run("eval", REQUESTS / name)
    assert result.exit_code == 0, result.output
    assert len(result.output.splitlines()) == 1, "one line of JSON"
    assert contract(json.loads(result.output)) == EXPECTED[name]


def test_eval_pretty() -> None:
    result = run("eval", "--pretty", REQUESTS / "deny_warn.json")
    assert result.exit_code == 0
    assert len(result.output.splitlines()) > 1
    assert contract(json.loads(result.output)) == EXPECTED["deny_warn.json"]


@pytest.mark.parametrize("args", [["-"], []])
def test_eval_reads_stdin(args: list[str]) -> None:
    request = (REQUESTS / "deny_suspend_and_report.json").read_text()
    result = run("eval", *args, input=request)
    assert result.exit_code == 0, result.output
    assert contract(json.loads(result.output)) == EXPECTED["deny_suspend_and_report.json"]


def test_eval_custom_policy() -> None:
    allowed = run("eval", "--policy", SHARING, SHARING / "requests" / "editor_shares_internal.json")
    assert allowed.exit_code == 0, allowed.output
    decision = json.loads(allowed.output)
    assert (decision["decision"], decision["audit"]) == ("allow", "quiet")

    forbidden = run("eval", "-p", SHARING, SHARING / "requests" / "secret_to_partner.json")
    assert json.loads(forbidden.output)["decision"] == "forbid"


def test_eval_invalid_context_names_the_attribute() -> None:
    result = run("eval", "-", input='{"user": {"age": "17"}}')
    assert_clean_failure(result, 3)
    assert "user.age" in result.stderr
    assert result.stdout == ""


def test_eval_fail_closed_denies_invalid_context() -> None:
    result = run("eval", "--fail-closed", "-", input='{"user": {"age": -4}}')
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    assert decision["decision"] == "deny"
    assert any("user.age" in reason for reason in decision["reasons"])


def test_eval_refuses_a_misspelt_key() -> None:
    """Records are closed: a misspelt key is an invalid request (exit 3) naming it with a hint,
    and fail-closed denies it instead of allowing the content it failed to label."""
    request = '{"user": {"age": 30}, "content": {"categoris": ["spam"]}}'
    result = run("eval", "-", input=request)
    assert_clean_failure(result, 3)
    assert "`content.categoris`" in result.stderr
    assert "did you mean `content.categories`?" in result.stderr
    closed = run("eval", "--fail-closed", "-", input=request)
    assert closed.exit_code == 0, closed.output
    assert json.loads(closed.output)["decision"] == "deny"


@pytest.mark.parametrize(
    ("request_bytes", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"", "not valid JSON"),
        (b"\xff\xfe\x00garbage", "UTF-8"),
        (b"[1, 2, 3]", "must be a JSON object"),
        (b'"spam"', "must be a JSON object"),
        (b'{"user": {"age": NaN}}', "NaN"),
        (b"[" * 200_000 + b"]" * 200_000, "nests too deeply"),
        (b'{"user": {"age": ' + b"9" * 10_000 + b"}}", "not valid JSON"),
    ],
)
def test_eval_garbage_is_a_clean_error(request_bytes: bytes, message: str) -> None:
    result = run("eval", "-", input=request_bytes)
    assert_clean_failure(result, 3)
    assert message in result.stderr


def test_eval_caps_request_size(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(cli_module, "MAX_REQUEST_BYTES", 1024 * 1024)
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"user": {"age": 30}, "padding": "x" * 2_000_000}))
    result = run("eval", big)
    assert_clean_failure(result, 3)
    assert "larger than 1 MB" in result.stderr


def test_eval_unreadable_request_is_a_usage_error(tmp_path: Path) -> None:
    assert_clean_failure(run("eval", tmp_path / "missing.json"), 2)
    assert_clean_failure(run("eval", tmp_path), 2)  # a folder


def test_eval_request_and_batch_together_is_a_usage_error() -> None:
    result = run("eval", REQUESTS / "allow.json", "--batch", EXAMPLES / "batch_with_errors.jsonl")
    assert_clean_failure(result, 2)


@pytest.mark.parametrize("backend", policydsl.BACKENDS)
def test_eval_backend_is_passed_through(backend: str) -> None:
    result = run("eval", "--backend", backend, REQUESTS / "deny_warn.json")
    assert result.exit_code == 0, result.output
    assert contract(json.loads(result.output)) == EXPECTED["deny_warn.json"]


def test_eval_unknown_backend_is_a_usage_error() -> None:
    assert_clean_failure(run("eval", "--backend", "quantum", REQUESTS / "allow.json"), 2)


# ---- eval --batch -----------------------------------------------------------------------------


def test_readme_main_job_decides_every_example_line() -> None:
    """The README's first command: every line of `examples/batch.jsonl` decided, exit 0."""
    result = run("eval", "--batch", EXAMPLES / "batch.jsonl")
    assert result.exit_code == 0, result.output
    decided = [contract(json.loads(line)) for line in result.stdout.splitlines()]
    assert decided == [
        ("allow", "none", []),
        ("review", "none", ["human_review"]),
        ("review", "none", ["verify_age"]),
        ("deny", "warn", []),
        ("deny", "remove_content", []),
        ("deny", "restrict_account", []),
        ("deny", "suspend_and_report", []),
        ("deny", "none", []),
        ("review", "none", ["human_review"]),
        ("deny", "warn", []),
    ]


def test_batch_example_reports_the_invalid_line_and_decides_the_rest() -> None:
    result = run("eval", "--batch", EXAMPLES / "batch_with_errors.jsonl")
    assert result.exit_code == 3
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 6
    assert lines[2]["line"] == 3
    assert "user.age" in lines[2]["error"]
    assert "batch_with_errors.jsonl:3:" in result.stderr
    assert "Traceback" not in result.output
    decided = [contract(d) for i, d in enumerate(lines) if i != 2]
    assert decided == [
        ("allow", "none", []),
        ("deny", "warn", []),
        ("review", "none", ["human_review"]),
        ("deny", "restrict_account", []),
        ("review", "none", ["human_review", "verify_age"]),
    ]


def test_batch_from_stdin_with_bad_json_and_blank_lines() -> None:
    good = '{"user": {"age": 30}}'
    result = run("eval", "--batch", "-", input=f"{good}\n{{oops\n\n{good}\n[1]\n")
    assert result.exit_code == 3
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line.get("line") for line in lines] == [None, 2, None, 5]
    assert "not valid JSON" in lines[1]["error"]
    assert "must be a JSON object" in lines[3]["error"]
    assert "<stdin>:2:" in result.stderr
    assert "<stdin>:5:" in result.stderr


def test_batch_all_valid_exits_zero(tmp_path: Path) -> None:
    batch = tmp_path / "ok.jsonl"
    batch.write_text("".join(p.read_text() for p in sorted(REQUESTS.glob("*.json"))))
    result = run("eval", "--batch", batch)
    assert result.exit_code == 0, result.output
    decided = [contract(json.loads(line)) for line in result.stdout.splitlines()]
    assert decided == [EXPECTED[p.name] for p in sorted(REQUESTS.glob("*.json"))]


def test_batch_fail_closed_decides_invalid_contexts() -> None:
    result = run("eval", "--fail-closed", "--batch", EXAMPLES / "batch_with_errors.jsonl")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout.splitlines()[2])["decision"] == "deny"


def test_batch_skips_an_oversized_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_module, "MAX_REQUEST_BYTES", 64)
    big = json.dumps({"user": {"age": 30}, "padding": "x" * 500})
    result = run("eval", "--batch", "-", input=f"{big}\n{{}}\n")
    assert result.exit_code == 3
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["line"] == 1 and "larger than" in first["error"]
    assert second["decision"] == "review"  # `{}`: age unknown


# ---- test -------------------------------------------------------------------------------------


def test_test_command_passes_on_examples() -> None:
    result = run("test", EXAMPLES)
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output
    assert re.search(r"ok: \d+ passed, 0 failed", result.output)


def test_test_command_reports_failures(tmp_path: Path) -> None:
    cases = tmp_path / "wrong.cases.jsonl"
    cases.write_text(
        "# deliberately wrong expectations\n"
        '{"name": "right", "context": {"user": {"age": 30}}, "expect": {"decision": "allow"}}\n'
        '{"name": "wrong", "context": {"user": {"age": 30}}, "expect": {"decision": "deny"}}\n'
        '{"name": "typo", "context": {}, "expect": {"decisoin": "review"}}\n'
    )
    result = run("test", cases)
    assert result.exit_code == 1
    assert "PASS  " in result.output and "::right" in result.output
    assert 'decision: expected "deny", got "allow"' in result.output
    assert 'decisoin: expected "review", got absent' in result.output
    assert "failed: 1 passed, 2 failed" in result.output


def test_test_command_json_format(tmp_path: Path) -> None:
    cases = tmp_path / "t.cases.json"
    policy = shutil.copy(SHARING / "sharing.policy", tmp_path / "sharing.policy")
    cases.write_text(
        json.dumps(
            {
                "policy": Path(policy).name,
                "cases": [
                    {
                        "name": "nobody allowed it",
                        "context": {
                            "actor": {"id": "a", "role": "viewer"},
                            "document": {"owner_id": "b"},
                            "share": {"audience": "team"},
                        },
                        "expect": {"decision": "allow"},
                    }
                ],
            }
        )
    )
    result = run("test", "--format", "json", cases)
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert (report["ok"], report["passed"], report["failed"]) == (False, 0, 1)
    (case,) = report["cases"]
    assert case["status"] == "fail"
    assert case["mismatches"] == [{"field": "decision", "expected": "allow", "actual": "forbid"}]


def test_test_command_reports_a_malformed_file(tmp_path: Path) -> None:
    (tmp_path / "bad.cases.json").write_text('{"cases": [{"name": "no context"}]}')
    (tmp_path / "worse.cases.jsonl").write_text("{oops\n")
    result = run("test", tmp_path)
    assert result.exit_code == 1
    assert result.output.count("ERROR") == 2
    assert '"context" must be a JSON object' in result.output
    assert "line 1: not valid JSON" in result.output


def test_test_command_without_case_files_is_a_usage_error(tmp_path: Path) -> None:
    assert_clean_failure(run("test", tmp_path), 2)


# ---- fmt --------------------------------------------------------------------------------------


def test_fmt_check_and_rewrite(tmp_path: Path) -> None:
    canonical = policydsl.format_source((SHARING / "sharing.policy").read_text())
    tidy = tmp_path / "tidy.policy"
    tidy.write_text(canonical)
    messy = tmp_path / "messy.policy"
    messy.write_text("effects   deny>allow    default allow\nrule r :deny{when true}\n")
    before = messy.read_text()

    assert run("fmt", "--check", tidy).exit_code == 0
    checked = run("fmt", "--check", tmp_path)
    assert checked.exit_code == 1
    assert f"would reformat {messy}" in checked.stderr
    assert messy.read_text() == before, "--check changes nothing"

    diffed = run("fmt", "--diff", messy)
    assert diffed.exit_code == 0
    assert diffed.stdout.startswith(f"--- {messy}")
    assert messy.read_text() == before, "--diff changes nothing"

    rewritten = run("fmt", tmp_path)
    assert rewritten.exit_code == 0
    assert messy.read_text() == policydsl.format_source(before)
    assert run("fmt", "--check", tmp_path).exit_code == 0


def test_fmt_stdin_to_stdout() -> None:
    result = run("fmt", "-", input="effects deny > allow default allow\n")
    assert result.exit_code == 0
    assert result.stdout == policydsl.format_source("effects deny > allow default allow\n")


def test_fmt_syntax_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text("rule {\n")
    result = run("fmt", broken)
    assert_clean_failure(result, 1)
    assert re.search(rf"{re.escape(str(broken))}:\d+:\d+", result.stderr)


def fake_format(text: str, name: str = "<string>") -> str:
    """Stands in for the formatter: the CLI's job is reading, diffing and writing around it."""
    if "{{" in text:
        source = Source(name, text)
        raise policydsl.PolicyError(
            [Diagnostic(Code.UNEXPECTED_TOKEN, "bad braces", Span(source, 0, 2))]
        )
    return "".join(line.rstrip() + "\n" for line in text.splitlines())


def test_fmt_plumbing(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(policydsl, "format_source", fake_format)
    tidy, messy, broken = (tmp_path / f"{n}.policy" for n in ("tidy", "messy", "broken"))
    tidy.write_text("rule a: deny {}\n")
    messy.write_text("rule a: deny {}   \n")
    broken.write_text("{{\n")

    checked = run("fmt", "--check", tidy, messy)
    assert checked.exit_code == 1
    assert checked.stderr.splitlines() == [
        f"would reformat {messy}",
        "1 file would be reformatted, 0 files with errors",
    ]
    diffed = run("fmt", "--diff", messy)
    assert diffed.exit_code == 0
    assert "-rule a: deny {}   \n+rule a: deny {}\n" in diffed.stdout
    assert messy.read_text() == "rule a: deny {}   \n", "--check and --diff change nothing"

    failed = run("fmt", tmp_path)
    assert failed.exit_code == 1, "a file with errors fails the run"
    assert f"{broken}:1:1: error[P100]: bad braces" in failed.stderr
    assert messy.read_text() == "rule a: deny {}\n", "the other files are still formatted"
    assert run("fmt", "--check", tidy, messy).exit_code == 0

    piped = run("fmt", "-", input="rule a: deny {}  \n")
    assert (piped.exit_code, piped.stdout) == (0, "rule a: deny {}\n")


# ---- explain and compile ----------------------------------------------------------------------


def test_explain() -> None:
    result = run("explain", REQUESTS / "deny_warn.json")
    assert result.exit_code == 0, result.output
    assert "spam" in result.output
    stdlib = policydsl.load_stdlib()
    last = result.output.splitlines()[-1]
    assert last == f"policy: version {stdlib.version}, fingerprint {stdlib.fingerprint}"


def test_explain_json_names_the_policy() -> None:
    result = run("explain", REQUESTS / "deny_warn.json", "--format", "json")
    assert result.exit_code == 0, result.output
    stdlib = policydsl.load_stdlib()
    assert json.loads(result.output)["policy"] == {
        "version": stdlib.version,
        "fingerprint": stdlib.fingerprint,
    }


def test_explain_invalid_request() -> None:
    assert_clean_failure(run("explain", "-", input="[]"), 3)


def test_compile_of_a_broken_policy_is_a_policy_error(tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text("rule r: deny { when }\n")
    result = run("compile", broken)
    assert_clean_failure(result, 1)
    assert "broken.policy:1:" in result.stderr


# ---- errors -----------------------------------------------------------------------------------


def test_internal_error_is_one_line_without_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(**_: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(policydsl, "load_stdlib", explode)
    result = run("eval", REQUESTS / "allow.json")
    assert_clean_failure(result, 4)
    assert "internal error: RuntimeError: boom" in result.stderr

    for args in (["--debug", "eval"], ["eval", "--debug"]):
        debugged = run(*args, REQUESTS / "allow.json")
        assert isinstance(debugged.exception, RuntimeError)


def test_broken_policy_in_eval_is_rendered(tmp_path: Path) -> None:
    broken = tmp_path / "broken.policy"
    broken.write_text("rule oops: deny {\n")
    result = run("eval", "--policy", broken, REQUESTS / "allow.json")
    assert_clean_failure(result, 1)
    assert f"{broken}:" in result.stderr


@pytest.mark.slow
def test_embed_example_runs() -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "embed.py")],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": ""},
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "rejected at user.age" in done.stdout


# ---- edges: closed pipes, buffering, duplicate keys, sizes --------------------------------------


def subprocess_env() -> dict[str, str]:
    """The environment without PYTHONUNBUFFERED: output is block-buffered into a pipe, as in CI."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


@pytest.mark.slow
def test_a_closed_output_pipe_ends_quietly(tmp_path: Path) -> None:
    """`policyc eval --batch big.jsonl | head -1`: 141 (128 + SIGPIPE), nothing on stderr."""
    line = (REQUESTS / "deny_warn.json").read_text().strip()
    batch = tmp_path / "big.jsonl"
    batch.write_text((line + "\n") * 5_000)  # ~1 MB of decisions: more than a pipe holds
    proc = subprocess.Popen(
        [sys.executable, "-m", "policydsl", "eval", "--batch", str(batch)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=subprocess_env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # what `head -1` does after its line
    stderr = proc.stderr.read()
    assert proc.wait(timeout=60) == 128 + signal.SIGPIPE
    assert json.loads(first)["decision"] == "deny"
    assert stderr == b"", stderr.decode(errors="replace")


@pytest.mark.slow
def test_batch_streams_each_decision_as_its_line_is_decided() -> None:
    """One line in, one decision out, while stdin is still open (no PYTHONUNBUFFERED)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "policydsl", "eval", "--batch", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
        env=subprocess_env(),
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write((REQUESTS / "deny_warn.json").read_bytes().strip() + b"\n")
        proc.stdin.flush()
        ready, _, _ = select.select([proc.stdout], [], [], 30)
        assert ready, "no decision while stdin is open: the output is buffered"
        assert contract(json.loads(proc.stdout.readline())) == EXPECTED["deny_warn.json"]
    finally:
        proc.stdin.close()
        proc.wait(timeout=60)
    assert proc.returncode == 0


DUPLICATE_KEYS = [
    pytest.param('{"user": {"age": 30}, "user": {"age": 12}}', "`user` at the top level", id="top"),
    pytest.param('{"user": {"age": 12, "age": 30}}', "`age` in `user`", id="nested"),
    pytest.param(
        '{"user": {"age": 30}, "content": {"categories": [], "categories": ["spam"]}}',
        "`categories` in `content`",
        id="categories",
    ),
]


@pytest.mark.parametrize(("request_text", "named"), DUPLICATE_KEYS)
def test_eval_refuses_a_key_given_twice(request_text: str, named: str) -> None:
    """Two parsers could read such a request two ways; it is refused, naming the key and where."""
    for command in ("eval", "explain"):
        result = run(command, "-", input=request_text)
        assert_clean_failure(result, 3)
        assert f"duplicate key {named}" in result.stderr
        assert result.stdout == ""


def test_batch_refuses_a_key_given_twice_on_its_line() -> None:
    good = '{"user": {"age": 30}}'
    result = run("eval", "--batch", "-", input=f'{good}\n{{"user": {{"age": 1, "age": 30}}}}\n')
    assert result.exit_code == 3
    first, second = (json.loads(line) for line in result.stdout.splitlines())
    assert first["decision"] == "allow"
    assert second["line"] == 2 and "duplicate key `age` in `user`" in second["error"]
    assert "<stdin>:2: " in result.stderr


def test_test_case_files_refuse_a_key_given_twice(tmp_path: Path) -> None:
    (tmp_path / "dup.cases.jsonl").write_text(
        '{"name": "a", "context": {"user": {"age": 30}}, "expect": {"decision": "allow"}}\n'
        '{"name": "b", "context": {"user": {"age": 9, "age": 30}}, "expect": {"rules": []}}\n'
    )
    result = run("test", tmp_path)
    assert result.exit_code == 1
    assert "line 2: duplicate key `age` in `context.user`" in result.output


def test_fmt_output_over_the_size_limit_is_a_clean_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Formatting can lengthen a file past the limit the parser holds it to: exit 1, P007."""
    monkeypatch.setattr(parser_module, "MAX_SOURCE_CHARS", 90)  # 83 in, 94 out
    text = "context{}effects deny>allow default allow rule r:deny{when true and true and true}\n"
    path = tmp_path / "tight.policy"
    path.write_text(text)
    for args, stdin in ((["fmt", "--check", path], None), (["fmt", "-"], text)):
        result = run(*args, input=stdin)
        assert_clean_failure(result, 1)
        assert "error[P007]: the formatted file would be too large" in result.stderr
    assert path.read_text() == text


def test_fmt_reads_files_as_load_does(tmp_path: Path) -> None:
    """Not UTF-8, binary, hidden text: the located diagnostic `check` gives, exit 1."""
    cases = {
        "latin1.policy": (b"# caf\xe9\n", "P003"),
        "binary.policy": (b"context {\x00}", "P002"),
        "trojan.policy": ("# a\u2028rule r: deny {}\n".encode(), "P010"),
    }
    for name, (data, _) in cases.items():
        (tmp_path / name).write_bytes(data)
    result = run("fmt", "--check", tmp_path)
    assert_clean_failure(result, 1)
    for name, (_, code) in cases.items():
        assert re.search(
            rf"{re.escape(str(tmp_path / name))}:\d+:\d+: error\[{code}\]", result.stderr
        )
    assert "3 files with errors" in result.stderr
