"""Load on `policyc serve`, on loopback only: concurrent clients for a bounded time.

    python benchmarks/load_service.py                     # every scenario, 10 s each
    python benchmarks/load_service.py --seconds 5 --clients 50 --scenario single
    python benchmarks/load_service.py --scenario reload   # rewrites the policy every second

Scenarios: `single` (POST /v1/decide, one request each), `batch` (POST /v1/decide/batch with
`--batch-size` inputs each: decisions/s counts inputs), `reload` (single decisions while the
policy files alternate between a good and a broken version every second: no request may fail,
every fingerprint answered must be a version that checked, none a broken one; the server's file
watcher and `POST /v1/reload` both reload). The server runs in a process of its own
(`python -m policydsl serve`, one worker). The clients are `wrk` (one thread, keep-alive
connections, each sending the next of the varied bodies; `apt-get install wrk`) when it is on the
PATH, else asyncio clients in this process (`--driver asyncio`, the standard library only); the
reload scenario always uses the latter, as it reads every answer. Client and server share the
machine's cores, and a Python client takes far more of them than `wrk`: the figures are a floor.
Prints throughput, p50/p99 latency and errors, and the server's own CPU time a decision (from
/proc), which other work on the machine moves far less.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.contexts import make_contexts  # noqa: E402

TARGETS = {"single": 5_000, "batch": 100_000}  # decisions/s: the service's throughput targets
P99_LIMIT = 0.010


def start_server(policy: Path, log: Path | None) -> tuple[subprocess.Popen[str], int]:
    args = [sys.executable, "-m", "policydsl", "serve", "--port", "0", "--policy", str(policy)]
    if log is not None:
        args += ["--decision-log", str(log)]
    process = subprocess.Popen(args, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    deadline = time.monotonic() + 60
    for line in process.stderr:
        found = re.search(r"running on http://127\.0\.0\.1:(\d+)", line)
        if found:  # from now on its log is read and dropped, so that the pipe never fills
            threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
            return process, int(found.group(1))
        if time.monotonic() > deadline:
            break
    process.kill()
    raise SystemExit("the server did not start")


def server_cpu(pid: int) -> float | None:
    """The server process's CPU seconds (user + system) from `/proc`; None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _drain(stream: Any) -> None:
    for _line in stream:
        pass


