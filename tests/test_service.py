"""The decision service through a real server: uvicorn on a free loopback port, driven over HTTP
with `http.client`, as a client in production would. Started once for the module; each test
leaves the policy as it found it (version 1 of a small policy in a folder of the test's own)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
uvicorn = pytest.importorskip("uvicorn")

from policydsl.decision_log import DecisionLog, JsonLinesFile  # noqa: E402
from policydsl.reload import PolicyHolder  # noqa: E402
from policydsl.service import create_app  # noqa: E402

TOKEN = "s3cret-token"
MAX_BODY = 64 * 1024


def policy_text(version: str, limit: int) -> str:
    return f"""\
version "{version}"
context {{
  user: {{ id: string?  age: int[0..]? }}
  amount: int = 0
}}
effects deny > allow default allow refuse deny
rule too_much: deny {{
  when amount > {limit}
  cite "1"
  reason "amounts above {limit} are refused"
}}
"""


BROKEN = 'version "broken"\ncontext { amount: int = 0 }\neffects deny > allow default allow\n'
BROKEN += 'rule r: deny { when amunt > 1 cite "1" reason "r" }\n'


class Server:
    """A uvicorn server in a thread, on port 0 (the system picks a free one)."""

    def __init__(self, app: Any):
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert self.thread.is_alive(), "the server did not start"
            assert time.monotonic() < deadline, "the server took too long to start"
            time.sleep(0.01)
        self.port = self.server.servers[0].sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(20)


class Client:
    def __init__(self, port: int, token: str | None = TOKEN):
        self.port = port
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, http.client.HTTPResponse]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        sent = dict(headers or {})
        if self.token:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if data is not None:
            sent.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=data, headers=sent)
            response = conn.getresponse()
            payload = response.read()
        finally:
            conn.close()
        kind = response.getheader("Content-Type", "")
        value = json.loads(payload) if kind.startswith("application/json") else payload.decode()
        return response.status, value, response

    def decide(self, context: Any) -> tuple[int, Any]:
        status, body, _ = self.call("POST", "/v1/decide", {"input": context})
        return status, body


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("policy")
    (path / "limits.policy").write_text(policy_text("1", 100))
    return path


@pytest.fixture(scope="module")
def log_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("log") / "decisions.jsonl"


@pytest.fixture(scope="module")
def holder(folder: Path) -> PolicyHolder:
    return PolicyHolder([folder])


@pytest.fixture(scope="module")
def decision_log(log_path: Path) -> DecisionLog:
    return DecisionLog(JsonLinesFile(log_path), mask=["user.id"])


@pytest.fixture(scope="module")
def server(holder: PolicyHolder, decision_log: DecisionLog) -> Iterator[Server]:
    app = create_app(holder, token=TOKEN, max_body=MAX_BODY, decision_log=decision_log)
    with Server(app) as running:
        yield running


@pytest.fixture
def client(server: Server, folder: Path, holder: PolicyHolder) -> Iterator[Client]:
    yield Client(server.port)
    (folder / "limits.policy").write_text(policy_text("1", 100))  # as the next test expects
    for extra in folder.glob("*.policy"):
        if extra.name != "limits.policy":
            extra.unlink()
    assert holder.reload().ok


# ---- deciding -----------------------------------------------------------------------------------


def test_decide_answers_the_decision_its_id_and_the_policy(
    client: Client, holder: PolicyHolder
) -> None:
    status, body = client.decide({"amount": 500})
    assert status == 200
    assert body["result"]["decision"] == "deny"
    assert body["result"]["rules"] == ["too_much"]
    assert body["policy"] == {"version": "1", "fingerprint": holder.current.fingerprint}
    assert len(body["decision_id"]) == 36
    assert client.decide({"amount": 5})[1]["result"]["decision"] == "allow"


def test_an_invalid_input_is_a_400_naming_the_attribute(client: Client) -> None:
    status, body = client.decide({"user": {"agee": 3}})
    assert status == 400
    assert body["error"]["code"] == "invalid_input"
    assert body["error"]["attribute"] == "user.agee"
    assert "did you mean `user.age`" in body["error"]["message"]
    status, body = client.decide({"amount": "lots"})
    assert (status, body["error"]["attribute"]) == (400, "amount")


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        (b"{", "not valid JSON"),
        (b'{"input": {}, "input": {}}', "gives a key twice"),
        (b"[1]", "must be a JSON object"),
        (b"\xff", "not valid UTF-8"),
        (b'{"input": {}, "inptu": 1}', "unknown key `inptu`"),
        (b'{"inputs": []}', "unknown key `inputs`"),
        (b"{}", "needs `input`"),
    ],
)
def test_a_malformed_body_is_a_400_without_a_traceback(
    client: Client, raw: bytes, fragment: str
) -> None:
    status, body, _ = client.call("POST", "/v1/decide", raw=raw)
    assert status == 400
    assert fragment in body["error"]["message"]
    assert "Traceback" not in json.dumps(body)


def test_an_oversized_body_is_a_413_declared_or_streamed(client: Client) -> None:
    big = b'{"input": {"user": {"id": "' + b"x" * MAX_BODY + b'"}}}'
    status, body, _ = client.call("POST", "/v1/decide", raw=big)
    assert (status, body["error"]["code"]) == (413, "too_large")
    # chunked: no length declared, refused once the bytes read pass the limit
    conn = http.client.HTTPConnection("127.0.0.1", client.port, timeout=10)
    chunks = (big[i : i + 8192] for i in range(0, len(big), 8192))
    conn.request("POST", "/v1/decide", body=chunks, headers={"Authorization": f"Bearer {TOKEN}"})
    response = conn.getresponse()
    assert response.status == 413
    conn.close()


def test_the_token_is_required_but_not_for_health(server: Server) -> None:
    anonymous = Client(server.port, token=None)
    status, body, response = anonymous.call("POST", "/v1/decide", {"input": {}})
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert response.getheader("WWW-Authenticate") == "Bearer"
    assert Client(server.port, token="wrong").call("GET", "/v1/policy")[0] == 401
    assert anonymous.call("GET", "/metrics")[0] == 401
    status, body, _ = anonymous.call("GET", "/health")
    assert (status, body["status"]) == (200, "ok")


def test_unknown_routes_and_methods_answer_json(client: Client) -> None:
    status, body, _ = client.call("GET", "/v1/nothing")
    assert (status, body["error"]["code"]) == (404, "not_found")
    status, body, _ = client.call("GET", "/v1/decide")
    assert (status, body["error"]["code"]) == (405, "method_not_allowed")


def test_batch_answers_in_order_with_invalid_inputs_in_place(client: Client) -> None:
    inputs = [{"amount": 500}, {"amount": -1, "x": 1}, 7, {"amount": 1}]
    status, body, _ = client.call("POST", "/v1/decide/batch", {"inputs": inputs})
    assert status == 200
    first, second, third, fourth = body["results"]
    assert first["result"]["decision"] == "deny" and "decision_id" in first
    assert second["error"] == {
        "code": "invalid_input",
        "message": second["error"]["message"],
        "index": 1,
        "attribute": "x",
    }
    assert third["error"]["index"] == 2 and "must be an object" in third["error"]["message"]
    assert third["error"]["attribute"] is None  # the context itself, not one attribute
    assert fourth["result"]["decision"] == "allow"
    assert body["policy"]["version"] == "1"
    status, body, _ = client.call("POST", "/v1/decide/batch", {"inputs": {"amount": 1}})
    assert status == 400 and "must be an array" in body["error"]["message"]


def test_a_large_batch_is_decided_slice_by_slice_in_order(client: Client) -> None:
    from policydsl import service

    inputs = [{"amount": n} for n in range(2 * service.BATCH_SLICE + 44)]
    status, body, _ = client.call("POST", "/v1/decide/batch", {"inputs": inputs})
    assert status == 200
    decisions = [r["result"]["decision"] for r in body["results"]]
    assert decisions == ["deny" if n > 100 else "allow" for n in range(len(inputs))]
    assert len({r["decision_id"] for r in body["results"]}) == len(inputs)


def test_explain_says_why_and_why_not(client: Client) -> None:
    status, body, _ = client.call(
        "POST", "/v1/explain", {"input": {"amount": 3}, "rules": ["too_much"]}
    )
    assert status == 200
    (entry,) = body["result"]["explained"]
    assert entry["id"] == "too_much" and entry["fired"] is False
    assert body["policy"]["version"] == "1"
    status, body, _ = client.call("POST", "/v1/explain", {"input": {}, "rules": ["nope"]})
    assert (status, body["error"]["code"]) == (400, "unknown_rule")


def test_policy_describes_what_is_in_force(client: Client, folder: Path) -> None:
    status, body, _ = client.call("GET", "/v1/policy")
    assert status == 200
    assert body["files"] == ["limits.policy"]
    assert body["paths"] == [str(folder)]
    assert body["rules"] == ["too_much"]
    assert body["version"] == "1" and body["fingerprint"].startswith("sha256:")
    assert body["effects"] == ["deny", "allow"]
    assert body["last_reload"]["outcome"] in ("loaded", "unchanged")


# ---- reloading ----------------------------------------------------------------------------------


def test_reload_swaps_in_a_good_version(client: Client, folder: Path) -> None:
    before = client.decide({"amount": 500})[1]["policy"]["fingerprint"]
    (folder / "limits.policy").write_text(policy_text("2", 1000))
    status, body, _ = client.call("POST", "/v1/reload")
    assert status == 200
    assert body["outcome"] == "loaded" and body["version"] == "2"
    assert body["policy"]["fingerprint"] == body["fingerprint"] != before
    status, decided = client.decide({"amount": 500})
    assert decided["result"]["decision"] == "allow"
    assert decided["policy"] == {"version": "2", "fingerprint": body["fingerprint"]}
    status, body, _ = client.call("POST", "/v1/reload")
    assert (status, body["outcome"]) == (200, "unchanged")


def test_a_broken_version_is_rejected_and_the_last_good_one_serves(
    client: Client, folder: Path
) -> None:
    good = client.decide({"amount": 500})[1]["policy"]
    (folder / "limits.policy").write_text(BROKEN)
    status, body, _ = client.call("POST", "/v1/reload")
    assert status == 422
    assert body["outcome"] == "rejected"
    (diagnostic,) = body["diagnostics"]
    assert diagnostic["code"] == "P201" and "amunt" in diagnostic["message"]
    assert body["policy"]["fingerprint"] == good["fingerprint"]
    status, decided = client.decide({"amount": 500})
    assert (status, decided["policy"]) == (200, good)
    status, described, _ = client.call("GET", "/v1/policy")
    assert described["last_reload"]["outcome"] == "rejected"
    assert described["fingerprint"] == good["fingerprint"]
    assert client.call("POST", "/v1/reload", raw=b'{"x": 1}')[0] == 400


def test_decisions_under_reloads_never_fail_nor_come_from_a_broken_version(
    client: Client, folder: Path, holder: PolicyHolder
) -> None:
    """Clients decide while the files alternate between good and broken versions, reloaded
    as fast as they are written: no request fails, every fingerprint answered is one that
    checked, and each decision is the one its version makes."""
    good = {holder.current.fingerprint: 100}
    stop = threading.Event()
    seen: list[tuple[int, str, str]] = []
    failures: list[Any] = []

    def decide() -> None:
        while not stop.is_set():
            status, body = client.decide({"amount": 150})
            if status != 200:
                failures.append(body)
            else:
                seen.append((status, body["policy"]["fingerprint"], body["result"]["decision"]))

    threads = [threading.Thread(target=decide) for _ in range(3)]
    for thread in threads:
        thread.start()
    try:
        for step in range(8):
            if step % 2:
                (folder / "limits.policy").write_text(BROKEN)
                assert not holder.reload().ok
            else:
                limit = 100 + 100 * (step % 4)  # 100 (deny 150) and 300 (allow 150)
                (folder / "limits.policy").write_text(policy_text(f"v{step}", limit))
                outcome = holder.reload()
                assert outcome.ok and outcome.fingerprint is not None
                good[outcome.fingerprint] = limit
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert not failures
    assert seen and {fp for _, fp, _ in seen} <= set(good)
    for _, fp, decision in seen:
        assert decision == ("deny" if good[fp] < 150 else "allow")


# ---- metrics and the decision log ------------------------------------------------------------


def test_metrics_count_decisions_invalid_requests_and_reloads(client: Client) -> None:
    client.decide({"amount": 500})
    client.decide({"amount": "x"})
    status, text, response = client.call("GET", "/metrics")
    assert status == 200
    assert response.getheader("Content-Type", "").startswith("text/plain; version=0.0.4")
    lines = text.splitlines()

    def value(prefix: str) -> float:
        (line,) = [line for line in lines if line.startswith(prefix + " ")]
        return float(line.rsplit(" ", 1)[1])

    assert value('policydsl_decisions_total{effect="deny"}') >= 1
    assert value('policydsl_invalid_requests_total{reason="invalid_input"}') >= 1
    assert value('policydsl_reloads_total{outcome="loaded"}') >= 0
    assert value('policydsl_reloads_total{outcome="rejected"}') >= 0
    assert value('policydsl_decision_log_dropped_total{reason="queue_full"}') == 0
    assert value('policydsl_request_duration_seconds_count{endpoint="decide"}') >= 2
    assert any(line.startswith("policydsl_policy_info{") for line in lines)
    assert "# TYPE policydsl_request_duration_seconds histogram" in lines
    assert "# TYPE policydsl_decision_log_dropped_total counter" in lines
    assert value("policydsl_decision_log_pending") >= 0


def test_each_decision_is_logged_with_its_input_masked(
    client: Client, decision_log: DecisionLog, log_path: Path
) -> None:
    _, body = client.decide({"user": {"id": "alice", "age": 40}, "amount": 101})
    deadline = time.monotonic() + 10
    record = None
    while record is None and time.monotonic() < deadline:
        for line in log_path.read_text().splitlines():
            found = json.loads(line)
            if found["decision_id"] == body["decision_id"]:
                record = found
        time.sleep(0.02)
    assert record is not None, "the decision was not logged"
    assert record["input"] == {"user": {"id": "**REDACTED**", "age": 40}, "amount": 101}
    assert record["masked"] == ["user.id"]
    assert record["result"] == body["result"]
    assert record["policy"] == body["policy"]
    assert record["path"] == "/v1/decide"
    assert record["time"].endswith("Z")
    assert decision_log.dropped == {"queue_full": 0, "sink_error": 0}


def asgi_call(app: Any, method: str, path: str, body: bytes = b"") -> int:
    """One request straight to the ASGI app, no server and no lifespan: its status."""
    import asyncio

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-length", str(len(body)).encode())],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 1234),
        "root_path": "",
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_health_is_503_until_a_policy_loads(folder: Path) -> None:
    """A holder made without loading: health and decisions say so until a policy loads."""
    holder = PolicyHolder([folder], load=False)
    app = create_app(holder)
    assert asgi_call(app, "GET", "/health") == 503
    assert asgi_call(app, "POST", "/v1/decide", b'{"input": {}}') == 503
    assert holder.reload().ok
    assert asgi_call(app, "GET", "/health") == 200
    assert asgi_call(app, "POST", "/v1/decide", b'{"input": {}}') == 200
