"""`policyc serve` as an operator runs it: a clear error without the server extra or with a
broken policy, and a real process that serves, reloads on file changes and on SIGHUP, and stops
gracefully on SIGTERM with its decision log written."""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from serve_process import ServeProcess

from policydsl.cli import cli

ROOT = Path(__file__).resolve().parent.parent


def policy(version: str, limit: int) -> str:
    return (
        f'version "{version}"\ncontext {{ amount: int = 0 }}\n'
        "effects deny > allow default allow\n"
        f'rule big: deny {{ when amount > {limit} cite "1" reason "big" }}\n'
    )


def test_without_the_server_extra_it_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # `import uvicorn` now fails
    result = CliRunner().invoke(cli, ["serve"])
    assert result.exit_code == 2
    assert "pip install 'policydsl[server]'" in result.stderr
    assert "Traceback" not in result.output


def test_a_policy_that_does_not_check_is_not_served(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    (tmp_path / "p.policy").write_text("context { }\neffects a default b\n")
    result = CliRunner().invoke(cli, ["serve", "--policy", str(tmp_path)])
    assert result.exit_code == 1
    assert "unknown effect `b`" in result.stderr
    assert "does not check; not serving it" in result.stderr


def test_serving_beyond_loopback_without_a_token_is_warned_of(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    monkeypatch.delenv("POLICYC_SERVE_TOKEN", raising=False)
    (tmp_path / "p.policy").write_text("context { }\neffects a default b\n")  # stops the start
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0", "--policy", str(tmp_path)])
    assert "warning: serving on 0.0.0.0 with no token" in result.stderr
    result = CliRunner().invoke(cli, ["serve", "--policy", str(tmp_path)])
    assert "warning" not in result.stderr


def test_an_empty_token_file_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    (tmp_path / "token").write_text("\n")
    result = CliRunner().invoke(cli, ["serve", "--token-file", str(tmp_path / "token")])
    assert result.exit_code == 2 and "token file is empty" in result.stderr


def request(port: int, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Authorization": "Bearer tok"}
    conn.request(method, path, None if body is None else json.dumps(body), headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    return response.status, json.loads(data)


@pytest.mark.slow
def test_the_process_serves_reloads_and_stops_gracefully(tmp_path: Path) -> None:
    pytest.importorskip("uvicorn")
    pytest.importorskip("starlette")
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "p.policy").write_text(policy("1", 10))
    (tmp_path / "token").write_text("tok\n")
    log = tmp_path / "decisions.jsonl"
    served = ServeProcess(
        [
            "--policy",
            str(rules),
            "--token-file",
            str(tmp_path / "token"),
            "--decision-log",
            str(log),
            "--mask",
            "amount",
        ],
        ROOT,
    )
    process, lines, reader = served.process, served.lines, served.reader
    try:
        port = served.port()
        status, body = request(port, "POST", "/v1/decide", {"input": {"amount": 50}})
        assert status == 200 and body["result"]["decision"] == "deny"
        assert body["policy"]["version"] == "1"

        (rules / "p.policy").write_text(policy("2", 100))  # seen by the watcher
        deadline = time.monotonic() + 15
        while request(port, "GET", "/v1/policy")[1]["version"] != "2":
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)
        assert (
            request(port, "POST", "/v1/decide", {"input": {"amount": 50}})[1]["result"]["decision"]
            == "allow"
        )

        process.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 15
        while request(port, "GET", "/v1/policy")[1]["last_reload"]["trigger"] != "signal":
            assert time.monotonic() < deadline, "".join(lines)
            time.sleep(0.05)

        process.send_signal(signal.SIGTERM)
        assert process.wait(20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(5)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["result"]["decision"] for r in records] == ["deny", "allow"]
    assert {r["input"]["amount"] for r in records} == {"**REDACTED**"}
    assert [r["policy"]["version"] for r in records] == ["1", "2"]
    assert any("Shutting down" in line for line in lines)
    assert os.stat(log).st_size > 0