async def client(
    port: int, path: str, bodies: list[bytes], until: float, results: dict[str, Any]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    i = 0
    try:
        while time.monotonic() < until:
            body = bodies[i % len(bodies)]
            i += 1
            head = (
                f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            started = time.perf_counter()
            writer.write(head + body)
            status_line = await reader.readline()
            length = 0
            while (line := await reader.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            payload = await reader.readexactly(length)
            results["latency"].append(time.perf_counter() - started)
            status = int(status_line.split()[1])
            if status != 200:
                results["errors"] += 1
            else:
                results["responses"].append(payload)
    except (ConnectionError, asyncio.IncompleteReadError) as err:
        results["errors"] += 1
        results["failures"].append(repr(err))
    finally:
        writer.close()


async def drive(port: int, path: str, bodies: list[bytes], clients: int, seconds: float) -> Any:
    results: dict[str, Any] = {"latency": [], "errors": 0, "responses": [], "failures": []}
    until = time.monotonic() + seconds
    started = time.monotonic()
    await asyncio.gather(*(client(port, path, bodies, until, results) for _ in range(clients)))
    results["elapsed"] = time.monotonic() - started
    return results


# wrk's script: each connection sends the bodies of a file in turn (one JSON document a line),
# starting at a random one, and the summary is printed as one line this module reads.
WRK_SCRIPT = """
local bodies = {}
init = function(args)
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  index = math.random(#bodies)
end
request = function()
  index = index % #bodies + 1
  return wrk.format("POST", nil, {["Content-Type"] = "application/json"}, bodies[index])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d %d\\n", summary.requests, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(99),
    summary.duration))
end
"""


def drive_wrk(port: int, path: str, bodies: list[bytes], clients: int, seconds: float) -> Any:
    """`drive`, with `wrk` as the clients: requests, errors, and the p50 and p99 latencies wrk
    measured (it keeps every latency, as `drive` does)."""
    with tempfile.TemporaryDirectory() as tmp:
        script, lines = Path(tmp) / "bodies.lua", Path(tmp) / "bodies.jsonl"
        script.write_text(WRK_SCRIPT)
        lines.write_bytes(b"\n".join(bodies) + b"\n")
        command = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s"]
        command += ["-s", str(script), f"http://127.0.0.1:{port}{path}", "--", str(lines)]
        done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"RESULT (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)", done.stdout)
    if found is None:
        raise SystemExit(f"wrk said:\n{done.stdout}{done.stderr}")
    requests, status, socket, p50, p99, duration = (int(g) for g in found.groups())
    return {
        "requests": requests,
        "p50": p50 / 1e6,
        "p99": p99 / 1e6,
        "errors": status + socket,
        "responses": [],
        "failures": [],
        "elapsed": duration / 1e6,
    }


def policy_copy(tmp: Path) -> Path:
    folder = tmp / "rules"
    shutil.copytree(ROOT / "stdlib_rules", folder)
    return folder


def measured(pid: int, port: int, path: str, bodies: list[bytes], args: Any) -> dict[str, Any]:
    """`drive`, with the server's CPU seconds over the run (`server_cpu`)."""
    before = server_cpu(pid)
    if args.driver == "wrk":
        results: dict[str, Any] = drive_wrk(port, path, bodies, args.clients, args.seconds)
    else:
        results = asyncio.run(drive(port, path, bodies, args.clients, args.seconds))
    after = server_cpu(pid)
    results["server_cpu"] = None if before is None or after is None else after - before
    return results


def summarise(name: str, results: dict[str, Any], per_request: int) -> dict[str, Any]:
    if "p99" in results:  # measured by wrk
        requests, p50, p99 = results["requests"], results["p50"], results["p99"]
    else:
        latencies = sorted(results["latency"])
        requests = len(latencies)
        p50 = statistics.median(latencies) if latencies else None
        p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else None
    decisions = (requests - results["errors"]) * per_request
    row = {
        "scenario": name,
        "requests": requests,
        "decisions_per_s": decisions / results["elapsed"],
        "p50_ms": p50 * 1000 if p50 is not None else None,
        "p99_ms": p99 * 1000 if p99 is not None else None,
        "errors": results["errors"],
    }
    target = TARGETS.get(name)
    verdict = []
    if target:
        verdict.append("met" if row["decisions_per_s"] >= target else "missed")
    cpu = results.get("server_cpu")
    row["server_cpu_us"] = cpu / decisions * 1e6 if cpu and decisions else None
    print(
        f"{name:8} {requests:>8,} requests  {row['decisions_per_s']:>10,.0f} decisions/s  "
        f"p50 {row['p50_ms']:.2f} ms  p99 {row['p99_ms']:.2f} ms  errors {row['errors']}"
        + (f"  (target {target:,}/s: {verdict[0]})" if target else "")
    )
    if row["server_cpu_us"]:
        print(
            f"         server CPU {row['server_cpu_us']:.1f} us a decision "
            f"({1e6 / row['server_cpu_us']:,.0f}/s on a core of its own)"
        )
    return row


def run(args: argparse.Namespace) -> list[dict[str, Any]]:
    contexts = make_contexts()[:1000]
    singles = [json.dumps({"input": c}).encode() for c in contexts]
    size = args.batch_size
    batches = [
        json.dumps({"inputs": contexts[i : i + size]}).encode()
        for i in range(0, len(contexts) - size + 1, size)
    ] or [json.dumps({"inputs": contexts[:size]}).encode()]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = policy_copy(Path(tmp))
        log = Path(tmp) / "decisions.jsonl" if args.log else None
        process, port = start_server(folder, log)
        try:
            for scenario in args.scenario:
                if scenario == "single":
                    results = measured(process.pid, port, "/v1/decide", singles, args)
                    rows.append(summarise("single", results, 1))
                elif scenario == "batch":
                    results = measured(process.pid, port, "/v1/decide/batch", batches, args)
                    rows.append(summarise("batch", results, size))
                elif scenario == "reload":
                    rows.append(reload_churn(port, folder, singles, args))
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)
    return rows


def reload_churn(
    port: int, folder: Path, singles: list[bytes], args: argparse.Namespace
) -> dict[str, Any]:
    """Single decisions while a thread rewrites the policy every second, good and broken in
    turn, and asks for a reload; every fingerprint answered must be one of a good version."""
    import http.client

    schema = folder / "00_schema.policy"
    original = schema.read_text()
    good: set[str] = set()
    stop = threading.Event()

    def reload() -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/v1/reload")
        answer: dict[str, Any] = json.loads(conn.getresponse().read())
        conn.close()
        return answer

    good.add(reload()["policy"]["fingerprint"])

    def churn() -> None:
        step = 0
        while not stop.wait(1.0):
            step += 1
            if step % 2:
                schema.write_text(original + "\nrule broken: deny { when nope }\n")
                answer = reload()
                assert answer["outcome"] == "rejected", answer
            else:
                schema.write_text(original + f"\n# revision {step}\n")
                answer = reload()  # the file watcher may have loaded it already
                assert answer["outcome"] in ("loaded", "unchanged"), answer
                good.add(answer["fingerprint"])

    thread = threading.Thread(target=churn)
    thread.start()
    try:
        results = asyncio.run(drive(port, "/v1/decide", singles, args.clients, args.seconds))
    finally:
        stop.set()
        thread.join()
    answered = {json.loads(r)["policy"]["fingerprint"] for r in results["responses"]}
    row = summarise("reload", results, 1)
    row["versions_answered"] = len(answered)
    row["foreign_fingerprints"] = len(answered - good)
    print(
        f"         {len(good)} good versions loaded, {len(answered)} answered, "
        f"{row['foreign_fingerprints']} answered that never checked"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--log", action="store_true", help="Serve with a decision log.")
    parser.add_argument(
        "--driver",
        choices=["wrk", "asyncio"],
        default="wrk" if shutil.which("wrk") else "asyncio",
        help="The clients: wrk (the default when on the PATH) or asyncio in this process.",
    )
    parser.add_argument(
        "--scenario",
        action="append",
        choices=["single", "batch", "reload"],
        help="Repeatable; default: all three.",
    )
    args = parser.parse_args()
    args.scenario = args.scenario or ["single", "batch", "reload"]
    load = os.getloadavg()
    print(f"load average before: {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}")
    print(f"clients: {args.clients} ({args.driver})")
    rows = run(args)
    failed = any(r["errors"] or r.get("foreign_fingerprints") for r in rows)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
